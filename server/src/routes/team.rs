//! Team keys (docs/API.md "Team keys", docs/FORMAT.md §16-§21):
//!
//! - `GET`/`POST /api/v1/me/devices`, `DELETE /api/v1/me/devices/{device_key}`: an agent's
//!   own device keys (agent session, allowed role);
//! - `GET /api/v1/team/devices`: every device of the tenant, for its admin;
//! - `GET`/`PUT /api/v1/team/admin-key`: the admin key wrapped by the recovery code;
//! - `GET`/`PUT /api/v1/team/roster`: the signed roster (any allowed agent reads it; the
//!   admin publishes it); the widget reads it at `GET /widget/v1/roster`;
//! - `GET /api/v1/team/packages`, `GET`/`PUT /api/v1/team/packages/{id}/manifest`: the
//!   team-sealed packages, and one's manifest, read and re-wrapped by the admin.
//!
//! The admin's endpoints take [`TenantAdmin`] (a Zendesk admin's session or the tenant's API
//! token); the device endpoints an agent's own session.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use sealdrop_api::team::{AdminKeyUpload, NewDevice, RosterUpload};

use crate::db::Tenant;
use crate::http::auth::TenantAdmin;
use crate::http::json::read_limited;
use crate::http::{ApiPath, HttpError, RequiredJson};
use crate::principal::Principal;
use crate::state::AppState;
use crate::team::{self, Rewrap};

/// The team keys routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/devices", get(own_devices).post(register_device))
        .route("/api/v1/me/devices/{device_key}", delete(remove_device))
        .route("/api/v1/team/devices", get(team_devices))
        .route("/api/v1/team/admin-key", get(admin_key).put(set_admin_key))
        .route("/api/v1/team/roster", get(roster).put(publish_roster))
        .route("/api/v1/team/packages", get(team_packages))
        .route(
            "/api/v1/team/packages/{id}/manifest",
            get(manifest).put(rewrap),
        )
}

/// The agent behind a session: device keys belong to an agent and a browser, never to a
/// tenant token.
fn agent(principal: &Principal) -> Result<(&Tenant, u64), HttpError> {
    match principal {
        Principal::Agent {
            tenant, user_id, ..
        } => Ok((tenant, *user_id)),
        _ => Err(HttpError::Forbidden(
            "Device keys belong to agents: register and remove them from the sidebar, with an agent session."
                .into(),
        )),
    }
}

async fn own_devices(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, HttpError> {
    let (tenant, user_id) = agent(&principal)?;
    let devices = team::own_devices(&state.db, &tenant.id, user_id).await?;
    Ok(Json(devices).into_response())
}

async fn register_device(
    State(state): State<AppState>,
    principal: Principal,
    RequiredJson(request): RequiredJson<NewDevice>,
) -> Result<Response, HttpError> {
    let (tenant, user_id) = agent(&principal)?;
    let device =
        team::register_device(&state.db, &tenant.id, user_id, &request, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(device)).into_response())
}

async fn remove_device(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(device_key): ApiPath<String>,
) -> Result<Response, HttpError> {
    let (tenant, user_id) = agent(&principal)?;
    team::remove_device(
        &state.db,
        &tenant.id,
        user_id,
        &device_key,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn team_devices(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
) -> Result<Response, HttpError> {
    let devices = team::team_devices(&state.db, &admin.tenant().id).await?;
    Ok(Json(devices).into_response())
}

async fn admin_key(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
) -> Result<Response, HttpError> {
    let key = team::admin_key(&state.db, &admin.tenant().id).await?;
    Ok(Json(key).into_response())
}

async fn set_admin_key(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(upload): RequiredJson<AdminKeyUpload>,
) -> Result<Response, HttpError> {
    let key = team::set_admin_key(
        &state.db,
        &admin.tenant().id,
        &admin,
        &upload,
        state.clock.now(),
    )
    .await?;
    Ok(Json(key).into_response())
}

/// Any allowed agent of the tenant (or its API token) reads the roster; nobody takes the
/// server's word for it (the sidebar verifies it against the app's pinned fingerprint).
async fn roster(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, HttpError> {
    let roster = team::roster(&state.db, &principal.tenant().id).await?;
    Ok(Json(roster).into_response())
}

async fn publish_roster(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(upload): RequiredJson<RosterUpload>,
) -> Result<Response, HttpError> {
    let roster = team::publish_roster(
        &state.db,
        &admin.tenant().id,
        &admin,
        &upload,
        state.clock.now(),
    )
    .await?;
    Ok(Json(roster).into_response())
}

async fn team_packages(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
) -> Result<Response, HttpError> {
    let packages = team::team_packages(&state.db, &admin.tenant().id, state.clock.now()).await?;
    Ok(Json(packages).into_response())
}

async fn manifest(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    ApiPath(raw_id): ApiPath<String>,
) -> Result<Response, HttpError> {
    let bytes = team::manifest(&state.db, &admin.tenant().id, &raw_id, state.clock.now()).await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(response)
}

async fn rewrap(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    ApiPath(raw_id): ApiPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, HttpError> {
    let limit = state.config.limits.max_manifest_size;
    let bytes = read_limited(&headers, body, limit, "manifest").await?;
    let request = Rewrap {
        tenant_id: &admin.tenant().id,
        raw_id: &raw_id,
        bytes: &bytes,
    };
    let rewrapped = team::rewrap(&state.db, &admin, request, state.clock.now()).await?;
    Ok(Json(rewrapped).into_response())
}
