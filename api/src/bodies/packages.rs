//! Packages: create, upload (manifest, parts, finalize), list, and the recipient's side (info,
//! open, download).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::{DownloadToken, PackageId, ServerSecretText, Timestamp, UploadToken};

/// Most recipients one package may name.
pub const MAX_RECIPIENTS: usize = 50;
/// Highest download limit one may set.
pub const MAX_DOWNLOAD_LIMIT: u32 = 100_000;
/// Longest email address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// Body of `POST /api/v1/packages`. Every field is optional, and so is the body. With a widget
/// key, recipients, notify_sender and max_downloads are refused and require_auth is forced on.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// With require_auth, only these addresses can get a code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), inner(email, length(max = 254)))]
    pub recipients: Vec<String>,
    /// Whether opening needs a recipient or agent session.
    #[serde(default)]
    pub require_auth: bool,
    /// Clamped to the tenant's maximum; null or absent: the tenant's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub expires_in_secs: Option<u64>,
    /// null or absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100_000))]
    pub max_downloads: Option<u32>,
    /// Where to send a receipt for each download; null or absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(email, length(max = 254))]
    pub notify_sender: Option<String>,
}

/// Answer of `POST /api/v1/packages` (201): the package and its credentials, told once.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "CreateResponse")]
pub struct CreatedPackage {
    /// The package id.
    pub id: PackageId,
    /// S, b64u of 32 bytes
    pub server_secret: ServerSecretText,
    /// the upload token, until finalize
    pub upload_token: UploadToken,
    /// When the package expires.
    pub expires_at: Timestamp,
    /// ciphertext chunks per upload part
    #[schemars(extend("const" = 128))]
    pub part_chunks: u64,
    /// The largest file the tenant accepts, in bytes.
    #[schemars(range(min = 1))]
    pub max_file_size: u64,
    /// the secure link without its fragment
    #[schemars(url)]
    pub url: String,
}

/// Answer of `PUT …/manifest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ManifestResponse")]
pub struct ManifestStored {
    /// The package id.
    pub id: PackageId,
    /// Files in the manifest.
    pub files: u64,
    /// parts over all files
    pub parts: u64,
}

/// Answer of `PUT …/files/{file}/parts/{part}`: 201 stored, 200 already held with these bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PartResponse")]
pub struct PartStored {
    /// File index.
    pub file: u64,
    /// Part index within the file.
    pub part: u64,
    /// The part's length in bytes.
    pub size: u64,
    /// hex(SHA-256) of the part, lower case.
    #[schemars(regex(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// The only state in which parts are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Uploading {
    /// Created; manifest and parts may be sent.
    Uploading,
}

/// Answer of `GET …/parts`: what the server holds, so a client resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartsListing {
    /// Always `uploading`: after finalize the upload token is refused.
    pub state: Uploading,
    /// One entry per file of the manifest.
    pub files: Vec<FileParts>,
}

/// One file's parts held, in [`PartsListing`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileParts {
    /// File index.
    pub file: u64,
    /// Indexes of the parts held.
    pub parts: Vec<u64>,
    /// Parts the file has in all.
    pub expected: u64,
}

/// Answer of `POST …/finalize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "FinalizeResponse")]
pub struct Finalized {
    /// The package id.
    pub id: PackageId,
    /// When the package expires.
    pub expires_at: Timestamp,
}

/// The only state in which a recipient sees a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ready {
    /// Finalized; can be opened and downloaded until it expires.
    Ready,
}

/// Answer of `GET /api/v1/packages/{id}` (link proof): what a recipient's page shows before
/// opening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageInfo {
    /// The package id.
    pub id: PackageId,
    /// Always `ready`: other states answer 404 or 410.
    pub state: Ready,
    /// When the package was created.
    pub created_at: Timestamp,
    /// When the package expires.
    pub expires_at: Timestamp,
    /// Whether opening needs a recipient or agent session.
    pub require_auth: bool,
    /// null: no limit
    pub downloads_left: Option<u32>,
    /// The files' ciphertext sizes, by index.
    pub files: Vec<FileSize>,
    /// the tenant's name
    pub sender: Option<String>,
}

/// One file's ciphertext size, in [`PackageInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSize {
    /// File index.
    pub file: u64,
    /// Bytes of ciphertext.
    pub ciphertext_size: u64,
}

/// Answer of `POST …/open`: what the recipient needs to decrypt.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OpenResponse")]
pub struct Opened {
    /// S, b64u
    pub server_secret: ServerSecretText,
    /// the manifest bytes, standard base64 with padding
    #[schemars(
        regex(pattern = "^[A-Za-z0-9+/]*={0,2}$"),
        extend("contentEncoding" = "base64")
    )]
    pub manifest: String,
}

/// Answer of `POST …/download`: a token for the ciphertext.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "DownloadResponse")]
pub struct DownloadGrant {
    /// for GET …/files/{file}
    pub download_token: DownloadToken,
    /// When the token stops working.
    pub expires_at: Timestamp,
}

/// A package's state as its sender sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SentState {
    /// Not finalized yet.
    Uploading,
    /// Can be downloaded.
    Ready,
    /// Past its expiry.
    Expired,
    /// Revoked by its sender.
    Revoked,
}

/// Answer of `GET /api/v1/packages?mine=1`: the agent's own packages, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentPackages {
    /// 100 at most.
    #[schemars(length(max = 100))]
    pub packages: Vec<SentPackage>,
}

/// One package in [`SentPackages`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentPackage {
    /// The package id.
    pub id: PackageId,
    /// Its state now.
    pub state: SentState,
    /// Whether opening needs a recipient or agent session.
    pub require_auth: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// null: no limit.
    pub downloads_left: Option<u32>,
    /// Downloads so far.
    pub downloads_used: u32,
    /// the link without its fragment
    #[schemars(url)]
    pub url: String,
}

/// The only listing there is: the caller's own packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Mine {
    /// `mine=1`.
    #[serde(rename = "1")]
    Yes,
}

/// Query of `GET /api/v1/packages`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SentQuery {
    /// Must be 1: the caller's own packages.
    #[schemars(with = "Mine")]
    pub mine: Option<String>,
}
