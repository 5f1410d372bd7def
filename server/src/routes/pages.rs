//! The pages: the recipient page `GET /p/{id}`, and `GET /static/{path}`, which serves the
//! `web/` folder (`--web-dir`) and, under `/static/pkg/`, the browser package built by
//! `cargo xtask wasm` (`--wasm-dir`).
//!
//! The recipient page is static HTML plus ES modules: the link secret stays in the fragment,
//! which the browser never sends, so the server serves the same bytes for every package and
//! learns nothing from a page view. Static responses carry `Service-Worker-Allowed: /p/` so
//! that the page's download service worker (`/static/shared/download-sw.js`) may control `/p/`.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::files::{self, below};
use crate::http::HttpError;
use crate::state::AppState;

/// The Content-Security-Policy of the recipient page: nothing from anywhere but this origin,
/// wasm allowed to compile, no framing, no forms, no base-URI tricks.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self'; worker-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The page routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/p/{id}", get(recipient_page))
        .route("/static/{*path}", get(static_file))
}

/// `GET /p/{id}`: the recipient page, with its strict CSP. The page reads the id from its own
/// address, so the server does not parse it (a segment that is not UTF-8 still gets the page,
/// which says the link is broken).
async fn recipient_page(State(state): State<AppState>) -> Result<Response, HttpError> {
    let path = state.config.web_dir.join("recipient/index.html");
    let html = tokio::fs::read(&path).await.map_err(|e| {
        HttpError::Internal(
            anyhow::Error::new(e).context(format!("reading the recipient page {}", path.display())),
        )
    })?;
    let mut response = html.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn static_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let file = match path.strip_prefix("pkg/") {
        Some(rest) => below(&state.config.wasm_dir, rest),
        None => below(&state.config.web_dir, &path),
    };
    let mut response = files::serve(file, req, "No such file.").await?;
    response.headers_mut().insert(
        HeaderName::from_static("service-worker-allowed"),
        HeaderValue::from_static("/p/"),
    );
    Ok(response)
}
