//! Serving files from a folder (the pages' scripts, the widget's assets, the agent app):
//! one guard against paths that leave the folder, one handler.

use std::path::{Component, Path, PathBuf};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::HttpError;

/// `rel` below `root`, if `rel` is a plain relative path (no `..`, no root, no prefix).
pub fn below(root: &Path, rel: &str) -> Option<PathBuf> {
    let rel = Path::new(rel);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

/// Serves `file` (with ranges and conditional requests, as `tower-http` does), or `404` with
/// `not_found` when `file` is `None` or not a regular file.
pub async fn serve(
    file: Option<PathBuf>,
    req: Request,
    not_found: &str,
) -> Result<Response, HttpError> {
    let missing = || HttpError::NotFound(not_found.to_owned());
    let file = file.ok_or_else(missing)?;
    if !tokio::fs::metadata(&file)
        .await
        .map(|m| m.is_file())
        .unwrap_or(false)
    {
        return Err(missing());
    }
    Ok(ServeFile::new(&file)
        .oneshot(req)
        .await
        .map_err(|e| HttpError::Internal(anyhow::Error::new(e).context("serving a file")))?
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_folder() {
        let root = Path::new("/srv/web");
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
