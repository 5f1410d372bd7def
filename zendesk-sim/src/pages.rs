//! The pages a browser sees: the simulator's index and the agent ticket page.
//!
//! ## Agent ticket page: `GET /agent/tickets/{id}?as={user_id}`
//! Renders the ticket and the sidebar app the way Zendesk embeds a `signedUrls` app: an
//! iframe named `app_sidebar_{installation_id}` and a hidden `form#zaf-signed-url` that
//! POSTs one field, `token` (the RS256 ZAF JWT for the signed-in user), to
//! `{app_url}?origin={zendesk}&app_guid={guid}` with `target` = the iframe. `as` picks the
//! signed-in user (default: the first active admin, else agent). With the app uninstalled the
//! page shows the ticket without a sidebar. A packaged sidebar (the app folder's manifest
//! points `ticket_sidebar` at `assets/…`) is framed instead from the apps origin with a plain
//! GET ([`crate::app_package`]).
//!
//! ## Help Center
//! The Help Center pages live in [`crate::help_center`].

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;

use crate::Sim;

/// The ZAF host side of the agent ticket page (see `zaf_host.js`).
const ZAF_HOST_JS: &str = include_str!("zaf_host.js");

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/", get(index))
        .route("/agent/tickets/{id}", get(agent_ticket))
        .route("/agent/assets/zaf_host.js", get(zaf_host_js))
}

/// HTML-escapes text for element content and double-quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe to embed inside a `<script type="application/json">` element.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

async fn index(State(sim): State<Sim>) -> Html<String> {
    let tickets: String = sim
        .tickets()
        .iter()
        .map(|t| {
            format!(
                r#"<li><a href="/agent/tickets/{id}">#{id} {subject}</a></li>"#,
                id = t.id,
                subject = escape(&t.subject)
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>{sub}.zendesk.com (simulated)</title></head>
<body><h1>{sub}.zendesk.com (simulated)</h1>
<p><a href="/hc/en-us/requests/new">Help Center: submit a request</a> (Copenhagen theme) ·
<a href="/hc/en-us/requests/new?markup=classic">classic markup</a></p>
<h2>Tickets</h2><ul>{tickets}</ul></body></html>"#,
        sub = escape(sim.subdomain())
    ))
}

async fn agent_ticket(
    State(sim): State<Sim>,
    Path(id): Path<u64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(ticket) = sim.ticket(id) else {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>Ticket not found</h1>".to_string()),
        )
            .into_response();
    };
    let agent = {
        let st = sim.state();
        match q.get("as").and_then(|s| s.parse::<u64>().ok()) {
            Some(uid) => st.users.get(&uid).cloned(),
            None => st
                .users
                .values()
                .find(|u| u.active && u.role == "admin")
                .or_else(|| st.users.values().find(|u| u.active && u.role == "agent"))
                .cloned(),
        }
    };
    let Some(agent) = agent.filter(|u| u.active && !u.suspended && u.role != "end-user") else {
        return (
            StatusCode::FORBIDDEN,
            Html("<h1>Only agents can open the agent workspace</h1>".to_string()),
        )
            .into_response();
    };
    if !sim.is_installed() {
        // Zendesk shows the ticket without the app's sidebar.
        return Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>Ticket #{id} - Agent Workspace (simulated)</title></head>
<body data-ticket-id="{id}"><main><h1 id="ticket-subject">#{id} {subject}</h1>
<p id="no-apps">No apps are installed in the ticket sidebar.</p></main></body></html>"#,
            id = ticket.id,
            subject = escape(&ticket.subject),
        ))
        .into_response();
    }
    let launch = match sim.zaf_launch(agent.id) {
        Ok(l) => l,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let (requester, comments, host_data) = {
        let st = sim.state();
        let comments = st.comments.get(&ticket.id).cloned().unwrap_or_default();
        let host_data = zaf_host_data(&sim, &st, &ticket, &agent, &comments, &launch.app_guid);
        (
            st.users
                .get(&ticket.requester_id)
                .map(|u| u.email.clone())
                .unwrap_or_default(),
            comments,
            host_data,
        )
    };
    let conversation: String = comments
        .iter()
        .map(|c| {
            format!(
                r#"<li class="comment" data-comment-id="{}"><pre>{}</pre></li>"#,
                c.id,
                escape(&c.body)
            )
        })
        .collect();
    let frame = format!("app_sidebar_{}", sim.installation_id());
    // A packaged sidebar (manifest url `assets/…`) is framed from the apps origin with a GET,
    // as Zendesk does; a remote one gets the signed POST.
    let (src, form) = match packaged_sidebar(&sim, &launch.app_guid) {
        Some(url) => (url, String::new()),
        None => (
            "about:blank".to_owned(),
            format!(
                r#"<form id="zaf-signed-url" method="post" action="{action}" target="{frame}" style="display:none">
<input type="hidden" name="token" value="{token}">
</form>
<script>document.getElementById('zaf-signed-url').submit();</script>"#,
                action = escape(launch.app_url.as_str()),
                token = escape(&launch.token),
            ),
        ),
    };
    let page = Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Ticket #{id} - Agent Workspace (simulated)</title>
<style>body{{font-family:sans-serif;margin:0;display:flex}} main{{flex:1;min-width:0;padding:1em}} main pre{{white-space:pre-wrap;overflow-wrap:anywhere}} aside{{flex:none;width:380px;border-left:1px solid #ccc;height:100vh}} iframe{{border:0;width:100%;height:100%}} #ticket-reply{{border:1px solid #ccc;min-height:4em;padding:.5em;margin-bottom:.5em}}</style></head>
<body data-ticket-id="{id}" data-user-id="{uid}">
<main><h1 id="ticket-subject">#{id} {subject}</h1>
<p>Requester: <span id="ticket-requester">{requester}</span> · Signed in as {agent_name} ({role})</p>
<ol id="conversation">{conversation}</ol>
<section id="composer"><h2>Reply</h2><div id="ticket-reply" contenteditable="true" aria-label="Public reply"></div>
<button type="button" id="ticket-submit">Submit as public reply</button></section></main>
<aside><iframe name="{frame}" id="{frame}" title="sealdrop" src="{src}"></iframe></aside>
<script type="application/json" id="zaf-host-data">{host_data}</script>
<script src="/agent/assets/zaf_host.js"></script>
{form}
</body></html>"#,
        id = ticket.id,
        uid = agent.id,
        subject = escape(&ticket.subject),
        requester = escape(&requester),
        agent_name = escape(&agent.name),
        role = escape(&agent.role),
        frame = frame,
        src = escape(&src),
        form = form,
        conversation = conversation,
        host_data = script_json(&host_data),
    ));
    // Zendesk knows who is signed in from its session cookie: the OAuth consent page (opened
    // in a popup, where no `as` can be given) asks that user.
    let cookie = format!(
        "{SIGNED_IN_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        agent.id
    );
    let mut response = page.into_response();
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The cookie that remembers who opened the agent workspace in this browser.
pub(crate) const SIGNED_IN_COOKIE: &str = "zendesk_sim_user";

/// The user of this browser's simulated Zendesk session, if the agent workspace was opened.
pub(crate) fn signed_in_user(headers: &header::HeaderMap) -> Option<u64> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SIGNED_IN_COOKIE)
        .and_then(|(_, v)| v.parse().ok())
}

/// The packaged sidebar's URL on the apps origin, with the `origin` and `app_guid` ZAF adds,
/// when the app folder's manifest points the sidebar at one of its assets.
fn packaged_sidebar(sim: &Sim, app_guid: &str) -> Option<String> {
    let apps = sim.apps_base_url()?;
    let manifest = sim.app_manifest()?;
    if !manifest.sidebar_is_asset() {
        return None;
    }
    let mut url = apps
        .join(&format!(
            "{}/{}",
            sim.installation_id(),
            manifest.sidebar_url
        ))
        .ok()?;
    url.query_pairs_mut()
        .append_pair("origin", sim.base_url().as_str().trim_end_matches('/'))
        .append_pair("app_guid", app_guid);
    Some(url.into())
}

/// What the ZAF host answers `get` with: the ticket as the agent sees it.
fn zaf_host_data(
    sim: &Sim,
    st: &crate::state::State,
    ticket: &crate::Ticket,
    agent: &crate::User,
    comments: &[crate::Comment],
    app_guid: &str,
) -> serde_json::Value {
    let public_settings = {
        let st_settings = sim.settings();
        let secure = sim.app_manifest().map(|m| m.secure).unwrap_or_default();
        let mut map: serde_json::Map<String, serde_json::Value> = st_settings
            .app_settings
            .into_iter()
            .filter(|(name, _)| !secure.contains(name))
            .collect();
        map.entry("sealdrop_url").or_insert_with(|| {
            st_settings
                .sealdrop_url
                .as_str()
                .trim_end_matches('/')
                .into()
        });
        map
    };
    let person = |id: u64| {
        st.users
            .get(&id)
            .map(|u| json!({ "id": u.id, "name": u.name, "email": u.email, "role": u.role }))
    };
    let mut cc_ids: Vec<u64> = ticket
        .collaborator_ids
        .iter()
        .chain(&ticket.email_cc_ids)
        .copied()
        .collect();
    cc_ids.sort_unstable();
    cc_ids.dedup();
    let comments: Vec<_> = comments
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "value": format!("<p>{}</p>", escape(&c.body).replace('\n', "<br>")),
                "public": c.public,
                "author": person(c.author_id),
            })
        })
        .collect();
    let app_origin = match (sim.apps_base_url(), sim.app_manifest()) {
        (Some(apps), Some(m)) if m.sidebar_is_asset() => apps.origin().ascii_serialization(),
        _ => sim.settings().app_url.origin().ascii_serialization(),
    };
    // `st` is the locked state: read the installation from it, not through `sim`.
    let installation = st.current_installation().unwrap_or(st.last_installation_id);
    json!({
        "frame": format!("app_sidebar_{installation}"),
        "appOrigin": app_origin,
        "appGuid": app_guid,
        "installationId": installation,
        "appVersion": "1.0.0",
        // Secure settings never reach the browser.
        "settings": public_settings,
        "ticket": {
            "id": ticket.id,
            "subject": ticket.subject,
            "description": ticket.description,
            "status": "open",
            "requester": person(ticket.requester_id),
            "collaborators": cc_ids.into_iter().filter_map(person).collect::<Vec<_>>(),
            "comments": comments,
        },
        "currentUser": { "id": agent.id, "name": agent.name, "email": agent.email, "role": agent.role },
        "currentAccount": { "subdomain": sim.subdomain() },
    })
}

async fn zaf_host_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        ZAF_HOST_JS,
    )
        .into_response()
}
