//! The REST API subset sealdrop uses, with Zendesk's response shapes.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::state::{AppInstallation, Grant, User};
use crate::Sim;

/// Zendesk's maximum page size for cursor pagination.
const MAX_PAGE_SIZE: usize = 100;

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/api/v2/users/{id}", get(user))
        .route("/api/v2/tickets/{id}", get(ticket))
        .route("/api/v2/tickets/{id}/{sub}", get(ticket_comments))
        .route("/api/v2/oauth/tokens/{id}", delete(revoke_token))
        .route("/api/v2/apps/installations.json", get(installations))
        .route("/api/v2/apps/installations", get(installations))
        .route("/api/v2/apps/installations/{id}", get(installation))
}

/// Fault injection, then bearer authentication; logs the call either way.
fn gate(
    sim: &Sim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Grant, Box<Response>> {
    let mut st = sim.state();
    let line = format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    if st.throttle.0 > 0 {
        st.throttle.0 -= 1;
        let retry = st.throttle.1;
        st.api_log.push(format!("{line} -> 429"));
        let mut resp = (StatusCode::TOO_MANY_REQUESTS, "Rate limited").into_response();
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from(retry));
        return Err(Box::new(resp));
    }
    if st.failures.0 > 0 {
        st.failures.0 -= 1;
        let status = StatusCode::from_u16(st.failures.1).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        st.api_log.push(format!("{line} -> {}", status.as_u16()));
        return Err(Box::new((status, "Service unavailable").into_response()));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let now = Instant::now();
    let grant = st
        .grants
        .iter()
        .find(|g| !g.revoked && !token.is_empty() && g.access_token == token)
        .filter(|g| g.access_expires.is_none_or(|t| t > now))
        .cloned();
    let Some(grant) = grant else {
        st.api_log.push(format!("{line} -> 401"));
        return Err(Box::new((
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_token", "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons."})),
        )
            .into_response()));
    };
    let granting_user_ok = st.users.get(&grant.user_id).map(|u| {
        (
            u.active && !u.suspended,
            u.role == "agent" || u.role == "admin",
        )
    });
    match granting_user_ok {
        Some((true, true)) => {
            st.api_log.push(format!("{line} -> 200"));
            Ok(grant)
        }
        Some((true, false)) => {
            st.api_log.push(format!("{line} -> 403"));
            Err(Box::new((
                StatusCode::FORBIDDEN,
                Json(json!({"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."})),
            )
                .into_response()))
        }
        _ => {
            st.api_log.push(format!("{line} -> 401"));
            Err(Box::new(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "Couldn't authenticate you"})),
                )
                    .into_response(),
            ))
        }
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": "RecordNotFound", "description": "Not found"})),
    )
        .into_response()
}

fn id_of(segment: &str) -> Option<u64> {
    segment
        .strip_suffix(".json")
        .unwrap_or(segment)
        .parse()
        .ok()
}

pub(crate) fn user_json(sim: &Sim, u: &User) -> Value {
    json!({
        "id": u.id,
        "url": sim.base_url().join(&format!("api/v2/users/{}.json", u.id)).map(|u| u.to_string()).unwrap_or_default(),
        "name": u.name,
        "email": u.email,
        "role": u.role,
        "role_type": u.role_type,
        "custom_role_id": u.custom_role_id,
        "active": u.active,
        "suspended": u.suspended,
        "verified": true,
    })
}

async fn user(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let me = id.strip_suffix(".json").unwrap_or(&id) == "me";
    if me && !headers.contains_key(axum::http::header::AUTHORIZATION) {
        // A Help Center page asking who is signed in (its session, not an OAuth grant).
        return crate::help_center::session_user(&sim, &headers);
    }
    let grant = match gate(&sim, &method, &uri, &headers) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let st = sim.state();
    match id.strip_suffix(".json").unwrap_or(&id) {
        "me" => match st.users.get(&grant.user_id) {
            Some(u) => Json(json!({"user": user_json(&sim, u)})).into_response(),
            None => not_found(),
        },
        "show_many" => {
            let ids: Vec<u64> = q
                .get("ids")
                .map(|s| s.split(',').filter_map(|i| i.trim().parse().ok()).collect())
                .unwrap_or_default();
            let users: Vec<Value> = ids
                .iter()
                .filter_map(|i| st.users.get(i))
                .filter(|u| u.active)
                .map(|u| user_json(&sim, u))
                .collect();
            Json(json!({"users": users})).into_response()
        }
        other => match other.parse::<u64>().ok().and_then(|i| st.users.get(&i)) {
            Some(u) => Json(json!({"user": user_json(&sim, u)})).into_response(),
            None => not_found(),
        },
    }
}

async fn ticket(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&sim, &method, &uri, &headers) {
        return *r;
    }
    let st = sim.state();
    match id_of(&id).and_then(|i| st.tickets.get(&i)) {
        Some(t) => Json(json!({
            "ticket": {
                "id": t.id,
                "url": sim.base_url().join(&format!("api/v2/tickets/{}.json", t.id)).map(|u| u.to_string()).unwrap_or_default(),
                "subject": t.subject,
                "raw_subject": t.subject,
                "description": t.description,
                "status": "new",
                "requester_id": t.requester_id,
                "submitter_id": t.submitter_id,
                "assignee_id": null,
                "collaborator_ids": t.collaborator_ids,
                "email_cc_ids": t.email_cc_ids,
                "follower_ids": t.follower_ids,
                "ticket_form_id": t.ticket_form_id,
                "via": {"channel": t.via},
                "created_at": t.created_at,
                "updated_at": t.created_at,
            }
        }))
        .into_response(),
        None => not_found(),
    }
}

async fn ticket_comments(
    State(sim): State<Sim>,
    Path((id, sub)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if sub != "comments" && sub != "comments.json" {
        return not_found();
    }
    if let Err(r) = gate(&sim, &method, &uri, &headers) {
        return *r;
    }
    let Some(ticket_id) = id_of(&id) else {
        return not_found();
    };
    let st = sim.state();
    let Some(all) = st.comments.get(&ticket_id) else {
        return not_found();
    };
    let size = q
        .get("page[size]")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(MAX_PAGE_SIZE);
    if size == 0 || size > MAX_PAGE_SIZE {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "InvalidPaginationParameter", "description": "page[size] must be between 1 and 100"})),
        )
            .into_response();
    }
    // The cursor is opaque to clients: here, the id of the last comment already seen.
    let start = match q.get("page[after]") {
        None => 0,
        Some(cursor) => {
            let after = URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<u64>().ok());
            match after.and_then(|a| all.iter().position(|c| c.id == a)) {
                Some(pos) => pos + 1,
                None => {
                    return (
                        StatusCode::BAD_REQUEST,
                        Json(json!({"error": "InvalidPaginationParameter", "description": "Invalid cursor"})),
                    )
                        .into_response()
                }
            }
        }
    };
    let page: Vec<_> = all.iter().skip(start).take(size).collect();
    let has_more = start + page.len() < all.len();
    let after_cursor = page
        .last()
        .map(|c| URL_SAFE_NO_PAD.encode(c.id.to_string()));
    let before_cursor = page
        .first()
        .map(|c| URL_SAFE_NO_PAD.encode(c.id.to_string()));
    let next = after_cursor.as_ref().map(|cur| {
        let mut u = sim
            .base_url()
            .join(&format!("api/v2/tickets/{ticket_id}/comments.json"))
            .expect("a relative path joins onto the base URL");
        u.query_pairs_mut()
            .append_pair("page[size]", &size.to_string())
            .append_pair("page[after]", cur);
        u.to_string()
    });
    let comments: Vec<Value> = page
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "type": "Comment",
                "author_id": c.author_id,
                "body": c.body,
                "plain_body": c.body,
                "public": c.public,
                "attachments": [],
            })
        })
        .collect();
    Json(json!({
        "comments": comments,
        "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
        "links": {"next": next, "prev": null},
    }))
    .into_response()
}

/// The Apps API needs a token with `read` or an `apps:` scope; Zendesk answers others `403`.
fn apps_scope(grant: &Grant) -> Result<(), Box<Response>> {
    let allowed = grant
        .scope
        .split_whitespace()
        .any(|s| matches!(s, "read" | "write" | "apps:read" | "apps:write"));
    if allowed {
        return Ok(());
    }
    Err(Box::new(
        (
            StatusCode::FORBIDDEN,
            Json(json!({"error": "Forbidden", "description": "You do not have access to this page. Please contact the account owner of this help desk for further help."})),
        )
            .into_response(),
    ))
}

/// An installation as the Apps API shows it.
fn installation_json(i: &AppInstallation) -> Value {
    json!({
        "id": i.id,
        "app_id": 1,
        "product": "support",
        "enabled": true,
        "paid": false,
        "settings": {"name": "sealdrop", "title": "sealdrop"},
        "created_at": i.created_at,
        "updated_at": i.created_at,
    })
}

/// `GET /api/v2/apps/installations.json`: the account's live installations.
async fn installations(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let grant = match gate(&sim, &method, &uri, &headers) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    if let Err(r) = apps_scope(&grant) {
        return *r;
    }
    let list: Vec<Value> = sim.installations().iter().map(installation_json).collect();
    Json(json!({"installations": list, "next_page": null, "previous_page": null, "count": list.len()}))
        .into_response()
}

/// `GET /api/v2/apps/installations/{id}.json`: one installation (the object itself, no
/// envelope, as Zendesk answers it), `404` once it is uninstalled.
async fn installation(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let grant = match gate(&sim, &method, &uri, &headers) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    if let Err(r) = apps_scope(&grant) {
        return *r;
    }
    let found = id_of(&id).and_then(|id| sim.installations().into_iter().find(|i| i.id == id));
    match found {
        Some(i) => Json(installation_json(&i)).into_response(),
        None => not_found(),
    }
}

/// `DELETE /api/v2/oauth/tokens/current.json` revokes the token making the call.
async fn revoke_token(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let grant = match gate(&sim, &method, &uri, &headers) {
        Ok(g) => g,
        Err(r) => return *r,
    };
    let target = match id.strip_suffix(".json").unwrap_or(&id) {
        "current" => Some(grant.id),
        other => other.parse().ok(),
    };
    let mut st = sim.state();
    match st.grants.iter_mut().find(|g| Some(g.id) == target) {
        Some(g) => {
            g.revoked = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(),
    }
}
