//! The admin's OAuth grant: authorization code with PKCE (S256), refresh, tokens at rest.
//!
//! Flow (RFC 6749 §4.1 with RFC 7636 PKCE):
//!
//! 1. [`begin`] makes a random `state` and `code_verifier` and the URL
//!    `{zendesk}/oauth/authorizations/new?response_type=code&client_id&redirect_uri&scope&state&code_challenge&code_challenge_method=S256`.
//!    The caller stores the pending request keyed by [`state_hash`] (never the raw state),
//!    with the tenant, the admin's user id and the verifier sealed by [`TokenCipher`], for
//!    [`PENDING_LIFETIME`], single use, and sends the admin's browser to the URL.
//! 2. Zendesk redirects to `redirect_uri?code=…&state=…`; the caller looks the pending request
//!    up by `state_hash(state)`, deletes it, and calls [`exchange_code`].
//! 3. [`exchange_code`] POSTs `grant_type=authorization_code` with the `code_verifier` to
//!    `{zendesk}/oauth/tokens`. Zendesk may answer with a non-expiring access token (its
//!    historical behaviour) or, for clients that opted in, an access token with `expires_in`
//!    and a `refresh_token`: [`Grant`] holds either.
//! 4. Before a call, [`Grant::needs_refresh`] tells whether to [`refresh`] first; a refresh
//!    that Zendesk refuses (`invalid_grant`) means the grant is gone: [`OAuthError::GrantRevoked`].
//!
//! Tokens are stored only as [`TokenCipher::seal`] blobs: AES-256-GCM under a server key,
//! random 96-bit nonce, the tenant's subdomain as associated data (a blob moved to another
//! tenant's row does not open), layout `0x01 || nonce (12) || ciphertext+tag`.

use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use url::Url;
use zeroize::{Zeroize, Zeroizing};

use super::signed_url::unix_now;
use super::{SecretString, Subdomain, ZendeskEndpoints};

/// How long a pending authorization (state + verifier) stays usable.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN_SECS: u64 = 60;

/// The least the server needs: read users (roles), tickets (requester and CCs) and app
/// installations (whether the app is still installed, for the daily lifecycle check).
pub const DEFAULT_SCOPE: &str = "users:read tickets:read apps:read";

/// The OAuth client sealdrop is registered as in each Zendesk.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    /// The client's unique identifier.
    pub client_id: String,
    /// Confidential clients send a secret; public clients rely on PKCE alone.
    pub client_secret: Option<SecretString>,
    /// `{sealdrop}/zendesk/oauth/callback`.
    pub redirect_uri: Url,
    /// Space-separated scopes.
    pub scope: String,
    /// Zendesk or the simulator.
    pub endpoints: ZendeskEndpoints,
}

/// A started authorization: send the browser to `authorize_url`, keep the rest server-side.
#[derive(Debug)]
pub struct PendingAuthorization {
    /// Where the admin's browser goes.
    pub authorize_url: Url,
    /// The `state` value (store only its [`state_hash`]).
    pub state: SecretString,
    /// The PKCE verifier (store only sealed).
    pub code_verifier: SecretString,
}

/// A working grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Bearer token for the API.
    pub access_token: SecretString,
    /// Present when Zendesk issued an expiring token.
    pub refresh_token: Option<SecretString>,
    /// Access token expiry (seconds since the epoch), when it has one.
    pub expires_at: Option<u64>,
    /// Granted scopes.
    pub scope: String,
}

impl Grant {
    /// Whether the access token expires within [`REFRESH_MARGIN_SECS`] of `now` and can be
    /// refreshed.
    pub fn needs_refresh(&self, now: u64) -> bool {
        self.refresh_token.is_some()
            && self
                .expires_at
                .is_some_and(|e| e <= now + REFRESH_MARGIN_SECS)
    }
}

/// What went wrong in the grant flow. Messages never contain codes or tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    /// Zendesk refused the code or refresh token (`invalid_grant`): re-authorise.
    #[error("Zendesk no longer accepts this grant ({0}); an admin must re-authorise")]
    GrantRevoked(String),
    /// Zendesk refused our client (`invalid_client`): a configuration problem.
    #[error("Zendesk does not accept sealdrop's OAuth client: {0}")]
    Client(String),
    /// Any other refusal.
    #[error("Zendesk refused the token request: {0}")]
    Refused(String),
    /// The grant has no refresh token.
    #[error("this grant cannot be refreshed")]
    NotRefreshable,
    /// The connection failed.
    #[error("could not reach Zendesk: {0}")]
    Transport(String),
    /// The response was not a token response.
    #[error("Zendesk sent a token response we cannot read")]
    Decode,
    /// A sealed blob did not open (wrong key, wrong tenant, tampered, unknown version).
    #[error("a stored Zendesk token could not be decrypted")]
    Sealed,
    /// The server key is not 32 bytes.
    #[error("the token encryption key must be 32 bytes")]
    BadKey,
}

/// Starts an authorization for `subdomain`.
pub fn begin(config: &OAuthConfig, subdomain: &Subdomain) -> PendingAuthorization {
    let state = random_b64u(32);
    let code_verifier = random_b64u(32);
    let mut url = config
        .endpoints
        .base_url(subdomain)
        .join("oauth/authorizations/new")
        .expect("a fixed relative path joins onto a base URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", config.redirect_uri.as_str())
        .append_pair("scope", &config.scope)
        .append_pair("state", state.expose())
        .append_pair("code_challenge", &code_challenge(code_verifier.expose()))
        .append_pair("code_challenge_method", "S256");
    PendingAuthorization {
        authorize_url: url,
        state,
        code_verifier,
    }
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2, S256).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What to key a pending authorization by: SHA-256 of the state.
pub fn state_hash(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

fn random_b64u(n: usize) -> SecretString {
    let mut b = Zeroizing::new(vec![0u8; n]);
    rand::rngs::OsRng.fill_bytes(&mut b);
    SecretString::new(URL_SAFE_NO_PAD.encode(&*b))
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

impl Drop for TokenResponse {
    fn drop(&mut self) {
        self.access_token.zeroize();
        if let Some(r) = self.refresh_token.as_mut() {
            r.zeroize();
        }
    }
}

#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
}

/// Exchanges an authorization code (with its PKCE verifier) for a grant.
pub async fn exchange_code(
    http: &reqwest::Client,
    config: &OAuthConfig,
    subdomain: &Subdomain,
    code: &str,
    code_verifier: &SecretString,
) -> Result<Grant, OAuthError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("scope", config.scope.as_str()),
        ("code_verifier", code_verifier.expose()),
    ];
    if let Some(secret) = &config.client_secret {
        form.push(("client_secret", secret.expose()));
    }
    token_request(http, config, subdomain, &form, None).await
}

/// Refreshes a grant; the new grant replaces the old (refresh tokens may rotate).
pub async fn refresh(
    http: &reqwest::Client,
    config: &OAuthConfig,
    subdomain: &Subdomain,
    grant: &Grant,
) -> Result<Grant, OAuthError> {
    let refresh_token = grant
        .refresh_token
        .as_ref()
        .ok_or(OAuthError::NotRefreshable)?;
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
        ("client_id", config.client_id.as_str()),
    ];
    if let Some(secret) = &config.client_secret {
        form.push(("client_secret", secret.expose()));
    }
    token_request(http, config, subdomain, &form, Some(grant)).await
}

async fn token_request(
    http: &reqwest::Client,
    config: &OAuthConfig,
    subdomain: &Subdomain,
    form: &[(&str, &str)],
    previous: Option<&Grant>,
) -> Result<Grant, OAuthError> {
    let url = config
        .endpoints
        .base_url(subdomain)
        .join("oauth/tokens")
        .expect("a fixed relative path joins onto a base URL");
    let resp = http
        .post(url)
        .form(form)
        .send()
        .await
        .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?;
    let status = resp.status();
    let body = Zeroizing::new(
        resp.bytes()
            .await
            .map_err(|e| OAuthError::Transport(e.without_url().to_string()))?
            .to_vec(),
    );
    if !status.is_success() {
        let code = serde_json::from_slice::<ErrorResponse>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| format!("HTTP {}", status.as_u16()));
        return Err(match code.as_str() {
            "invalid_grant" => OAuthError::GrantRevoked(code),
            "invalid_client" | "unauthorized_client" => OAuthError::Client(code),
            _ => OAuthError::Refused(code),
        });
    }
    let t: TokenResponse = serde_json::from_slice(&body).map_err(|_| OAuthError::Decode)?;
    let now = unix_now();
    Ok(Grant {
        access_token: SecretString::new(t.access_token.clone()),
        // A refresh response without a new refresh token keeps the old one.
        refresh_token: t
            .refresh_token
            .clone()
            .map(SecretString::new)
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        expires_at: t.expires_in.map(|s| now + s),
        scope: t.scope.clone().unwrap_or_else(|| config.scope.clone()),
    })
}

/// Encrypts tokens (and PKCE verifiers) at rest with a server key.
pub struct TokenCipher {
    aead: Aes256Gcm,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher([redacted])")
    }
}

const BLOB_V1: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Serialize, Deserialize)]
struct StoredGrant {
    a: String,
    r: Option<String>,
    e: Option<u64>,
    s: String,
}

impl Drop for StoredGrant {
    fn drop(&mut self) {
        self.a.zeroize();
        if let Some(r) = self.r.as_mut() {
            r.zeroize();
        }
    }
}

impl TokenCipher {
    /// A cipher under a 32-byte server key.
    pub fn new(key: &[u8]) -> Result<Self, OAuthError> {
        let aead = Aes256Gcm::new_from_slice(key).map_err(|_| OAuthError::BadKey)?;
        Ok(Self { aead })
    }

    /// Seals bytes for `tenant`: `0x01 || nonce || ciphertext+tag`.
    pub fn seal_bytes(&self, tenant: &Subdomain, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = aad(tenant);
        let ct = self
            .aead
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption of a small buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(BLOB_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens what [`Self::seal_bytes`] sealed for the same tenant.
    pub fn open_bytes(
        &self,
        tenant: &Subdomain,
        blob: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OAuthError> {
        if blob.len() < 1 + NONCE_LEN + 16 || blob[0] != BLOB_V1 {
            return Err(OAuthError::Sealed);
        }
        let (nonce, ct) = blob[1..].split_at(NONCE_LEN);
        let aad = aad(tenant);
        self.aead
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| OAuthError::Sealed)
    }

    /// Seals a grant for storage.
    pub fn seal(&self, tenant: &Subdomain, grant: &Grant) -> Vec<u8> {
        let stored = StoredGrant {
            a: grant.access_token.expose().to_string(),
            r: grant.refresh_token.as_ref().map(|r| r.expose().to_string()),
            e: grant.expires_at,
            s: grant.scope.clone(),
        };
        let json =
            Zeroizing::new(serde_json::to_vec(&stored).expect("a struct of strings serializes"));
        self.seal_bytes(tenant, &json)
    }

    /// Opens a stored grant.
    pub fn open(&self, tenant: &Subdomain, blob: &[u8]) -> Result<Grant, OAuthError> {
        let json = self.open_bytes(tenant, blob)?;
        let s: StoredGrant = serde_json::from_slice(&json).map_err(|_| OAuthError::Sealed)?;
        Ok(Grant {
            access_token: SecretString::new(s.a.clone()),
            refresh_token: s.r.clone().map(SecretString::new),
            expires_at: s.e,
            scope: s.s.clone(),
        })
    }
}

fn aad(tenant: &Subdomain) -> Vec<u8> {
    format!("sealdrop/v1/zendesk-token/{tenant}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OAuthConfig {
        OAuthConfig {
            client_id: "sealdrop".into(),
            client_secret: None,
            redirect_uri: Url::parse("https://sealdrop.example/zendesk/oauth/callback")
                .expect("url"),
            scope: DEFAULT_SCOPE.into(),
            endpoints: ZendeskEndpoints::Zendesk,
        }
    }

    fn acme() -> Subdomain {
        Subdomain::parse("acme").expect("valid")
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn the_authorize_url_carries_every_parameter_and_no_verifier() {
        let p = begin(&config(), &acme());
        let url = &p.authorize_url;
        assert_eq!(
            url.as_str().split('?').next(),
            Some("https://acme.zendesk.com/oauth/authorizations/new")
        );
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "sealdrop");
        assert_eq!(
            q["redirect_uri"],
            "https://sealdrop.example/zendesk/oauth/callback"
        );
        assert_eq!(q["scope"], DEFAULT_SCOPE);
        assert_eq!(q["state"], p.state.expose());
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            code_challenge(p.code_verifier.expose())
        );
        assert!(!url.as_str().contains(p.code_verifier.expose()));
        assert!(
            p.code_verifier.expose().len() >= 43,
            "RFC 7636 needs 43+ characters"
        );
        assert_ne!(begin(&config(), &acme()).state, p.state);
    }

    #[test]
    fn sealed_grants_round_trip_for_their_tenant_only() {
        let cipher = TokenCipher::new(&[7; 32]).expect("32-byte key");
        let grant = Grant {
            access_token: SecretString::new("access-123"),
            refresh_token: Some(SecretString::new("refresh-456")),
            expires_at: Some(1_900_000_000),
            scope: DEFAULT_SCOPE.into(),
        };
        let blob = cipher.seal(&acme(), &grant);
        assert_eq!(blob[0], 1, "versioned blob");
        assert!(
            !blob.windows(10).any(|w| w == b"access-123"),
            "no plaintext token in the blob"
        );
        assert_eq!(cipher.open(&acme(), &blob), Ok(grant.clone()));
        assert_ne!(cipher.seal(&acme(), &grant), blob, "random nonce");

        let globex = Subdomain::parse("globex").expect("valid");
        assert_eq!(cipher.open(&globex, &blob), Err(OAuthError::Sealed));
        let other = TokenCipher::new(&[8; 32]).expect("32-byte key");
        assert_eq!(other.open(&acme(), &blob), Err(OAuthError::Sealed));
        let mut tampered = blob.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(cipher.open(&acme(), &tampered), Err(OAuthError::Sealed));
        let mut v2 = blob;
        v2[0] = 2;
        assert_eq!(cipher.open(&acme(), &v2), Err(OAuthError::Sealed));
        assert!(matches!(
            TokenCipher::new(&[0; 16]),
            Err(OAuthError::BadKey)
        ));
    }

    #[test]
    fn refresh_is_due_only_for_expiring_refreshable_grants() {
        let mut g = Grant {
            access_token: SecretString::new("a"),
            refresh_token: None,
            expires_at: None,
            scope: String::new(),
        };
        assert!(!g.needs_refresh(1000));
        g.expires_at = Some(1030);
        assert!(!g.needs_refresh(1000), "no refresh token: nothing to do");
        g.refresh_token = Some(SecretString::new("r"));
        assert!(g.needs_refresh(1000));
        assert!(!g.needs_refresh(900));
    }
}
