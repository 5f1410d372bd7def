//! Static files for the pages: `GET /static/{path}` serves the `web/` folder (`--web-dir`),
//! and `/static/pkg/{path}` the browser package built by `cargo xtask wasm` (`--wasm-dir`).
//!
//! Responses carry `Service-Worker-Allowed: /p/` so that the recipient page's download
//! service worker (`/static/shared/download-sw.js`) may control `/p/`.

use std::path::{Component, Path as FsPath, PathBuf};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::app::AppState;
use crate::error::HttpError;

/// The static-file routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/static/{*path}", get(serve))
}

/// `rel` below `root`, if `rel` is a plain relative path (no `..`, no root, no prefix).
fn below(root: &FsPath, rel: &str) -> Option<PathBuf> {
    let rel = FsPath::new(rel);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let not_found = || HttpError::NotFound("No such file.".into());
    let file = match path.strip_prefix("pkg/") {
        Some(rest) => below(&state.config.wasm_dir, rest),
        None => below(&state.config.web_dir, &path),
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
        .map_err(|e| HttpError::Internal(anyhow::Error::new(e).context("serving a static file")))?
        .into_response();
    response.headers_mut().insert(
        HeaderName::from_static("service-worker-allowed"),
        HeaderValue::from_static("/p/"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_folder() {
        let root = FsPath::new("/srv/web");
        assert_eq!(
            below(root, "recipient/app.js"),
            Some(PathBuf::from("/srv/web/recipient/app.js"))
        );
        assert_eq!(below(root, "../secret"), None);
        assert_eq!(below(root, "a/../../b"), None);
        assert_eq!(below(root, "/etc/passwd"), None);
        assert_eq!(below(root, "./x"), None);
    }
}
