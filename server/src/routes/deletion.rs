//! `POST /api/v1/tenant/deletion`: a tenant's admin deletes all of the tenant's data and gets
//! the signed certificate of deletion ([`crate::deletion`]); the same as `sealdrop admin tenant
//! delete`, for the sidebar's "Delete all data".

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sealdrop_api::deletion::{DeletionCertificate, DeletionRequest};

use crate::deletion;
use crate::http::auth::TenantAdmin;
use crate::http::{HttpError, RequiredJson};
use crate::state::AppState;

/// The deletion route.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/tenant/deletion", post(delete_everything))
}

async fn delete_everything(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(body): RequiredJson<DeletionRequest>,
) -> Result<Response, HttpError> {
    let tenant = admin.tenant();
    if body.confirm.trim() != tenant.name {
        return Err(HttpError::bad_request(format!(
            "confirm must be the account's name, {:?}, typed exactly: deleting cannot be undone.",
            tenant.name
        )));
    }
    let key = state.deletion_key.public_b64u();
    let text = deletion::delete_tenant(
        &state.db,
        state.storage.as_ref(),
        &state.deletion_key,
        state.config.public_url.as_str().trim_end_matches('/'),
        &tenant.id,
        || state.clock.now(),
        &mut |_| {},
    )
    .await?;
    let certificate = deletion::verify(&text, &key)
        .map_err(|e| HttpError::Internal(anyhow::anyhow!("the certificate just signed: {e}")))?;
    Ok(Json(DeletionCertificate {
        certificate: text,
        html: deletion::to_html(&certificate, &key),
        public_key: key,
    })
    .into_response())
}
