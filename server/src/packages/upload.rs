//! The upload token's side of a package: the manifest, the parts, what is held, finalize.
//!
//! Part `p` of file `f` holds ciphertext chunks `[p·128, (p+1)·128)` of that file
//! ([`part_size`]); a part is hashed and measured on its way in and reaches the blob store
//! only when it checks out: spooled and checked first ([`store_part`]), or streamed into the
//! store with its last byte held back until it has checked out ([`store_streamed_part`]).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sealdrop_crypto::{LinkVerifier, Manifest};
use serde_json::json;

use super::{require_uploading, upload_package, MissingParts, PackageError};
use crate::config::{Limits, WidgetLimits};
use crate::db::{AuditKind, Database, FileEntry, HeldPart, ManifestOutcome, Package, PackageState};
use crate::settings;
use crate::storage::{part_count, part_size, BlobKey, BodyFault, CheckedBody, Storage};
use crate::team::{self, UploadCheck};
use crate::tokens::TokenHash;
use crate::widget;

/// The package an upload token may still change: its own, and still uploading.
pub async fn changeable(
    db: &Database,
    raw_id: &str,
    token: &TokenHash,
    now: i64,
) -> Result<Package, PackageError> {
    let package = upload_package(db, raw_id, token).await?;
    require_uploading(&package, now)?;
    Ok(package)
}

/// A manifest accepted: how many files and parts the package now expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestStored {
    /// Files in the manifest.
    pub files: usize,
    /// Parts to upload, all files together.
    pub parts: u64,
}

/// Stores the manifest `bytes` of `package` (from [`changeable`]) with the link verifier:
/// its public part must name this package, its files must fit the server's and the tenant's
/// limits (and a widget package the widget's; with team keys on, a widget package must be
/// team-sealed). Identical bytes are a no-op; different bytes
/// replace the old ones only while no part is held.
pub async fn set_manifest(
    db: &Database,
    limits: &Limits,
    widget_limits: &WidgetLimits,
    package: &Package,
    verifier: &LinkVerifier,
    bytes: &[u8],
) -> Result<ManifestStored, PackageError> {
    let manifest = Manifest::parse(bytes)
        .map_err(|e| PackageError::invalid(format!("The manifest is not valid: {e}.")))?;
    if manifest.package_id().to_b64u() != package.id {
        return Err(PackageError::invalid(
            "The manifest belongs to a different package id.",
        ));
    }
    let entries = manifest.files();
    if entries.len() > limits.max_files as usize {
        return Err(PackageError::TooLarge(format!(
            "The manifest lists {} files; this server allows at most {}.",
            entries.len(),
            limits.max_files
        )));
    }
    // The tenant's own file-size setting applies to every package, whoever uploads it.
    let max_file_size = settings::max_file_size(db, limits, &package.tenant_id).await?;
    let mut files = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let size = entry.ciphertext_size;
        let Ok(plaintext) = sealdrop_crypto::stream::plaintext_size(size) else {
            return Err(PackageError::invalid(format!(
                "File {index}: {size} is not a possible ciphertext size."
            )));
        };
        // The limit is on the file as its sender sees it (what every client checks before
        // sending), not on its ciphertext, which is 16 bytes per 64 KiB larger: a "10 GiB"
        // limit admits a file of 10 GiB.
        if plaintext > max_file_size {
            return Err(PackageError::TooLarge(format!(
                "File {index} is {plaintext} bytes; at most {max_file_size} bytes are allowed per file."
            )));
        }
        files.push(FileEntry {
            file: index as u64,
            ciphertext_size: size,
            part_count: part_count(size),
        });
    }
    if team::check_upload(db, package, &manifest).await? == UploadCheck::TeamSealedRequired {
        return Err(PackageError::TeamSealedRequired);
    }
    widget::check_manifest(db, limits, widget_limits, package, &files).await?;
    match db.set_manifest(&package.id, bytes, verifier, &files).await? {
        ManifestOutcome::Stored | ManifestOutcome::Unchanged => Ok(ManifestStored {
            files: files.len(),
            parts: files.iter().map(|f| f.part_count).sum(),
        }),
        ManifestOutcome::ConflictPartsHeld => Err(PackageError::conflict(
            "A different manifest is already stored and parts were uploaded against it; start a new package.",
        )),
        ManifestOutcome::NotUploading => Err(PackageError::conflict(
            "This package is no longer accepting uploads.",
        )),
    }
}

/// Where an incoming part goes, and how long it must be.
#[derive(Debug, Clone)]
pub struct PartSlot {
    /// The package.
    pub package_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// File index.
    pub file: u64,
    /// Part index.
    pub part: u64,
    /// The file's ciphertext size.
    pub file_size: u64,
    /// The file's number of parts.
    pub part_count: u64,
    /// The part's exact length.
    pub expected: u64,
}

/// Checks that part `part` of file `file` may be sent now, and says how long it must be.
pub async fn part_slot(
    db: &Database,
    widget_limits: &WidgetLimits,
    raw_id: &str,
    token: &TokenHash,
    file: u64,
    part: u64,
    now: i64,
) -> Result<PartSlot, PackageError> {
    let package = changeable(db, raw_id, token, now).await?;
    if package.link_verifier.is_none() {
        return Err(PackageError::conflict(
            "Send the manifest (PUT …/manifest) before any part.",
        ));
    }
    // A part the manifest does not have is a resource that does not exist: 404, as a file
    // the manifest does not have is on the download side.
    let Some(entry) = db.file(&package.id, file).await? else {
        return Err(PackageError::NoSuchFile(file));
    };
    let expected = part_size(entry.ciphertext_size, part).ok_or(PackageError::NoSuchPart {
        file,
        part,
        parts: entry.part_count,
    })?;
    // A part already held is not charged again (its resend writes the same bytes).
    if db.part(&package.id, file, part).await?.is_none() {
        widget::check_part(db, widget_limits, &package, expected).await?;
    }
    Ok(PartSlot {
        package_id: package.id,
        tenant_id: package.tenant_id,
        file,
        part,
        file_size: entry.ciphertext_size,
        part_count: entry.part_count,
        expected,
    })
}

/// A part accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartStored {
    /// SHA-256 of the part.
    pub sha256: [u8; 32],
    /// `true`: stored now; `false`: the same bytes were held already.
    pub inserted: bool,
}

/// Stores a part received into `spool` (exactly `slot.expected` bytes, hashing to `sha256`)
/// if it matches the SHA-256 its sender declared (`claimed`), and records `uploaded` when it
/// completes its file. The same bytes again are a no-op; other bytes for a held part are a
/// conflict.
///
/// The part is claimed before a byte reaches the store: the row's insert is atomic on both
/// databases, so of several concurrent requests for one part exactly one claims it, and only
/// bytes hashing to the claimed SHA-256 are ever written under its key (a request with other
/// bytes gets 409 and writes nothing). A request with the claimed bytes writes them again, which
/// is harmless ([`Storage::put_file`] is atomic) and repairs a part whose claimer died before
/// its write; [`finalize`] checks every claimed part is in the store.
pub async fn store_part(
    db: &Database,
    storage: &Arc<dyn Storage>,
    slot: &PartSlot,
    spool: &Path,
    sha256: [u8; 32],
    claimed: [u8; 32],
    now: i64,
) -> Result<PartStored, PackageError> {
    if !bool::from(subtle::ConstantTimeEq::ct_eq(&sha256[..], &claimed[..])) {
        return Err(PackageError::ChecksumMismatch);
    }
    let key = BlobKey::part(&slot.package_id, slot.file, slot.part)?;
    let claim = claim_part(db, slot, sha256, now).await?;
    if let Err(e) = storage.put_file(&key, spool, slot.expected).await {
        release_claim(db, slot, &claim).await;
        return Err(e.into());
    }
    part_written(db, slot, claim, now).await
}

/// Stores a part straight from its request body, for a store that takes streams
/// ([`Storage::streams_parts`]): as [`store_part`], except that the part is claimed with the
/// SHA-256 its sender declared before its body is read (so a conflict is answered without
/// receiving it), and the body reaches the store through a [`CheckedBody`], which cuts it
/// off before its last byte unless it is exactly `slot.expected` bytes hashing to `claimed`.
/// A cut-off body stores nothing, gives the claim back and is refused with the reason.
pub async fn store_streamed_part<S, E>(
    db: &Database,
    storage: &Arc<dyn Storage>,
    slot: &PartSlot,
    body: S,
    claimed: [u8; 32],
    now: i64,
) -> Result<PartStored, PackageError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send + 'static,
{
    let key = BlobKey::part(&slot.package_id, slot.file, slot.part)?;
    let claim = claim_part(db, slot, claimed, now).await?;
    let (body, verdict) = CheckedBody::new(body, slot.expected, claimed);
    if let Err(e) = storage.put_stream(&key, slot.expected, body.boxed()).await {
        release_claim(db, slot, &claim).await;
        return Err(match verdict.fault() {
            Some(fault) => refused_body(slot, fault),
            None => e.into(),
        });
    }
    part_written(db, slot, claim, now).await
}

/// Why a part's body was refused, as its sender reads it.
pub fn refused_body(slot: &PartSlot, fault: BodyFault) -> PackageError {
    let (file, part, expected) = (slot.file, slot.part, slot.expected);
    match fault {
        BodyFault::Mismatch => PackageError::ChecksumMismatch,
        BodyFault::TooLong => PackageError::invalid(format!(
            "Part {part} of file {file} must be exactly {expected} bytes; the body is longer."
        )),
        BodyFault::TooShort { received } => PackageError::invalid(format!(
            "Part {part} of file {file} must be exactly {expected} bytes; the body has {received}."
        )),
        BodyFault::Body => PackageError::invalid("The part's body could not be read completely."),
    }
}

/// A part claimed by one request: `inserted` if this request's claim made the row (and so
/// must give it back if its write fails).
struct PartClaim {
    held: HeldPart,
    inserted: bool,
}

/// Claims `slot` for bytes hashing to `sha256`: the row is inserted, or is there already with
/// the same bytes; other bytes already held are a conflict.
async fn claim_part(
    db: &Database,
    slot: &PartSlot,
    sha256: [u8; 32],
    now: i64,
) -> Result<PartClaim, PackageError> {
    let (id, file, part) = (&slot.package_id, slot.file, slot.part);
    let held = HeldPart {
        file,
        part,
        size: slot.expected,
        sha256,
    };
    let inserted = db.insert_part(id, &held, now).await?;
    if !inserted {
        let same = db
            .part(id, file, part)
            .await?
            .is_some_and(|h| h.sha256 == sha256 && h.size == slot.expected);
        if !same {
            return Err(PackageError::conflict(format!(
                "Part {part} of file {file} is already held with different bytes."
            )));
        }
    }
    Ok(PartClaim { held, inserted })
}

/// Gives a claim back after its write failed, so that a retry (with any bytes) can claim the
/// part again.
async fn release_claim(db: &Database, slot: &PartSlot, claim: &PartClaim) {
    if !claim.inserted {
        return;
    }
    let (id, file, part) = (&slot.package_id, slot.file, slot.part);
    if let Err(db_error) = db.release_part(id, &claim.held).await {
        tracing::warn!(package = %id, file, part, error = %db_error, "could not release a part claim after a failed write; finalize will report the part missing");
    }
}

/// Records a claimed part as written: `uploaded` in the audit log when it completes its file.
async fn part_written(
    db: &Database,
    slot: &PartSlot,
    claim: PartClaim,
    now: i64,
) -> Result<PartStored, PackageError> {
    let id = &slot.package_id;
    if claim.inserted {
        let count = db.count_parts(id, slot.file).await?;
        if count == slot.part_count {
            let detail =
                json!({ "file": slot.file, "ciphertext_size": slot.file_size, "parts": count });
            db.audit(
                &slot.tenant_id,
                Some(id),
                AuditKind::Uploaded,
                Some(&detail),
                now,
            )
            .await?;
        }
    }
    Ok(PartStored {
        sha256: claim.held.sha256,
        inserted: claim.inserted,
    })
}

/// Claimed parts whose object is not in the store (a request that died between its claim
/// and its write), as missing parts per file.
async fn unstored_parts(
    storage: &Arc<dyn Storage>,
    package_id: &str,
    parts: &[HeldPart],
) -> Result<Vec<MissingParts>, PackageError> {
    let stored: BTreeSet<String> = storage
        .list(&BlobKey::package(package_id)?)
        .await?
        .into_iter()
        .collect();
    let mut missing: Vec<MissingParts> = Vec::new();
    for p in parts {
        if stored.contains(BlobKey::part(package_id, p.file, p.part)?.as_str()) {
            continue;
        }
        match missing.last_mut() {
            Some(m) if m.file == p.file => m.parts.push(p.part),
            _ => missing.push(MissingParts {
                file: p.file,
                parts: vec![p.part],
            }),
        }
    }
    Ok(missing)
}

/// Held parts per file, and what is missing (by the size the manifest implies).
fn missing_parts(files: &[FileEntry], parts: &[HeldPart]) -> Vec<MissingParts> {
    let mut missing = Vec::new();
    for f in files {
        let held: BTreeSet<u64> = parts
            .iter()
            .filter(|p| p.file == f.file && part_size(f.ciphertext_size, p.part) == Some(p.size))
            .map(|p| p.part)
            .collect();
        let absent: Vec<u64> = (0..f.part_count).filter(|p| !held.contains(p)).collect();
        if !absent.is_empty() {
            missing.push(MissingParts {
                file: f.file,
                parts: absent,
            });
        }
    }
    missing
}

pub use sealdrop_api::packages::FileParts;

/// What the server holds of a package still uploading: per file, the parts held.
pub async fn held_parts(
    db: &Database,
    raw_id: &str,
    token: &TokenHash,
) -> Result<Vec<FileParts>, PackageError> {
    let package = upload_package(db, raw_id, token).await?;
    // The upload token stops working at finalize (docs/API.md); a client that lost the
    // finalize answer asks the link instead (a link-proof GET) or finalizes again.
    match package.state {
        PackageState::Uploading => {}
        PackageState::Ready => {
            return Err(PackageError::conflict(
                "This package is finalized: the upload token stopped working, and its parts can no longer be listed.",
            ))
        }
        PackageState::Revoked => return Err(PackageError::Revoked),
    }
    let files = db.files(&package.id).await?;
    let parts = db.parts(&package.id).await?;
    let listing = files
        .iter()
        .map(|f| FileParts {
            file: f.file,
            parts: parts
                .iter()
                .filter(|p| p.file == f.file)
                .map(|p| p.part)
                .collect(),
            expected: f.part_count,
        })
        .collect();
    Ok(listing)
}

/// A finalized package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalized {
    /// b64u(package_id).
    pub id: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// `true` when this call finalized it (`false`: a repeated finalize).
    pub now: bool,
}

/// Finalizes the package when every part of every file is held with the right size, and
/// records `finalized`. A repeated finalize answers the same (a client whose first answer
/// was lost retries).
pub async fn finalize(
    db: &Database,
    storage: &Arc<dyn Storage>,
    raw_id: &str,
    token: &TokenHash,
    now: i64,
) -> Result<Finalized, PackageError> {
    let package = upload_package(db, raw_id, token).await?;
    let answer = |now| Finalized {
        id: package.id.clone(),
        expires_at: package.expires_at,
        now,
    };
    if package.state == PackageState::Ready {
        return Ok(answer(false));
    }
    require_uploading(&package, now)?;
    if package.link_verifier.is_none() {
        return Err(PackageError::conflict(
            "Send the manifest (PUT …/manifest) before finalizing.",
        ));
    }
    let files = db.files(&package.id).await?;
    let parts = db.parts(&package.id).await?;
    let missing = missing_parts(&files, &parts);
    if !missing.is_empty() {
        return Err(PackageError::IncompleteUpload(missing));
    }
    let unstored = unstored_parts(storage, &package.id, &parts).await?;
    if !unstored.is_empty() {
        tracing::warn!(package = %package.id, "finalize: claimed parts are missing from the store; the client must send them again");
        return Err(PackageError::IncompleteUpload(unstored));
    }
    let finalized = db.finalize(&package.id, now).await?;
    if finalized {
        let bytes: u64 = files.iter().map(|f| f.ciphertext_size).sum();
        let detail = json!({ "files": files.len(), "ciphertext_bytes": bytes });
        db.audit(
            &package.tenant_id,
            Some(&package.id),
            AuditKind::Finalized,
            Some(&detail),
            now,
        )
        .await?;
        tracing::info!(package = %package.id, files = files.len(), "package finalized");
    }
    Ok(answer(finalized))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PART_SIZE;

    #[test]
    fn missing_parts_are_listed_per_file() {
        let files = [
            FileEntry {
                file: 0,
                ciphertext_size: PART_SIZE * 2 + 16,
                part_count: 3,
            },
            FileEntry {
                file: 1,
                ciphertext_size: 16,
                part_count: 1,
            },
        ];
        let held = |file, part, size| HeldPart {
            file,
            part,
            size,
            sha256: [0; 32],
        };
        let parts = [held(0, 0, PART_SIZE), held(0, 2, 15), held(1, 0, 16)];
        assert_eq!(
            missing_parts(&files, &parts),
            vec![MissingParts {
                file: 0,
                parts: vec![1, 2]
            }]
        );
    }
}
