//! The client's address: the socket peer, unless that peer is a trusted proxy,
//! then the right-most `X-Forwarded-For` entry that is not a trusted proxy.

use std::net::{IpAddr, Ipv4Addr};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use ipnet::IpNet;

use crate::domain::network::{canonical, canonical_net};

/// The networks of the proxies whose `X-Forwarded-For` is believed; one
/// `web::Data` for the handlers and middleware that resolve client addresses.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl std::ops::Deref for TrustedProxies {
    type Target = [IpNet];

    fn deref(&self) -> &[IpNet] {
        &self.0
    }
}

/// Most entries of `X-Forwarded-For` looked at; the rest is ignored.
const MAX_FORWARDED_HOPS: usize = 32;

/// The address a client is counted by (sign-in throttling, the unknown-key
/// budget): IPv4 (also when mapped into IPv6) as it is, IPv6 by its /64, the
/// block one subscriber is usually given and can rotate through at will.
pub fn client_block(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

/// Whether `ip` (canonical) is inside one of the trusted proxies' networks.
/// A network written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) is the IPv4
/// network it maps, as in key network rules: addresses are compared in
/// their IPv4 form, so kept as IPv6 it could never match.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|&net| canonical_net(net).contains(&ip))
}

/// Resolves the client address from the peer and the `X-Forwarded-For`
/// values (in header order). Garbage entries stop the walk: what lies left of
/// them cannot be trusted either.
pub fn resolve<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|hop| !hop.is_empty())
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_FORWARDED_HOPS) {
        let Ok(ip) = hop.parse::<IpAddr>().map(canonical) else {
            break;
        };
        client = ip;
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    client
}

/// The socket peer of a request, canonical.
pub fn peer(req: &HttpRequest) -> IpAddr {
    canonical(req.peer_addr().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip()))
}

/// The client address of a request.
pub fn of_request(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = peer(req);
    let forwarded = req
        .headers()
        .get_all(actix_web::http::header::X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok());
    resolve(peer, forwarded, trusted)
}

/// The client address of a request, as an extractor: the handlers that
/// record or count by address take it instead of the request and the
/// trusted proxies. Without `TrustedProxies` in the app data no proxy is
/// believed, so a missing part can only make the answer the socket peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl FromRequest for ClientIp {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req.app_data::<web::Data<TrustedProxies>>().map_or(&[][..], |t| &t[..]);
        std::future::ready(Ok(Self(of_request(req, trusted))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().expect("net")).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            resolve(ip("203.0.113.9"), ["1.2.3.4"].into_iter(), &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_yields_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = resolve(
            ip("10.0.0.2"),
            ["198.51.100.7, 203.0.113.5, 10.0.0.3"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("203.0.113.5"));
    }

    #[test]
    fn garbage_and_floods_do_not_move_the_client_past_them() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("10.0.0.2"), ["garbage"].into_iter(), &trusted),
            ip("10.0.0.2")
        );
        let flood = vec!["10.1.1.1"; 500].join(",");
        assert_eq!(
            resolve(ip("10.0.0.2"), [flood.as_str()].into_iter(), &trusted),
            ip("10.1.1.1")
        );
    }

    /// Found by the `client_ip` fuzz target: a proxy network written as
    /// IPv4-mapped IPv6 (the way a dual-stack socket shows IPv4 peers) never
    /// matched, since peers are compared in their IPv4 form.
    #[test]
    fn a_proxy_network_written_as_ipv4_mapped_ipv6_is_trusted() {
        let trusted = nets(&["::ffff:10.0.0.0/104"]);
        for peer in ["10.0.0.2", "::ffff:10.0.0.2"] {
            assert!(is_trusted(canonical(ip(peer)), &trusted), "{peer}");
            assert_eq!(
                resolve(ip(peer), ["203.0.113.5"].into_iter(), &trusted),
                ip("203.0.113.5"),
                "{peer}"
            );
        }
        assert_eq!(
            resolve(ip("10.0.0.2"), ["::ffff:10.0.0.3, 203.0.113.5"].into_iter(), &trusted),
            ip("203.0.113.5")
        );
        assert!(!is_trusted(ip("11.0.0.1"), &trusted));
        // an IPv6 network shorter than /96 is IPv6 only, as in key network rules
        assert!(!is_trusted(ip("10.0.0.2"), &nets(&["::/8"])));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_ipv4() {
        assert_eq!(canonical(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
        assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
    }
}
