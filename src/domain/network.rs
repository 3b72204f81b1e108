//! Allowed networks: CIDRs, matched per address family.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::ValidationError;

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One allowed network, in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Network(IpNet);

impl Network {
    /// Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
    /// Refuses host bits (saying which network was meant), out-of-range
    /// prefixes and octets, a prefix length that is not plain digits (`/+8`),
    /// and leading zeros (`010.0.0.0` is octal to some tools and decimal to
    /// others). An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) is the
    /// IPv4 network it maps (`10.0.0.0/8`): clients are matched as IPv4, so
    /// kept as IPv6 it could never match.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let raw = raw.trim();
        let net = Self::parse_with_host_bits(raw)?;
        if net.trunc() != net {
            return Err(ValidationError::new(format!(
                "\"{raw}\" has host bits set: did you mean {}?",
                net.trunc()
            )));
        }
        Ok(Self(canonical_net(net)))
    }

    /// The network an entry with host bits set was meant to be
    /// (`10.1.2.3/8` → `10.0.0.0/8`); `None` for anything else, valid or not.
    pub fn meant(raw: &str) -> Option<Self> {
        Self::parse_with_host_bits(raw.trim())
            .ok()
            .filter(|net| net.trunc() != *net)
            .map(|net| Self(canonical_net(net.trunc())))
    }

    /// Every check of `parse` but the one for host bits.
    fn parse_with_host_bits(raw: &str) -> Result<IpNet, ValidationError> {
        let (address, prefix) = match raw.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (raw, None),
        };
        if address.contains('.') && !address.contains(':') {
            for octet in address.split('.') {
                if octet.len() > 1 && octet.starts_with('0') {
                    return Err(ValidationError::new(format!(
                        "\"{raw}\" has a leading zero in \"{octet}\", which some tools read as octal: write it without leading zeros."
                    )));
                }
                if octet.parse::<u16>().is_ok_and(|n| n > 255) {
                    return Err(ValidationError::new(format!(
                        "\"{raw}\" is not an IPv4 network: {octet} is larger than 255."
                    )));
                }
            }
        }
        let ip: IpAddr = address.parse().map_err(|_| {
            ValidationError::new(format!(
                "\"{raw}\" is not a network: write it as a CIDR such as 10.0.0.0/8 or 2001:db8::/32."
            ))
        })?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p)
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || (p.len() > 1 && p.starts_with('0')) =>
            {
                return Err(ValidationError::new(format!(
                    "\"{raw}\" has an invalid prefix length \"/{p}\": write it as plain digits without a sign or leading zeros, such as /8."
                )));
            }
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => {
                    return Err(ValidationError::new(format!(
                        "\"{raw}\" has an invalid prefix length: use /0 to /{max} for an IPv{} network.",
                        if max == 32 { 4 } else { 6 }
                    )));
                }
            },
        };
        IpNet::new(ip, prefix).map_err(|_| ValidationError::new(format!("\"{raw}\" is not a valid network.")))
    }

    /// `0.0.0.0/0` or `::/0`: every address of that family.
    pub fn is_wildcard(self) -> bool {
        self.0.prefix_len() == 0
    }

    pub fn contains(self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }

    pub fn is_ipv4(self) -> bool {
        matches!(self.0, IpNet::V4(_))
    }
}

/// A network as it is matched against `canonical` addresses:
/// `::ffff:a.b.c.d/(96 + n)` is `a.b.c.d/n`; anything else as it is. (A
/// shorter prefix cannot hold only mapped addresses without host bits.)
pub fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A key's allowed networks: at least one, at most `MAX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkList(Vec<Network>);

impl NetworkList {
    pub const MAX: usize = 100;

    /// Allow every address: `0.0.0.0/0` and `::/0`.
    pub fn allow_all() -> Self {
        Self(vec![
            Network(IpNet::V4(ipnet::Ipv4Net::default())),
            Network(IpNet::V6(ipnet::Ipv6Net::default())),
        ])
    }

    pub fn new(mut networks: Vec<Network>) -> Result<Self, ValidationError> {
        networks.sort();
        networks.dedup();
        if networks.is_empty() {
            return Err(ValidationError::new(
                "List at least one network. To allow every address, use 0.0.0.0/0 and ::/0.",
            ));
        }
        if networks.len() > Self::MAX {
            return Err(ValidationError::new(format!(
                "{} networks is too many: a key can have at most {}. Combine neighbouring ranges into larger ones.",
                networks.len(),
                Self::MAX
            )));
        }
        Ok(Self(networks))
    }

    /// Parses one network per line (commas also separate), collecting every
    /// line's error.
    pub fn parse_lines(text: &str) -> Result<Self, ValidationError> {
        let entries: Vec<&str> = text
            .split(['\n', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if entries.len() > Self::MAX {
            return Err(ValidationError::new(format!(
                "{} networks is too many: a key can have at most {}. Combine neighbouring ranges into larger ones.",
                entries.len(),
                Self::MAX
            )));
        }
        let mut networks = Vec::new();
        let mut errors = Vec::new();
        for entry in entries {
            match Network::parse(entry) {
                Ok(network) => networks.push(network),
                Err(error) => errors.push(error.0),
            }
        }
        if !errors.is_empty() {
            return Err(ValidationError::new(errors.join(" ")));
        }
        Self::new(networks)
    }

    /// The entries of `text` (as `parse_lines` splits it) that have host
    /// bits set, each with the network it was meant to be.
    pub fn host_bit_fixes(text: &str) -> Vec<(String, Network)> {
        text.split(['\n', ','])
            .map(str::trim)
            .filter_map(|entry| Network::meant(entry).map(|net| (entry.to_owned(), net)))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Network> {
        self.0.iter()
    }

    pub fn has_wildcard(&self) -> bool {
        self.0.iter().any(|n| n.is_wildcard())
    }

    /// IPv4 and IPv6 are matched independently: a client needs a rule of
    /// its own family. IPv4-mapped IPv6 counts as IPv4.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(ip))
    }

    pub fn summary(&self) -> String {
        if self.0.len() == 2 && self.0.iter().all(|n| n.is_wildcard()) {
            return "Any address".to_owned();
        }
        let shown: Vec<String> = self.0.iter().take(2).map(ToString::to_string).collect();
        let more = self.0.len().saturating_sub(2);
        if more > 0 {
            format!("{} +{more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }

    /// The networks of `other` that do not lie inside `self`'s, family by
    /// family. Neighbouring networks of `self` count as one (`10.0.0.0/9`
    /// and `10.128.0.0/9` hold `10.0.0.0/8`).
    pub fn uncovered<'a>(&self, other: &'a NetworkList) -> Vec<&'a Network> {
        let held = IpNet::aggregate(&self.0.iter().map(|n| n.0).collect());
        other
            .0
            .iter()
            .filter(|wanted| !held.iter().any(|net| net.contains(&wanted.0)))
            .collect()
    }

    /// Whether every address `other` allows, `self` allows too.
    pub fn covers(&self, other: &NetworkList) -> bool {
        self.uncovered(other).is_empty()
    }

    pub fn to_lines(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        Network::parse(raw).expect_err("should be refused").0
    }

    #[test]
    fn invalid_networks_say_what_is_wrong() {
        assert!(message("10.0.0.1/33").contains("prefix length"));
        assert!(message("300.1.1.1/8").contains("300 is larger than 255"));
        assert!(message("10.0.0.1/8").contains("did you mean 10.0.0.0/8?"));
        assert!(message("010.0.0.0/8").contains("leading zero"));
        assert!(message("fe80::1/129").contains("prefix length"));
        assert!(message("garbage").contains("CIDR"));
        for signed in [
            "10.0.0.0/+8",
            "10.0.0.0/-8",
            "10.0.0.0/08",
            "10.0.0.0/",
            "10.0.0.0/ 8",
            "::/+0",
        ] {
            assert!(
                message(signed).contains("plain digits"),
                "{signed}: {}",
                message(signed)
            );
        }
        assert!(message("::ffff:10.0.0.1/104").contains("did you mean ::ffff:10.0.0.0/104?"));
    }

    #[test]
    fn an_entry_with_host_bits_names_the_network_it_meant() {
        let meant = |raw| Network::meant(raw).map(|n| n.to_string());
        assert_eq!(meant(" 10.1.2.3/8 ").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(meant("2001:db8::1/32").as_deref(), Some("2001:db8::/32"));
        for not_host_bits in ["10.0.0.0/8", "10.0.0.1/33", "garbage", "010.1.2.3/8", ""] {
            assert_eq!(meant(not_host_bits), None, "{not_host_bits}");
        }
        let fixes = NetworkList::host_bit_fixes("10.0.0.0/8\n 192.168.1.9/24,172.16.5.5/12\nnope");
        let fixes: Vec<(String, String)> = fixes.into_iter().map(|(raw, n)| (raw, n.to_string())).collect();
        assert_eq!(
            fixes,
            [
                ("192.168.1.9/24".to_owned(), "192.168.1.0/24".to_owned()),
                ("172.16.5.5/12".to_owned(), "172.16.0.0/12".to_owned())
            ]
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_networks_are_the_ipv4_networks_they_map() {
        for (mapped, v4) in [
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:192.168.1.7", "192.168.1.7/32"),
            ("::ffff:0:0/96", "0.0.0.0/0"),
            ("::FFFF:127.0.0.0/104", "127.0.0.0/8"),
        ] {
            let network = Network::parse(mapped).expect(mapped);
            assert_eq!(network.to_string(), v4, "{mapped}");
            assert!(network.is_ipv4());
        }
        let list = NetworkList::parse_lines("::ffff:10.0.0.0/104\n10.0.0.0/8").expect("valid");
        assert_eq!(list.to_lines(), "10.0.0.0/8", "one network, written two ways");
        assert!(list.allows("10.1.2.3".parse().expect("ip")));
        assert!(list.allows("::ffff:10.1.2.3".parse().expect("ip")));
        assert!(!list.allows("11.0.0.1".parse().expect("ip")));
        assert_eq!(
            Network::parse("::/0").expect("valid").to_string(),
            "::/0",
            "IPv6 stays IPv6"
        );
        assert_eq!(Network::parse("::/80").expect("valid").to_string(), "::/80");
    }

    #[test]
    fn families_are_matched_independently() {
        let v4_only = NetworkList::parse_lines("10.0.0.0/8").expect("valid");
        assert!(v4_only.allows("10.1.2.3".parse().expect("ip")));
        assert!(
            v4_only.allows("::ffff:10.1.2.3".parse().expect("ip")),
            "mapped IPv6 is IPv4"
        );
        assert!(!v4_only.allows("2001:db8::1".parse().expect("ip")));
        assert!(!v4_only.allows("11.0.0.1".parse().expect("ip")));
        let all = NetworkList::allow_all();
        assert!(all.has_wildcard());
        assert_eq!(all.summary(), "Any address");
    }

    #[test]
    fn a_list_covers_the_networks_inside_its_own_family_by_family() {
        let list = |raw: &str| NetworkList::parse_lines(raw).expect("valid");
        let held = list("10.0.0.0/9\n10.128.0.0/9\n2001:db8::/32");
        assert!(held.covers(&list("10.0.0.0/8\n2001:db8:1::/48")));
        assert!(held.covers(&list("10.1.2.3")));
        let wider = list("10.0.0.0/7\n::/0\n10.0.0.0/8");
        let missing: Vec<String> = held.uncovered(&wider).iter().map(ToString::to_string).collect();
        assert_eq!(missing, vec!["10.0.0.0/7", "::/0"]);
        assert!(
            !list("0.0.0.0/0").covers(&list("::1")),
            "IPv4 rules hold no IPv6 network"
        );
        assert!(NetworkList::allow_all().covers(&held));
    }

    proptest::proptest! {
        #[test]
        fn a_covered_list_allows_no_address_the_holder_refuses(
            held in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..=32), 1..4),
            wanted in proptest::collection::vec((proptest::prelude::any::<u32>(), 0u8..=32), 1..4),
            probes in proptest::collection::vec(proptest::prelude::any::<u32>(), 16),
        ) {
            let make = |nets: &[(u32, u8)]| {
                NetworkList::new(
                    nets.iter()
                        .map(|&(addr, len)| {
                            Network(IpNet::V4(
                                ipnet::Ipv4Net::new(addr.into(), len).expect("prefix in range").trunc(),
                            ))
                        })
                        .collect(),
                )
                .expect("not empty")
            };
            let (held, wanted) = (make(&held), make(&wanted));
            if held.covers(&wanted) {
                let edges = wanted.iter().flat_map(|n| match n.0 {
                    IpNet::V4(v4) => [v4.network(), v4.broadcast()],
                    IpNet::V6(_) => unreachable!("IPv4 only"),
                });
                for ip in edges.chain(probes.iter().map(|&p| std::net::Ipv4Addr::from(p))) {
                    let ip = IpAddr::V4(ip);
                    proptest::prop_assert!(!wanted.allows(ip) || held.allows(ip), "{ip}");
                }
            }
        }
    }

    #[test]
    fn lists_are_bounded_and_report_every_bad_line() {
        let many: String = (0..1000)
            .map(|i| format!("10.{}.{}.0/24\n", i / 256, i % 256))
            .collect();
        assert!(
            NetworkList::parse_lines(&many)
                .expect_err("too many")
                .0
                .contains("at most 100")
        );
        let errors = NetworkList::parse_lines("10.0.0.1/8\n300.1.1.1/8")
            .expect_err("invalid")
            .0;
        assert!(errors.contains("did you mean") && errors.contains("larger than 255"));
        assert!(NetworkList::parse_lines("  \n").is_err());
    }
}
