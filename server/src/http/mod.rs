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
pub mod headers;
pub mod json;

pub use error::HttpError;
pub use json::ApiJson;

/// A file or part index from a path segment; anything but a number up to `u32::MAX` is a
/// `400` naming `what`.
pub fn path_index(raw: &str, what: &str) -> Result<u64, HttpError> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n <= u64::from(u32::MAX))
        .ok_or_else(|| HttpError::bad_request(format!("The {what} index `{raw}` is not a number.")))
}
