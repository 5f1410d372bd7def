//! The Help Center widget's endpoints (docs/ZENDESK.md "Help Center widget"):
//!
//! - `GET /widget/v1/loader.js`: the small classic script the Help Center theme includes,
//!   pinned there by Subresource Integrity; cached briefly (its URL never changes). It carries
//!   the SHA-384 of every other file and names them under URLs that hold part of that hash.
//! - `GET /widget/v1/assets/{file}`: the rest of the release (`widget.js`, `worker.js`,
//!   `widget.css`, `sealdrop_widget_bg.wasm`), from `<wasm dir>/widget/` as `cargo xtask wasm`
//!   built it ([`release`]); byte for byte, since the loader refuses any other bytes. Public
//!   code, so any page may load it (`Access-Control-Allow-Origin: *`,
//!   `Cross-Origin-Resource-Policy: cross-origin`): the loader fetches it in CORS mode from the
//!   Help Center's origin. Versioned URLs (`?v=`) are immutable.
//! - `GET /widget/v1/config`: the tenant's widget settings, for its widget key.
//! - `GET /widget/v1/roster`: the tenant's signed team roster, for its widget key; the widget
//!   verifies it against the admin key fingerprint pinned in the snippet (docs/FORMAT.md §19.3).
//!
//! Who may read these answers cross-origin is [`crate::http::cors`]'s business.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::http::auth::request_origin;
use crate::http::files::{self, below};
use crate::http::{headers, HttpError};
use crate::state::AppState;
use crate::team;
use crate::widget::{self, release};

/// How long a browser may keep the loader (its URL is fixed, so keep it short).
const LOADER_MAX_AGE: &str = "public, max-age=300";
/// Versioned assets (`?v=` part of the file's hash) never change under their URL.
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

/// The built loader, byte for byte: the theme's `integrity` pins these bytes.
async fn loader(State(state): State<AppState>, req: Request) -> Result<Response, HttpError> {
    let path = release::loader(&state.config.wasm_dir);
    let mut response = files::serve(
        Some(path),
        req,
        "The Help Center widget is not built on this server (cargo xtask wasm).",
    )
    .await?;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    public_asset_headers(h, LOADER_MAX_AGE);
    Ok(response)
}

/// A file of the release (the bundles, the stylesheet, the wasm), which the loader fetches
/// and checks against its pinned SHA-384 before using it.
async fn asset(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let versioned = req
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("v=")));
    // The loader is only at /widget/v1/loader.js; release.json is for people and tools.
    let file = (!matches!(path.as_str(), "loader.js" | "release.json"))
        .then(|| below(&release::dir(&state.config.wasm_dir), &path))
        .flatten();
    let extension = file
        .as_ref()
        .and_then(|f| f.extension())
        .map(|e| e.to_string_lossy().into_owned());
    let mut response = files::serve(file, req, "No such widget file.").await?;
    let h = response.headers_mut();
    match extension.as_deref() {
        Some("js") => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            );
        }
        Some("css") => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            );
        }
        Some("wasm") => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/wasm"),
            );
        }
        _ => {}
    }
    public_asset_headers(h, if versioned { IMMUTABLE } else { ASSET_MAX_AGE });
    Ok(response)
}

// ---- config ------------------------------------------------------------------------------

/// The tenant of the request's widget key, from an origin it allows.
async fn widget_tenant(
    state: &AppState,
    request_headers: &HeaderMap,
) -> Result<widget::WidgetTenant, HttpError> {
    let key = request_headers
        .get(headers::WIDGET_KEY)
        .and_then(|v| v.to_str().ok());
    let origin = request_origin(request_headers);
    Ok(widget::admit_request(&state.db, key, origin).await?.0)
}

async fn config(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<Response, HttpError> {
    let tenant = widget_tenant(&state, &request_headers).await?;
    let answer = widget::config_answer(&state.db, &tenant, &state.config.limits).await?;
    Ok(Json(answer).into_response())
}

// ---- team roster -------------------------------------------------------------------------

async fn roster(
    State(state): State<AppState>,
    request_headers: HeaderMap,
) -> Result<Response, HttpError> {
    let tenant = widget_tenant(&state, &request_headers).await?;
    Ok(Json(team::roster(&state.db, &tenant.tenant.id).await?).into_response())
}
