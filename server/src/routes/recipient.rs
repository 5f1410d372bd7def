//! Recipient verification endpoints (docs/API.md "Recipient verification") and the recipient
//! page `GET /p/{id}`.
//!
//! The page is static HTML plus ES modules from `/static/` (see [`super::pages`]): the link
//! secret stays in the fragment, which the browser never sends, so the server serves the same
//! bytes for every package and learns nothing from a page view.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::packages::linked_package;
use super::ApiJson;
use crate::app::AppState;
use crate::auth::LinkProofHeader;
use crate::clock::rfc3339;
use crate::error::HttpError;
use crate::verification::{
    self, CodeRequest, Confirmation, EmailAddress, VerificationCode, RECIPIENT_SESSION_HEADER,
};

/// The Content-Security-Policy of the recipient page: nothing from anywhere but this origin,
/// wasm allowed to compile, no framing, no forms, no base-URI tricks.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self'; worker-src 'self'; frame-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// The verification routes and the page.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/packages/{id}/verification", post(request_code))
        .route("/api/v1/packages/{id}/verification/confirm", post(confirm))
        .route("/p/{id}", get(page))
}

/// Body of `POST …/verification`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequestBody {
    email: String,
}

/// Body of `POST …/verification/confirm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    email: String,
    code: String,
}

fn parse_email(raw: &str) -> Result<EmailAddress, HttpError> {
    EmailAddress::parse(raw)
        .ok_or_else(|| HttpError::bad_request("That is not a valid email address."))
}

/// "Send me a code": the same work and the same `202` whether or not the address is a
/// recipient; the mail (recipients only) goes out in the background.
async fn request_code(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    proof: LinkProofHeader,
    ApiJson(body): ApiJson<CodeRequestBody>,
) -> Result<Response, HttpError> {
    let email = parse_email(&body.email)?;
    let row = linked_package(&state, &raw_id, &proof).await?;
    let now = state.clock.now();
    // Looked up for everyone, used only for recipients: the same queries either way.
    let sender = state
        .db
        .tenant(&row.tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_else(|| "the sender".into());
    match verification::request_code(&state.db, &state.verification_key, &row.id, &email, now).await? {
        CodeRequest::RateLimited => Err(HttpError::RateLimited(
            "Too many codes were asked for this address or this package in the last hour. Please try again later."
                .into(),
        )),
        CodeRequest::Issued(code) => {
            if let Some(code) = code {
                state.mailer.send_verification_code(&email, &code, &sender);
            }
            Ok((StatusCode::ACCEPTED, Json(json!({ "status": "sent_if_recipient" }))).into_response())
        }
    }
}

async fn confirm(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    proof: LinkProofHeader,
    ApiJson(body): ApiJson<ConfirmBody>,
) -> Result<Response, HttpError> {
    let email = parse_email(&body.email)?;
    let code = VerificationCode::parse(&body.code).ok_or_else(|| {
        HttpError::bad_request(format!("A code has {} digits.", verification::CODE_DIGITS))
    })?;
    let row = linked_package(&state, &raw_id, &proof).await?;
    let now = state.clock.now();
    let outcome = verification::confirm_code(
        &state.db,
        &state.verification_key,
        &row.id,
        row.expires_at,
        &email,
        &code,
        now,
    )
    .await?;
    match outcome {
        Confirmation::Session { token, expires_at } => {
            state
                .db
                .audit(&row.tenant_id, Some(&row.id), "verified", Some(&json!({ "recipient": email.as_str() })), now)
                .await?;
            tracing::info!(package = %row.id, "recipient verified");
            Ok(Json(json!({ "recipient_session": token.text(), "expires_at": rfc3339(expires_at) })).into_response())
        }
        Confirmation::Rejected => Err(HttpError::Unauthorized(
            "That code is not right, or it has expired or was already used. Check the latest email, or ask for a new code."
                .into(),
        )),
    }
}

/// Whether the request carries a recipient session valid for package `package_id` now.
pub async fn has_recipient_session(
    state: &AppState,
    headers: &HeaderMap,
    package_id: &str,
) -> Result<bool, HttpError> {
    let Some(value) = headers.get(RECIPIENT_SESSION_HEADER) else {
        return Ok(false);
    };
    let Ok(text) = value.to_str() else {
        return Ok(false);
    };
    Ok(
        verification::session_for(&state.db, text, package_id, state.clock.now())
            .await?
            .is_some(),
    )
}

/// `GET /p/{id}`: the recipient page, with its strict CSP.
async fn page(
    State(state): State<AppState>,
    Path(_id): Path<String>,
) -> Result<Response, HttpError> {
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
