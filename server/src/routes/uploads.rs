//! The sender's side of `/api/v1/packages` (docs/API.md "Packages"): create, manifest, parts,
//! what is held, finalize, revoke, and an agent's list of the packages they sent.

use std::path::PathBuf;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use sealdrop_api::packages::{
    CreatedPackage, Finalized, ManifestStored, PartStored, PartsListing, SentPackage, SentPackages,
    SentQuery, Uploading,
};
use sealdrop_api::text::{PackageId, ServerSecretText, Timestamp, UploadToken as UploadTokenText};
use sealdrop_crypto::LinkVerifier;

use crate::http::auth::{PackageCreator, RevokeAuth, UploadToken};
use crate::http::json::{content_length, read_limited};
use crate::http::{headers, path_index, ApiJson, ApiPath, HttpError};
use crate::packages::{self, upload, CreateRequest, Revoker};
use crate::principal::Principal;
use crate::state::AppState;
use crate::storage::spool::{self, SpoolError};
use crate::storage::PART_CHUNKS;

/// The sender's package routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/packages", post(create).get(sent_packages))
        .route("/api/v1/packages/{id}", delete(revoke))
        .route("/api/v1/packages/{id}/manifest", put(put_manifest))
        .route(
            "/api/v1/packages/{id}/files/{file}/parts/{part}",
            put(put_part),
        )
        .route("/api/v1/packages/{id}/parts", get(list_parts))
        .route("/api/v1/packages/{id}/finalize", post(finalize))
}

/// The secure link of a package, without its fragment.
fn package_url(state: &AppState, id: &str) -> String {
    format!(
        "{}/p/{id}",
        state.config.public_url.as_str().trim_end_matches('/')
    )
}

async fn create(
    State(state): State<AppState>,
    PackageCreator(creator): PackageCreator,
    ApiJson(request): ApiJson<CreateRequest>,
) -> Result<Response, HttpError> {
    let limits = &state.config.limits;
    let created = packages::create(&state.db, limits, &creator, request, state.clock.now()).await?;
    state.metrics.package_created();
    let body = CreatedPackage {
        url: package_url(&state, &created.id),
        id: PackageId::new(created.id),
        server_secret: ServerSecretText::new(created.server_secret.to_b64u()),
        upload_token: UploadTokenText::new(created.upload_token.text()),
        expires_at: Timestamp::from_unix(created.expires_at),
        part_chunks: PART_CHUNKS,
        max_file_size: limits.max_file_size,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn put_manifest(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    UploadToken(token): UploadToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    // The request's own form first: a missing header is a 400 whatever the package's state.
    let verifier = headers
        .get(headers::LINK_VERIFIER)
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
    let package = upload::changeable(&state.db, &raw_id, &token, state.clock.now()).await?;
    let limits = &state.config.limits;
    let bytes = read_limited(&headers, body, limits.max_manifest_size, "manifest").await?;
    let stored = upload::set_manifest(
        &state.db,
        limits,
        &state.config.widget,
        &package,
        &verifier,
        &bytes,
    )
    .await?;
    Ok(Json(ManifestStored {
        id: PackageId::new(package.id),
        files: stored.files as u64,
        parts: stored.parts,
    })
    .into_response())
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

fn parse_sha256(headers: &HeaderMap) -> Result<[u8; 32], HttpError> {
    let value = headers.get(headers::SHA256).ok_or_else(|| {
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
    ApiPath((raw_id, raw_file, raw_part)): ApiPath<(String, String, String)>,
    UploadToken(token): UploadToken,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let file = path_index(&raw_file, "file")?;
    let part = path_index(&raw_part, "part")?;
    // The request's own form first: a missing header is a 400 whatever the package's state.
    let claimed = parse_sha256(&headers)?;
    let declared = content_length(&headers)?;
    let slot = upload::part_slot(
        &state.db,
        &state.config.widget,
        &raw_id,
        &token,
        file,
        part,
        state.clock.now(),
    )
    .await?;
    let expected = slot.expected;
    if let Some(declared) = declared {
        if declared != expected {
            return Err(HttpError::bad_request(format!(
                "Part {part} of file {file} must be exactly {expected} bytes; the request declares {declared}."
            )));
        }
    }

    let storing = Instant::now();
    let stored = if state.storage.streams_parts() {
        // Straight into the store, the last byte held back until the part checks out.
        upload::store_streamed_part(
            &state.db,
            &state.storage,
            &slot,
            body.into_data_stream(),
            claimed,
            state.clock.now(),
        )
        .await?
    } else {
        spool_and_store(&state, &slot, body, claimed).await?
    };
    state
        .metrics
        .part_uploaded(expected, storing.elapsed(), stored.inserted);
    let answer = PartStored {
        file,
        part,
        size: expected,
        sha256: hex::encode(stored.sha256),
    };
    let status = if stored.inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)).into_response())
}

/// Receives a part into a spool file (the folder store's own temporary folder, or the server's
/// spool folder) while hashing and counting it, then stores it if it checks out.
async fn spool_and_store(
    state: &AppState,
    slot: &upload::PartSlot,
    body: Body,
    claimed: [u8; 32],
) -> Result<upload::PartStored, HttpError> {
    let (spool_dir, direct) = match state.storage.spool_dir() {
        Some(dir) => (dir.to_owned(), true),
        None => (state.config.spool_dir(), false),
    };
    let spool = Spool {
        path: spool_dir.join(format!("part-{:016x}", rand::random::<u64>())),
    };
    let digest = spool::receive(body.into_data_stream(), &spool.path, slot.expected, direct)
        .await
        .map_err(|e| match e {
            SpoolError::Refused(fault) => upload::refused_body(slot, fault).into(),
            SpoolError::Io(e) => HttpError::Internal(anyhow::Error::new(e).context("spool file")),
        })?;
    Ok(upload::store_part(
        &state.db,
        &state.storage,
        slot,
        &spool.path,
        digest,
        claimed,
        state.clock.now(),
    )
    .await?)
}

async fn list_parts(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    UploadToken(token): UploadToken,
) -> Result<Response, HttpError> {
    let files = upload::held_parts(&state.db, &raw_id, &token).await?;
    Ok(Json(PartsListing {
        state: Uploading::Uploading,
        files,
    })
    .into_response())
}

async fn finalize(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    UploadToken(token): UploadToken,
) -> Result<Response, HttpError> {
    let finalized = upload::finalize(
        &state.db,
        &state.storage,
        &raw_id,
        &token,
        state.clock.now(),
    )
    .await?;
    if finalized.now {
        state.metrics.package_finalized();
    }
    Ok(Json(Finalized {
        id: PackageId::new(finalized.id),
        expires_at: Timestamp::from_unix(finalized.expires_at),
    })
    .into_response())
}

async fn revoke(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    auth: RevokeAuth,
) -> Result<Response, HttpError> {
    let by = match &auth {
        RevokeAuth::Principal(principal) => Revoker::Principal(principal),
        RevokeAuth::Upload(hash) => Revoker::UploadToken(hash),
    };
    let revoked =
        packages::revoke(&state.db, &state.storage, &raw_id, by, state.clock.now()).await?;
    if revoked {
        state.metrics.package_revoked();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/packages?mine=1` (agent session): the packages this agent sent, newest first
/// (100 at most), for the sidebar's revoke list.
async fn sent_packages(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<Query<SentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let Query(query) = query
        .map_err(|e| HttpError::bad_request(format!("Bad query string: {}.", e.body_text())))?;
    if query.mine.as_deref() != Some("1") {
        return Err(HttpError::bad_request(
            "Only `?mine=1` is supported: the packages you sent.",
        ));
    }
    let Principal::Agent {
        tenant, user_id, ..
    } = &principal
    else {
        return Err(HttpError::Forbidden(
            "`?mine=1` lists an agent's own packages; use an agent session.".into(),
        ));
    };
    let sent = packages::sent_by(&state.db, &tenant.id, *user_id).await?;
    let now = state.clock.now();
    let packages: Vec<_> = sent
        .iter()
        .map(|p| SentPackage {
            id: PackageId::new(p.id.clone()),
            state: packages::shown_state(p, now),
            require_auth: p.require_auth,
            created_at: Timestamp::from_unix(p.created_at),
            expires_at: Timestamp::from_unix(p.expires_at),
            downloads_left: packages::downloads_left(p.max_downloads, p.downloads_used),
            downloads_used: p.downloads_used,
            url: package_url(&state, &p.id),
        })
        .collect();
    Ok(Json(SentPackages { packages }).into_response())
}
