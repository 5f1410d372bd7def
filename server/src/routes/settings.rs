//! `GET /api/v1/me`, `GET/PUT /api/v1/settings`, `POST /api/v1/settings/widget-key`
//! (docs/ZENDESK.md "Endpoints for the sidebar").
//!
//! `me` answers any signed-in agent, setup sessions included (that is how the sidebar learns
//! it must ask for the grant). Settings are for Zendesk admins (confirmed through the grant on
//! every call) and for the tenant's API token.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::ApiJson;
use crate::agents::{self, GrantStatus, RoleCheck};
use crate::app::AppState;
use crate::auth::Principal;
use crate::db::Tenant;
use crate::error::HttpError;
use crate::settings::{self, SettingsUpdate};
use crate::zendesk::session::ConfirmedRole;

/// The settings routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .route("/api/v1/settings", get(read).put(update))
        .route("/api/v1/settings/widget-key", post(rotate_widget_key))
}

/// A caller allowed to read and change a tenant's settings: a Zendesk admin's agent session
/// (role confirmed now) or the tenant's API token.
#[derive(Debug, Clone)]
pub struct TenantAdmin {
    /// The tenant.
    pub tenant: Tenant,
    /// `tenant_token`, or `agent:{user id}`.
    pub who: String,
}

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = HttpError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::TenantToken(tenant) => Ok(Self {
                tenant,
                who: "tenant_token".into(),
            }),
            Principal::Agent {
                tenant,
                user_id,
                role: ConfirmedRole::Admin,
                ..
            } => Ok(Self {
                tenant,
                who: format!("agent:{user_id}"),
            }),
            Principal::Agent { .. } | Principal::Widget { .. } => Err(HttpError::Forbidden(
                "Only Zendesk admins can see or change sealdrop's settings.".into(),
            )),
        }
    }
}

async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let ctx = super::zendesk::bearer_session(&state, &headers).await?;
    let session = &ctx.session;
    let (status, role) = match agents::check_role(&state, &ctx.tenant.id, &session.tenant, session.user_id).await? {
        RoleCheck::Allowed(role) => ("ready", Some(role)),
        RoleCheck::NotAllowed(_) => {
            return Err(HttpError::Forbidden(
                "Your Zendesk role is not allowed to use sealdrop in this account; ask your Zendesk admin.".into(),
            ))
        }
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => ("reauthorization_required", None),
        RoleCheck::NoGrant(_) => ("setup_required", None),
    };
    let settings = settings::load_or_create(&state.db, &ctx.tenant.id, state.clock.now()).await?;
    Ok(Json(json!({
        "tenant": ctx.tenant.id,
        "subdomain": session.tenant.as_str(),
        "user_id": session.user_id.to_string(),
        "role": role.as_ref().map(agents::role_name),
        "is_admin": role == Some(ConfirmedRole::Admin),
        "status": status,
        "session_expires_at": crate::clock::rfc3339(session.expires_at as i64),
        "settings": settings.sender_json(&state.config.limits),
    }))
    .into_response())
}

async fn settings_body(state: &AppState, tenant_id: &str) -> Result<serde_json::Value, HttpError> {
    let settings = settings::load_or_create(&state.db, tenant_id, state.clock.now()).await?;
    let mut body = settings.to_json(&state.config.limits);
    let grant = agents::grant_status(&state.db, tenant_id).await?;
    body["grant"] = json!({ "status": grant.as_str() });
    body["subdomain"] = json!(agents::subdomain_of(&state.db, tenant_id)
        .await?
        .map(|s| s.to_string()));
    Ok(body)
}

async fn read(State(state): State<AppState>, admin: TenantAdmin) -> Result<Response, HttpError> {
    Ok(Json(settings_body(&state, &admin.tenant.id).await?).into_response())
}

async fn update(
    State(state): State<AppState>,
    admin: TenantAdmin,
    ApiJson(change): ApiJson<SettingsUpdate>,
) -> Result<Response, HttpError> {
    let now = state.clock.now();
    let current = settings::load_or_create(&state.db, &admin.tenant.id, now).await?;
    let next = change.validate(&current, &state.config.limits)?;
    settings::store(&state.db, &next, now).await?;
    let changed: Vec<&str> = [
        ("allowed_roles", change.allowed_roles.is_some()),
        (
            "require_auth_default",
            change.require_auth_default.is_some(),
        ),
        ("default_expiry_secs", change.default_expiry_secs.is_some()),
        ("max_expiry_secs", change.max_expiry_secs.is_some()),
        ("max_file_size", change.max_file_size.is_some()),
        ("help_center_origins", change.help_center_origins.is_some()),
        ("widget_forms", change.widget_forms.is_some()),
        ("reply_link_style", change.reply_link_style.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    state
        .db
        .audit(
            &admin.tenant.id,
            None,
            "settings_changed",
            Some(&json!({ "by": admin.who, "fields": changed })),
            now,
        )
        .await?;
    Ok(Json(settings_body(&state, &admin.tenant.id).await?).into_response())
}

async fn rotate_widget_key(
    State(state): State<AppState>,
    admin: TenantAdmin,
) -> Result<Response, HttpError> {
    let now = state.clock.now();
    let key = settings::rotate_widget_key(&state.db, &admin.tenant.id, now).await?;
    state
        .db
        .audit(
            &admin.tenant.id,
            None,
            "widget_key_rotated",
            Some(&json!({ "by": admin.who })),
            now,
        )
        .await?;
    let mut response = Json(json!({ "widget_key": key })).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
