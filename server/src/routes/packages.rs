//! `/api/v1/packages…`: create, manifest, parts, finalize, info, open, download, ciphertext,
//! revoke (docs/API.md "Packages").

use std::collections::BTreeSet;
use std::io;
use std::ops::Range;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::{StreamExt, TryStreamExt};
use rand::RngCore;
use sealdrop_crypto::{LinkVerifier, Manifest, PackageId, ServerSecret};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;

use super::{content_length, read_limited, ApiJson};
use crate::app::AppState;
use crate::auth::{
    link_proof_matches, DownloadToken, LinkProofHeader, PackageCreator, Principal, RevokeAuth,
    UploadToken,
};
use crate::clock::rfc3339;
use crate::config::DOWNLOAD_TOKEN_TTL;
use crate::db::{state, DownloadStart, FileRow, ManifestOutcome, NewPackage, PackageRow, PartRow};
use crate::error::{HttpError, MissingParts};
use crate::metrics::Metrics;
use crate::storage::{self, part_count, part_size, BlobKey};
use crate::tokens::{NewToken, TokenKind};

/// Header naming the SHA-256 of a part.
pub const SHA256_HEADER: &str = "x-sealdrop-sha256";
/// Header carrying `b64u(SHA-256(A))` with the manifest.
pub const LINK_VERIFIER_HEADER: &str = "x-sealdrop-link-verifier";
/// Chunks per upload part (docs/FORMAT.md transport constant).
pub const PART_CHUNKS: u64 = 128;
/// Most recipients one package may name.
const MAX_RECIPIENTS: usize = 50;
/// Highest download limit one may set.
const MAX_DOWNLOAD_LIMIT: u32 = 100_000;

/// The package routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/packages", post(create))
        .route("/api/v1/packages/{id}", get(info).delete(revoke))
        .route("/api/v1/packages/{id}/manifest", put(put_manifest))
        .route(
            "/api/v1/packages/{id}/files/{file}/parts/{part}",
            put(put_part),
        )
        .route("/api/v1/packages/{id}/parts", get(list_parts))
        .route("/api/v1/packages/{id}/finalize", post(finalize))
        .route("/api/v1/packages/{id}/open", post(open))
        .route("/api/v1/packages/{id}/download", post(start_download))
        .route("/api/v1/packages/{id}/files/{file}", get(ciphertext))
}

// ---- create ------------------------------------------------------------------------------

/// Body of `POST /api/v1/packages`; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    #[serde(default)]
    recipients: Vec<String>,
    #[serde(default)]
    require_auth: bool,
    expires_in_secs: Option<u64>,
    max_downloads: Option<u32>,
    notify_sender: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    PackageCreator(principal): PackageCreator,
    ApiJson(mut req): ApiJson<CreateRequest>,
) -> Result<Response, HttpError> {
    let tenant = principal.tenant();
    if let Principal::Widget { .. } = &principal {
        // Anonymous Help Center upload (crate::widget): no mail to anyone, and only the
        // tenant's allowed agents may open it.
        if !req.recipients.is_empty() || req.notify_sender.is_some() || req.max_downloads.is_some()
        {
            return Err(HttpError::bad_request(
                "A Help Center upload cannot name recipients, a sender to notify or a download limit.",
            ));
        }
        req.require_auth = true;
    }
    if req.recipients.len() > MAX_RECIPIENTS {
        return Err(HttpError::bad_request(format!(
            "At most {MAX_RECIPIENTS} recipients per package."
        )));
    }
    for address in req.recipients.iter().chain(req.notify_sender.iter()) {
        check_email(address)?;
    }
    if req
        .recipients
        .iter()
        .any(|r| crate::verification::EmailAddress::parse(r).is_none())
    {
        return Err(HttpError::bad_request("A recipient address is not valid."));
    }
    let limits = &state.config.limits;
    let max_expiry = tenant
        .max_expiry_secs
        .map_or(limits.max_expiry.as_secs(), |s| s.max(1) as u64);
    let default_expiry = tenant
        .default_expiry_secs
        .map_or(limits.default_expiry.as_secs(), |s| s.max(1) as u64);
    let expires_in = match req.expires_in_secs {
        Some(0) => {
            return Err(HttpError::bad_request(
                "expires_in_secs must be at least 1.",
            ))
        }
        Some(secs) => secs.min(max_expiry),
        None => default_expiry.min(max_expiry),
    };
    let max_downloads = match req.max_downloads {
        Some(0) => {
            return Err(HttpError::bad_request(
                "max_downloads must be at least 1 (omit it for no limit).",
            ))
        }
        Some(n) if n > MAX_DOWNLOAD_LIMIT => {
            return Err(HttpError::bad_request(format!(
                "max_downloads must be at most {MAX_DOWNLOAD_LIMIT}."
            )))
        }
        other => other.map(i64::from),
    };

    let mut id_bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id_bytes);
    let package_id = PackageId::from_bytes(id_bytes);
    let id = package_id.to_b64u();
    let mut secret_bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret_bytes);
    let server_secret = ServerSecret::from_bytes(secret_bytes);
    let upload_token = NewToken::generate(TokenKind::Upload);
    let now = state.clock.now();
    let expires_at = now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX));
    state
        .db
        .insert_package(&NewPackage {
            id: &id,
            tenant_id: &tenant.id,
            created_by: principal.kind(),
            server_secret: &secret_bytes,
            upload_token_hash: upload_token.hash().as_bytes(),
            require_auth: req.require_auth,
            notify_sender: req.notify_sender.as_deref(),
            expires_at,
            max_downloads,
            created_at: now,
        })
        .await?;
    secret_bytes.fill(0);
    if let Principal::Agent { user_id, .. } = &principal {
        crate::agents::record_sender(&state.db, &id, *user_id).await?;
    }
    crate::verification::store_recipients(&state.db, &id, &req.recipients)
        .await
        .map_err(HttpError::Internal)?;
    state
        .db
        .audit(
            &tenant.id,
            Some(&id),
            "created",
            Some(&json!({
                "by": principal.kind(),
                "require_auth": req.require_auth,
                "max_downloads": max_downloads,
                "expires_at": rfc3339(expires_at),
                "recipients": req.recipients.len(),
            })),
            now,
        )
        .await?;
    Metrics::add(&state.metrics.packages_created, 1);
    tracing::info!(package = %id, tenant = %tenant.id, "package created");
    let body = json!({
        "id": id,
        "server_secret": server_secret.to_b64u(),
        "upload_token": upload_token.text(),
        "expires_at": rfc3339(expires_at),
        "part_chunks": PART_CHUNKS,
        "max_file_size": limits.max_file_size,
        "url": format!("{}/p/{}", state.config.public_url.as_str().trim_end_matches('/'), id),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// A light sanity check of an email address (full validation comes with verification).
fn check_email(address: &str) -> Result<(), HttpError> {
    let ok = address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(HttpError::bad_request(
            "An email address in the request is not valid.",
        ))
    }
}

// ---- upload (upload token) ---------------------------------------------------------------

/// Canonical package id text, or `None` if `raw` is not a package id.
fn parse_id(raw: &str) -> Option<String> {
    PackageId::parse_b64u(raw).ok().map(|id| id.to_b64u())
}

fn no_upload_package() -> HttpError {
    HttpError::NotFound("No package with this id for this upload token.".into())
}

/// Loads the package an upload token belongs to; unknown id and wrong token look alike.
async fn upload_package(
    state: &AppState,
    raw_id: &str,
    token: &UploadToken,
) -> Result<PackageRow, HttpError> {
    let id = parse_id(raw_id).ok_or_else(no_upload_package)?;
    let row = state.db.package(&id).await?.ok_or_else(no_upload_package)?;
    if !token.0.matches(&row.upload_token_hash) {
        return Err(no_upload_package());
    }
    Ok(row)
}

/// Refuses changes to a package that is no longer uploading.
fn require_uploading(row: &PackageRow, now: i64) -> Result<(), HttpError> {
    match row.state.as_str() {
        state::UPLOADING if row.expires_at <= now => Err(HttpError::Expired),
        state::UPLOADING => Ok(()),
        state::READY => Err(HttpError::conflict(
            "This package is finalized; it can no longer be changed.",
        )),
        _ => Err(HttpError::Revoked),
    }
}

async fn put_manifest(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    token: UploadToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let row = upload_package(&state, &raw_id, &token).await?;
    require_uploading(&row, state.clock.now())?;
    let verifier = headers
        .get(LINK_VERIFIER_HEADER)
        .ok_or_else(|| {
            HttpError::bad_request(
                "The manifest needs the `X-Sealdrop-Link-Verifier` header (b64u(SHA-256(A))).",
            )
        })?
        .to_str()
        .ok()
        .and_then(|v| LinkVerifier::parse_b64u(v.trim()).ok())
        .ok_or_else(|| {
            HttpError::bad_request(
                "The X-Sealdrop-Link-Verifier header is not 43 base64url characters.",
            )
        })?;
    let limits = &state.config.limits;
    let bytes = read_limited(&headers, body, limits.max_manifest_size, "manifest").await?;
    let manifest = Manifest::parse(&bytes)
        .map_err(|e| HttpError::bad_request(format!("The manifest is not valid: {e}.")))?;
    if manifest.package_id().to_b64u() != row.id {
        return Err(HttpError::bad_request(
            "The manifest belongs to a different package id.",
        ));
    }
    let entries = manifest.files();
    if entries.len() > limits.max_files as usize {
        return Err(HttpError::PayloadTooLarge(format!(
            "The manifest lists {} files; this server allows at most {}.",
            entries.len(),
            limits.max_files
        )));
    }
    // The tenant's own file-size setting applies to every package, whoever uploads it.
    let max_file_size = match crate::settings::load(&state.db, &row.tenant_id).await? {
        Some(settings) => settings.effective_max_file_size(limits),
        None => limits.max_file_size,
    };
    let mut files = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let size = entry.ciphertext_size;
        if sealdrop_crypto::stream::plaintext_size(size).is_err() {
            return Err(HttpError::bad_request(format!(
                "File {index}: {size} is not a possible ciphertext size."
            )));
        }
        if size > max_file_size {
            return Err(HttpError::PayloadTooLarge(format!(
                "File {index} is {size} bytes of ciphertext; at most {max_file_size} bytes are allowed per file."
            )));
        }
        files.push(FileRow {
            file: index as i64,
            ciphertext_size: size as i64,
            part_count: part_count(size) as i64,
        });
    }
    crate::widget::check_manifest(&state, &row, &files).await?;
    let outcome = state
        .db
        .set_manifest(&row.id, &bytes, verifier.as_bytes(), &files)
        .await?;
    match outcome {
        ManifestOutcome::Stored | ManifestOutcome::Unchanged => {
            let parts: i64 = files.iter().map(|f| f.part_count).sum();
            Ok(Json(json!({ "id": row.id, "files": files.len(), "parts": parts })).into_response())
        }
        ManifestOutcome::ConflictPartsHeld => Err(HttpError::conflict(
            "A different manifest is already stored and parts were uploaded against it; start a new package.",
        )),
        ManifestOutcome::NotUploading => Err(HttpError::conflict("This package is no longer accepting uploads.")),
    }
}

/// A spool file that removes itself unless it was handed to the blob store.
struct Spool {
    path: PathBuf,
}

impl Drop for Spool {
    fn drop(&mut self) {
        // The store moves or deletes the file on success; NotFound is the common case here.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn parse_index(raw: &str, what: &str) -> Result<u64, HttpError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n <= u64::from(u32::MAX))
        .ok_or_else(|| HttpError::bad_request(format!("The {what} index `{raw}` is not a number.")))
}

fn parse_sha256(headers: &HeaderMap) -> Result<[u8; 32], HttpError> {
    let value = headers.get(SHA256_HEADER).ok_or_else(|| {
        HttpError::bad_request("A part needs the `X-Sealdrop-Sha256` header: hex(SHA-256(body)).")
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| hex::decode(v.trim()).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| {
            HttpError::bad_request("The X-Sealdrop-Sha256 header is not 64 hexadecimal characters.")
        })
}

async fn put_part(
    State(state): State<AppState>,
    Path((raw_id, raw_file, raw_part)): Path<(String, String, String)>,
    token: UploadToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let file = parse_index(&raw_file, "file")?;
    let part = parse_index(&raw_part, "part")?;
    let row = upload_package(&state, &raw_id, &token).await?;
    require_uploading(&row, state.clock.now())?;
    if row.link_verifier.is_none() {
        return Err(HttpError::conflict(
            "Send the manifest (PUT …/manifest) before any part.",
        ));
    }
    let Some(file_row) = state.db.file(&row.id, file as i64).await? else {
        let count = state.db.files(&row.id).await?.len();
        return Err(HttpError::bad_request(format!(
            "File {file} is not in this package's manifest ({count} files)."
        )));
    };
    let file_size = file_row.ciphertext_size as u64;
    let expected = part_size(file_size, part).ok_or_else(|| {
        HttpError::bad_request(format!(
            "Part {part} is past the end of file {file} ({} parts).",
            file_row.part_count
        ))
    })?;
    let claimed = parse_sha256(&headers)?;
    if let Some(declared) = content_length(&headers)? {
        if declared != expected {
            return Err(HttpError::bad_request(format!(
                "Part {part} of file {file} must be exactly {expected} bytes; the request declares {declared}."
            )));
        }
    }

    // Spool to disk while hashing and counting; nothing reaches the store unless it checks out.
    let spool = Spool {
        path: state
            .config
            .spool_dir()
            .join(format!("part-{:016x}", rand::random::<u64>())),
    };
    let mut out = tokio::fs::File::create(&spool.path).await?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|_| HttpError::bad_request("The part's body could not be read completely."))?;
        received += chunk.len() as u64;
        if received > expected {
            return Err(HttpError::bad_request(format!(
                "Part {part} of file {file} must be exactly {expected} bytes; the body is longer."
            )));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    drop(out);
    if received != expected {
        return Err(HttpError::bad_request(format!(
            "Part {part} of file {file} must be exactly {expected} bytes; the body has {received}."
        )));
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if !bool::from(digest.ct_eq(&claimed)) {
        return Err(HttpError::ChecksumMismatch);
    }
    let answer =
        json!({ "file": file, "part": part, "size": expected, "sha256": hex::encode(digest) });

    if let Some(held) = state.db.part(&row.id, file as i64, part as i64).await? {
        return if held.sha256 == digest && held.size as u64 == expected {
            Ok((StatusCode::OK, Json(answer)).into_response())
        } else {
            Err(HttpError::conflict(format!(
                "Part {part} of file {file} is already held with different bytes."
            )))
        };
    }
    let key = BlobKey::part(&row.id, file, part)?;
    state.storage.put_file(&key, &spool.path, expected).await?;
    let now = state.clock.now();
    let part_row = PartRow {
        file: file as i64,
        part: part as i64,
        size: expected as i64,
        sha256: digest.to_vec(),
    };
    let inserted = state.db.insert_part(&row.id, &part_row, now).await?;
    if inserted {
        Metrics::add(&state.metrics.parts_stored, 1);
        Metrics::add(&state.metrics.bytes_uploaded, expected);
        let held = state
            .db
            .parts(&row.id)
            .await?
            .iter()
            .filter(|p| p.file == file as i64)
            .count() as i64;
        if held == file_row.part_count {
            state
                .db
                .audit(
                    &row.tenant_id,
                    Some(&row.id),
                    "uploaded",
                    Some(&json!({ "file": file, "ciphertext_size": file_size, "parts": held })),
                    now,
                )
                .await?;
        }
    }
    Ok((
        if inserted {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        Json(answer),
    )
        .into_response())
}

/// Held parts per file, and what is missing (by the size the manifest implies).
fn missing_parts(files: &[FileRow], parts: &[PartRow]) -> Vec<MissingParts> {
    let mut missing = Vec::new();
    for f in files {
        let held: BTreeSet<u64> = parts
            .iter()
            .filter(|p| {
                p.file == f.file
                    && part_size(f.ciphertext_size as u64, p.part as u64) == Some(p.size as u64)
            })
            .map(|p| p.part as u64)
            .collect();
        let absent: Vec<u64> = (0..f.part_count as u64)
            .filter(|p| !held.contains(p))
            .collect();
        if !absent.is_empty() {
            missing.push(MissingParts {
                file: f.file as u64,
                parts: absent,
            });
        }
    }
    missing
}

async fn list_parts(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    token: UploadToken,
) -> Result<Response, HttpError> {
    let row = upload_package(&state, &raw_id, &token).await?;
    let files = state.db.files(&row.id).await?;
    let parts = state.db.parts(&row.id).await?;
    let listing: Vec<_> = files
        .iter()
        .map(|f| {
            let held: Vec<i64> = parts
                .iter()
                .filter(|p| p.file == f.file)
                .map(|p| p.part)
                .collect();
            json!({ "file": f.file, "parts": held, "expected": f.part_count })
        })
        .collect();
    Ok(Json(json!({ "state": row.state, "files": listing })).into_response())
}

async fn finalize(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    token: UploadToken,
) -> Result<Response, HttpError> {
    let row = upload_package(&state, &raw_id, &token).await?;
    let answer =
        || Json(json!({ "id": row.id, "expires_at": rfc3339(row.expires_at) })).into_response();
    if row.state == state::READY {
        return Ok(answer()); // a retried finalize whose first answer was lost
    }
    let now = state.clock.now();
    require_uploading(&row, now)?;
    if row.link_verifier.is_none() {
        return Err(HttpError::conflict(
            "Send the manifest (PUT …/manifest) before finalizing.",
        ));
    }
    let files = state.db.files(&row.id).await?;
    let parts = state.db.parts(&row.id).await?;
    let missing = missing_parts(&files, &parts);
    if !missing.is_empty() {
        return Err(HttpError::IncompleteUpload(missing));
    }
    if state.db.finalize(&row.id, now).await? {
        let bytes: i64 = files.iter().map(|f| f.ciphertext_size).sum();
        state
            .db
            .audit(
                &row.tenant_id,
                Some(&row.id),
                "finalized",
                Some(&json!({ "files": files.len(), "ciphertext_bytes": bytes })),
                now,
            )
            .await?;
        Metrics::add(&state.metrics.packages_finalized, 1);
        tracing::info!(package = %row.id, files = files.len(), "package finalized");
    }
    Ok(answer())
}

// ---- recipients (link proof) -------------------------------------------------------------

/// Loads a package for a link-proof holder: unknown ids, wrong proofs and unfinalized
/// packages are all [`HttpError::NoPackageAtLink`]; then expiry, revocation and the download
/// limit are reported (`410`).
pub(crate) async fn linked_package(
    state: &AppState,
    raw_id: &str,
    proof: &LinkProofHeader,
) -> Result<PackageRow, HttpError> {
    let row = linked_package_within_limit_or_not(state, raw_id, proof).await?;
    if downloads_used_up(&row) {
        return Err(HttpError::DownloadLimitReached);
    }
    Ok(row)
}

/// Whether the package's download limit is used up.
fn downloads_used_up(row: &PackageRow) -> bool {
    row.max_downloads
        .is_some_and(|max| row.downloads_used >= max)
}

/// [`linked_package`] without the download-limit check: a download repeated with its
/// idempotency key is answered even when it took the last download.
async fn linked_package_within_limit_or_not(
    state: &AppState,
    raw_id: &str,
    proof: &LinkProofHeader,
) -> Result<PackageRow, HttpError> {
    let row = match parse_id(raw_id) {
        Some(id) => state.db.package(&id).await?,
        None => None,
    };
    // Always run the comparison, found or not (same work either way).
    if !link_proof_matches(row.as_ref(), &proof.0) {
        return Err(HttpError::NoPackageAtLink);
    }
    let row = row.ok_or(HttpError::NoPackageAtLink)?;
    match row.state.as_str() {
        state::READY => {}
        state::REVOKED => return Err(HttpError::Revoked),
        _ => return Err(HttpError::NoPackageAtLink),
    }
    if row.expires_at <= state.clock.now() {
        return Err(HttpError::Expired);
    }
    Ok(row)
}

/// The extra authorisation a `require_auth` package needs: a recipient session for it
/// (`X-Sealdrop-Recipient-Session`, from an email code), or an agent session of its tenant
/// whose role is allowed now (`Authorization: Bearer sda_…`). Otherwise `401
/// verification_required` (also for another tenant's agent).
async fn check_recipient_auth(
    state: &AppState,
    row: &PackageRow,
    headers: &HeaderMap,
) -> Result<(), HttpError> {
    if row.require_auth == 0 {
        return Ok(());
    }
    if super::recipient::has_recipient_session(state, headers, &row.id).await? {
        return Ok(());
    }
    let agent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(crate::zendesk::session::PREFIX));
    if let Some(token) = agent {
        let (ctx, _role) = crate::agents::authorize(state, token).await?;
        if ctx.tenant.id == row.tenant_id {
            return Ok(());
        }
    }
    Err(HttpError::VerificationRequired)
}

async fn info(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    proof: LinkProofHeader,
) -> Result<Response, HttpError> {
    let row = linked_package(&state, &raw_id, &proof).await?;
    let files = state.db.files(&row.id).await?;
    let sender = state.db.tenant(&row.tenant_id).await?.map(|t| t.name);
    Ok(Json(json!({
        "id": row.id,
        "state": row.state,
        "created_at": rfc3339(row.created_at),
        "expires_at": rfc3339(row.expires_at),
        "require_auth": row.require_auth != 0,
        "downloads_left": row.max_downloads.map(|max| (max - row.downloads_used).max(0)),
        "files": files.iter().map(|f| json!({ "file": f.file, "ciphertext_size": f.ciphertext_size })).collect::<Vec<_>>(),
        "sender": sender,
    }))
    .into_response())
}

async fn open(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    proof: LinkProofHeader,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let row = linked_package(&state, &raw_id, &proof).await?;
    check_recipient_auth(&state, &row, &headers).await?;
    let manifest = state.db.manifest(&row.id).await?.ok_or_else(|| {
        HttpError::Internal(anyhow::anyhow!("ready package {} has no manifest", row.id))
    })?;
    let secret = <[u8; 32]>::try_from(row.server_secret.as_slice()).map_err(|_| {
        HttpError::Internal(anyhow::anyhow!(
            "package {} has a malformed server secret",
            row.id
        ))
    })?;
    state
        .db
        .audit(
            &row.tenant_id,
            Some(&row.id),
            "opened",
            None,
            state.clock.now(),
        )
        .await?;
    Ok(Json(json!({
        "server_secret": ServerSecret::from_bytes(secret).to_b64u(),
        "manifest": STANDARD.encode(&manifest),
    }))
    .into_response())
}

/// Header naming a download start, so that a retry does not count another download.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Shortest accepted idempotency key (16 random bytes in base64url are 22 characters).
const MIN_IDEMPOTENCY_KEY: usize = 22;
/// Longest accepted idempotency key.
const MAX_IDEMPOTENCY_KEY: usize = 64;

/// SHA-256 of the request's `Idempotency-Key` header, if it has one: 22 to 64 base64url
/// characters (a UUID fits too), optionally in double quotes (the structured-field string of
/// the IETF draft). Anything else is a `400`, so a client bug cannot silently count downloads.
fn idempotency_key_hash(headers: &HeaderMap) -> Result<Option<[u8; 32]>, HttpError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default();
    let key = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    let well_formed = (MIN_IDEMPOTENCY_KEY..=MAX_IDEMPOTENCY_KEY).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(HttpError::bad_request(format!(
            "The Idempotency-Key header must be {MIN_IDEMPOTENCY_KEY} to {MAX_IDEMPOTENCY_KEY} base64url characters \
             (A-Z, a-z, 0-9, - and _), e.g. 16 random bytes in base64url, made once per download and sent again \
             on its retries."
        )));
    }
    Ok(Some(Sha256::digest(key.as_bytes()).into()))
}

/// `POST …/download`: takes one download and answers a download token. With an
/// `Idempotency-Key` this package has seen within that download's token lifetime, it answers a
/// new token (expiring with the first) and takes nothing: a client whose answer was lost
/// retries with the same key without using up the limit.
async fn start_download(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    proof: LinkProofHeader,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let key_hash = idempotency_key_hash(&headers)?;
    let row = linked_package_within_limit_or_not(&state, &raw_id, &proof).await?;
    let now = state.clock.now();
    // The limit is final for a new download only; the transaction below decides for good.
    let repeated = match &key_hash {
        Some(hash) => state.db.download_key_known(&row.id, hash, now).await?,
        None => false,
    };
    if !repeated && downloads_used_up(&row) {
        return Err(HttpError::DownloadLimitReached);
    }
    check_recipient_auth(&state, &row, &headers).await?;
    let expires_at = row
        .expires_at
        .min(now + DOWNLOAD_TOKEN_TTL.as_secs() as i64);
    let outcome = state
        .db
        .take_download(&row.id, key_hash.as_ref().map(|h| &h[..]), expires_at, now)
        .await?;
    let expires_at = match outcome {
        DownloadStart::Counted => expires_at,
        DownloadStart::Repeated { expires_at } => {
            let token = issue_download_token(&state, &row.id, expires_at, now).await?;
            tracing::info!(package = %row.id, "download start repeated with its idempotency key; not counted again");
            return Ok(token);
        }
        DownloadStart::Refused => {
            // Lost a race: say why, as the checks above would now.
            let row = state
                .db
                .package(&row.id)
                .await?
                .ok_or(HttpError::NoPackageAtLink)?;
            return Err(match row.state.as_str() {
                state::REVOKED => HttpError::Revoked,
                _ if row.expires_at <= now => HttpError::Expired,
                _ => HttpError::DownloadLimitReached,
            });
        }
    };
    let answer = issue_download_token(&state, &row.id, expires_at, now).await?;
    let used = row.downloads_used + 1;
    state
        .db
        .audit(
            &row.tenant_id,
            Some(&row.id),
            "downloaded",
            Some(&json!({ "downloads_used": used })),
            now,
        )
        .await?;
    Metrics::add(&state.metrics.downloads_started, 1);
    if let Some(address) = &row.notify_sender {
        state
            .mailer
            .download_receipt(address, &row.id, used, row.max_downloads)
            .await;
    }
    Ok(answer)
}

/// Stores a new download token for package `id` and answers it.
async fn issue_download_token(
    state: &AppState,
    id: &str,
    expires_at: i64,
    now: i64,
) -> Result<Response, HttpError> {
    let token = NewToken::generate(TokenKind::Download);
    state
        .db
        .insert_download_token(token.hash().as_bytes(), id, expires_at, now)
        .await?;
    Ok(
        Json(json!({ "download_token": token.text(), "expires_at": rfc3339(expires_at) }))
            .into_response(),
    )
}

// ---- ciphertext (download token) ---------------------------------------------------------

/// Parses a single `bytes=` range against a file of `size` bytes (end exclusive).
/// `Ok(None)`: no Range header.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<Range<u64>>, HttpError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let unsupported = || {
        HttpError::bad_request(
            "Unsupported Range header: send one range, `bytes=a-b`, `bytes=a-` or `bytes=-n`.",
        )
    };
    let spec = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
        .ok_or_else(unsupported)?;
    let (first, last) = spec.trim().split_once('-').ok_or_else(unsupported)?;
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| unsupported());
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        (false, false) => {
            let (a, b) = (number(first)?, number(last)?);
            if a > b {
                return Err(unsupported());
            }
            a..b.saturating_add(1).min(size)
        }
        (false, true) => number(first)?..size,
        (true, false) => {
            let n = number(last)?;
            if n == 0 {
                return Err(HttpError::RangeNotSatisfiable(size));
            }
            size.saturating_sub(n)..size
        }
        (true, true) => return Err(unsupported()),
    };
    if range.start >= size {
        return Err(HttpError::RangeNotSatisfiable(size));
    }
    Ok(Some(range))
}

async fn ciphertext(
    State(state): State<AppState>,
    method: Method,
    Path((raw_id, raw_file)): Path<(String, String)>,
    token: DownloadToken,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let file = parse_index(&raw_file, "file")?;
    let invalid =
        || HttpError::Unauthorized("The download token is not valid for this package.".into());
    let id = parse_id(&raw_id).ok_or_else(invalid)?;
    let now = state.clock.now();
    let (token_package, token_expires) = state
        .db
        .download_token(token.0.as_bytes())
        .await?
        .ok_or_else(invalid)?;
    if token_package != id || token_expires <= now {
        return Err(invalid());
    }
    let row = state.db.package(&id).await?.ok_or_else(invalid)?;
    match row.state.as_str() {
        state::READY if row.expires_at > now => {}
        state::READY => return Err(HttpError::Expired),
        _ => return Err(HttpError::Revoked),
    }
    let file_row = state
        .db
        .file(&id, file as i64)
        .await?
        .ok_or_else(|| HttpError::NotFound(format!("This package has no file {file}.")))?;
    let size = file_row.ciphertext_size as u64;
    let range = parse_range(&headers, size)?;
    let (status, span) = match &range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.clone()),
        None => (StatusCode::OK, 0..size),
    };
    let mut response = if method == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from_stream(part_stream(
            &state,
            &id,
            file,
            span.clone(),
        )))
    };
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(span.end - span.start),
    );
    if range.is_some() {
        let value = format!("bytes {}-{}/{}", span.start, span.end - 1, size);
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&value).map_err(|e| HttpError::Internal(e.into()))?,
        );
    }
    Ok(response)
}

/// Streams bytes `span` of a file from the parts it covers ([`storage::file_stream`]),
/// counting them in the metrics.
fn part_stream(
    state: &AppState,
    id: &str,
    file: u64,
    span: Range<u64>,
) -> impl futures::Stream<Item = io::Result<bytes::Bytes>> + Send + 'static {
    let metrics = state.metrics.clone();
    storage::file_stream(state.storage.clone(), id, file, span)
        .inspect_ok(move |chunk| Metrics::add(&metrics.bytes_downloaded, chunk.len() as u64))
}

// ---- revoke ------------------------------------------------------------------------------

async fn revoke(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    auth: RevokeAuth,
) -> Result<Response, HttpError> {
    let not_found = || HttpError::NotFound("No package with this id.".into());
    let id = parse_id(&raw_id).ok_or_else(not_found)?;
    let row = state.db.package(&id).await?.ok_or_else(not_found)?;
    let by = match &auth {
        RevokeAuth::Principal(principal) => {
            if principal.tenant().id != row.tenant_id {
                return Err(not_found()); // another tenant's package does not exist for you
            }
            principal.kind()
        }
        RevokeAuth::Upload(hash) => {
            if !hash.matches(&row.upload_token_hash) {
                return Err(no_upload_package());
            }
            if row.state == state::READY {
                return Err(HttpError::Forbidden(
                    "The upload token stops working at finalize; revoke with a tenant API token."
                        .into(),
                ));
            }
            "upload_token"
        }
    };
    if row.state == state::REVOKED {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let now = state.clock.now();
    state.db.revoke(&id, now).await?;
    state.storage.delete_prefix(&BlobKey::package(&id)?).await?;
    state
        .db
        .audit(
            &row.tenant_id,
            Some(&id),
            "revoked",
            Some(&json!({ "by": by })),
            now,
        )
        .await?;
    Metrics::add(&state.metrics.packages_revoked, 1);
    tracing::info!(package = %id, by, "package revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::PART_SIZE;

    fn range(value: &str, size: u64) -> Result<Option<Range<u64>>, HttpError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).expect("header"));
        parse_range(&headers, size)
    }

    #[test]
    fn ranges_parse_like_rfc_9110() {
        assert_eq!(range("bytes=0-9", 100).ok().flatten(), Some(0..10));
        assert_eq!(range("bytes=90-", 100).ok().flatten(), Some(90..100));
        assert_eq!(range("bytes=-10", 100).ok().flatten(), Some(90..100));
        assert_eq!(range("bytes=-1000", 100).ok().flatten(), Some(0..100));
        assert_eq!(range("bytes=50-5000", 100).ok().flatten(), Some(50..100));
        assert!(matches!(
            range("bytes=100-", 100),
            Err(HttpError::RangeNotSatisfiable(100))
        ));
        assert!(matches!(
            range("bytes=5-1", 100),
            Err(HttpError::BadRequest(_))
        ));
        assert!(matches!(
            range("bytes=0-1,5-6", 100),
            Err(HttpError::BadRequest(_))
        ));
        assert!(matches!(
            range("items=0-1", 100),
            Err(HttpError::BadRequest(_))
        ));
    }

    #[test]
    fn missing_parts_are_listed_per_file() {
        let files = [
            FileRow {
                file: 0,
                ciphertext_size: (PART_SIZE * 2 + 16) as i64,
                part_count: 3,
            },
            FileRow {
                file: 1,
                ciphertext_size: 16,
                part_count: 1,
            },
        ];
        let held = |file, part, size| PartRow {
            file,
            part,
            size,
            sha256: vec![],
        };
        let parts = [held(0, 0, PART_SIZE as i64), held(0, 2, 15), held(1, 0, 16)];
        assert_eq!(
            missing_parts(&files, &parts),
            vec![MissingParts {
                file: 0,
                parts: vec![1, 2]
            }]
        );
    }
}
