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
        .route("/api/v1/packages", get(sent_packages))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SentQuery {
    /// Must be `1`: only the caller's own packages are listed.
    mine: Option<String>,
}

/// `GET /api/v1/packages?mine=1` (agent session): the packages this agent sent, newest first
/// (100 at most), for the sidebar's revoke list.
async fn sent_packages(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<axum::extract::Query<SentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, HttpError> {
    let axum::extract::Query(query) = query
        .map_err(|e| HttpError::bad_request(format!("Bad query string: {}.", e.body_text())))?;
    if query.mine.as_deref() != Some("1") {
        return Err(HttpError::bad_request(
            "Only `?mine=1` is supported: the packages you sent.",
        ));
    }
    let Principal::Agent {
        tenant, user_id, ..
    } = &principal
    else {
        return Err(HttpError::Forbidden(
            "`?mine=1` lists an agent's own packages; use an agent session.".into(),
        ));
    };
    let rows = agents::packages_sent_by(&state.db, &tenant.id, *user_id, 100).await?;
    let now = state.clock.now();
    let base = state
        .config
        .public_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let packages: Vec<_> = rows
        .iter()
        .map(|p| {
            let state_name = if p.state == crate::db::state::READY && p.expires_at <= now {
                "expired"
            } else {
                p.state.as_str()
            };
            json!({
                "id": p.id,
                "state": state_name,
                "require_auth": p.require_auth != 0,
                "created_at": crate::clock::rfc3339(p.created_at),
                "expires_at": crate::clock::rfc3339(p.expires_at),
                "downloads_left": p.max_downloads.map(|max| (max - p.downloads_used).max(0)),
                "downloads_used": p.downloads_used,
                "url": format!("{base}/p/{}", p.id),
            })
        })
        .collect();
    Ok(Json(json!({ "packages": packages })).into_response())
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
