//! Packages and their lifecycle (docs/API.md "Packages"): created by a tenant's caller
//! ([`create()`]), filled through the upload token ([`upload`]: manifest, parts, finalize),
//! opened and downloaded by whoever holds the link ([`access`], under [`crate::policy`]),
//! revoked ([`revoke()`]) and eventually purged ([`crate::purge`]).
//!
//! Every function takes the [`Database`] and typed values, and answers a [`PackageError`];
//! none knows about HTTP.

pub mod access;
mod create;
mod revoke;
pub mod upload;

pub use access::{linked_package, DownloadGrant, Opened, PackageInfo};
pub use create::{create, CreateRequest, CreatedPackage};
pub use revoke::{revoke, Revoker};
pub use upload::{ManifestStored, PartSlot, PartStored};

use crate::agents::AgentError;
use crate::db::{Database, Package, PackageState, SentPackage};
use crate::internal::{internal_failures, Internal};
use crate::tokens::TokenHash;
use crate::widget::WidgetError;

/// The message for an unknown package *and* for a wrong link proof; identical on purpose.
pub const NO_PACKAGE_AT_LINK: &str = "No package at this link.";

/// Why a package operation was refused. Each variant's message is the sentence a client
/// sees.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The request is malformed or asks for what the server refuses (message says what).
    #[error("{0}")]
    Invalid(String),
    /// No package with this id, or the upload token is not its token (indistinguishable).
    #[error("No package with this id for this upload token.")]
    UnknownForUploadToken,
    /// No package with this id (for this tenant).
    #[error("No package with this id.")]
    Unknown,
    /// Unknown package, wrong link proof or unfinalized package: indistinguishable by design.
    #[error("{NO_PACKAGE_AT_LINK}")]
    NoPackageAtLink,
    /// The request contradicts the package's state (message says how).
    #[error("{0}")]
    Conflict(String),
    /// Finalize found parts missing; lists them.
    #[error("The upload is incomplete: some parts are missing.")]
    IncompleteUpload(Vec<MissingParts>),
    /// The package has expired.
    #[error("This package has expired.")]
    Expired,
    /// The sender revoked the package.
    #[error("This package was revoked by its sender.")]
    Revoked,
    /// Every allowed download has been used.
    #[error("This package has reached its download limit.")]
    DownloadLimitReached,
    /// A declared size or count is over a limit (message says which).
    #[error("{0}")]
    TooLarge(String),
    /// A part's bytes do not hash to the SHA-256 its sender declared.
    #[error("The part's SHA-256 does not match the X-Sealdrop-Sha256 header; nothing was stored.")]
    ChecksumMismatch,
    /// The package requires a recipient session or an agent session of its tenant.
    #[error("This package requires the recipient to verify their email address first.")]
    VerificationRequired,
    /// The upload token no longer revokes a finalized package.
    #[error("The upload token stops working at finalize; revoke with a tenant API token.")]
    UploadTokenSpent,
    /// The download token is unknown, expired, or for another package.
    #[error("The download token is not valid for this package.")]
    InvalidDownloadToken,
    /// The package has no such file.
    #[error("This package has no file {0}.")]
    NoSuchFile(u64),
    /// The file has no such part (`parts`: how many it has).
    #[error("File {file} of this package has no part {part} (it has {parts}).")]
    NoSuchPart {
        /// File index.
        file: u64,
        /// Part index asked for.
        part: u64,
        /// Parts the file has.
        parts: u64,
    },
    /// Team keys are on and a Help Center upload's manifest has a link stanza.
    #[error("This account protects Help Center uploads with team keys: the manifest must be team-sealed (no link stanza), sealed to the account's verified roster.")]
    TeamSealedRequired,
    /// A Help Center package is over the widget's limits.
    #[error(transparent)]
    Widget(#[from] WidgetError),
    /// An agent session presented to open a package did not check out.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(PackageError);

impl PackageError {
    fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

pub use sealdrop_api::error::MissingParts;
use sealdrop_api::packages::SentState;

/// Canonical package id text, or `None` if `raw` is not a package id.
fn parse_id(raw: &str) -> Option<String> {
    sealdrop_crypto::PackageId::parse_b64u(raw)
        .ok()
        .map(|id| id.to_b64u())
}

/// The package an upload token belongs to; an unknown id and a wrong token look alike.
async fn upload_package(
    db: &Database,
    raw_id: &str,
    token: &TokenHash,
) -> Result<Package, PackageError> {
    let id = parse_id(raw_id).ok_or(PackageError::UnknownForUploadToken)?;
    let package = db
        .package(&id)
        .await?
        .ok_or(PackageError::UnknownForUploadToken)?;
    if !token.matches(&package.upload_token_hash) {
        return Err(PackageError::UnknownForUploadToken);
    }
    Ok(package)
}

/// Refuses changes to a package that is no longer uploading.
fn require_uploading(package: &Package, now: i64) -> Result<(), PackageError> {
    match package.state {
        PackageState::Uploading if package.expires_at <= now => Err(PackageError::Expired),
        PackageState::Uploading => Ok(()),
        PackageState::Ready => Err(PackageError::conflict(
            "This package is finalized; it can no longer be changed.",
        )),
        PackageState::Revoked => Err(PackageError::Revoked),
    }
}

/// Downloads left under a package's limit (`None`: no limit).
pub fn downloads_left(max_downloads: Option<u32>, downloads_used: u32) -> Option<u32> {
    max_downloads.map(|max| max.saturating_sub(downloads_used))
}

/// The packages Zendesk user `user_id` of a tenant sent, newest first (100 at most), for the
/// sidebar's revoke list.
pub async fn sent_by(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
) -> Result<Vec<SentPackage>, Internal> {
    Ok(db.packages_sent_by(tenant_id, user_id, 100).await?)
}

/// How a sent package's state is shown: a ready package past its expiry is `expired`.
pub fn shown_state(package: &SentPackage, now: i64) -> SentState {
    match package.state {
        PackageState::Ready if package.expires_at <= now => SentState::Expired,
        PackageState::Ready => SentState::Ready,
        PackageState::Uploading => SentState::Uploading,
        PackageState::Revoked => SentState::Revoked,
    }
}
