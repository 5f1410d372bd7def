//! The error body: every error the API answers is `{"error": code, "message": sentence}`
//! (docs/API.md "Errors"), with the missing parts on `incomplete_upload`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The machine-readable kind of an error; the status goes with it (docs/API.md "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed (bad JSON, header, id, length...).
    BadRequest,
    /// 401: a required credential is missing or not valid.
    Unauthorized,
    /// 403: the credential is valid but does not allow this.
    Forbidden,
    /// 404: no such resource.
    NotFound,
    /// 405: the path exists, not with this method.
    MethodNotAllowed,
    /// 409: the request contradicts the package's state.
    Conflict,
    /// 413: a body or declared size is over a limit.
    PayloadTooLarge,
    /// 422: a part's body does not hash to `X-Sealdrop-Sha256`.
    ChecksumMismatch,
    /// 409: finalize found parts missing (`missing` lists them).
    IncompleteUpload,
    /// 410: the package has expired.
    Expired,
    /// 410: the sender revoked the package.
    Revoked,
    /// 410: every allowed download has been used.
    DownloadLimitReached,
    /// 401: the package requires a recipient or agent session.
    VerificationRequired,
    /// 416: the `Range` lies outside the file.
    RangeNotSatisfiable,
    /// 429: an hourly cap is reached.
    RateLimited,
    /// 500: a failure on the server's side (logged, never detailed).
    Internal,
    /// 503: the server's database or blob store cannot be reached right now.
    Unavailable,
    /// 400: a device key that is not 32 bytes of base64url, or a low-order X25519 point.
    InvalidDeviceKey,
    /// 409: this device key is registered already.
    DeviceKeyRegistered,
    /// 409: the agent, or the tenant, has as many devices as it may register.
    TooManyDevices,
    /// 400: the wrapped admin key is not one (docs/FORMAT.md §18.3), or its admin key could
    /// never verify a signature.
    InvalidAdminKeyBlob,
    /// 409: an admin key is stored and the request did not say to replace it.
    AdminKeyExists,
    /// 409: no admin key is stored yet (store it before the first roster).
    AdminKeyRequired,
    /// 400: the roster is not well-formed, lists a low-order key, or a device that is not
    /// registered for that user (docs/FORMAT.md §19.1).
    InvalidRoster,
    /// 400: the roster names another admin key than the stored one.
    AdminKeyMismatch,
    /// 400: the roster's signature does not verify under the stored admin key.
    RosterSignatureInvalid,
    /// 400: the roster names another tenant than this one's Zendesk subdomain.
    RosterTenantMismatch,
    /// 409: the roster's sequence is not greater than the stored roster's.
    RosterRolledBack,
    /// 409: team keys cannot be turned on before a roster is stored.
    RosterRequired,
    /// 400: team keys are on, and a Help Center upload's manifest has a link stanza.
    TeamSealedRequired,
    /// 409: the package is not team-sealed (it has a link stanza), so it has nothing to
    /// re-wrap.
    NotTeamSealed,
    /// 400: a re-wrapped manifest must be team-sealed and differ from the stored one in its
    /// stanzas only.
    RewrapMismatch,
}

impl ErrorCode {
    /// The code as written in the body.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::IncompleteUpload => "incomplete_upload",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::DownloadLimitReached => "download_limit_reached",
            Self::VerificationRequired => "verification_required",
            Self::RangeNotSatisfiable => "range_not_satisfiable",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::InvalidDeviceKey => "invalid_device_key",
            Self::DeviceKeyRegistered => "device_key_registered",
            Self::TooManyDevices => "too_many_devices",
            Self::InvalidAdminKeyBlob => "invalid_admin_key_blob",
            Self::AdminKeyExists => "admin_key_exists",
            Self::AdminKeyRequired => "admin_key_required",
            Self::InvalidRoster => "invalid_roster",
            Self::AdminKeyMismatch => "admin_key_mismatch",
            Self::RosterSignatureInvalid => "roster_signature_invalid",
            Self::RosterTenantMismatch => "roster_tenant_mismatch",
            Self::RosterRolledBack => "roster_rolled_back",
            Self::RosterRequired => "roster_required",
            Self::TeamSealedRequired => "team_sealed_required",
            Self::NotTeamSealed => "not_team_sealed",
            Self::RewrapMismatch => "rewrap_mismatch",
        }
    }
}

/// Every error the API answers (docs/API.md "Errors").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// What went wrong, for a program.
    pub error: ErrorCode,
    /// A sentence for a person.
    #[schemars(length(min = 1))]
    pub message: String,
    /// With incomplete_upload only: the parts finalize did not find.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<MissingParts>")]
    pub missing: Option<Vec<MissingParts>>,
}

/// One file's missing parts, in an incomplete upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingParts {
    /// File index.
    pub file: u64,
    /// Missing part indexes.
    pub parts: Vec<u64>,
}
