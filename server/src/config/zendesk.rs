//! The Zendesk settings: where each tenant's Zendesk answers, the app's public key, the OAuth
//! client and the server's keys for agent sessions and tokens at rest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use sealdrop_zendesk::roles;
use sealdrop_zendesk::{SecretString, Subdomain, ZendeskEndpoints};
use url::Url;

/// The real Zendesk's base URL template.
pub const DEFAULT_BASE_URL: &str = "https://{subdomain}.zendesk.com/";

/// Zendesk flags and environment variables (flattened into [`crate::config::ConfigArgs`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ZendeskArgs {
    /// Where each tenant's Zendesk answers: a URL template with `{subdomain}` (default
    /// `https://{subdomain}.zendesk.com/`), one URL for every tenant (a simulator), or
    /// `SUB=URL,SUB=URL` pairs (several simulators).
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_BASE_URL")]
    pub zendesk_base_url: Option<String>,
    /// PEM file with the Zendesk app's public key (RS256), shown by Zendesk for the app; it
    /// verifies the signed URLs of every installation.
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_APP_PUBLIC_KEY")]
    pub zendesk_app_public_key: Option<PathBuf>,
    /// The OAuth client identifier sealdrop is registered as in Zendesk. Default `sealdrop`.
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_CLIENT_ID")]
    pub zendesk_client_id: Option<String>,
    /// The OAuth client secret (confidential clients); PKCE is used either way.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub zendesk_client_secret: Option<String>,
    /// HMAC key of agent sessions: base64url of at least 32 random bytes. Set the same value
    /// on every instance. Default: `<data-dir>/zendesk-session.key`, made on first start.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_SESSION_KEY",
        hide_env_values = true
    )]
    pub zendesk_session_key: Option<String>,
    /// Key that encrypts Zendesk tokens at rest: base64url of 32 random bytes. Set the same
    /// value on every instance. Default: `<data-dir>/zendesk-token.key`, made on first start.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_TOKEN_KEY",
        hide_env_values = true
    )]
    pub zendesk_token_key: Option<String>,
    /// How long a role read from Zendesk is trusted, in seconds (default 60).
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_ROLE_CACHE_SECS")]
    pub zendesk_role_cache_secs: Option<u64>,
    /// Folder of the agent app's static files (`sidebar.html` and its scripts), served at
    /// `/agent-app/`. Default: the source tree's `web/sidebar/`.
    #[arg(long, global = true, env = "SEALDROP_AGENT_APP_DIR")]
    pub agent_app_dir: Option<PathBuf>,
    /// Origins the sidebar served from the Zendesk app package runs in, comma-separated; a
    /// leading `*.` matches any one label (default `https://*.apps.zdusercontent.com`, where
    /// Zendesk serves app assets). Answers to agent-session requests are readable from them
    /// (CORS, no credentials: the session travels in `Authorization`).
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_APP_ORIGINS",
        value_delimiter = ','
    )]
    pub zendesk_app_origins: Vec<String>,
}

/// Where tenants' Zendesks answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZendeskBase {
    /// A template with `{subdomain}`; [`DEFAULT_BASE_URL`] is the real Zendesk.
    Template(String),
    /// One URL for every tenant.
    Fixed(Url),
    /// One URL per subdomain; others go to the real Zendesk.
    PerTenant(BTreeMap<String, Url>),
}

impl ZendeskBase {
    /// Parses the `SEALDROP_ZENDESK_BASE_URL` forms.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.contains("{subdomain}") {
            let probe = text.replace("{subdomain}", "probe");
            check_base(
                &Url::parse(&probe).context("SEALDROP_ZENDESK_BASE_URL is not a URL template")?,
            )?;
            return Ok(Self::Template(text.to_owned()));
        }
        if text.contains('=') {
            let mut map = BTreeMap::new();
            for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (sub, url) = pair.split_once('=').context("expected SUB=URL pairs")?;
                let sub = Subdomain::parse(sub.trim())
                    .map_err(|_| anyhow::anyhow!("{sub:?} is not a subdomain"))?;
                let url = Url::parse(url.trim())
                    .with_context(|| format!("the URL for {sub} is not a URL"))?;
                check_base(&url)?;
                map.insert(sub.to_string(), url);
            }
            return Ok(Self::PerTenant(map));
        }
        let url = Url::parse(text).context("SEALDROP_ZENDESK_BASE_URL is not a URL")?;
        check_base(&url)?;
        Ok(Self::Fixed(url))
    }

    /// The endpoints of `subdomain`'s Zendesk.
    pub fn endpoints(&self, subdomain: &Subdomain) -> ZendeskEndpoints {
        let fixed = |url: Url| ZendeskEndpoints::Fixed(url);
        match self {
            Self::Template(t) if t == DEFAULT_BASE_URL => ZendeskEndpoints::Zendesk,
            Self::Template(t) => Url::parse(&t.replace("{subdomain}", subdomain.as_str()))
                .map_or(ZendeskEndpoints::Zendesk, fixed),
            Self::Fixed(url) => fixed(url.clone()),
            Self::PerTenant(map) => map
                .get(subdomain.as_str())
                .cloned()
                .map_or(ZendeskEndpoints::Zendesk, fixed),
        }
    }
}

fn check_base(url: &Url) -> anyhow::Result<()> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("a Zendesk base URL must be http:// or https:// with a host");
    }
    Ok(())
}

/// Resolved Zendesk settings. `Debug` hides the keys and the client secret.
#[derive(Debug, Clone)]
pub struct ZendeskConfig {
    /// Where tenants' Zendesks answer.
    pub base: ZendeskBase,
    /// The app's public key file, if configured.
    pub app_public_key: Option<PathBuf>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Configured session key (b64u).
    pub session_key: Option<SecretString>,
    /// Otherwise this file (made if missing).
    pub session_key_file: PathBuf,
    /// Configured token encryption key (b64u).
    pub token_key: Option<SecretString>,
    /// Otherwise this file (made if missing).
    pub token_key_file: PathBuf,
    /// Role cache lifetime.
    pub role_cache: Duration,
    /// The agent app's static files.
    pub agent_app_dir: PathBuf,
    /// Origins of the sidebar served from the app package (patterns, see the flag).
    pub app_origins: Vec<String>,
}

/// Where Zendesk serves apps' assets.
pub const DEFAULT_APP_ORIGIN: &str = "https://*.apps.zdusercontent.com";

impl ZendeskConfig {
    /// Whether `origin` (scheme://host[:port]) is one the packaged sidebar runs in.
    pub fn is_app_origin(&self, origin: &str) -> bool {
        self.app_origins
            .iter()
            .any(|pattern| origin_matches(pattern, origin))
    }
}

/// `https://*.example.com` matches `https://a.example.com` (one label, not a dot); anything
/// else matches itself exactly.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    match pattern.split_once("*.") {
        Some((scheme, suffix)) => origin
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_suffix(suffix))
            .and_then(|label| label.strip_suffix('.'))
            .is_some_and(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }),
        None => pattern == origin,
    }
}

impl ZendeskArgs {
    /// Checks the flags and fills in defaults that depend on the data folder.
    pub fn into_config(self, data_dir: &Path) -> anyhow::Result<ZendeskConfig> {
        let base = match self
            .zendesk_base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => ZendeskBase::parse(text)?,
            None => ZendeskBase::Template(DEFAULT_BASE_URL.into()),
        };
        let role_cache = Duration::from_secs(
            self.zendesk_role_cache_secs
                .unwrap_or(roles::DEFAULT_LIFETIME.as_secs()),
        );
        Ok(ZendeskConfig {
            base,
            app_public_key: self.zendesk_app_public_key,
            client_id: self
                .zendesk_client_id
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "sealdrop".into()),
            client_secret: self
                .zendesk_client_secret
                .filter(|s| !s.is_empty())
                .map(SecretString::new),
            session_key: self.zendesk_session_key.map(SecretString::new),
            session_key_file: data_dir.join("zendesk-session.key"),
            token_key: self.zendesk_token_key.map(SecretString::new),
            token_key_file: data_dir.join("zendesk-token.key"),
            role_cache,
            agent_app_dir: self.agent_app_dir.unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/sidebar"))
            }),
            app_origins: {
                let given: Vec<String> = self
                    .zendesk_app_origins
                    .iter()
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect();
                if given.is_empty() {
                    vec![DEFAULT_APP_ORIGIN.to_owned()]
                } else {
                    given
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_origin_patterns_match_one_label() {
        let p = DEFAULT_APP_ORIGIN;
        assert!(origin_matches(p, "https://123.apps.zdusercontent.com"));
        assert!(!origin_matches(p, "https://a.b.apps.zdusercontent.com"));
        assert!(!origin_matches(p, "https://apps.zdusercontent.com"));
        assert!(!origin_matches(p, "http://123.apps.zdusercontent.com"));
        assert!(!origin_matches(
            p,
            "https://123.apps.zdusercontent.com.evil.example"
        ));
        assert!(origin_matches("http://127.0.0.1:9", "http://127.0.0.1:9"));
    }

    fn sub(s: &str) -> Subdomain {
        Subdomain::parse(s).expect("valid")
    }

    #[test]
    fn base_urls_parse_in_their_three_forms() {
        let t = ZendeskBase::parse("http://{subdomain}.localhost:9000/").expect("template");
        assert_eq!(
            t.endpoints(&sub("acme")).base_url(&sub("acme")).as_str(),
            "http://acme.localhost:9000/"
        );
        let fixed = ZendeskBase::parse("http://127.0.0.1:9000").expect("fixed");
        assert_eq!(
            fixed.endpoints(&sub("x")).base_url(&sub("x")).as_str(),
            "http://127.0.0.1:9000/"
        );
        let map = ZendeskBase::parse("acme=http://127.0.0.1:1/, globex=http://127.0.0.1:2/")
            .expect("pairs");
        assert_eq!(
            map.endpoints(&sub("globex"))
                .base_url(&sub("globex"))
                .as_str(),
            "http://127.0.0.1:2/"
        );
        assert_eq!(map.endpoints(&sub("other")), ZendeskEndpoints::Zendesk);
        assert_eq!(
            ZendeskBase::parse(DEFAULT_BASE_URL)
                .expect("default")
                .endpoints(&sub("a")),
            ZendeskEndpoints::Zendesk
        );
        assert!(ZendeskBase::parse("ftp://x").is_err());
        assert!(ZendeskBase::parse("a.b=http://x/").is_err());
    }
}
