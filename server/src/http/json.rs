//! Request bodies: [`ApiJson`] and [`RequiredJson`] (JSON, at most 64 KiB, errors that name
//! the field) and [`read_limited`] for raw bodies with a size limit.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use sealdrop_api::json::decode_json;
use serde::de::DeserializeOwned;

use super::HttpError;
use crate::config::MAX_JSON_BODY;

/// Reads a whole request body, refusing (`413`) more than `limit` bytes, by the
/// `Content-Length` header when there is one and by counting otherwise.
pub async fn read_limited(
    headers: &http::HeaderMap,
    body: Body,
    limit: usize,
    what: &str,
) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::PayloadTooLarge(format!(
            "The {what} is larger than the limit of {limit} bytes."
        ))
    };
    if let Some(declared) = content_length(headers)? {
        if declared > limit as u64 {
            return Err(too_large());
        }
    }
    let mut out = BytesMut::new();
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            HttpError::bad_request(format!("The {what} could not be read completely."))
        })?;
        if out.len() + chunk.len() > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// The `Content-Length` header, if present; malformed is a `400`.
pub fn content_length(headers: &http::HeaderMap) -> Result<Option<u64>, HttpError> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| HttpError::bad_request("The Content-Length header is not a number."))
        })
        .transpose()
}

/// A JSON body of at most [`MAX_JSON_BODY`] bytes, with errors in the API's JSON shape.
/// An empty body reads as `{}` so that requests whose fields are all optional may omit it.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        read_json(req, Some(b"{}")).await.map(Self)
    }
}

/// A JSON body the endpoint requires (its OpenAPI `requestBody` is `required`): as
/// [`ApiJson`], but an empty body is a `400` instead of `{}`.
#[derive(Debug)]
pub struct RequiredJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for RequiredJson<T> {
    type Rejection = HttpError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        read_json(req, None).await.map(Self)
    }
}

/// Reads and decodes a JSON body; an empty one (whitespace only) reads as `empty`, or is a
/// `400` when there is none.
async fn read_json<T: DeserializeOwned>(
    req: Request,
    empty: Option<&'static [u8]>,
) -> Result<T, HttpError> {
    let (parts, body) = req.into_parts();
    let bytes = read_limited(&parts.headers, body, MAX_JSON_BODY, "JSON body").await?;
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        empty.ok_or_else(|| {
            HttpError::bad_request("This endpoint needs a JSON body (`{…}`); the request has none.")
        })?
    } else {
        &bytes
    };
    decode_json(bytes).map_err(HttpError::bad_request)
}
