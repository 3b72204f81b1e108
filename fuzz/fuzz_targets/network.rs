//! Allowed networks.
//!
//! Input: text, parsed as a network list (lines, commas) and line by line as
//! one network; lines that are addresses are also probes.
//!
//! - a parsed network prints in canonical form, and parsing that gives the
//!   same network; IPv4-mapped IPv6 networks come out as IPv4;
//! - a parsed list prints (`to_lines`) to text that parses to the same list;
//! - a canonical address is contained in a network iff it is of the
//!   network's family and its first prefix-length bits are the network's;
//!   a list allows an address iff one of its networks contains the
//!   address's canonical form (IPv4-mapped IPv6 counts as IPv4);
//! - a list covers itself.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use keyward::domain::network::{Network, NetworkList, canonical};
use libfuzzer_sys::fuzz_target;

/// Containment by plain bit arithmetic, from the printed network.
fn contains_by_bits(net: IpNet, ip: IpAddr) -> bool {
    let prefix = u32::from(net.prefix_len());
    match (net, ip) {
        (IpNet::V4(net), IpAddr::V4(ip)) => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            ip.to_bits() & mask == net.addr().to_bits() & mask
        }
        (IpNet::V6(net), IpAddr::V6(ip)) => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            ip.to_bits() & mask == net.addr().to_bits() & mask
        }
        _ => false,
    }
}

/// Addresses on and just beside the edges of `net`, in both spellings.
fn edges(net: IpNet) -> Vec<IpAddr> {
    let mut out = Vec::new();
    match net {
        IpNet::V4(v4) => {
            for bits in [
                v4.network().to_bits(),
                v4.broadcast().to_bits(),
                v4.network().to_bits().wrapping_sub(1),
                v4.broadcast().to_bits().wrapping_add(1),
            ] {
                let ip = Ipv4Addr::from_bits(bits);
                out.push(IpAddr::V4(ip));
                out.push(IpAddr::V6(ip.to_ipv6_mapped()));
            }
        }
        IpNet::V6(v6) => {
            for bits in [
                v6.network().to_bits(),
                v6.broadcast().to_bits(),
                v6.network().to_bits().wrapping_sub(1),
                v6.broadcast().to_bits().wrapping_add(1),
            ] {
                out.push(IpAddr::V6(Ipv6Addr::from_bits(bits)));
            }
        }
    }
    out
}

fn check_network(network: Network, probes: &[IpAddr]) {
    let printed = network.to_string();
    assert_eq!(
        Network::parse(&printed),
        Ok(network),
        "{network:?} prints as {printed:?}"
    );
    let net: IpNet = printed.parse().expect("a network prints as a CIDR");
    assert_eq!(net, net.trunc(), "{printed} has no host bits");
    assert_eq!(network.is_ipv4(), matches!(net, IpNet::V4(_)));
    if let IpNet::V6(v6) = net {
        assert!(
            v6.prefix_len() < 96 || v6.addr().to_ipv4_mapped().is_none(),
            "{printed} is IPv4-mapped: it should be IPv4"
        );
    }
    for &ip in probes.iter().chain(&edges(net)) {
        let ip = canonical(ip);
        assert!(
            !matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some()),
            "{ip} is canonical"
        );
        assert_eq!(
            network.contains(ip),
            contains_by_bits(net, ip),
            "{printed} contains {ip}?"
        );
    }
}

fn check_list(list: &NetworkList, probes: &[IpAddr]) {
    let lines = list.to_lines();
    assert_eq!(NetworkList::parse_lines(&lines).as_ref(), Ok(list), "{lines:?}");
    assert!(list.covers(list));
    let nets: Vec<IpNet> = list.iter().map(|n| n.to_string().parse().expect("CIDR")).collect();
    let mut all = probes.to_vec();
    all.extend(nets.iter().flat_map(|&n| edges(n)));
    for ip in all {
        let wanted = nets.iter().any(|&n| contains_by_bits(n, canonical(ip)));
        assert_eq!(list.allows(ip), wanted, "{lines:?} allows {ip}?");
        assert_eq!(list.allows(ip), list.allows(canonical(ip)));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let probes: Vec<IpAddr> = text
        .split(['\n', ','])
        .filter_map(|line| line.trim().parse().ok())
        .collect();
    for line in text.split('\n') {
        if let Ok(network) = Network::parse(line) {
            check_network(network, &probes);
        }
    }
    if let Ok(list) = NetworkList::parse_lines(text) {
        assert!(list.iter().count() <= NetworkList::MAX);
        for &network in list.iter() {
            check_network(network, &probes);
        }
        check_list(&list, &probes);
    }
});
