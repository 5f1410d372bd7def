//! The HTTP layer under the routes: the one error type ([`error::HttpError`], with the
//! mapping of every domain error to a status), credential extractors ([`auth`]), JSON bodies
//! ([`json`]), static files ([`files`]), CORS for the Help Center widget ([`cors`]) and the
//! header names of the API ([`headers`]).
//!
//! Route modules use this and the domain modules; nothing below the routes uses it.

pub mod auth;
pub mod cors;
pub mod error;
pub mod files;
pub use sealdrop_api::headers;
pub mod json;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub use error::HttpError;
pub use json::{ApiJson, RequiredJson};

/// Path parameters, like axum's [`Path`], but a segment that does not decode (percent-encoded
/// bytes that are not UTF-8, such as `%FF`) is the API's JSON `400` instead of axum's
/// plain-text one.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|e| HttpError::bad_request(format!("{}.", e.body_text())))
    }
}

/// A file or part index from a path segment; anything but a number up to `u32::MAX` is a
/// `400` naming `what`.
pub fn path_index(raw: &str, what: &str) -> Result<u64, HttpError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n <= u64::from(u32::MAX))
        .ok_or_else(|| HttpError::bad_request(format!("The {what} index `{raw}` is not a number.")))
}
