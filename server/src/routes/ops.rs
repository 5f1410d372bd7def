//! Operations endpoints: `/healthz`, `/readyz`, `/metrics`, `/api/v1/openapi.json`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Limits;
use crate::http::auth::bearer;
use crate::http::HttpError;
use crate::metrics;
use crate::state::AppState;

/// The OpenAPI document ([`sealdrop_api::openapi::document`], generated from the wire types)
/// as this server serves it: the bounds that come from the server's settings (the longest
/// expiry and the largest file a tenant may choose) are this server's, so that a request the
/// document admits is one the server accepts. The generated document carries the ceilings.
pub fn openapi_document(limits: &Limits) -> Value {
    let mut doc = sealdrop_api::openapi::document();
    let update = &mut doc["components"]["schemas"]["SettingsUpdate"]["properties"];
    let max_expiry = limits.max_expiry.as_secs();
    for (field, maximum) in [
        ("default_expiry_secs", max_expiry),
        ("max_expiry_secs", max_expiry),
        ("max_file_size", limits.max_file_size),
    ] {
        update[field]["maximum"] = maximum.into();
    }
    doc
}

/// The operations routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route(
            "/.well-known/sealdrop-deletion-key",
            get(|State(state): State<AppState>| async move {
                axum::Json(state.deletion_key.well_known())
            }),
        )
}

async fn ready(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await;
    let storage = state.storage.check().await;
    match (db, storage) {
        (Ok(()), Ok(())) => (StatusCode::OK, "ready").into_response(),
        (db, storage) => {
            if let Err(e) = &db {
                tracing::warn!(error = %e, "readyz: database not answering");
            }
            if let Err(e) = &storage {
                tracing::warn!(error = %e, "readyz: blob store not answering");
            }
            let text = format!(
                "not ready: database {}, storage {}",
                if db.is_ok() { "ok" } else { "failing" },
                if storage.is_ok() { "ok" } else { "failing" }
            );
            (StatusCode::SERVICE_UNAVAILABLE, text).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.config.metrics_token_hash {
        let presented = bearer(&headers).map(|t| Sha256::digest(t.as_bytes()));
        let allowed = presented.is_some_and(|p| bool::from(p.as_slice().ct_eq(expected)));
        if !allowed {
            return HttpError::Unauthorized(
                "The metrics need the operator's token: send `Authorization: Bearer <--metrics-token>`.".into(),
            )
            .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

async fn openapi(State(state): State<AppState>) -> Response {
    axum::Json(openapi_document(&state.config.limits)).into_response()
}
