//! The link holder's side of `/api/v1/packages/{id}` (docs/API.md "Packages"): public info,
//! `open`, starting a download, and the ciphertext itself (streamed, with ranges).

use sealdrop_api::range::{self, RangeError};
use std::io;
use std::ops::Range;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::TryStreamExt;
use sealdrop_api::packages::{DownloadGrant, FileSize, Opened, PackageInfo, Ready};
use sealdrop_api::text::{
    DownloadToken as DownloadTokenText, PackageId, ServerSecretText, Timestamp,
};

use crate::http::auth::{DownloadToken, IdempotencyKey, LinkProofHeader};
use crate::http::{path_index, ApiPath, HttpError};
use crate::packages::{self, access};
use crate::policy::ReleaseCredentials;
use crate::state::AppState;
use crate::storage;

/// The link holder's package routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/packages/{id}", get(info))
        .route("/api/v1/packages/{id}/open", post(open))
        .route("/api/v1/packages/{id}/download", post(start_download))
        .route("/api/v1/packages/{id}/files/{file}", get(ciphertext))
}

async fn info(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    LinkProofHeader(proof): LinkProofHeader,
) -> Result<Response, HttpError> {
    let info = access::info(&state.db, &raw_id, &proof, state.clock.now()).await?;
    let p = &info.package;
    // access::info answers only a ready package (others are 404 or 410).
    Ok(Json(PackageInfo {
        id: PackageId::new(p.id.clone()),
        state: Ready::Ready,
        created_at: Timestamp::from_unix(p.created_at),
        expires_at: Timestamp::from_unix(p.expires_at),
        require_auth: p.require_auth,
        downloads_left: packages::downloads_left(p.max_downloads, p.downloads_used),
        files: info
            .files
            .iter()
            .map(|f| FileSize {
                file: f.file,
                ciphertext_size: f.ciphertext_size,
            })
            .collect(),
        sender: info.sender,
    })
    .into_response())
}

async fn open(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    LinkProofHeader(proof): LinkProofHeader,
    credentials: ReleaseCredentials,
) -> Result<Response, HttpError> {
    let opened = access::open(
        &state.db,
        &state.zendesk,
        &raw_id,
        &proof,
        &credentials,
        state.clock.now(),
    )
    .await?;
    Ok(Json(Opened {
        server_secret: ServerSecretText::new(opened.server_secret.to_b64u()),
        manifest: STANDARD.encode(&opened.manifest),
    })
    .into_response())
}

/// `POST …/download`: takes one download and answers a download token (an `Idempotency-Key`
/// already seen answers a new token and takes nothing).
async fn start_download(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    LinkProofHeader(proof): LinkProofHeader,
    IdempotencyKey(key_hash): IdempotencyKey,
    credentials: ReleaseCredentials,
) -> Result<Response, HttpError> {
    let grant = access::start_download(
        &state.db,
        &state.zendesk,
        &state.mailer,
        &raw_id,
        &proof,
        &credentials,
        key_hash,
        state.clock.now(),
    )
    .await?;
    if grant.counted {
        state.metrics.download_started();
    }
    Ok(Json(DownloadGrant {
        download_token: DownloadTokenText::new(grant.token.text()),
        expires_at: Timestamp::from_unix(grant.expires_at),
    })
    .into_response())
}

/// The span a `Range` header asks for (end exclusive); `Ok(None)`: no Range header.
fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<Range<u64>>, HttpError> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| HttpError::bad_request(RangeError::Unsupported.message()))?;
    match range::parse_range(value, size) {
        Ok(span) => Ok(Some(span)),
        Err(RangeError::NotSatisfiable) => Err(HttpError::RangeNotSatisfiable(size)),
        Err(e) => Err(HttpError::bad_request(e.message())),
    }
}

async fn ciphertext(
    State(state): State<AppState>,
    method: Method,
    ApiPath((raw_id, raw_file)): ApiPath<(String, String)>,
    DownloadToken(token): DownloadToken,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let file = path_index(&raw_file, "file")?;
    let (id, entry) =
        access::readable_file(&state.db, &raw_id, &token, file, state.clock.now()).await?;
    let size = entry.ciphertext_size;
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
/// counting the bytes and timing each part's read in the metrics.
fn part_stream(
    state: &AppState,
    id: &str,
    file: u64,
    span: Range<u64>,
) -> impl futures::Stream<Item = io::Result<bytes::Bytes>> + Send + 'static {
    let metrics = state.metrics.clone();
    let timed = state.metrics.clone();
    storage::file_stream(state.storage.clone(), id, file, span, move |took| {
        timed.part_downloaded(took)
    })
    .inspect_ok(move |chunk| metrics.bytes_downloaded(chunk.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
