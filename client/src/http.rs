//! HTTP with retries: every request is retried with exponential backoff while the server is
//! down, the connection breaks, or the server answers 5xx or 429, up to a deadline.

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use sealdrop_api::error::{ErrorBody, ErrorCode};

use crate::error::{ClientError, Result};
use crate::progress::Progress;

/// How long and how often failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Give up once a request has kept failing for this long (10 minutes by default).
    pub retry_for: Duration,
    /// First delay; it doubles after each failure.
    pub initial_delay: Duration,
    /// Largest delay between two tries.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retry_for: Duration::from_secs(600),
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The default delays, giving up after `retry_for`.
    pub fn for_duration(retry_for: Duration) -> Self {
        RetryPolicy {
            retry_for,
            ..RetryPolicy::default()
        }
    }
}

/// Tracks one operation's failures against a [`RetryPolicy`].
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RetryPolicy,
    first_failure: Option<Instant>,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            first_failure: None,
            attempt: 0,
        }
    }

    /// Progress was made: the next failure starts a new retry window.
    pub(crate) fn reset(&mut self) {
        self.first_failure = None;
        self.attempt = 0;
    }

    /// Records a failure; sleeps before the next try, or gives up past the deadline.
    pub(crate) async fn wait(
        &mut self,
        reason: String,
        at_least: Option<Duration>,
        progress: &dyn Progress,
    ) -> Result<()> {
        let first = *self.first_failure.get_or_insert_with(Instant::now);
        let elapsed = first.elapsed();
        if elapsed >= self.policy.retry_for {
            return Err(ClientError::GaveUp {
                seconds: elapsed.as_secs(),
                last: reason,
            });
        }
        let exponential = self
            .policy
            .initial_delay
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.policy.max_delay);
        // Up to 25 % jitter so that parallel parts do not retry in lock step.
        let jitter = exponential.mul_f64(rand::random::<f64>() * 0.25);
        let delay = (exponential + jitter)
            .max(at_least.unwrap_or_default())
            .min(self.policy.retry_for - elapsed);
        self.attempt = self.attempt.saturating_add(1);
        progress.retrying(&reason, delay);
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

/// An answer read in full.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        self.status.is_success()
    }

    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ClientError::Protocol(format!("cannot read the {} answer: {e}", self.status))
        })
    }

    /// Whether the answer is the API's error `code`.
    pub(crate) fn is_error(&self, code: ErrorCode) -> bool {
        self.error_body().is_some_and(|b| b.error == code)
    }

    /// The API's error body, if the answer is one (a proxy in between may answer otherwise).
    pub(crate) fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error this answer means, when no caller-specific meaning applies.
    pub(crate) fn into_error(self) -> ClientError {
        let body = self.error_body();
        api_error(self.status, body)
    }
}

/// Maps an API error to a [`ClientError`] by its code.
pub(crate) fn api_error(status: StatusCode, body: Option<ErrorBody>) -> ClientError {
    let reason = || {
        status
            .canonical_reason()
            .unwrap_or("unexpected status")
            .to_owned()
    };
    let Some(body) = body else {
        return ClientError::Api {
            status: status.as_u16(),
            code: "unknown".into(),
            message: reason(),
        };
    };
    match body.error {
        ErrorCode::NotFound => ClientError::NotFound,
        ErrorCode::Expired => ClientError::Expired,
        ErrorCode::Revoked => ClientError::Revoked,
        ErrorCode::DownloadLimitReached => ClientError::DownloadLimitReached,
        ErrorCode::VerificationRequired => ClientError::VerificationRequired,
        ErrorCode::Unauthorized => ClientError::Unauthorized(body.message),
        code => ClientError::Api {
            status: status.as_u16(),
            code: code.as_str().into(),
            message: if body.message.is_empty() {
                reason()
            } else {
                body.message
            },
        },
    }
}

/// Whether a status is worth retrying (server trouble, overload).
pub(crate) fn is_transient_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// A `429 rate_limited` from sealdrop without `Retry-After` is one of its hourly caps (for
/// example on verification codes): retrying within minutes cannot help, so it is final.
/// Other 429s (with `Retry-After`, or from a proxy) are retried.
fn is_final_rate_limit(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        && retry_after.is_none()
        && serde_json::from_slice::<ErrorBody>(body)
            .is_ok_and(|b| b.error == ErrorCode::RateLimited)
}

/// Whether a transport error is worth retrying (everything but a malformed request).
pub(crate) fn is_transient_error(error: &reqwest::Error) -> bool {
    !(error.is_builder() || error.is_redirect())
}

/// `Retry-After` in seconds, capped at a minute.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

/// A transport error with its causes, without the URL's query (none of ours carries secrets
/// in the URL anyway).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "cannot connect to the server".to_owned()
    } else if error.is_timeout() {
        "the server did not answer in time".to_owned()
    } else {
        "the connection failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends the request `make` builds, again and again while the failure is transient, and reads
/// the whole answer. Non-transient error statuses are returned, not turned into errors, so the
/// caller can give them meaning.
pub(crate) async fn send(
    what: &str,
    policy: RetryPolicy,
    progress: &dyn Progress,
    make: impl Fn() -> RequestBuilder,
) -> Result<Answer> {
    let mut backoff = Backoff::new(policy);
    loop {
        let (reason, at_least) = match make().send().await {
            Ok(response) => {
                let status = response.status();
                let at_least = retry_after(response.headers());
                match response.bytes().await {
                    Ok(body)
                        if !is_transient_status(status)
                            || is_final_rate_limit(status, at_least, &body) =>
                    {
                        return Ok(Answer { status, body });
                    }
                    Ok(body) => {
                        let detail = serde_json::from_slice::<ErrorBody>(&body)
                            .map(|b| b.message)
                            .unwrap_or_default();
                        (
                            format!("{what}: server answered {status} {detail}"),
                            at_least,
                        )
                    }
                    Err(e) if is_transient_error(&e) => (format!("{what}: {}", describe(&e)), None),
                    Err(e) => return Err(ClientError::Http(describe(&e))),
                }
            }
            Err(e) if is_transient_error(&e) => (format!("{what}: {}", describe(&e)), None),
            Err(e) => return Err(ClientError::Http(describe(&e))),
        };
        backoff
            .wait(reason.trim_end().to_owned(), at_least, progress)
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_caps_are_final_but_other_429s_are_retried() {
        let body = br#"{"error":"rate_limited","message":"Too many codes; try again in an hour."}"#;
        let status = StatusCode::TOO_MANY_REQUESTS;
        assert!(is_final_rate_limit(status, None, body));
        assert!(!is_final_rate_limit(
            status,
            Some(Duration::from_secs(2)),
            body
        ));
        assert!(!is_final_rate_limit(status, None, b"slow down"));
        assert!(is_transient_status(status));
        assert!(is_transient_status(StatusCode::BAD_GATEWAY));
        assert!(!is_transient_status(StatusCode::CONFLICT));
    }

    #[test]
    fn api_errors_become_sentences() {
        let body = ErrorBody {
            error: ErrorCode::DownloadLimitReached,
            message: "This package has reached its download limit.".into(),
            missing: None,
        };
        let error = api_error(StatusCode::GONE, Some(body));
        assert_eq!(
            error.to_string(),
            "this link has reached its download limit"
        );
    }
}
