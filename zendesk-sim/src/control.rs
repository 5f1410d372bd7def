//! `/sim/...`: the control API tests and the demo drive the simulator with.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::state::{NewTicket, NewUser, OAuthClient, UserChange};
use crate::Sim;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/sim/public_key.pem", get(public_key))
        .route("/sim/info", get(info))
        .route("/sim/users", get(list_users).post(create_user))
        .route("/sim/users/{id}", patch(change_user))
        .route("/sim/tickets", get(list_tickets).post(create_ticket))
        .route("/sim/tickets/{id}/comments", post(add_comment))
        .route("/sim/throttle", post(throttle))
        .route("/sim/fail", post(fail))
        .route("/sim/grants/revoke", post(revoke))
        .route("/sim/grants/expire", post(expire))
        .route("/sim/app/uninstall", post(uninstall))
        .route("/sim/app/install", post(install))
        .route("/sim/app/reinstall", post(reinstall))
        .route("/sim/oauth_clients", post(register_client))
        .route("/sim/zaf_token", post(zaf_token))
        .route("/sim/api_log", get(api_log))
        .route("/sim/settings", patch(settings))
}

async fn public_key(State(sim): State<Sim>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        sim.public_key_pem().to_string(),
    )
        .into_response()
}

async fn info(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let s = sim.settings();
    Json(json!({
        "subdomain": sim.subdomain(),
        "installation_id": sim.installation_id(),
        "installed": sim.is_installed(),
        "installations": sim.installations(),
        "issuer": sim.zaf_issuer(),
        "audience": sim.zaf_audience(),
        "public_key_pem": sim.public_key_pem(),
        "base_url": sim.base_url().as_str(),
        "app_url": s.app_url.as_str(),
        "sealdrop_url": s.sealdrop_url.as_str(),
        "ticket_forms": sim.ticket_forms(),
    }))
}

async fn list_users(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let users: Vec<_> = sim.state().users.values().cloned().collect();
    Json(json!({ "users": users }))
}

async fn create_user(State(sim): State<Sim>, Json(new): Json<NewUser>) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({ "user": sim.add_user(new) })),
    )
        .into_response()
}

async fn change_user(
    State(sim): State<Sim>,
    Path(id): Path<u64>,
    Json(change): Json<UserChange>,
) -> Response {
    match sim.change_user(id, change) {
        Some(u) => Json(json!({ "user": u })).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn list_tickets(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "tickets": sim.tickets() }))
}

async fn create_ticket(State(sim): State<Sim>, Json(new): Json<NewTicket>) -> Response {
    match sim.add_ticket(new) {
        Ok(t) => (StatusCode::CREATED, Json(json!({ "ticket": t }))).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct NewComment {
    author_id: u64,
    body: String,
}

async fn add_comment(
    State(sim): State<Sim>,
    Path(id): Path<u64>,
    Json(c): Json<NewComment>,
) -> Response {
    match sim.add_comment(id, c.author_id, &c.body) {
        Some(c) => (StatusCode::CREATED, Json(json!({ "comment": c }))).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct Throttle {
    count: u32,
    #[serde(default = "one")]
    retry_after: u64,
}

fn one() -> u64 {
    1
}

async fn throttle(State(sim): State<Sim>, Json(t): Json<Throttle>) -> StatusCode {
    sim.throttle(t.count, t.retry_after);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Fail {
    count: u32,
    #[serde(default = "unavailable")]
    status: u16,
}

fn unavailable() -> u16 {
    503
}

async fn fail(State(sim): State<Sim>, Json(f): Json<Fail>) -> Response {
    if !(500..600).contains(&f.status) {
        return (StatusCode::BAD_REQUEST, "status must be 5xx").into_response();
    }
    sim.fail(f.count, f.status);
    StatusCode::NO_CONTENT.into_response()
}

async fn revoke(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "revoked": sim.revoke_all_grants() }))
}

/// Body of `POST /sim/app/uninstall`: one installation, or (empty body) the whole app.
#[derive(Deserialize, Default)]
struct Uninstall {
    installation_id: Option<u64>,
}

async fn uninstall(State(sim): State<Sim>, body: Option<Json<Uninstall>>) -> Response {
    match body.map(|Json(b)| b).unwrap_or_default().installation_id {
        Some(id) if sim.uninstall_installation(id) => {
            Json(json!({ "uninstalled": [id] })).into_response()
        }
        Some(_) => StatusCode::NOT_FOUND.into_response(),
        None => Json(json!({ "uninstalled": sim.uninstall_app() })).into_response(),
    }
}

async fn install(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "installation_id": sim.install_app() }))
}

async fn reinstall(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "installation_id": sim.reinstall_app() }))
}

async fn expire(State(sim): State<Sim>) -> StatusCode {
    sim.expire_access_tokens();
    StatusCode::NO_CONTENT
}

async fn register_client(State(sim): State<Sim>, Json(c): Json<OAuthClient>) -> StatusCode {
    sim.register_client(c);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct ZafTokenRequest {
    user_id: u64,
}

async fn zaf_token(State(sim): State<Sim>, Json(r): Json<ZafTokenRequest>) -> Response {
    match sim.zaf_launch(r.user_id) {
        Ok(launch) => Json(json!({ "token": launch.token, "app_url": launch.app_url.as_str() }))
            .into_response(),
        Err(e) if !sim.is_installed() => (StatusCode::CONFLICT, e.to_string()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn api_log(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "calls": sim.api_log() }))
}

#[derive(Deserialize)]
struct SettingsChange {
    app_url: Option<url::Url>,
    sealdrop_url: Option<url::Url>,
    widget_key: Option<String>,
    /// The Help Center snippet, verbatim; an empty string goes back to the plain tag.
    loader_tag: Option<String>,
    auto_approve: Option<bool>,
}

async fn settings(State(sim): State<Sim>, Json(c): Json<SettingsChange>) -> StatusCode {
    if let Some(u) = c.app_url {
        sim.set_app_url(u);
    }
    if let Some(u) = c.sealdrop_url {
        sim.set_sealdrop_url(u);
    }
    if let Some(k) = c.widget_key {
        sim.set_widget_key(&k);
    }
    if let Some(tag) = c.loader_tag {
        sim.set_loader_tag((!tag.is_empty()).then_some(tag));
    }
    if let Some(a) = c.auto_approve {
        sim.set_auto_approve(a);
    }
    StatusCode::NO_CONTENT
}
