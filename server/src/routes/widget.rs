//! The Help Center widget's endpoints (docs/ZENDESK.md "Help Center widget"):
//!
//! - `GET /widget/v1/loader.js`: the small classic script the Help Center theme includes;
//!   cached briefly (its URL never changes), and it names the versioned URLs of the rest.
//! - `GET /widget/v1/assets/{path}`: the widget's modules and stylesheet (`widget/…`, from
//!   `web/widget/`), the shared browser modules it imports (`shared/…`, from `web/shared/`) and
//!   the browser package (`pkg/…`, from `--wasm-dir`): the same layout as on disk, so the
//!   modules' relative imports (`../shared/upload.js`) resolve in both. Public code, so any page may load it (`Access-Control-Allow-Origin: *`,
//!   `Cross-Origin-Resource-Policy: cross-origin`): module scripts and the `.wasm` are
//!   fetched in CORS mode from the Help Center's origin. Versioned URLs (`?v=`) are immutable.
//! - `GET /widget/v1/config`: the tenant's widget settings, for its widget key.
//! - `GET /widget/v1/roster`: the tenant's signed team roster, for its widget key; the widget
//!   verifies it against the admin key fingerprint pinned in the snippet (docs/FORMAT.md §19.3).
//!
//! Who may read these answers cross-origin is [`crate::http::cors`]'s business.

use std::time::UNIX_EPOCH;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use crate::http::auth::request_origin;
use crate::http::files::{self, below};
use crate::http::{headers, HttpError};
use crate::state::AppState;
use crate::team;
use crate::widget;

/// Files of the widget below `web/` whose content makes up [`asset_version`].
const VERSIONED_DIRS: &[&str] = &["widget", "shared"];
/// How long a browser may keep the loader (its URL is fixed, so keep it short).
const LOADER_MAX_AGE: &str = "public, max-age=300";
/// Versioned assets never change under their URL.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Unversioned asset URLs.
const ASSET_MAX_AGE: &str = "public, max-age=300";

/// The widget routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget/v1/loader.js", get(loader))
        .route("/widget/v1/config", get(config))
        .route("/widget/v1/roster", get(roster))
        .route("/widget/v1/assets/{*path}", get(asset))
}

// ---- static files ------------------------------------------------------------------------

/// A short hash of the widget's files (sizes and modification times), so that a new
/// deployment changes every asset URL the loader hands out.
async fn asset_version(state: &AppState) -> String {
    let mut h = Sha256::new();
    let web = &state.config.web_dir;
    let wasm = &state.config.wasm_dir;
    let mut files = Vec::new();
    for dir in VERSIONED_DIRS {
        if let Ok(mut entries) = tokio::fs::read_dir(web.join(dir)).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files.extend(
        ["sealdrop_widget.js", "sealdrop_widget_bg.wasm"]
            .iter()
            .map(|f| wasm.join(f)),
    );
    for path in files {
        if let Ok(meta) = tokio::fs::metadata(&path).await {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .unwrap_or_default();
            h.update(meta.len().to_le_bytes());
            h.update(modified.as_nanos().to_le_bytes());
        }
        h.update(path.to_string_lossy().as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

fn public_asset_headers(headers: &mut HeaderMap, cache: &'static str) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

async fn loader(State(state): State<AppState>) -> Result<Response, HttpError> {
    let path = state.config.web_dir.join("widget/loader.js");
    let source = tokio::fs::read_to_string(&path).await.map_err(|e| {
        HttpError::Internal(anyhow::Error::new(e).context("reading web/widget/loader.js"))
    })?;
    let version = asset_version(&state).await;
    let body = source.replace("__SEALDROP_WIDGET_VERSION__", &version);
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    public_asset_headers(h, LOADER_MAX_AGE);
    Ok(response)
}

async fn asset(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let versioned = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("v=")));
    let file = if let Some(rest) = path.strip_prefix("pkg/") {
        below(&state.config.wasm_dir, rest)
    } else if let Some(rest) = path.strip_prefix("shared/") {
        below(&state.config.web_dir.join("shared"), rest)
    } else if let Some(rest) = path.strip_prefix("widget/") {
        // The loader is only at /widget/v1/loader.js, where its version is filled in.
        (rest != "loader.js")
            .then(|| below(&state.config.web_dir.join("widget"), rest))
            .flatten()
    } else {
        None
    };
    let extension = file
        .as_ref()
        .and_then(|f| f.extension())
        .map(|e| e.to_string_lossy().into_owned());
    let mut response = files::serve(file, req, "No such widget file.").await?;
    let h = response.headers_mut();
    if matches!(extension.as_deref(), Some("js" | "mjs")) {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
    } else if extension.as_deref() == Some("wasm") {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/wasm"),
        );
    }
    public_asset_headers(h, if versioned { IMMUTABLE } else { ASSET_MAX_AGE });
    Ok(response)
}

// ---- config ------------------------------------------------------------------------------

async fn config(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<Response, HttpError> {
    let key = request_headers
        .get(headers::WIDGET_KEY)
        .and_then(|v| v.to_str().ok());
    let tenant = widget::tenant_for_key(&state.db, key).await?;
    widget::check_origin(&tenant, request_origin(&request_headers))?;
    Ok(Json(tenant.config_answer(&state.config.limits)).into_response())
}

// ---- team roster -------------------------------------------------------------------------

async fn roster(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<Response, HttpError> {
    let key = request_headers
        .get(headers::WIDGET_KEY)
        .and_then(|v| v.to_str().ok());
    let tenant = widget::tenant_for_key(&state.db, key).await?;
    widget::check_origin(&tenant, request_origin(&request_headers))?;
    Ok(Json(team::roster(&state.db, &tenant.tenant.id).await?).into_response())
}
