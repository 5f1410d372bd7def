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
//!
//! [`cors`] is the CORS policy of these endpoints and of the package endpoints the widget
//! uploads through: only the tenant's Help Center origins may read the answers (the
//! package's tenant for upload-token requests, any tenant's for preflights, which carry no
//! key). Requests without `Origin` pass untouched (the CLI, the server's own pages).

use std::path::{Component, Path as FsPath, PathBuf};
use std::time::UNIX_EPOCH;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::app::AppState;
use crate::error::HttpError;
use crate::widget::{self, WebOrigin, CREATED_BY_WIDGET};

/// Files of the widget below `web/` whose content makes up [`asset_version`].
const VERSIONED_DIRS: &[&str] = &["widget", "shared"];
/// How long a browser may keep the loader (its URL is fixed, so keep it short).
const LOADER_MAX_AGE: &str = "public, max-age=300";
/// Versioned assets never change under their URL.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Unversioned asset URLs.
const ASSET_MAX_AGE: &str = "public, max-age=300";
/// Request headers the widget sends cross-origin.
const ALLOWED_HEADERS: &str =
    "content-type, x-sealdrop-widget-key, x-sealdrop-upload-token, x-sealdrop-sha256, x-sealdrop-link-verifier";
/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "7200";

/// The widget routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/widget/v1/loader.js", get(loader))
        .route("/widget/v1/config", get(config))
        .route("/widget/v1/assets/{*path}", get(asset))
}

// ---- static files ------------------------------------------------------------------------

fn below(root: &FsPath, rel: &str) -> Option<PathBuf> {
    let rel = FsPath::new(rel);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

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
    let not_found = || HttpError::NotFound("No such widget file.".into());
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
    }
    .ok_or_else(not_found)?;
    if !tokio::fs::metadata(&file)
        .await
        .map(|m| m.is_file())
        .unwrap_or(false)
    {
        return Err(not_found());
    }
    let mut response = ServeFile::new(&file)
        .oneshot(req)
        .await
        .map_err(|e| HttpError::Internal(anyhow::Error::new(e).context("serving a widget file")))?
        .into_response();
    let h = response.headers_mut();
    if file.extension().is_some_and(|e| e == "js" || e == "mjs") {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
    } else if file.extension().is_some_and(|e| e == "wasm") {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/wasm"),
        );
    }
    public_asset_headers(h, if versioned { IMMUTABLE } else { ASSET_MAX_AGE });
    Ok(response)
}

// ---- config ------------------------------------------------------------------------------

async fn config(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let tenant = widget::tenant_for_request(&state, &headers).await?;
    widget::check_origin(&tenant, &headers)?;
    Ok(Json(widget::config_answer(&state, &tenant)).into_response())
}

// ---- CORS --------------------------------------------------------------------------------

/// Which cross-origin policy a path falls under.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CorsRoute {
    /// `/widget/v1/config`: answers (errors included) are readable by any origin, so the
    /// widget can show why it was refused; the handler enforces key and origin.
    Config,
    /// `POST /api/v1/packages` with a widget key: the key's tenant's origins.
    Create,
    /// Upload-token endpoints of one package: its tenant's origins, widget packages only.
    Package(String),
    /// Not a widget endpoint.
    Other,
}

fn cors_route(path: &str) -> CorsRoute {
    if path == "/widget/v1/config" {
        return CorsRoute::Config;
    }
    if path == "/api/v1/packages" {
        return CorsRoute::Create;
    }
    let Some(rest) = path.strip_prefix("/api/v1/packages/") else {
        return CorsRoute::Other;
    };
    let mut segments = rest.split('/');
    let id = segments.next().unwrap_or_default();
    let tail: Vec<&str> = segments.collect();
    let upload_endpoint = matches!(
        tail.as_slice(),
        [] | ["manifest"] | ["parts"] | ["finalize"] | ["files", _, "parts", _]
    );
    if id.is_empty() || !upload_endpoint {
        return CorsRoute::Other;
    }
    CorsRoute::Package(id.to_owned())
}

/// Whether `origin` may read answers of `route` (`key` is the widget key header, if any).
async fn origin_allowed(
    state: &AppState,
    route: &CorsRoute,
    origin: &WebOrigin,
    headers: &HeaderMap,
    preflight: bool,
) -> bool {
    let outcome = match route {
        CorsRoute::Config => return true,
        CorsRoute::Other => return false,
        CorsRoute::Create if preflight => widget::any_tenant_allows(state, origin).await,
        CorsRoute::Create => match widget::tenant_for_request(state, headers).await {
            Ok(tenant) => Ok(tenant.allows(origin)),
            Err(_) => return false,
        },
        CorsRoute::Package(_) if preflight => widget::any_tenant_allows(state, origin).await,
        CorsRoute::Package(id) => widget::tenant_by_package(state, id).await.map(|found| {
            found.is_some_and(|(tenant, by)| by == CREATED_BY_WIDGET && tenant.allows(origin))
        }),
    };
    outcome.unwrap_or_else(|e| {
        tracing::error!(error = %e, "CORS: looking up the allowed origins failed");
        false
    })
}

fn allow(headers: &mut HeaderMap, origin: &WebOrigin) {
    if let Ok(value) = HeaderValue::from_str(origin.as_str()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The CORS middleware (see the module docs). Preflights of widget endpoints are answered
/// here, before routing; other requests get `Access-Control-Allow-Origin` added to their
/// answer when their origin may read it.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = cors_route(req.uri().path());
    let origin = widget::request_origin(req.headers());
    let (Some(origin), false) = (origin, route == CorsRoute::Other) else {
        return next.run(req).await;
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !origin_allowed(&state, &route, &origin, req.headers(), true).await {
            return (
                StatusCode::FORBIDDEN,
                "This origin may not use the sealdrop widget.",
            )
                .into_response();
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        let h = response.headers_mut();
        allow(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOWED_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        return response;
    }
    let allowed = origin_allowed(&state, &route, &origin, req.headers(), false).await;
    let mut response = next.run(req).await;
    if allowed {
        allow(response.headers_mut(), &origin);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_routes_are_the_widget_endpoints_only() {
        assert_eq!(cors_route("/widget/v1/config"), CorsRoute::Config);
        assert_eq!(cors_route("/api/v1/packages"), CorsRoute::Create);
        for path in [
            "/api/v1/packages/abc",
            "/api/v1/packages/abc/manifest",
            "/api/v1/packages/abc/parts",
            "/api/v1/packages/abc/finalize",
            "/api/v1/packages/abc/files/0/parts/3",
        ] {
            assert_eq!(cors_route(path), CorsRoute::Package("abc".into()), "{path}");
        }
        for path in [
            "/api/v1/packages/abc/open",
            "/api/v1/packages/abc/download",
            "/api/v1/packages/abc/files/0",
            "/api/v1/audit",
            "/p/abc",
            "/api/v1/packages/",
        ] {
            assert_eq!(cors_route(path), CorsRoute::Other, "{path}");
        }
    }

    #[test]
    fn asset_paths_cannot_leave_their_folder() {
        let root = FsPath::new("/srv/web/widget");
        assert_eq!(
            below(root, "widget.js"),
            Some(PathBuf::from("/srv/web/widget/widget.js"))
        );
        assert_eq!(below(root, "../shared/download.js"), None);
        assert_eq!(below(root, "/etc/passwd"), None);
    }
}
