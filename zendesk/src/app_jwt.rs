//! Verification of the *app JWT*: the token Zendesk's proxy signs for the sidebar when it runs
//! from the app package (docs/ZENDESK.md "Sidebar from the app package").
//!
//! The packaged sidebar cannot receive a signed URL (Zendesk POSTs those only to a remote
//! page), so it signs in through ZAF's proxy: `client.request({..., secure: true, headers:
//! {Authorization: "Bearer {{jwt.token}}"}, jwt: {algorithm: "HS256", secret_key:
//! "{{setting.shared_secret}}", expiry, claims}})`. Zendesk substitutes the installation's
//! secure setting, signs an **HS256** JWT over the claims the app gave plus `iat` and `exp`,
//! and puts it in the header. The secret is the tenant's [`AppSecret`]; the browser never sees
//! it.
//!
//! ## Claim layout (the sidebar asks for exactly this; `zendesk-sim` signs what it is asked)
//!
//! | claim | expected value | check |
//! |---|---|---|
//! | header `alg` | `HS256` | anything else is refused before any crypto |
//! | `iss` | `{subdomain}.zendesk.com` | names the tenant whose secret verifies it |
//! | `aud` | [`AUDIENCE`] | equal (keeps a token made for another use of the secret out) |
//! | `iat`, `exp` | seconds since the epoch | required; `exp` not past, `iat` not future (leeway); `exp - iat` at most [`MAX_LIFETIME_SECS`] |
//! | `sub` | the Zendesk user id, as text or number | required |
//! | `installation_id` | the app installation id, as text or number | required; the caller checks it against the pinned one |
//! | `jti` | 16 to 128 characters the app chose at random | required; the caller accepts each token once |
//!
//! **What it proves.** Only that the request went through the proxy of a Zendesk account whose
//! installation holds the tenant's secret. The proxy signs whatever claims the app's script
//! asks for, so `sub` is the script's word, not Zendesk's: see the section's "What it
//! protects, and what it does not".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use super::signed_url::{unix_now, LEEWAY_SECS};
use super::Subdomain;

/// The `aud` the sidebar puts in its claims.
pub const AUDIENCE: &str = "sealdrop";

/// The longest lifetime (`exp - iat`) accepted; the sidebar asks for 60 s.
pub const MAX_LIFETIME_SECS: u64 = 300;

/// Tokens larger than this are refused unread.
const MAX_TOKEN_LEN: usize = 4 * 1024;

/// Length of a secret, in bytes.
pub const SECRET_LEN: usize = 32;

/// A tenant's shared secret: the app's secure setting `shared_secret` holds its text form
/// (base64url, no padding), Zendesk's proxy signs with those ASCII bytes as the HS256 key.
#[derive(Clone)]
pub struct AppSecret(Zeroizing<String>);

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppSecret(..)")
    }
}

impl AppSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..])))
    }

    /// Reads the text form (as stored, or as an operator typed it).
    pub fn parse(text: &str) -> Result<Self, AppJwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| AppJwtError::BadSecret)?;
        if bytes.len() != SECRET_LEN {
            return Err(AppJwtError::BadSecret);
        }
        Ok(Self(Zeroizing::new(text.trim().to_owned())))
    }

    /// The text the Zendesk admin pastes into the app's `shared_secret` setting.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Who signed in through the proxy, as the app's claims say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppIdentity {
    /// The tenant.
    pub subdomain: Subdomain,
    /// The Zendesk user id the app named.
    pub user_id: u64,
    /// The installation id the app named.
    pub installation_id: u64,
    /// `exp` (seconds since the epoch).
    pub expires_at: u64,
    /// `jti`, for the caller's single-use check.
    pub token_id: String,
}

/// Why an app JWT was refused. Each message says what failed, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppJwtError {
    /// Not three base64url parts with a JSON header and claims, or too large.
    #[error("the app token is malformed")]
    Malformed,
    /// The header's `alg` is not HS256.
    #[error("the app token is not signed with HS256")]
    Algorithm,
    /// The signature does not verify with the tenant's shared secret.
    #[error("the app token's signature does not verify with this account's shared secret")]
    Signature,
    /// A stored or typed secret is not 32 bytes of base64url.
    #[error("the shared secret is not 32 bytes of base64url")]
    BadSecret,
    /// A required claim is absent or has the wrong type.
    #[error("the app token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// `exp` has passed.
    #[error("the app token has expired")]
    Expired,
    /// `iat` lies in the future.
    #[error("the app token is not valid yet")]
    NotYetValid,
    /// `exp - iat` is longer than [`MAX_LIFETIME_SECS`].
    #[error("the app token lives longer than sealdrop accepts")]
    Lifetime,
    /// `iss` is not a Zendesk account.
    #[error("the app token was issued for another Zendesk account")]
    Issuer,
    /// `aud` is not [`AUDIENCE`].
    #[error("the app token is not meant for sealdrop")]
    Audience,
    /// `sub` or `installation_id` is not an id.
    #[error("the app token's user or installation is not a Zendesk id")]
    Subject,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<Value>,
    sub: Option<Value>,
    installation_id: Option<Value>,
    jti: Option<String>,
    iat: Option<u64>,
    exp: Option<u64>,
}

/// Reads the tenant named by `iss`, **without verifying anything**: use it only to choose
/// which tenant's secret to verify with.
pub fn peek_subdomain(token: &str) -> Result<Subdomain, AppJwtError> {
    let claims = decode_part(token, 1)?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(AppJwtError::MissingClaim("iss"))?;
    subdomain_of(iss).ok_or(AppJwtError::Issuer)
}

/// Verifies `token` with the tenant's secret at the current time.
pub fn verify(
    token: &str,
    subdomain: &Subdomain,
    secret: &AppSecret,
) -> Result<AppIdentity, AppJwtError> {
    verify_at(token, subdomain, secret, unix_now())
}

/// Verifies `token` as of `now` (seconds since the epoch).
pub fn verify_at(
    token: &str,
    subdomain: &Subdomain,
    secret: &AppSecret,
    now: u64,
) -> Result<AppIdentity, AppJwtError> {
    // Refuse every algorithm but HS256 by reading the header ourselves, before any crypto.
    let header = decode_part(token, 0)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(AppJwtError::Algorithm);
    }
    // Time, issuer and audience are checked below, with errors that say which failed.
    let validation = crate::jwt_parts::signature_only(Algorithm::HS256);
    let key = DecodingKey::from_secret(secret.expose().as_bytes());
    let data = jsonwebtoken::decode::<RawClaims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => AppJwtError::Signature,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::MissingAlgorithm => AppJwtError::Algorithm,
            ErrorKind::Json(_) => AppJwtError::MissingClaim("well-typed"),
            _ => AppJwtError::Malformed,
        }
    })?;
    let c = data.claims;

    let exp = c.exp.ok_or(AppJwtError::MissingClaim("exp"))?;
    let iat = c.iat.ok_or(AppJwtError::MissingClaim("iat"))?;
    if exp.saturating_add(LEEWAY_SECS) <= now {
        return Err(AppJwtError::Expired);
    }
    if iat > now.saturating_add(LEEWAY_SECS) {
        return Err(AppJwtError::NotYetValid);
    }
    if exp.saturating_sub(iat) > MAX_LIFETIME_SECS {
        return Err(AppJwtError::Lifetime);
    }
    let iss = c.iss.ok_or(AppJwtError::MissingClaim("iss"))?;
    if subdomain_of(&iss).as_ref() != Some(subdomain) {
        return Err(AppJwtError::Issuer);
    }
    let aud_ok = match c.aud.ok_or(AppJwtError::MissingClaim("aud"))? {
        Value::String(s) => s == AUDIENCE,
        Value::Array(a) => a.iter().any(|v| v.as_str() == Some(AUDIENCE)),
        _ => false,
    };
    if !aud_ok {
        return Err(AppJwtError::Audience);
    }
    let user_id =
        id_of(&c.sub.ok_or(AppJwtError::MissingClaim("sub"))?).ok_or(AppJwtError::Subject)?;
    let installation_id = id_of(
        &c.installation_id
            .ok_or(AppJwtError::MissingClaim("installation_id"))?,
    )
    .ok_or(AppJwtError::Subject)?;
    let token_id = c.jti.ok_or(AppJwtError::MissingClaim("jti"))?;
    if !(16..=128).contains(&token_id.len()) {
        return Err(AppJwtError::MissingClaim("jti"));
    }
    Ok(AppIdentity {
        subdomain: subdomain.clone(),
        user_id,
        installation_id,
        expires_at: exp,
        token_id,
    })
}

/// The claims the sidebar asks the proxy to sign (without `iat`/`exp`, which the proxy adds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppClaims {
    /// `{subdomain}.zendesk.com`.
    pub iss: String,
    /// [`AUDIENCE`].
    pub aud: String,
    /// The user id, as text.
    pub sub: String,
    /// The installation id.
    pub installation_id: u64,
    /// A random token id.
    pub jti: String,
}

/// Signs a token as Zendesk's proxy does (HS256 over the claims plus `iat` and `exp`), for
/// tests and the simulator.
pub fn sign(secret: &str, claims: &Value, iat: u64, expiry_secs: u64) -> String {
    let mut body = match claims {
        Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    body.insert("iat".into(), Value::from(iat));
    body.insert("exp".into(), Value::from(iat.saturating_add(expiry_secs)));
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Value::Object(body),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("an HS256 signature over a JSON object cannot fail")
}

fn subdomain_of(iss: &str) -> Option<Subdomain> {
    let host = iss.strip_prefix("https://").unwrap_or(iss);
    let sub = host.strip_suffix(".zendesk.com")?;
    Subdomain::parse(sub).ok()
}

fn id_of(v: &Value) -> Option<u64> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => {
            if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    (n > 0).then_some(n)
}

fn decode_part(token: &str, index: usize) -> Result<Value, AppJwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AppJwtError::Malformed);
    }
    crate::jwt_parts::object_part(token, index).ok_or(AppJwtError::Malformed)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn acme() -> Subdomain {
        Subdomain::parse("acme").expect("as expected")
    }

    fn claims() -> Value {
        json!({"iss": "acme.zendesk.com", "aud": AUDIENCE, "sub": "42",
               "installation_id": 7, "jti": "0123456789abcdef0123"})
    }

    #[test]
    fn a_token_the_proxy_signed_verifies() {
        let secret = AppSecret::generate();
        let token = sign(secret.expose(), &claims(), NOW, 60);
        assert_eq!(peek_subdomain(&token).expect("as expected"), acme());
        let id = verify_at(&token, &acme(), &secret, NOW + 1).expect("as expected");
        assert_eq!(
            (id.user_id, id.installation_id, id.expires_at),
            (42, 7, NOW + 60)
        );
        assert_eq!(id.token_id, "0123456789abcdef0123");
    }

    #[test]
    fn another_secret_is_refused() {
        let token = sign(AppSecret::generate().expose(), &claims(), NOW, 60);
        let err = verify_at(&token, &acme(), &AppSecret::generate(), NOW).expect_err("refused");
        assert_eq!(err, AppJwtError::Signature);
    }

    #[test]
    fn an_expired_or_long_lived_token_is_refused() {
        let secret = AppSecret::generate();
        let token = sign(secret.expose(), &claims(), NOW, 60);
        let late = NOW + 60 + LEEWAY_SECS;
        assert_eq!(
            verify_at(&token, &acme(), &secret, late),
            Err(AppJwtError::Expired)
        );
        let long = sign(secret.expose(), &claims(), NOW, MAX_LIFETIME_SECS + 1);
        assert_eq!(
            verify_at(&long, &acme(), &secret, NOW),
            Err(AppJwtError::Lifetime)
        );
    }

    #[test]
    fn another_account_or_audience_is_refused() {
        let secret = AppSecret::generate();
        let mut c = claims();
        c["iss"] = json!("globex.zendesk.com");
        let token = sign(secret.expose(), &c, NOW, 60);
        assert_eq!(
            verify_at(&token, &acme(), &secret, NOW),
            Err(AppJwtError::Issuer)
        );
        let mut c = claims();
        c["aud"] = json!("something-else");
        let token = sign(secret.expose(), &c, NOW, 60);
        assert_eq!(
            verify_at(&token, &acme(), &secret, NOW),
            Err(AppJwtError::Audience)
        );
    }

    #[test]
    fn a_token_without_jti_is_refused() {
        let secret = AppSecret::generate();
        let mut c = claims();
        c.as_object_mut().expect("as expected").remove("jti");
        let token = sign(secret.expose(), &c, NOW, 60);
        assert_eq!(
            verify_at(&token, &acme(), &secret, NOW),
            Err(AppJwtError::MissingClaim("jti"))
        );
    }

    #[test]
    fn alg_none_is_refused_before_any_crypto() {
        let secret = AppSecret::generate();
        let token = sign(secret.expose(), &claims(), NOW, 60);
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[0] = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let forged = parts.join(".");
        assert_eq!(
            verify_at(&forged, &acme(), &secret, NOW),
            Err(AppJwtError::Algorithm)
        );
    }

    #[test]
    fn a_secret_round_trips_through_its_text() {
        let secret = AppSecret::generate();
        assert_eq!(
            AppSecret::parse(secret.expose())
                .expect("as expected")
                .expose(),
            secret.expose()
        );
        assert_eq!(
            AppSecret::parse("short").expect_err("refused"),
            AppJwtError::BadSecret
        );
    }
}
