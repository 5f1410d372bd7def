//! ZAF signed URLs: the RS256 JWT Zendesk POSTs to an app's iframe URL.
//!
//! When an app's manifest says `"signedUrls": true`, Zendesk does not load the app's
//! `ticket_sidebar` URL with a GET: it submits a hidden form that POSTs one field, `token`,
//! to the URL (with `?origin=…&app_guid=…` appended), targeting the app's iframe.
//! The token is a JWT signed with RS256 by Zendesk's key for the app; the app's
//! public key is shown to the admin when the app is installed.
//!
//! Claim layout (what Zendesk documents for ZAF JWTs, and what this simulator signs):
//!
//! | claim | value |
//! |---|---|
//! | `iss` | `{subdomain}.zendesk.com` (host only, no scheme) |
//! | `aud` | `https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json` |
//! | `iat`, `nbf`, `exp` | seconds since the epoch; `exp` a few minutes after `iat` |
//! | `sub` | the signed-in Zendesk user's id, as a decimal string |
//! | `qsh` | hex SHA-256 of the canonical request `POST&{path}&{sorted query}` |
//! | `context` | `{"product": "support", "location": "ticket_sidebar"}` |
//!
//! The header is `{"alg": "RS256", "typ": "JWT"}`. The simulator signs with its own RSA key
//! (generated at start, or loaded from a PEM file) and serves the public key at
//! `/sim/public_key.pem`.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a signed URL token lives, as Zendesk's do (minutes, not hours).
pub const TOKEN_LIFETIME_SECS: u64 = 300;

/// The simulator's signing key for ZAF tokens.
pub struct ZafSigner {
    encoding: EncodingKey,
    public_pem: String,
}

impl std::fmt::Debug for ZafSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZafSigner").finish_non_exhaustive()
    }
}

impl ZafSigner {
    /// A fresh 2048-bit RSA key.
    pub fn generate() -> anyhow::Result<Self> {
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)?;
        Self::from_key(&key)
    }

    /// A key from a PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`) PEM.
    pub fn from_private_pem(pem: &str) -> anyhow::Result<Self> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| anyhow::anyhow!("not an RSA private key in PEM form"))?;
        Self::from_key(&key)
    }

    fn from_key(key: &RsaPrivateKey) -> anyhow::Result<Self> {
        let private_pem = key.to_pkcs8_pem(LineEnding::LF)?;
        let encoding = EncodingKey::from_rsa_pem(private_pem.as_bytes())?;
        let public_pem = RsaPublicKey::from(key).to_public_key_pem(LineEnding::LF)?;
        Ok(Self {
            encoding,
            public_pem,
        })
    }

    /// The public key (SPKI `PUBLIC KEY` PEM) an app verifies tokens with.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// Signs arbitrary JSON claims with RS256 (tests that drop or retype a claim).
    pub fn sign_json(&self, claims: &serde_json::Value) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Signs `claims` with RS256.
    pub fn sign(&self, claims: &ZafClaims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            claims,
            &self.encoding,
        )?)
    }
}

/// The `context` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZafContext {
    /// `support` for the agent workspace.
    pub product: String,
    /// The app location, `ticket_sidebar` here.
    pub location: String,
}

/// The claims of a ZAF signed URL token (see the module docs for the layout).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZafClaims {
    /// `{subdomain}.zendesk.com`.
    pub iss: String,
    /// The installation's API URL.
    pub aud: String,
    /// The Zendesk user id, as a string.
    pub sub: String,
    /// Issued at.
    pub iat: u64,
    /// Not before.
    pub nbf: u64,
    /// Expires at.
    pub exp: u64,
    /// Query string hash.
    pub qsh: String,
    /// Product and location.
    pub context: ZafContext,
}

impl ZafClaims {
    /// The claims Zendesk would sign for `user_id` opening the `ticket_sidebar` of
    /// installation `installation_id` on `subdomain`, for a POST to `app_url`.
    pub fn ticket_sidebar(
        subdomain: &str,
        installation_id: u64,
        user_id: u64,
        app_url: &url::Url,
    ) -> Self {
        let now = unix_now();
        Self {
            iss: issuer(subdomain),
            aud: audience(subdomain, installation_id),
            sub: user_id.to_string(),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME_SECS,
            qsh: query_string_hash("POST", app_url),
            context: ZafContext {
                product: "support".into(),
                location: "ticket_sidebar".into(),
            },
        }
    }
}

/// A fresh app instance id in the UUID form Zendesk uses for `app_guid`.
pub fn new_app_guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `{subdomain}.zendesk.com`.
pub fn issuer(subdomain: &str) -> String {
    format!("{subdomain}.zendesk.com")
}

/// `https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json`.
pub fn audience(subdomain: &str, installation_id: u64) -> String {
    format!("https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json")
}

/// Hex SHA-256 of `METHOD&path&sorted-query` (the canonical request of a query string hash).
pub fn query_string_hash(method: &str, url: &url::Url) -> String {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!("{}&{}&{}", method.to_uppercase(), url.path(), query);
    hex_lower(&Sha256::digest(canonical.as_bytes()))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
