//! Verification of the ZAF signed-URL JWT Zendesk POSTs to the sidebar URL.
//!
//! With `"signedUrls": true` in the app manifest, Zendesk loads the sidebar by submitting a
//! hidden form: `POST {app_url}?origin=…&app_guid=…` with one form field, `token`, a JWT
//! signed **RS256** with Zendesk's private key for the app. The app's public key (PEM) is
//! shown when the app is installed; we keep it per installation.
//!
//! ## Claim layout
//!
//! Zendesk documents these claims for ZAF JWTs; `zendesk-sim` signs exactly this layout:
//!
//! | claim | expected value | check |
//! |---|---|---|
//! | header `alg` | `RS256` | anything else (`none`, `HS256` keyed with the public key, `RS512`, …) is refused before any crypto |
//! | `iss` | `{subdomain}.zendesk.com` | equals the tenant's subdomain (a `https://` prefix is tolerated) |
//! | `aud` | `https://{subdomain}.zendesk.com/api/v2/apps/installations/{installation_id}.json` | names the tenant's installation ([`ExpectedAudience`]) |
//! | `exp` | seconds since the epoch | required; not past (with [`LEEWAY_SECS`]) |
//! | `iat` | seconds since the epoch | required; not in the future (with leeway) |
//! | `nbf` | seconds since the epoch | optional; not in the future (with leeway) |
//! | `sub` | the Zendesk user id: `"123"`, `123`, or `https://{subdomain}.zendesk.com/api/v2/users/123.json` | required |
//! | `qsh` | a hash of the request's query string | carried, not relied on (see below) |
//! | `context` | `{"product": "support", "location": "ticket_sidebar"}` | both must match |
//!
//! `qsh` is not checked: Zendesk does not document its canonical form, and nothing we
//! authorise depends on the query string (`origin` and `app_guid` only tell the page's ZAF
//! client where to talk to). The token is single-page: the page exchanges it once for a
//! sealdrop session ([`super::session`]).
//!
//! ## Finding the tenant
//!
//! The key and audience depend on the tenant, and the tenant is named inside the token, so
//! the caller first reads the unverified issuer with [`peek_subdomain`] to look the tenant
//! up, then calls [`verify`] with that tenant's key; nothing from the unverified read is
//! trusted beyond choosing which key to try.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::Value;

use super::Subdomain;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 60;

/// Tokens larger than this are refused unread (Zendesk's are well under 2 KiB).
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// An app's public key for RS256 verification.
#[derive(Clone)]
pub struct AppPublicKey(DecodingKey);

impl std::fmt::Debug for AppPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppPublicKey")
    }
}

impl AppPublicKey {
    /// Parses a `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1) PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SignedUrlError> {
        DecodingKey::from_rsa_pem(pem.trim().as_bytes())
            .map(Self)
            .map_err(|_| SignedUrlError::BadPublicKey)
    }
}

/// Which installation the token's `aud` must name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedAudience {
    /// The installation already known for this tenant.
    Installation(u64),
    /// Any installation of the tenant's own Zendesk (first visit: the id is then recorded).
    AnyInstallation,
}

/// What the caller knows about the tenant before reading the token.
#[derive(Clone, Debug)]
pub struct Expectations<'a> {
    /// The app's public key for this tenant.
    pub key: &'a AppPublicKey,
    /// The tenant.
    pub subdomain: &'a Subdomain,
    /// The installation.
    pub audience: ExpectedAudience,
}

/// Who opened the sidebar, as Zendesk signed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZafIdentity {
    /// The tenant.
    pub subdomain: Subdomain,
    /// The Zendesk user id.
    pub user_id: u64,
    /// The app installation id (from `aud`).
    pub installation_id: u64,
    /// `exp` of the Zendesk token (seconds since the epoch).
    pub expires_at: u64,
}

/// Why a signed URL token was refused. Each message says what failed, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignedUrlError {
    /// Not three base64url parts with a JSON header and claims, or too large.
    #[error("the signed URL token is malformed")]
    Malformed,
    /// The header's `alg` is not RS256 (covers `none` and HS256-with-the-public-key).
    #[error("the signed URL token is not signed with RS256")]
    Algorithm,
    /// The RS256 signature does not verify with the app's public key.
    #[error("the signed URL token's signature does not verify with the app's public key")]
    Signature,
    /// The configured public key is not an RSA public key PEM.
    #[error("the app's public key is not an RSA public key in PEM form")]
    BadPublicKey,
    /// A required claim is absent or has the wrong type.
    #[error("the signed URL token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// `exp` has passed.
    #[error("the signed URL token has expired")]
    Expired,
    /// `nbf` or `iat` lies in the future.
    #[error("the signed URL token is not valid yet")]
    NotYetValid,
    /// `iss` is not the tenant's Zendesk.
    #[error("the signed URL token was issued for another Zendesk account")]
    Issuer,
    /// `aud` is not the tenant's installation.
    #[error("the signed URL token is for another app installation")]
    Audience,
    /// `context` is not the Support ticket sidebar.
    #[error("the signed URL token is not for the Support ticket sidebar")]
    Context,
    /// `sub` is not a Zendesk user id.
    #[error("the signed URL token's subject is not a Zendesk user")]
    Subject,
}

#[derive(Deserialize)]
struct RawClaims {
    iss: Option<String>,
    aud: Option<Value>,
    sub: Option<Value>,
    iat: Option<u64>,
    nbf: Option<u64>,
    exp: Option<u64>,
    context: Option<RawContext>,
}

#[derive(Deserialize)]
struct RawContext {
    product: Option<String>,
    location: Option<String>,
}

/// Reads the tenant named by the token's `iss`, **without verifying anything**: use it only
/// to choose which tenant's key to verify with.
pub fn peek_subdomain(token: &str) -> Result<Subdomain, SignedUrlError> {
    let claims = unverified_claims(token)?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(SignedUrlError::MissingClaim("iss"))?;
    let host = iss.strip_prefix("https://").unwrap_or(iss);
    let sub = host
        .strip_suffix(".zendesk.com")
        .ok_or(SignedUrlError::Issuer)?;
    Subdomain::parse(sub).map_err(|_| SignedUrlError::Issuer)
}

/// Verifies `token` against the tenant's expectations at the current time.
pub fn verify(token: &str, expect: &Expectations<'_>) -> Result<ZafIdentity, SignedUrlError> {
    verify_at(token, expect, unix_now())
}

/// Verifies `token` as of `now` (seconds since the epoch).
pub fn verify_at(
    token: &str,
    expect: &Expectations<'_>,
    now: u64,
) -> Result<ZafIdentity, SignedUrlError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(SignedUrlError::Malformed);
    }
    // Refuse every algorithm but RS256 by reading the header ourselves, before any crypto.
    let header = decode_part(token, 0)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(SignedUrlError::Algorithm);
    }

    // Time, issuer and audience are checked below, with errors that say which failed.
    let validation = crate::jwt_parts::signature_only(Algorithm::RS256);
    let data =
        jsonwebtoken::decode::<RawClaims>(token, &expect.key.0, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => SignedUrlError::Signature,
                ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::MissingAlgorithm => SignedUrlError::Algorithm,
                ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
                    SignedUrlError::Signature
                }
                ErrorKind::Json(_) => SignedUrlError::MissingClaim("well-typed"),
                _ => SignedUrlError::Malformed,
            }
        })?;
    let c = data.claims;

    let exp = c.exp.ok_or(SignedUrlError::MissingClaim("exp"))?;
    let iat = c.iat.ok_or(SignedUrlError::MissingClaim("iat"))?;
    if exp.saturating_add(LEEWAY_SECS) <= now {
        return Err(SignedUrlError::Expired);
    }
    if iat > now.saturating_add(LEEWAY_SECS)
        || c.nbf
            .is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS))
    {
        return Err(SignedUrlError::NotYetValid);
    }

    let iss = c.iss.ok_or(SignedUrlError::MissingClaim("iss"))?;
    let expected_host = format!("{}.zendesk.com", expect.subdomain);
    if iss.strip_prefix("https://").unwrap_or(&iss) != expected_host {
        return Err(SignedUrlError::Issuer);
    }

    let aud = match c.aud.ok_or(SignedUrlError::MissingClaim("aud"))? {
        Value::String(s) => vec![s],
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return Err(SignedUrlError::MissingClaim("aud")),
    };
    let installation_id = aud
        .iter()
        .filter_map(|a| installation_of(a, expect.subdomain))
        .find(|id| match expect.audience {
            ExpectedAudience::Installation(want) => *id == want,
            ExpectedAudience::AnyInstallation => true,
        })
        .ok_or(SignedUrlError::Audience)?;

    let context = c.context.ok_or(SignedUrlError::MissingClaim("context"))?;
    if context.product.as_deref() != Some("support")
        || context.location.as_deref() != Some("ticket_sidebar")
    {
        return Err(SignedUrlError::Context);
    }

    let user_id = user_id_of(
        &c.sub.ok_or(SignedUrlError::MissingClaim("sub"))?,
        expect.subdomain,
    )
    .ok_or(SignedUrlError::Subject)?;

    Ok(ZafIdentity {
        subdomain: expect.subdomain.clone(),
        user_id,
        installation_id,
        expires_at: exp,
    })
}

/// The installation id named by an `aud` of the tenant's Zendesk.
fn installation_of(aud: &str, subdomain: &Subdomain) -> Option<u64> {
    let prefix = format!("https://{subdomain}.zendesk.com/api/v2/apps/installations/");
    let rest = aud.strip_prefix(&prefix)?;
    let id = rest.strip_suffix(".json").unwrap_or(rest);
    digits(id)
}

/// The user id in `sub`: a number, a decimal string, or the user's API URL.
fn user_id_of(sub: &Value, subdomain: &Subdomain) -> Option<u64> {
    match sub {
        Value::Number(n) => n.as_u64().filter(|&n| n > 0),
        Value::String(s) => {
            let prefix = format!("https://{subdomain}.zendesk.com/api/v2/users/");
            let id = match s.strip_prefix(&prefix) {
                Some(rest) => rest.strip_suffix(".json").unwrap_or(rest),
                None => s.as_str(),
            };
            digits(id).filter(|&n| n > 0)
        }
        _ => None,
    }
}

fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn decode_part(token: &str, index: usize) -> Result<Value, SignedUrlError> {
    crate::jwt_parts::object_part(token, index).ok_or(SignedUrlError::Malformed)
}

fn unverified_claims(token: &str) -> Result<Value, SignedUrlError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(SignedUrlError::Malformed);
    }
    decode_part(token, 1)
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970): the time
/// the claim checks here and [`crate::oauth::Grant::needs_refresh`] compare against.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use serde_json::json;

    /// An RSA public key (its private half was thrown away).
    const TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoUk9/+rTTVeu+mj3ZuxI
T+3iRBBUb1m3h7X5gbw6JVmmkLcvyTE13qlptF44k7B8+536lHzyiBXt/RBajrex
CsZCZS/aLpQ/UPVOFLe/41kjuJRdTUCb/U+eTdjE0YM+p3CC1sGtZdTvKJA8q5vI
60NkOKWkY5o7ou9TVpV+lCP14cr/z1rM84VCQ85DBk3uCd7J2UvmpbexqwZoriag
ndigPQODxwoHKsobDITRBJwV+ebr4hKwqnxiV9FZ9przZYkJNeM4l9JDdmw3pjQx
uSl419JXt/srAZk0jd11aF/+jRWFOJj0rZ1X3/6BRO/KTlhH5TLyXV2UIwZ+Ge70
cwIDAQAB
-----END PUBLIC KEY-----
";

    fn acme() -> Subdomain {
        Subdomain::parse("acme").expect("valid")
    }

    fn unsigned(header: Value, claims: Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    #[test]
    fn audience_names_an_installation_of_the_tenant_only() {
        let a = acme();
        assert_eq!(
            installation_of(
                "https://acme.zendesk.com/api/v2/apps/installations/42.json",
                &a
            ),
            Some(42)
        );
        assert_eq!(
            installation_of("https://acme.zendesk.com/api/v2/apps/installations/42", &a),
            Some(42)
        );
        assert_eq!(
            installation_of(
                "https://evil.zendesk.com/api/v2/apps/installations/42.json",
                &a
            ),
            None
        );
        assert_eq!(
            installation_of(
                "https://acme.zendesk.com/api/v2/apps/installations/4x2.json",
                &a
            ),
            None
        );
        assert_eq!(
            installation_of(
                "https://acme.zendesk.com.evil/api/v2/apps/installations/42.json",
                &a
            ),
            None
        );
    }

    #[test]
    fn subject_is_an_id_a_decimal_string_or_the_user_url() {
        let a = acme();
        assert_eq!(user_id_of(&json!(7), &a), Some(7));
        assert_eq!(user_id_of(&json!("7"), &a), Some(7));
        assert_eq!(
            user_id_of(&json!("https://acme.zendesk.com/api/v2/users/7.json"), &a),
            Some(7)
        );
        assert_eq!(
            user_id_of(&json!("https://evil.zendesk.com/api/v2/users/7.json"), &a),
            None
        );
        assert_eq!(user_id_of(&json!("0"), &a), None);
        assert_eq!(user_id_of(&json!("-7"), &a), None);
        assert_eq!(user_id_of(&json!(null), &a), None);
    }

    #[test]
    fn peek_reads_the_claimed_tenant_without_trusting_it() {
        let t = unsigned(json!({"alg": "RS256"}), json!({"iss": "Acme.zendesk.com"}));
        assert_eq!(peek_subdomain(&t), Ok(acme()));
        let t = unsigned(
            json!({"alg": "RS256"}),
            json!({"iss": "acme.zendesk.com.evil.example"}),
        );
        assert_eq!(peek_subdomain(&t), Err(SignedUrlError::Issuer));
        assert_eq!(
            peek_subdomain("not a token"),
            Err(SignedUrlError::Malformed)
        );
    }

    #[test]
    fn non_rs256_headers_are_refused_before_any_crypto() {
        // The header check comes first, so any valid key will do here.
        let key = AppPublicKey::from_pem(TEST_PUBLIC_KEY).expect("a valid public key");
        let a = acme();
        let expect = Expectations {
            key: &key,
            subdomain: &a,
            audience: ExpectedAudience::AnyInstallation,
        };
        for alg in ["none", "HS256", "RS512", "PS256", "ES256"] {
            let t = unsigned(
                json!({"alg": alg, "typ": "JWT"}),
                json!({"iss": "acme.zendesk.com"}),
            );
            assert_eq!(verify(&t, &expect), Err(SignedUrlError::Algorithm), "{alg}");
        }
        let no_alg = unsigned(json!({"typ": "JWT"}), json!({}));
        assert_eq!(verify(&no_alg, &expect), Err(SignedUrlError::Algorithm));
        assert_eq!(verify("a.b", &expect), Err(SignedUrlError::Malformed));
        assert_eq!(
            verify(&"a".repeat(MAX_TOKEN_LEN + 1), &expect),
            Err(SignedUrlError::Malformed)
        );
    }

    #[test]
    fn a_key_that_is_not_pem_is_refused() {
        assert_eq!(
            AppPublicKey::from_pem("ssh-rsa AAAA").map(|_| ()),
            Err(SignedUrlError::BadPublicKey)
        );
    }
}
