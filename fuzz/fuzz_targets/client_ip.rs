//! The client address behind trusted proxies (`auth::client_ip::resolve`).
//!
//! Input: lines. The first is the socket peer, the second the trusted
//! proxies (CIDRs, commas between), the rest `X-Forwarded-For` values.
//!
//! - the result is the peer or one of the listed hops, in canonical form;
//! - with no trusted proxies, or a peer outside them, it is the peer;
//! - every hop right of the one chosen is an address inside a trusted
//!   network (the walk never skips an untrusted or garbled hop);
//! - a peer inside a trusted network is trusted, the network read as key
//!   network rules are read (`::ffff:10.0.0.0/104` is `10.0.0.0/8`): its
//!   right-most hop, when it is a valid untrusted address, is the client.

#![no_main]

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use keyward::auth::client_ip::resolve;
use keyward::domain::network::canonical;
use libfuzzer_sys::fuzz_target;

/// A network as the key network rules read it: IPv4-mapped IPv6 with a
/// prefix of 96 or more is the IPv4 network it maps.
fn as_rule(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
}

/// Whether `ip` lies in one of `trusted`, read as network rules are: an
/// IPv4 address in either spelling is matched against the IPv4 networks,
/// IPv4-mapped ones included.
fn inside(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|&net| as_rule(net).contains(&canonical(ip)))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let Some(Ok(peer)) = lines.next().map(|l| l.trim().parse::<IpAddr>()) else {
        return;
    };
    let trusted: Vec<IpNet> = lines
        .next()
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let headers: Vec<&str> = lines.collect();
    let hops: Vec<&str> = headers
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();

    let client = resolve(peer, headers.iter().copied(), &trusted);
    assert_eq!(client, canonical(client), "{client} is canonical");
    assert_eq!(
        resolve(peer, headers.iter().copied(), &[]),
        canonical(peer),
        "no proxy is trusted"
    );
    if !inside(peer, &trusted) {
        assert_eq!(client, canonical(peer), "an untrusted peer is the client");
        return;
    }
    if client != canonical(peer) {
        let parsed = |hop: &str| hop.parse::<IpAddr>().ok().map(canonical);
        let chosen = hops.iter().rposition(|hop| parsed(hop) == Some(client));
        let Some(chosen) = chosen else {
            panic!("{client} is neither the peer nor a listed hop: {hops:?}");
        };
        for hop in &hops[chosen + 1..] {
            assert!(
                parsed(hop).is_some_and(|ip| inside(ip, &trusted)),
                "{client} chosen past {hop:?}: {hops:?}"
            );
        }
    }
    if let Some(last) = hops.last().and_then(|hop| hop.parse::<IpAddr>().ok())
        && !inside(last, &trusted)
    {
        assert_eq!(client, canonical(last), "a trusted peer forwards for {last}: {hops:?}");
    }
});
