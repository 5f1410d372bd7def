//! The agent session token: what the sidebar page holds after a verified signed URL.
//!
//! On the wire: `sda_` followed by a JWT (HS256 under a server key) with these claims:
//!
//! | claim | meaning |
//! |---|---|
//! | `iss` | `sealdrop` |
//! | `aud` | `sealdrop/agent-session` |
//! | `sub` | the Zendesk user id (decimal string) |
//! | `ten` | the tenant's subdomain |
//! | `ins` | the app installation id |
//! | `role` | the role confirmed through the API when the session was made, or absent when the tenant has no working grant yet (the admin's first visit) |
//! | `iat`, `exp` | issued at, expires at (`iat` + 1 h) |
//!
//! The page sends it as `Authorization: Bearer sda_…`: no cookie, so it works inside the
//! third-party iframe Zendesk puts the sidebar in. Sessions are stateless (any instance
//! can check one), so they cannot be revoked before they expire; that is why they are short,
//! and why an agent's role is re-checked through [`super::roles`] (cached, with a stated
//! lifetime) before anything that needs an allowed role.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::signed_url::unix_now;
use super::Subdomain;

/// The wire prefix of an agent session.
pub const PREFIX: &str = "sda_";

/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(3600);

const ISSUER: &str = "sealdrop";
const AUDIENCE: &str = "sealdrop/agent-session";

/// The server's HMAC key for agent sessions (at least 32 bytes, zeroized on drop).
pub struct SessionKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

impl SessionKey {
    /// A key from at least 32 secret bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SessionError> {
        if bytes.len() < 32 {
            return Err(SessionError::ShortKey);
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }
}

/// A Zendesk role as confirmed through the API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum ConfirmedRole {
    /// A Zendesk admin.
    Admin,
    /// An agent without a custom role.
    Agent,
    /// An agent with this custom role.
    CustomRole(u64),
}

/// What an agent session says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentSession {
    /// The tenant.
    pub tenant: Subdomain,
    /// The Zendesk user id.
    pub user_id: u64,
    /// The app installation.
    pub installation_id: u64,
    /// The role confirmed when the session was made; `None` before the tenant has a grant.
    pub role: Option<ConfirmedRole>,
    /// Expiry, seconds since the epoch.
    pub expires_at: u64,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    ten: String,
    ins: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<ConfirmedRole>,
    iat: u64,
    exp: u64,
}

/// Why a session token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The header value is not `sda_` + a JWT.
    #[error("not an agent session token")]
    Malformed,
    /// Signature, algorithm, issuer or audience is wrong.
    #[error("the agent session is not valid")]
    Invalid,
    /// The session has expired; the sidebar must be reloaded.
    #[error("the agent session has expired")]
    Expired,
    /// The configured key is shorter than 32 bytes.
    #[error("the session key must be at least 32 bytes")]
    ShortKey,
}

/// Mints and checks agent sessions.
pub struct SessionIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
}

impl std::fmt::Debug for SessionIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionIssuer")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl SessionIssuer {
    /// An issuer of [`SESSION_LIFETIME`] sessions.
    pub fn new(key: &SessionKey) -> Self {
        Self::with_lifetime(key, SESSION_LIFETIME)
    }

    /// An issuer with another lifetime (tests).
    pub fn with_lifetime(key: &SessionKey, lifetime: Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(&key.0),
            decoding: DecodingKey::from_secret(&key.0),
            lifetime,
        }
    }

    /// Mints a session token (`sda_…`) for the given identity; returns it with its expiry.
    pub fn issue(
        &self,
        tenant: &Subdomain,
        user_id: u64,
        installation_id: u64,
        role: Option<ConfirmedRole>,
    ) -> (String, AgentSession) {
        let now = unix_now();
        let exp = now + self.lifetime.as_secs();
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.to_string(),
            ten: tenant.to_string(),
            ins: installation_id,
            role: role.clone(),
            iat: now,
            exp,
        };
        let jwt = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail");
        (
            format!("{PREFIX}{jwt}"),
            AgentSession {
                tenant: tenant.clone(),
                user_id,
                installation_id,
                role,
                expires_at: exp,
            },
        )
    }

    /// Checks a session token as sent (`sda_…`, without `Bearer `).
    pub fn verify(&self, wire: &str) -> Result<AgentSession, SessionError> {
        let jwt = wire.strip_prefix(PREFIX).ok_or(SessionError::Malformed)?;
        if jwt.len() > 4096 || jwt.split('.').count() != 3 {
            return Err(SessionError::Malformed);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(jwt, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => SessionError::Expired,
                _ => SessionError::Invalid,
            },
        )?;
        let c = data.claims;
        let tenant = Subdomain::parse(&c.ten).map_err(|_| SessionError::Invalid)?;
        let user_id = c.sub.parse().map_err(|_| SessionError::Invalid)?;
        Ok(AgentSession {
            tenant,
            user_id,
            installation_id: c.ins,
            role: c.role,
            expires_at: c.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer(byte: u8) -> SessionIssuer {
        SessionIssuer::new(&SessionKey::from_bytes(&[byte; 32]).expect("32 bytes"))
    }

    #[test]
    fn a_session_round_trips_with_its_tenant_user_role_and_installation() {
        let acme = Subdomain::parse("acme").expect("valid");
        let (wire, issued) = issuer(1).issue(&acme, 42, 7, Some(ConfirmedRole::CustomRole(9)));
        assert!(wire.starts_with("sda_"));
        let back = issuer(1).verify(&wire).expect("valid session");
        assert_eq!(back, issued);
        assert_eq!(back.tenant, acme);
        assert_eq!(back.role, Some(ConfirmedRole::CustomRole(9)));
        assert!(back.expires_at >= unix_now() + SESSION_LIFETIME.as_secs() - 5);
    }

    #[test]
    fn another_servers_key_or_a_tampered_token_is_refused() {
        let acme = Subdomain::parse("acme").expect("valid");
        let (wire, _) = issuer(1).issue(&acme, 42, 7, Some(ConfirmedRole::Agent));
        assert_eq!(issuer(2).verify(&wire), Err(SessionError::Invalid));
        assert_eq!(
            issuer(1).verify(wire.trim_start_matches("sda_")),
            Err(SessionError::Malformed)
        );
        // Change the tenant inside the claims: the signature no longer matches.
        let parts: Vec<&str> = wire.split('.').collect();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims = String::from_utf8(b64.decode(parts[1]).expect("b64")).expect("utf8");
        let forged = b64.encode(claims.replace("\"acme\"", "\"globex\""));
        let forged = format!("{}.{}.{}", parts[0], forged, parts[2]);
        assert_eq!(issuer(1).verify(&forged), Err(SessionError::Invalid));
    }

    #[test]
    fn an_expired_session_says_so() {
        let key = SessionKey::from_bytes(&[3; 32]).expect("32 bytes");
        let short = SessionIssuer::with_lifetime(&key, Duration::ZERO);
        let acme = Subdomain::parse("acme").expect("valid");
        let (wire, _) = short.issue(&acme, 1, 1, None);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(short.verify(&wire), Err(SessionError::Expired));
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            SessionKey::from_bytes(&[0; 31]).map(|_| ()),
            Err(SessionError::ShortKey)
        );
    }
}
