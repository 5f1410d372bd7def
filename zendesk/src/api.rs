//! A small Zendesk REST client: the few reads sealdrop needs, done politely.
//!
//! - Bearer OAuth access token (the admin's grant, see [`super::oauth`]).
//! - `429 Too Many Requests`: waits exactly the `Retry-After` seconds Zendesk asks for, if
//!   that is at most [`RetryPolicy::max_retry_after`], then tries again; otherwise gives up
//!   with [`ApiError::RateLimited`] so the caller can answer "try again later".
//! - `5xx` and connection errors: exponential backoff (`base_backoff · 2^n`, capped at
//!   `max_backoff`), up to [`RetryPolicy::max_attempts`] attempts in all.
//! - `404`: [`ApiError::NotFound`], except for [`ZendeskClient::app_installation`], where it
//!   means "uninstalled" and answers `None`.
//! - `401`/`403`: the grant no longer works (revoked, the granting admin left or lost the
//!   role): [`ApiError::GrantRevoked`], never retried. The app then asks an admin to
//!   re-authorise.

use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::SecretString;

/// How the client retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The longest `Retry-After` the client waits out; longer asks fail at once.
    pub max_retry_after: Duration,
    /// First backoff after a 5xx.
    pub base_backoff: Duration,
    /// Longest backoff after a 5xx.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_retry_after: Duration::from_secs(60),
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failure (1-based) on a 5xx.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// What went wrong talking to Zendesk. Messages never contain tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// `401`/`403`: the OAuth grant no longer works; an admin must re-authorise.
    #[error(
        "the Zendesk API access grant no longer works (HTTP {status}); an admin must re-authorise"
    )]
    GrantRevoked {
        /// 401 or 403.
        status: u16,
    },
    /// `404`.
    #[error("Zendesk has no such record")]
    NotFound,
    /// Still `429` after the retries, or Zendesk asked for a longer wait than allowed.
    #[error("Zendesk is rate limiting us; retry after {retry_after_secs:?} s")]
    RateLimited {
        /// What Zendesk asked for, when it said.
        retry_after_secs: Option<u64>,
    },
    /// Still `5xx` after the retries.
    #[error("Zendesk answered HTTP {status}")]
    Server {
        /// The last status.
        status: u16,
    },
    /// Any other unexpected status.
    #[error("Zendesk answered HTTP {status} unexpectedly")]
    Unexpected {
        /// The status.
        status: u16,
    },
    /// The connection failed (after the retries).
    #[error("could not reach Zendesk: {0}")]
    Transport(String),
    /// The body was not what the API documents.
    #[error("Zendesk sent a response we cannot read: {0}")]
    Decode(String),
}

/// A Zendesk user (the fields sealdrop reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct User {
    /// User id.
    pub id: u64,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// `end-user`, `agent` or `admin`.
    pub role: String,
    /// 0 custom role, 1 light agent, 2 chat agent, 4 admin, ...
    #[serde(default)]
    pub role_type: Option<u32>,
    /// The agent's custom role.
    #[serde(default)]
    pub custom_role_id: Option<u64>,
    /// False once deleted.
    #[serde(default = "yes")]
    pub active: bool,
    /// Suspended users cannot act.
    #[serde(default)]
    pub suspended: bool,
}

fn yes() -> bool {
    true
}

/// An app installation (the fields sealdrop reads).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct AppInstallation {
    /// Installation id (the one ZAF tokens name in `aud`).
    pub id: u64,
    /// The installed app.
    #[serde(default)]
    pub app_id: Option<u64>,
    /// False while an admin has disabled it (it still exists).
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// `GET /api/v2/apps/installations/{id}` answers the installation itself; accept an
/// `installation` envelope too, in case Zendesk ever wraps it like its other resources.
#[derive(Deserialize)]
#[serde(untagged)]
enum InstallationBody {
    Wrapped { installation: AppInstallation },
    Bare(AppInstallation),
}

#[derive(Deserialize)]
struct UserEnvelope {
    user: User,
}

/// A client for one tenant's Zendesk with one access token.
#[derive(Clone)]
pub struct ZendeskClient {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    policy: RetryPolicy,
}

impl std::fmt::Debug for ZendeskClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZendeskClient")
            .field("base", &self.base.as_str())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ZendeskClient {
    /// A client for the Zendesk at `base` (from [`super::ZendeskEndpoints::base_url`]).
    pub fn new(http: reqwest::Client, base: Url, access_token: SecretString) -> Self {
        Self {
            http,
            base,
            token: access_token,
            policy: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy.
    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// `GET /api/v2/users/{id}`.
    pub async fn user(&self, id: u64) -> Result<User, ApiError> {
        let url = self.url(&format!("api/v2/users/{id}.json"))?;
        Ok(self.get::<UserEnvelope>(url).await?.user)
    }

    /// `GET /api/v2/users/me`: the user who granted the token.
    pub async fn me(&self) -> Result<User, ApiError> {
        let url = self.url("api/v2/users/me.json")?;
        Ok(self.get::<UserEnvelope>(url).await?.user)
    }

    /// `GET /api/v2/apps/installations/{id}`: the app installation, or `None` when Zendesk
    /// answers `404` (it was uninstalled: a reinstalled app is a new installation with a new
    /// id). Needs the `apps:read` scope; a grant without it gets
    /// [`ApiError::GrantRevoked`] with status 403, like a grant whose admin lost the role.
    pub async fn app_installation(&self, id: u64) -> Result<Option<AppInstallation>, ApiError> {
        let url = self.url(&format!("api/v2/apps/installations/{id}.json"))?;
        match self.get::<InstallationBody>(url).await {
            Ok(
                InstallationBody::Wrapped { installation } | InstallationBody::Bare(installation),
            ) => Ok(Some(installation)),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /api/v2/oauth/tokens/current.json`: revokes this client's token.
    pub async fn revoke_current_token(&self) -> Result<(), ApiError> {
        let url = self.url("api/v2/oauth/tokens/current.json")?;
        self.send(Method::DELETE, url).await.map(|_| ())
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base
            .join(path)
            .map_err(|e| ApiError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, ApiError> {
        let body = self.send(Method::GET, url).await?;
        serde_json::from_slice(&body).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// One call with the retry rules of the module docs.
    async fn send(&self, method: Method, url: Url) -> Result<bytes::Bytes, ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.max_attempts;
            let sent = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
                .header(ACCEPT, "application/json")
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    if last {
                        // reqwest errors carry the URL, never our headers.
                        return Err(ApiError::Transport(e.without_url().to_string()));
                    }
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status();
            if status.is_success() {
                return resp
                    .bytes()
                    .await
                    .map_err(|e| ApiError::Transport(e.without_url().to_string()));
            }
            match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(ApiError::GrantRevoked {
                        status: status.as_u16(),
                    })
                }
                StatusCode::NOT_FOUND => return Err(ApiError::NotFound),
                StatusCode::TOO_MANY_REQUESTS => {
                    let asked = retry_after(resp.headers());
                    let wait = asked.map(Duration::from_secs);
                    match wait {
                        Some(w) if !last && w <= self.policy.max_retry_after => {
                            tracing::debug!(wait_secs = w.as_secs(), %url, "zendesk asked us to wait");
                            tokio::time::sleep(w).await;
                        }
                        None if !last => tokio::time::sleep(self.policy.backoff(attempt)).await,
                        _ => {
                            return Err(ApiError::RateLimited {
                                retry_after_secs: asked,
                            })
                        }
                    }
                }
                s if s.is_server_error() => {
                    if last {
                        return Err(ApiError::Server { status: s.as_u16() });
                    }
                    tokio::time::sleep(self.policy.backoff(attempt)).await;
                }
                s => return Err(ApiError::Unexpected { status: s.as_u16() }),
            }
        }
    }
}

/// `Retry-After` in seconds (Zendesk sends delay-seconds; HTTP dates are not used by it).
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1), Duration::from_millis(250));
        assert_eq!(p.backoff(2), Duration::from_millis(500));
        assert_eq!(p.backoff(3), Duration::from_secs(1));
        assert_eq!(p.backoff(10), Duration::from_secs(8));
        assert_eq!(p.backoff(40), Duration::from_secs(8));
    }

    #[test]
    fn retry_after_reads_delay_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(7));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn users_read_zendesk_shapes() {
        let u: UserEnvelope = serde_json::from_str(
            r#"{"user":{"id":5,"name":"A","email":"a@x","role":"agent","role_type":0,"custom_role_id":77,"active":true,"suspended":false,"extra":1}}"#,
        )
        .expect("user json");
        assert_eq!(u.user.custom_role_id, Some(77));
        for body in [
            r#"{"id":42,"app_id":225,"enabled":true,"settings":{"name":"x"}}"#,
            r#"{"installation":{"id":42,"app_id":225,"enabled":true}}"#,
        ] {
            let i: InstallationBody = serde_json::from_str(body).expect("installation json");
            let (InstallationBody::Bare(i) | InstallationBody::Wrapped { installation: i }) = i;
            assert_eq!((i.id, i.app_id, i.enabled), (42, Some(225), true));
        }
    }
}
