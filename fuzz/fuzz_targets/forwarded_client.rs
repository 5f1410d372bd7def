//! Who the client is behind proxies, on any forwarding headers: never panics, never answers
//! without a peer, and never lets a client-written hop stand for the client (the answer is
//! always the peer or a hop at or right of the client's position).

#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sealdrop_api::forwarded::{
    parse_node, rate_bucket, ForwardedHeader, ProxyTrust, TrustedProxies,
};

fuzz_target!(|input: (u8, Vec<&[u8]>)| {
    let (hops, values) = input;
    let hops = hops % 4;
    let peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    for header in [ForwardedHeader::XForwardedFor, ForwardedHeader::Forwarded] {
        let name = match header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut headers = HeaderMap::new();
        for v in &values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(name, v);
            }
        }
        let by_hops = ProxyTrust { proxies: TrustedProxies::Hops(hops), header };
        if hops == 0 {
            assert_eq!(by_hops.client(None, &headers), None, "no proxy and no peer: unknown");
        }
        let client = by_hops.client(Some(peer), &headers).expect("a peer gives a client");
        if hops == 0 {
            assert_eq!(client, peer, "no proxies: the peer");
        }
        let networks = ProxyTrust {
            proxies: TrustedProxies::Networks(vec!["10.0.0.0/8".parse().expect("net")]),
            header,
        };
        networks.client(Some(peer), &headers).expect("a peer gives a client");
        let outsider = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(
            networks.client(Some(outsider), &headers),
            Some(outsider),
            "an untrusted peer is the client, whatever it forwards"
        );
        for v in &values {
            if let Ok(text) = std::str::from_utf8(v) {
                if let Some(ip) = parse_node(text) {
                    assert_eq!(ip, ip.to_canonical());
                    for prefix in [1, 48, 64, 128] {
                        assert!(!rate_bucket(ip, prefix).is_empty());
                    }
                }
            }
        }
    }
});
