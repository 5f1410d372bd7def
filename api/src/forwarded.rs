//! Who the client is on the network: the TCP peer, or behind reverse proxies the address the
//! proxies forwarded, and the bucket that per-address caps count it in.
//!
//! A forwarding header is a list of hops, written left to right: whatever the client sent
//! first, then one entry per proxy. Only the entries the operator's own proxies appended can
//! be believed, so the client is found by walking from the right, never by taking the first
//! or the last entry that happens to parse:
//!
//! - with a hop count `n` (`--proxy-hops`, `--trust-forwarded-for` = 1), the client is the
//!   `n`-th hop to the left of the TCP peer;
//! - with trusted networks (`--trusted-proxies`), the peer must be one of them, and the client
//!   is the right-most hop that is not.
//!
//! Every form proxies write is read: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`,
//! `[2001:db8::1]:4711`, quoted, and RFC 7239's `Forwarded: for=…` (`--forwarded-header`).
//! A hop that names no address (`unknown`, an obfuscated `_name`, garbage) at the client's
//! position counts as the last trusted proxy: such clients share that proxy's bucket instead
//! of choosing their own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::HeaderMap;
use ipnet::IpNet;

/// Which header the operator's proxies write. Only that one is read: a proxy that writes
/// `X-Forwarded-For` passes a client's own `Forwarded` header through untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx's `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1, …`.
    Forwarded,
}

/// Which proxies in front of the server are believed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustedProxies {
    /// None: the TCP peer is the client (the server is reached directly).
    #[default]
    None,
    /// This many proxies, each appending one hop, stand in front of the server.
    Hops(u8),
    /// Proxies are the peers in these networks.
    Networks(Vec<IpNet>),
}

/// How to find the client's address in a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyTrust {
    /// The proxies believed.
    pub proxies: TrustedProxies,
    /// The header they write.
    pub header: ForwardedHeader,
}

impl ProxyTrust {
    /// The client's address for a request from `peer` with these headers. `None` only when
    /// the peer itself is unknown.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(|ip| ip.to_canonical());
        match &self.proxies {
            TrustedProxies::None => peer,
            TrustedProxies::Hops(0) => peer,
            TrustedProxies::Hops(n) => {
                let mut chain = self.forwarded_hops(headers);
                chain.push(peer);
                let n = usize::from(*n);
                // Fewer entries than proxies: the left-most hop is the first proxy's peer.
                let at = chain.len().saturating_sub(1 + n);
                // A hop without an address counts as the proxy that wrote it (to its right).
                chain[at..].iter().copied().flatten().next()
            }
            TrustedProxies::Networks(networks) => {
                let trusted = |ip: &IpAddr| networks.iter().any(|n| n.contains(ip));
                let peer_ip = peer?;
                if !trusted(&peer_ip) {
                    return Some(peer_ip);
                }
                let mut last_trusted = peer_ip;
                for hop in self.forwarded_hops(headers).into_iter().rev() {
                    match hop {
                        Some(ip) if trusted(&ip) => last_trusted = ip,
                        Some(ip) => return Some(ip),
                        None => return Some(last_trusted),
                    }
                }
                Some(last_trusted)
            }
        }
    }

    /// The hops of the configured header, left to right, over every instance of the header.
    fn forwarded_hops(&self, headers: &HeaderMap) -> Vec<Option<IpAddr>> {
        let name = match self.header {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        };
        let mut hops = Vec::new();
        for value in headers.get_all(name) {
            // A value that is not visible ASCII names no address, but is still a hop.
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            for element in value.split(',') {
                hops.push(match self.header {
                    ForwardedHeader::XForwardedFor => parse_node(element),
                    ForwardedHeader::Forwarded => forwarded_for(element).and_then(parse_node),
                });
            }
        }
        hops
    }
}

/// The `for=` value of one `Forwarded` element (`for=…;proto=https;by=…`), if it has one.
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

/// One hop's address: `ip`, `ip:port`, `[v6]`, `[v6]:port`, optionally in double quotes.
/// `unknown`, obfuscated identifiers and anything else name no address.
pub fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    let node = node
        .strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(node)
        .trim();
    let ip = if let Some(rest) = node.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        IpAddr::V6(inside.parse::<Ipv6Addr>().ok()?)
    } else if let Ok(ip) = node.parse::<IpAddr>() {
        ip
    } else {
        let (host, port) = node.split_once(':')?;
        if !is_port(port) {
            return None;
        }
        IpAddr::V4(host.parse::<Ipv4Addr>().ok()?)
    };
    Some(ip.to_canonical())
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The bucket a per-address cap counts `ip` in: IPv4 addresses alone, IPv6 addresses by
/// their first `v6_prefix` bits (default /64, what one subscriber usually gets), so that a
/// client cannot get fresh counters by walking its own network.
pub fn rate_bucket(ip: IpAddr, v6_prefix: u8) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = v6_prefix.min(128);
            let net = ipnet::Ipv6Net::new(v6, prefix)
                .expect("a prefix of at most 128 bits")
                .trunc();
            net.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn hops(n: u8) -> ProxyTrust {
        ProxyTrust {
            proxies: TrustedProxies::Hops(n),
            header: ForwardedHeader::XForwardedFor,
        }
    }

    #[test]
    fn every_form_a_proxy_writes_is_read() {
        for (node, want) in [
            ("203.0.113.7", Some("203.0.113.7")),
            (" 203.0.113.7:4711 ", Some("203.0.113.7")),
            ("2001:db8::1", Some("2001:db8::1")),
            ("[2001:db8::1]", Some("2001:db8::1")),
            ("[2001:db8::1]:4711", Some("2001:db8::1")),
            ("\"[2001:db8::1]:4711\"", Some("2001:db8::1")),
            ("::ffff:198.51.100.1", Some("198.51.100.1")),
            ("unknown", None),
            ("_hidden", None),
            ("203.0.113.7:http", None),
            ("[2001:db8::1]x", None),
            ("", None),
        ] {
            assert_eq!(parse_node(node), want.map(ip), "{node:?}");
        }
    }

    #[test]
    fn a_client_written_entry_never_counts_whatever_the_proxy_appends() {
        let peer = Some(ip("10.0.0.2"));
        // The client sends its own header; the proxy appends the real address in some form.
        for appended in [
            "198.51.100.9",
            "198.51.100.9:5000",
            "unknown",
            "[2001:db8::9]:5000",
        ] {
            let h = headers(
                "x-forwarded-for",
                &[&format!("6.6.6.6, 7.7.7.7, {appended}")],
            );
            let client = hops(1).client(peer, &h);
            assert_ne!(client, Some(ip("7.7.7.7")), "appended {appended}");
            assert_ne!(client, Some(ip("6.6.6.6")), "appended {appended}");
        }
        let h = headers("x-forwarded-for", &["7.7.7.7", "198.51.100.9:5000"]);
        assert_eq!(hops(1).client(peer, &h), Some(ip("198.51.100.9")));
        // `unknown` at the client's position: the proxy's own bucket, not a free choice.
        let h = headers("x-forwarded-for", &["7.7.7.7, unknown"]);
        assert_eq!(hops(1).client(peer, &h), peer);
    }

    #[test]
    fn hop_counts_skip_exactly_the_operators_proxies() {
        let peer = Some(ip("10.0.0.3"));
        let h = headers("x-forwarded-for", &["7.7.7.7, 198.51.100.9, 10.0.0.2"]);
        assert_eq!(hops(2).client(peer, &h), Some(ip("198.51.100.9")));
        assert_eq!(hops(0).client(peer, &h), peer);
        // No header at all behind one proxy: the proxy's peer is unknown, use the proxy.
        assert_eq!(hops(1).client(peer, &HeaderMap::new()), peer);
        // Fewer hops than proxies: the left-most entry is what the first proxy saw.
        let h = headers("x-forwarded-for", &["198.51.100.9"]);
        assert_eq!(hops(3).client(peer, &h), Some(ip("198.51.100.9")));
    }

    #[test]
    fn trusted_networks_walk_from_the_right() {
        let trust = ProxyTrust {
            proxies: TrustedProxies::Networks(vec!["10.0.0.0/8".parse().expect("network")]),
            header: ForwardedHeader::XForwardedFor,
        };
        let h = headers("x-forwarded-for", &["7.7.7.7, 198.51.100.9, 10.1.1.1"]);
        assert_eq!(
            trust.client(Some(ip("10.0.0.2")), &h),
            Some(ip("198.51.100.9"))
        );
        // A peer outside the trusted networks is the client, whatever it claims.
        assert_eq!(
            trust.client(Some(ip("203.0.113.5")), &h),
            Some(ip("203.0.113.5"))
        );
        // `unknown` next to a trusted proxy: that proxy.
        let h = headers("x-forwarded-for", &["7.7.7.7, unknown, 10.1.1.1"]);
        assert_eq!(trust.client(Some(ip("10.0.0.2")), &h), Some(ip("10.1.1.1")));
    }

    #[test]
    fn the_forwarded_header_is_read_and_only_when_configured() {
        let peer = Some(ip("10.0.0.2"));
        let h = headers(
            "forwarded",
            &[
                "for=7.7.7.7",
                "For=\"[2001:db8:cafe::17]:4711\";proto=https;by=10.0.0.2",
            ],
        );
        let forwarded = ProxyTrust {
            proxies: TrustedProxies::Hops(1),
            header: ForwardedHeader::Forwarded,
        };
        assert_eq!(forwarded.client(peer, &h), Some(ip("2001:db8:cafe::17")));
        // A proxy configured for X-Forwarded-For ignores a client's Forwarded header.
        assert_eq!(hops(1).client(peer, &h), peer);
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_prefix() {
        assert_eq!(rate_bucket(ip("203.0.113.7"), 64), "203.0.113.7");
        assert_eq!(
            rate_bucket(ip("2001:db8:1:2:aaaa::1"), 64),
            rate_bucket(ip("2001:db8:1:2:ffff:1:2:3"), 64)
        );
        assert_eq!(
            rate_bucket(ip("2001:db8:1:2:aaaa::1"), 64),
            "2001:db8:1:2::/64"
        );
        assert_ne!(
            rate_bucket(ip("2001:db8:1:2::1"), 64),
            rate_bucket(ip("2001:db8:1:3::1"), 64)
        );
        assert_eq!(rate_bucket(ip("2001:db8::1"), 128), "2001:db8::1/128");
        assert_eq!(rate_bucket(ip("::ffff:203.0.113.7"), 64), "203.0.113.7");
    }
}
