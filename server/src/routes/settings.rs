//! `GET /api/v1/me`, `GET/PUT /api/v1/settings`, `POST /api/v1/settings/widget-key`
//! (docs/ZENDESK.md "Endpoints for the sidebar").
//!
//! `me` answers any signed-in agent, setup sessions included (that is how the sidebar learns
//! it must ask for the grant). Settings are for Zendesk admins (confirmed through the grant on
//! every call) and for the tenant's API token.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sealdrop_api::settings::{AgentStatus, Me, NewWidgetKey};
use sealdrop_api::text::{RoleName, Timestamp, WidgetKey, ZendeskUserId};

use crate::agents::{self, RoleCheck};
use crate::db::GrantStatus;
use crate::http::auth::{AgentSession, TenantAdmin};
use crate::http::{HttpError, RequiredJson};
use crate::settings::{self, SettingsUpdate};
use crate::state::AppState;
use crate::widget::release;
use crate::zendesk::session::ConfirmedRole;

/// The settings routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/settings", get(read).put(update))
        .route("/api/v1/settings/widget-key", post(rotate_widget_key))
}

async fn me(
    State(state): State<AppState>,
    AgentSession(ctx): AgentSession,
) -> Result<Response, HttpError> {
    let session = &ctx.session;
    let now = state.clock.now();
    let check = agents::check_role(
        &state.db,
        &state.zendesk,
        &ctx.tenant.id,
        &session.tenant,
        session.user_id,
        now,
    )
    .await?;
    let (status, role) = match check {
        RoleCheck::Allowed(role) => (AgentStatus::Ready, Some(role)),
        RoleCheck::NotAllowed(_) => return Err(agents::AgentError::RoleNotAllowed.into()),
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => {
            (AgentStatus::ReauthorizationRequired, None)
        }
        RoleCheck::NoGrant(_) => (AgentStatus::SetupRequired, None),
    };
    let settings = settings::load_or_create(&state.db, &ctx.tenant.id, now).await?;
    Ok(Json(Me {
        tenant: ctx.tenant.id.clone(),
        subdomain: session.tenant.as_str().to_owned(),
        user_id: ZendeskUserId::new(session.user_id.to_string()),
        role: role.as_ref().map(|r| RoleName::new(agents::role_name(r))),
        is_admin: role == Some(ConfirmedRole::Admin),
        status,
        session_expires_at: Timestamp::from_unix(session.expires_at as i64),
        settings: settings.sender_settings(&state.config.limits),
    })
    .into_response())
}

async fn read(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
) -> Result<Response, HttpError> {
    let body = settings::view(
        &state.db,
        &state.config.limits,
        &admin.tenant().id,
        state.clock.now(),
        release::loader_integrity(&state.config.wasm_dir).await,
    )
    .await?;
    Ok(Json(body).into_response())
}

async fn update(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
    RequiredJson(change): RequiredJson<SettingsUpdate>,
) -> Result<Response, HttpError> {
    let (limits, tenant, now) = (&state.config.limits, &admin.tenant().id, state.clock.now());
    settings::update(&state.db, limits, tenant, &admin, &change, now).await?;
    let integrity = release::loader_integrity(&state.config.wasm_dir).await;
    Ok(Json(settings::view(&state.db, limits, tenant, now, integrity).await?).into_response())
}

async fn rotate_widget_key(
    State(state): State<AppState>,
    TenantAdmin(admin): TenantAdmin,
) -> Result<Response, HttpError> {
    let key = settings::rotate_widget_key(&state.db, &admin.tenant().id, &admin, state.clock.now())
        .await?;
    let mut response = Json(NewWidgetKey {
        widget_key: WidgetKey::new(key),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
