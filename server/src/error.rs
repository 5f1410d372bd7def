//! [`HttpError`]: every error the API answers with, as `{"error": code, "message": sentence}`
//! (docs/API.md "Errors"). Each variant's doc names its status. Internal errors are logged
//! with their context and answered with a generic message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

/// The message for an unknown package *and* for a wrong link proof; identical on purpose.
pub const NO_PACKAGE_AT_LINK: &str = "No package at this link.";

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// `400 bad_request`: the request is malformed (bad JSON, header, id, length...).
    #[error("{0}")]
    BadRequest(String),
    /// `401 unauthorized`: a required credential is missing or not valid.
    #[error("{0}")]
    Unauthorized(String),
    /// `401 verification_required`: the package requires a recipient or agent session.
    #[error("This package requires the recipient to verify their email address first.")]
    VerificationRequired,
    /// `403 forbidden`: the credential is valid but does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// `404 not_found`: no such resource (message says which).
    #[error("{0}")]
    NotFound(String),
    /// `404 not_found` with [`NO_PACKAGE_AT_LINK`]: unknown package or wrong link proof,
    /// indistinguishable by design.
    #[error("{NO_PACKAGE_AT_LINK}")]
    NoPackageAtLink,
    /// `409 conflict`: the request contradicts the package's state.
    #[error("{0}")]
    Conflict(String),
    /// `409 incomplete_upload`: finalize found parts missing; lists them.
    #[error("The upload is incomplete: some parts are missing.")]
    IncompleteUpload(Vec<MissingParts>),
    /// `410 expired`: the package has expired.
    #[error("This package has expired.")]
    Expired,
    /// `410 revoked`: the sender revoked the package.
    #[error("This package was revoked by its sender.")]
    Revoked,
    /// `410 download_limit_reached`: every allowed download has been used.
    #[error("This package has reached its download limit.")]
    DownloadLimitReached,
    /// `413 payload_too_large`: a body or declared size is over a limit (message says which).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// `416 range_not_satisfiable`: the `Range` lies outside the file; carries the file size.
    #[error("The requested range is outside the file ({0} bytes).")]
    RangeNotSatisfiable(u64),
    /// `429 rate_limited`: an hourly cap is reached (message says which and when to retry).
    #[error("{0}")]
    RateLimited(String),
    /// `422 checksum_mismatch`: the body's SHA-256 differs from `X-Sealdrop-Sha256`.
    #[error("The part's SHA-256 does not match the X-Sealdrop-Sha256 header; nothing was stored.")]
    ChecksumMismatch,
    /// `500 internal`: a failure on the server's side (logged, never detailed to the client).
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// One file's missing parts, in a `409 incomplete_upload` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingParts {
    /// File index.
    pub file: u64,
    /// Missing part indexes.
    pub parts: Vec<u64>,
}

impl HttpError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::VerificationRequired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NoPackageAtLink => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::IncompleteUpload(_) => StatusCode::CONFLICT,
            Self::Expired | Self::Revoked | Self::DownloadLimitReached => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::ChecksumMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::VerificationRequired => "verification_required",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) | Self::NoPackageAtLink => "not_found",
            Self::Conflict(_) => "conflict",
            Self::IncompleteUpload(_) => "incomplete_upload",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::DownloadLimitReached => "download_limit_reached",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RangeNotSatisfiable(_) => "range_not_satisfiable",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::RateLimited(_) => "rate_limited",
            Self::Internal(_) => "internal",
        }
    }

    /// Shorthand for [`HttpError::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    /// Shorthand for [`HttpError::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                "Something went wrong on the server; please try again later.".to_owned()
            }
            other => other.to_string(),
        };
        let mut body = json!({ "error": self.code(), "message": message });
        if let Self::IncompleteUpload(missing) = &self {
            body["missing"] = json!(missing);
        }
        let mut response = (status, Json(body)).into_response();
        if let Self::RangeNotSatisfiable(size) = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

impl From<sqlx::Error> for HttpError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(err).context("database"))
    }
}

impl From<crate::storage::StorageError> for HttpError {
    fn from(err: crate::storage::StorageError) -> Self {
        Self::Internal(anyhow::Error::new(err).context("blob store"))
    }
}

impl From<std::io::Error> for HttpError {
    fn from(err: std::io::Error) -> Self {
        Self::Internal(anyhow::Error::new(err).context("local I/O"))
    }
}

impl From<crate::storage::InvalidKey> for HttpError {
    fn from(err: crate::storage::InvalidKey) -> Self {
        Self::Internal(anyhow::Error::new(err))
    }
}
