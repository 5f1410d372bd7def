//! Request bodies: [`ApiJson`] (JSON, at most 64 KiB, errors that name the field) and
//! [`read_limited`] for raw bodies with a size limit.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
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
        let (parts, body) = req.into_parts();
        let bytes = read_limited(&parts.headers, body, MAX_JSON_BODY, "JSON body").await?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        decode_json(bytes).map(Self).map_err(HttpError::bad_request)
    }
}

/// Decodes a JSON body; the error is a sentence for the caller. A body that is not JSON at all
/// says where it breaks (line and column); a body of the wrong shape names the field by its
/// path (`recipients[2]`, `downloads`) and says what was expected there, e.g.
/// `downloads: invalid type: string "five", expected u32`.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let not_json = |e: &serde_json::Error| format!("The request body is not valid JSON: {e}.");
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return not_json(inner);
        }
        let what = without_position(inner);
        match e.path().to_string().as_str() {
            "." => format!("The request body does not fit this endpoint: {what}."),
            path => format!("The request body does not fit this endpoint: {path}: {what}."),
        }
    })?;
    de.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

/// serde_json's message without its " at line L column C" suffix: for a wrong field the path
/// says where, and the position in a one-line body adds nothing.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) if e.line() > 0 => message.to_owned(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::decode_json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        downloads: Option<u32>,
        #[serde(default)]
        recipients: Vec<String>,
    }

    fn error(json: &str) -> String {
        decode_json::<Body>(json.as_bytes()).expect_err("the body is refused")
    }

    #[test]
    fn errors_name_the_field_and_what_was_expected() {
        assert_eq!(
            error(r#"{"downloads": "five"}"#),
            "The request body does not fit this endpoint: downloads: invalid type: string \"five\", expected u32."
        );
        assert_eq!(
            error(r#"{"recipients": ["a@example.com", 7]}"#),
            "The request body does not fit this endpoint: recipients[1]: invalid type: integer `7`, expected a string."
        );
        assert_eq!(
            error(r#"{"surprise": 1}"#),
            "The request body does not fit this endpoint: surprise: unknown field `surprise`, expected `downloads` or `recipients`."
        );
        assert_eq!(
            error("5"),
            "The request body does not fit this endpoint: invalid type: integer `5`, expected struct Body."
        );
    }

    #[test]
    fn broken_json_says_where() {
        assert_eq!(
            error(r#"{"downloads": 1"#),
            "The request body is not valid JSON: EOF while parsing an object at line 1 column 15."
        );
        assert_eq!(
            error(r#"{"downloads": 1} x"#),
            "The request body is not valid JSON: trailing characters at line 1 column 18."
        );
    }
}
