//! [`HttpError`]: every error the API answers with, as `{"error": code, "message": sentence}`
//! (docs/API.md "Errors"). Each variant's doc names its status. Internal errors are logged
//! with their context and answered with a generic message.
//!
//! The domain's errors become `HttpError`s here, one `From` per domain error: this is where
//! a refusal gets its status.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealdrop_api::error::{ErrorBody, ErrorCode};

use crate::agents::app_identity::IdentifyError;
use crate::agents::{AgentError, GrantError};
use crate::internal::Internal;
use crate::packages::{MissingParts, PackageError, NO_PACKAGE_AT_LINK};
use crate::settings::SettingsError;
use crate::team::TeamError;
use crate::verification::VerificationError;
use crate::widget::WidgetError;

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
    /// `405 method_not_allowed`: the path exists, not with this method (`Allow` lists those
    /// it has).
    #[error("This endpoint does not take this method; the Allow header lists those it takes.")]
    MethodNotAllowed,
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
    /// A refusal with a code of its own (team keys, docs/API.md "Team keys"): `400` or `409`,
    /// as [`refusal_status`] gives for the code.
    #[error("{1}")]
    Refused(ErrorCode, String),
    /// `500 internal`: a failure on the server's side (logged, never detailed to the client).
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The status of a [`HttpError::Refused`] code: a request that cannot be right is `400`, one
/// that contradicts what is stored is `409`.
fn refusal_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::DeviceKeyRegistered
        | ErrorCode::TooManyDevices
        | ErrorCode::AdminKeyExists
        | ErrorCode::AdminKeyRequired
        | ErrorCode::RosterRolledBack
        | ErrorCode::RosterRequired
        | ErrorCode::NotTeamSealed
        | ErrorCode::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl HttpError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) | Self::VerificationRequired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::NoPackageAtLink => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) | Self::IncompleteUpload(_) => StatusCode::CONFLICT,
            Self::Expired | Self::Revoked | Self::DownloadLimitReached => StatusCode::GONE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::ChecksumMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Refused(code, _) => refusal_status(*code),
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `error` code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::VerificationRequired => ErrorCode::VerificationRequired,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) | Self::NoPackageAtLink => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::IncompleteUpload(_) => ErrorCode::IncompleteUpload,
            Self::Expired => ErrorCode::Expired,
            Self::Revoked => ErrorCode::Revoked,
            Self::DownloadLimitReached => ErrorCode::DownloadLimitReached,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::RangeNotSatisfiable(_) => ErrorCode::RangeNotSatisfiable,
            Self::ChecksumMismatch => ErrorCode::ChecksumMismatch,
            Self::RateLimited(_) => ErrorCode::RateLimited,
            Self::Refused(code, _) => *code,
            Self::Internal(_) => ErrorCode::Internal,
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
        if let Self::Internal(err) = &self {
            if let Some(what) = crate::internal::unavailable_dependency(err) {
                tracing::warn!(error = %format!("{err:#}"), dependency = what, "dependency unavailable");
                let body = ErrorBody {
                    error: ErrorCode::Unavailable,
                    message: format!(
                        "The server's {what} cannot be reached right now; try again in a moment."
                    ),
                    missing: None,
                };
                let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                return response;
            }
        }
        let status = self.status();
        let message = match &self {
            Self::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                "Something went wrong on the server; please try again later.".to_owned()
            }
            other => other.to_string(),
        };
        let missing = match &self {
            Self::IncompleteUpload(missing) => Some(missing.clone()),
            _ => None,
        };
        let body = ErrorBody {
            error: self.code(),
            message,
            missing,
        };
        let mut response = (status, Json(body)).into_response();
        if let Self::RangeNotSatisfiable(size) = self {
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
        }
        response
    }
}

impl From<Internal> for HttpError {
    fn from(err: Internal) -> Self {
        Self::Internal(err.0)
    }
}

impl From<PackageError> for HttpError {
    fn from(err: PackageError) -> Self {
        let message = err.to_string();
        match err {
            PackageError::Invalid(m) => Self::BadRequest(m),
            PackageError::UnknownForUploadToken
            | PackageError::Unknown
            | PackageError::NoSuchFile(_)
            | PackageError::NoSuchPart { .. } => Self::NotFound(message),
            PackageError::NoPackageAtLink => Self::NoPackageAtLink,
            PackageError::Conflict(m) => Self::Conflict(m),
            PackageError::IncompleteUpload(missing) => Self::IncompleteUpload(missing),
            PackageError::Expired => Self::Expired,
            PackageError::Revoked => Self::Revoked,
            PackageError::DownloadLimitReached => Self::DownloadLimitReached,
            PackageError::TooLarge(m) => Self::PayloadTooLarge(m),
            PackageError::ChecksumMismatch => Self::ChecksumMismatch,
            PackageError::VerificationRequired => Self::VerificationRequired,
            PackageError::UploadTokenSpent => Self::Forbidden(message),
            PackageError::InvalidDownloadToken => Self::Unauthorized(message),
            PackageError::TeamSealedRequired => {
                Self::Refused(ErrorCode::TeamSealedRequired, message)
            }
            PackageError::Widget(e) => e.into(),
            PackageError::Agent(e) => e.into(),
            PackageError::Internal(e) => e.into(),
        }
    }
}

impl From<AgentError> for HttpError {
    fn from(err: AgentError) -> Self {
        let message = err.to_string();
        match err {
            AgentError::InvalidSession | AgentError::ExpiredSession => Self::Unauthorized(message),
            AgentError::RoleNotAllowed
            | AgentError::AdminOnly(_)
            | AgentError::ReauthorizationRequired
            | AgentError::SetupRequired => Self::Forbidden(message),
            AgentError::ZendeskRateLimited(_) => Self::RateLimited(message),
            AgentError::Internal(e) => e.into(),
        }
    }
}

impl From<WidgetError> for HttpError {
    fn from(err: WidgetError) -> Self {
        let message = err.to_string();
        match err {
            WidgetError::MissingKey | WidgetError::InvalidKey => Self::Unauthorized(message),
            WidgetError::MissingOrigin | WidgetError::OriginNotAllowed(_) => {
                Self::Forbidden(message)
            }
            WidgetError::QuotaUsedUp
            | WidgetError::QuotaExceeded
            | WidgetError::FileTooLarge { .. } => Self::PayloadTooLarge(message),
            WidgetError::RateLimited { .. } => Self::RateLimited(message),
            WidgetError::Internal(e) => e.into(),
        }
    }
}

impl From<SettingsError> for HttpError {
    fn from(err: SettingsError) -> Self {
        let message = err.to_string();
        match err {
            SettingsError::Invalid(m) => Self::BadRequest(m),
            SettingsError::RosterRequired => Self::Refused(ErrorCode::RosterRequired, message),
            SettingsError::Internal(e) => e.into(),
        }
    }
}

impl From<TeamError> for HttpError {
    fn from(err: TeamError) -> Self {
        let message = err.to_string();
        match err {
            TeamError::InvalidDeviceKey(_) => Self::Refused(ErrorCode::InvalidDeviceKey, message),
            TeamError::InvalidLabel(_) | TeamError::InvalidManifest(_) => Self::BadRequest(message),
            TeamError::DeviceKeyRegistered => {
                Self::Refused(ErrorCode::DeviceKeyRegistered, message)
            }
            TeamError::TooManyDevices(_) => Self::Refused(ErrorCode::TooManyDevices, message),
            TeamError::NoSuchDevice
            | TeamError::NoAdminKey
            | TeamError::NoRoster
            | TeamError::UnknownPackage => Self::NotFound(message),
            TeamError::InvalidAdminKeyBlob(_) => {
                Self::Refused(ErrorCode::InvalidAdminKeyBlob, message)
            }
            TeamError::AdminKeyExists => Self::Refused(ErrorCode::AdminKeyExists, message),
            TeamError::AdminKeyRequired => Self::Refused(ErrorCode::AdminKeyRequired, message),
            TeamError::InvalidRoster(_) => Self::Refused(ErrorCode::InvalidRoster, message),
            TeamError::AdminKeyMismatch => Self::Refused(ErrorCode::AdminKeyMismatch, message),
            TeamError::RosterSignatureInvalid => {
                Self::Refused(ErrorCode::RosterSignatureInvalid, message)
            }
            TeamError::RosterTenantMismatch { .. } => {
                Self::Refused(ErrorCode::RosterTenantMismatch, message)
            }
            TeamError::RosterRolledBack { .. } => {
                Self::Refused(ErrorCode::RosterRolledBack, message)
            }
            TeamError::NoZendeskAccount | TeamError::Conflict(_) => Self::Conflict(message),
            TeamError::Revoked => Self::Revoked,
            TeamError::Expired => Self::Expired,
            TeamError::NotTeamSealed => Self::Refused(ErrorCode::NotTeamSealed, message),
            TeamError::RewrapMismatch(_) => Self::Refused(ErrorCode::RewrapMismatch, message),
            TeamError::Internal(e) => e.into(),
        }
    }
}

impl From<VerificationError> for HttpError {
    fn from(err: VerificationError) -> Self {
        let message = err.to_string();
        match err {
            VerificationError::InvalidEmail | VerificationError::InvalidCode => {
                Self::BadRequest(message)
            }
            VerificationError::RateLimited => Self::RateLimited(message),
            VerificationError::NotRequired => Self::Conflict(message),
            VerificationError::Rejected => Self::Unauthorized(message),
            VerificationError::Package(e) => e.into(),
            VerificationError::Internal(e) => e.into(),
        }
    }
}

impl GrantError {
    /// The status of the callback page that reports this.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::Unknown => StatusCode::NOT_FOUND,
            Self::Declined | Self::NotAdmin => StatusCode::FORBIDDEN,
            Self::Exchange(_) | Self::WhoGranted => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IdentifyError {
    /// The status of the popup page that reports this.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::UnknownClaim | Self::NotAClaim => StatusCode::NOT_FOUND,
            Self::Declined | Self::OtherUser => StatusCode::FORBIDDEN,
            Self::Zendesk(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::deletion::DeletionError> for HttpError {
    fn from(err: crate::deletion::DeletionError) -> Self {
        use crate::deletion::DeletionError;
        let message = err.to_string();
        match err {
            DeletionError::UnknownTenant(_) => Self::NotFound(message),
            // Asking again finishes it: the deletion resumes where it stopped.
            DeletionError::StoreNotEmpty(_) => Self::Internal(anyhow::anyhow!(message)),
            DeletionError::Internal(e) => e.into(),
        }
    }
}

impl From<crate::data_requests::DataRequestError> for HttpError {
    fn from(err: crate::data_requests::DataRequestError) -> Self {
        use crate::data_requests::DataRequestError;
        let message = err.to_string();
        match err {
            DataRequestError::UnknownTenant(_) => Self::NotFound(message),
            DataRequestError::InvalidEmail => Self::BadRequest(message),
            DataRequestError::Internal(e) => e.into(),
        }
    }
}
