//! Recipient verification (docs/API.md "Recipient verification"): "send me a code" and
//! trading the code for a recipient session.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sealdrop_api::text::{RecipientSessionToken, Timestamp};
use sealdrop_api::verification::{
    CodeRequest, CodeRequested, CodeStatus, ConfirmRequest, RecipientSessionGrant,
};

use crate::http::auth::LinkProofHeader;
use crate::http::{ApiPath, HttpError, RequiredJson};
use crate::state::AppState;
use crate::verification;

/// The verification routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/packages/{id}/verification", post(request_code))
        .route("/api/v1/packages/{id}/verification/confirm", post(confirm))
}

/// "Send me a code": the same `202` whether or not the address is a recipient.
async fn request_code(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    LinkProofHeader(proof): LinkProofHeader,
    RequiredJson(body): RequiredJson<CodeRequest>,
) -> Result<Response, HttpError> {
    verification::send_code(
        &state.db,
        &state.verification_key,
        &state.mailer,
        &raw_id,
        &proof,
        &body.email,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeRequested {
            status: CodeStatus::SentIfRecipient,
        }),
    )
        .into_response())
}

async fn confirm(
    State(state): State<AppState>,
    ApiPath(raw_id): ApiPath<String>,
    LinkProofHeader(proof): LinkProofHeader,
    RequiredJson(body): RequiredJson<ConfirmRequest>,
) -> Result<Response, HttpError> {
    let session = verification::confirm(
        &state.db,
        &state.verification_key,
        &raw_id,
        &proof,
        &body.email,
        &body.code,
        state.clock.now(),
    )
    .await?;
    Ok(Json(RecipientSessionGrant {
        recipient_session: RecipientSessionToken::new(session.token.text()),
        expires_at: Timestamp::from_unix(session.expires_at),
    })
    .into_response())
}
