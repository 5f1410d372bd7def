//! The link holder's side of a package: public info, `open` (the server secret and the
//! manifest), starting a download (a download token, counted against the limit) and reading
//! the ciphertext with that token.
//!
//! Unknown ids, wrong link proofs and unfinalized packages all look alike
//! ([`PackageError::NoPackageAtLink`]), with the same work done either way.

use sealdrop_crypto::{LinkProof, LinkVerifier, ServerSecret};
use serde_json::json;

use super::{parse_id, PackageError};
use crate::agents::Zendesk;
use crate::config::DOWNLOAD_TOKEN_TTL;
use crate::db::{AuditKind, Database, DownloadStart, FileEntry, Package, PackageState};
use crate::mail::Mailer;
use crate::policy::{self, ReleaseCredentials};
use crate::tokens::{NewToken, TokenHash, TokenKind};

/// Checks a link proof against a package in constant time, doing the same work whether or
/// not the package exists or has a verifier yet.
fn proof_matches(package: Option<&Package>, proof: &LinkProof) -> bool {
    let stored = package.and_then(|p| p.link_verifier);
    let verifier = stored.unwrap_or(LinkVerifier::from_bytes([0u8; 32]));
    verifier.matches(proof) & stored.is_some()
}

/// Whether the package's download limit is used up.
fn downloads_used_up(package: &Package) -> bool {
    package
        .max_downloads
        .is_some_and(|max| package.downloads_used >= max)
}

/// The package behind a link (its id and proof `A`), if it can be opened now: finalized,
/// not revoked, not expired, its download limit not used up.
pub async fn linked_package(
    db: &Database,
    raw_id: &str,
    proof: &LinkProof,
    now: i64,
) -> Result<Package, PackageError> {
    let package = linked_package_within_limit_or_not(db, raw_id, proof, now).await?;
    if downloads_used_up(&package) {
        return Err(PackageError::DownloadLimitReached);
    }
    Ok(package)
}

/// [`linked_package`] without the download-limit check: a download repeated with its
/// idempotency key is answered even when it took the last download.
async fn linked_package_within_limit_or_not(
    db: &Database,
    raw_id: &str,
    proof: &LinkProof,
    now: i64,
) -> Result<Package, PackageError> {
    let package = match parse_id(raw_id) {
        Some(id) => db.package(&id).await?,
        None => None,
    };
    // Always run the comparison, found or not (same work either way).
    if !proof_matches(package.as_ref(), proof) {
        return Err(PackageError::NoPackageAtLink);
    }
    let package = package.ok_or(PackageError::NoPackageAtLink)?;
    match package.state {
        PackageState::Ready => {}
        PackageState::Revoked => return Err(PackageError::Revoked),
        PackageState::Uploading => return Err(PackageError::NoPackageAtLink),
    }
    if package.expires_at <= now {
        return Err(PackageError::Expired);
    }
    Ok(package)
}

/// What anyone holding the link may know before opening it.
#[derive(Debug)]
pub struct PackageInfo {
    /// The package.
    pub package: Package,
    /// Its files' ciphertext sizes.
    pub files: Vec<FileEntry>,
    /// The sender's name (the tenant's).
    pub sender: Option<String>,
}

/// The public info of the package behind a link. Never includes the server secret.
pub async fn info(
    db: &Database,
    raw_id: &str,
    proof: &LinkProof,
    now: i64,
) -> Result<PackageInfo, PackageError> {
    let package = linked_package(db, raw_id, proof, now).await?;
    let files = db.files(&package.id).await?;
    let sender = db.tenant(&package.tenant_id).await?.map(|t| t.name);
    Ok(PackageInfo {
        package,
        files,
        sender,
    })
}

/// What decryption needs.
#[derive(Debug)]
pub struct Opened {
    /// `S`.
    pub server_secret: ServerSecret,
    /// The manifest bytes.
    pub manifest: Vec<u8>,
}

/// Releases the server secret and the manifest of the package behind a link to a caller the
/// [`policy`] admits, and records `opened`. Does not count as a download.
pub async fn open(
    db: &Database,
    zendesk: &Zendesk,
    raw_id: &str,
    proof: &LinkProof,
    credentials: &ReleaseCredentials,
    now: i64,
) -> Result<Opened, PackageError> {
    let package = linked_package(db, raw_id, proof, now).await?;
    policy::may_release(db, zendesk, &package, credentials, now).await?;
    let manifest = db.manifest(&package.id).await?.ok_or_else(|| {
        PackageError::Internal(
            anyhow::anyhow!("ready package {} has no manifest", package.id).into(),
        )
    })?;
    db.audit(
        &package.tenant_id,
        Some(&package.id),
        AuditKind::Opened,
        None,
        now,
    )
    .await?;
    Ok(Opened {
        server_secret: package.server_secret,
        manifest,
    })
}

/// A started download.
#[derive(Debug)]
pub struct DownloadGrant {
    /// The download token (`sdd_…`).
    pub token: NewToken,
    /// Unix seconds.
    pub expires_at: i64,
    /// `true` when this start took one download from the limit (`false`: a repeat).
    pub counted: bool,
}

/// Starts a download of the package behind a link for a caller the [`policy`] admits: takes
/// one download from the limit, records `downloaded`, sends the sender's receipt if asked
/// for, and answers a download token (24 h, or the package's expiry if sooner).
///
/// With an idempotency key (its SHA-256) this package has seen within that download's token
/// lifetime, it answers a new token expiring with the first and takes nothing: a client whose
/// answer was lost retries with the same key without using up the limit.
#[allow(clippy::too_many_arguments)]
pub async fn start_download(
    db: &Database,
    zendesk: &Zendesk,
    mailer: &Mailer,
    raw_id: &str,
    proof: &LinkProof,
    credentials: &ReleaseCredentials,
    key_hash: Option<[u8; 32]>,
    now: i64,
) -> Result<DownloadGrant, PackageError> {
    let package = linked_package_within_limit_or_not(db, raw_id, proof, now).await?;
    // The limit is final for a new download only; the transaction below decides for good.
    let repeated = match &key_hash {
        Some(hash) => db.download_key_known(&package.id, hash, now).await?,
        None => false,
    };
    if !repeated && downloads_used_up(&package) {
        return Err(PackageError::DownloadLimitReached);
    }
    policy::may_release(db, zendesk, &package, credentials, now).await?;
    let expires_at = package
        .expires_at
        .min(now + DOWNLOAD_TOKEN_TTL.as_secs() as i64);
    let outcome = db
        .take_download(&package.id, key_hash.as_ref(), expires_at, now)
        .await?;
    let expires_at = match outcome {
        DownloadStart::Counted => expires_at,
        DownloadStart::Repeated { expires_at } => {
            let token = issue_download_token(db, &package.id, expires_at, now).await?;
            tracing::info!(package = %package.id, "download start repeated with its idempotency key; not counted again");
            return Ok(DownloadGrant {
                token,
                expires_at,
                counted: false,
            });
        }
        DownloadStart::Refused => {
            // Lost a race: say why, as the checks above would now.
            let package = db
                .package(&package.id)
                .await?
                .ok_or(PackageError::NoPackageAtLink)?;
            return Err(match package.state {
                PackageState::Revoked => PackageError::Revoked,
                _ if package.expires_at <= now => PackageError::Expired,
                _ => PackageError::DownloadLimitReached,
            });
        }
    };
    let token = issue_download_token(db, &package.id, expires_at, now).await?;
    let used = package.downloads_used + 1;
    db.audit(
        &package.tenant_id,
        Some(&package.id),
        AuditKind::Downloaded,
        Some(&json!({ "downloads_used": used })),
        now,
    )
    .await?;
    if let Some(address) = &package.notify_sender {
        mailer
            .download_receipt(address, &package.id, used, package.max_downloads)
            .await;
    }
    Ok(DownloadGrant {
        token,
        expires_at,
        counted: true,
    })
}

/// Stores a new download token for package `id`.
async fn issue_download_token(
    db: &Database,
    id: &str,
    expires_at: i64,
    now: i64,
) -> Result<NewToken, PackageError> {
    let token = NewToken::generate(TokenKind::Download);
    db.insert_download_token(token.hash().as_bytes(), id, expires_at, now)
        .await?;
    Ok(token)
}

/// The file a download token may read now: the token is this package's and unexpired, the
/// package ready and unexpired, the file in its manifest. Returns the file's entry.
pub async fn readable_file(
    db: &Database,
    raw_id: &str,
    token: &TokenHash,
    file: u64,
    now: i64,
) -> Result<(String, FileEntry), PackageError> {
    let id = parse_id(raw_id).ok_or(PackageError::InvalidDownloadToken)?;
    let (token_package, token_expires) = db
        .download_token(token.as_bytes())
        .await?
        .ok_or(PackageError::InvalidDownloadToken)?;
    if token_package != id || token_expires <= now {
        return Err(PackageError::InvalidDownloadToken);
    }
    let package = db
        .package(&id)
        .await?
        .ok_or(PackageError::InvalidDownloadToken)?;
    match package.state {
        PackageState::Ready if package.expires_at > now => {}
        PackageState::Ready => return Err(PackageError::Expired),
        _ => return Err(PackageError::Revoked),
    }
    let entry = db
        .file(&id, file)
        .await?
        .ok_or(PackageError::NoSuchFile(file))?;
    Ok((id, entry))
}
