//! Zendesk integration: who an agent is, what Zendesk says about them, and the admin's grant.
//!
//! Self-contained pieces the server's router and database layer call (the server re-exports
//! this crate as `sealdrop_server::zendesk`); none of them touches HTTP routing or SQL:
//!
//! - [`signed_url`]: verifies the ZAF signed-URL JWT Zendesk POSTs to the sidebar URL
//!   (RS256 with the app's public key, time claims, issuer, audience, context).
//! - [`app_jwt`]: verifies the HS256 token ZAF's proxy signs with the tenant's shared secret
//!   for the sidebar served from the app package (the tenant proven, the user as the app says).
//! - [`session`]: mints and checks the agent session token (`sda_…`, HS256, 1 h) the sidebar
//!   page sends as a Bearer header; no cookies, so it works in a third-party iframe.
//! - [`oauth`]: the admin's authorization-code grant with PKCE (S256), code exchange, refresh,
//!   and [`oauth::TokenCipher`] for encrypting tokens at rest (AES-256-GCM, versioned blob).
//! - [`api`]: a small Zendesk REST client (users, tickets, comments with cursor pagination)
//!   that honours `429 Retry-After`, backs off on 5xx and reports a dead grant as
//!   [`api::ApiError::GrantRevoked`].
//! - [`roles`]: the tenant's allowed roles and a role cache with a stated lifetime.
//!
//! Every function that talks to Zendesk takes a [`ZendeskEndpoints`], so tests and the demo
//! point at the simulator (`zendesk-sim`) instead of `https://{subdomain}.zendesk.com`.

pub mod api;
pub mod app_jwt;
mod jwt_parts;
pub mod oauth;
pub mod roles;
pub mod session;
pub mod signed_url;

use std::fmt;

use url::Url;
use zeroize::Zeroizing;

/// A Zendesk account's subdomain (`acme` in `acme.zendesk.com`): the tenant key.
///
/// Lowercase ASCII letters, digits and inner hyphens, 1 to 63 characters, so it is always a
/// valid DNS label and never carries a dot, a slash or anything else a URL could be bent with.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subdomain(String);

impl Subdomain {
    /// Parses a subdomain (case-insensitive; stored lowercase).
    pub fn parse(s: &str) -> Result<Self, InvalidSubdomain> {
        let s = s.to_ascii_lowercase();
        let ok = !s.is_empty()
            && s.len() <= 63
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s))
        } else {
            Err(InvalidSubdomain)
        }
    }

    /// The subdomain as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Subdomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not a Zendesk subdomain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Zendesk subdomain")]
pub struct InvalidSubdomain;

/// Where each tenant's Zendesk answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZendeskEndpoints {
    /// The real thing: `https://{subdomain}.zendesk.com/`.
    Zendesk,
    /// One base URL for every tenant (the simulator in tests and the local demo).
    Fixed(Url),
}

impl ZendeskEndpoints {
    /// The base URL (ending in `/`) of `subdomain`'s Zendesk.
    pub fn base_url(&self, subdomain: &Subdomain) -> Url {
        match self {
            Self::Zendesk => Url::parse(&format!("https://{subdomain}.zendesk.com/"))
                .expect("a validated subdomain makes a valid host"),
            Self::Fixed(url) => {
                let mut url = url.clone();
                if !url.path().ends_with('/') {
                    let path = format!("{}/", url.path());
                    url.set_path(&path);
                }
                url
            }
        }
    }
}

/// A secret string (OAuth tokens, client secrets, PKCE verifiers): zeroized on drop and
/// never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(Zeroizing::new(s.into()))
    }

    /// The secret itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomain_accepts_dns_labels_only() {
        assert_eq!(
            Subdomain::parse("Acme-2").map(|s| s.to_string()),
            Ok("acme-2".into())
        );
        for bad in [
            "",
            "-acme",
            "acme-",
            "acme.evil",
            "a/b",
            "acme zendesk",
            &"a".repeat(64),
        ] {
            assert_eq!(Subdomain::parse(bad), Err(InvalidSubdomain), "{bad:?}");
        }
    }

    #[test]
    fn endpoints_build_the_tenant_base_url() {
        let acme = Subdomain::parse("acme").expect("valid");
        assert_eq!(
            ZendeskEndpoints::Zendesk.base_url(&acme).as_str(),
            "https://acme.zendesk.com/"
        );
        let sim = ZendeskEndpoints::Fixed(Url::parse("http://127.0.0.1:9000").expect("url"));
        assert_eq!(sim.base_url(&acme).as_str(), "http://127.0.0.1:9000/");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = SecretString::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }
}
