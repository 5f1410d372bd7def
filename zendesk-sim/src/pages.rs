//! The pages a browser sees: the agent ticket page and the Help Center request form.
//!
//! ## Agent ticket page: `GET /agent/tickets/{id}?as={user_id}`
//! Renders the ticket and the sidebar app the way Zendesk embeds a `signedUrls` app: an
//! iframe named `app_sidebar_{installation_id}` and a hidden `form#zaf-signed-url` that
//! POSTs one field, `token` (the RS256 ZAF JWT for the signed-in user), to
//! `{app_url}?origin={zendesk}&app_guid={guid}` with `target` = the iframe. `as` picks the
//! signed-in user (default: the first active admin, else agent).
//!
//! ## Help Center "Submit a request": `GET /hc/en-us/requests/new`
//! Two markups, both with the ticket form selector `request[ticket_form_id]` and the sealdrop
//! loader tag `<script src="{sealdrop}/widget/v1/loader.js" data-key="{widget_key}" defer>`:
//!
//! - default: the Copenhagen theme's current React form. `div#new-request-form` is the root a
//!   real React 18 app (bundled from `web/`) renders into. Every field is a controlled
//!   component; the description `textarea` (`data-garden-id="forms.textarea"`, no `name`)
//!   keeps its text in component state, and what is submitted is the hidden input
//!   `request[description]` rendered **from that state**. Setting `textarea.value` without an
//!   event React sees therefore changes nothing that is submitted. Attachments go through a
//!   Garden-like file dropzone (`[data-garden-id="forms.file_upload"]`).
//! - `?markup=classic`: the older template. `form#new_request` posts
//!   `textarea#request_description` (`name="request[description]"`) as it is in the DOM,
//!   with `#upload-dropzone` and `input#request-attachments` for files.
//!
//! Submitting (`POST /hc/en-us/requests`) creates a ticket via `web` whose requester is the
//! end user with `request[anonymous_requester_email]`, then redirects to
//! `/hc/en-us/requests/{id}`, which shows what was stored.

use std::collections::HashMap;

use axum::extract::{Form, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use crate::state::NewTicket;
use crate::Sim;

/// The ZAF host side of the agent ticket page (see `zaf_host.js`).
const ZAF_HOST_JS: &str = include_str!("zaf_host.js");

/// The React bundle of the Copenhagen-style request form (built from `web/`).
const NEW_REQUEST_FORM_JS: &str = include_str!("../web/dist/new-request-form.js");

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/", get(index))
        .route("/agent/tickets/{id}", get(agent_ticket))
        .route("/hc/en-us/requests/new", get(new_request))
        .route("/hc/en-us/requests", post(submit_request))
        .route("/hc/en-us/requests/{id}", get(show_request))
        .route("/hc/assets/new-request-form.js", get(form_bundle))
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
<p><a href="/hc/en-us/requests/new">Help Center: submit a request</a> ·
<a href="/hc/en-us/requests/new?markup=classic">(classic markup)</a></p>
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
    let token = match sim.zaf_token(agent.id) {
        Ok(t) => t,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let (requester, comments, host_data) = {
        let st = sim.state();
        let comments = st.comments.get(&ticket.id).cloned().unwrap_or_default();
        let host_data = zaf_host_data(&sim, &st, &ticket, &agent, &comments);
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
    let action = sim.signed_app_url();
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Ticket #{id} - Agent Workspace (simulated)</title>
<style>body{{font-family:sans-serif;margin:0;display:flex}} main{{flex:1;padding:1em}} aside{{width:380px;border-left:1px solid #ccc;height:100vh}} iframe{{border:0;width:100%;height:100%}} #ticket-reply{{border:1px solid #ccc;min-height:4em;padding:.5em;margin-bottom:.5em}}</style></head>
<body data-ticket-id="{id}" data-user-id="{uid}">
<main><h1 id="ticket-subject">#{id} {subject}</h1>
<p>Requester: <span id="ticket-requester">{requester}</span> · Signed in as {agent_name} ({role})</p>
<ol id="conversation">{conversation}</ol>
<section id="composer"><h2>Reply</h2><div id="ticket-reply" contenteditable="true" aria-label="Public reply"></div>
<button type="button" id="ticket-submit">Submit as public reply</button></section></main>
<aside><iframe name="{frame}" id="{frame}" title="sealdrop" src="about:blank"></iframe></aside>
<form id="zaf-signed-url" method="post" action="{action}" target="{frame}" style="display:none">
<input type="hidden" name="token" value="{token}">
</form>
<script type="application/json" id="zaf-host-data">{host_data}</script>
<script src="/agent/assets/zaf_host.js"></script>
<script>document.getElementById('zaf-signed-url').submit();</script>
</body></html>"#,
        id = ticket.id,
        uid = agent.id,
        subject = escape(&ticket.subject),
        requester = escape(&requester),
        agent_name = escape(&agent.name),
        role = escape(&agent.role),
        frame = frame,
        action = escape(action.as_str()),
        token = escape(&token),
        conversation = conversation,
        host_data = script_json(&host_data),
    ))
    .into_response()
}

/// What the ZAF host answers `get` with: the ticket as the agent sees it.
fn zaf_host_data(
    sim: &Sim,
    st: &crate::state::State,
    ticket: &crate::Ticket,
    agent: &crate::User,
    comments: &[crate::Comment],
) -> serde_json::Value {
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
    let app_url = sim.settings().app_url;
    json!({
        "frame": format!("app_sidebar_{}", sim.installation_id()),
        "appOrigin": app_url.origin().ascii_serialization(),
        "appGuid": format!("sim-{}", sim.installation_id()),
        "installationId": sim.installation_id(),
        "appVersion": "1.0.0",
        "settings": { "sealdrop_url": sim.settings().sealdrop_url.as_str().trim_end_matches('/') },
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

fn loader_tag(sim: &Sim) -> String {
    let s = sim.settings();
    let src = s
        .sealdrop_url
        .join("/widget/v1/loader.js")
        .map(|u| u.to_string())
        .unwrap_or_default();
    format!(
        r#"<script src="{}" data-key="{}" defer></script>"#,
        escape(&src),
        escape(&s.widget_key)
    )
}

async fn new_request(
    State(sim): State<Sim>,
    Query(q): Query<HashMap<String, String>>,
) -> Html<String> {
    let forms = sim.ticket_forms();
    let selected = q
        .get("ticket_form_id")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|id| forms.iter().any(|f| f.id == *id))
        .or_else(|| forms.first().map(|f| f.id))
        .unwrap_or(0);
    let loader = loader_tag(&sim);
    let head = r#"<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">"#;
    if q.get("markup").map(String::as_str) == Some("classic") {
        let options: String = forms
            .iter()
            .map(|f| {
                format!(
                    r#"<option value="{id}"{sel}>{name}</option>"#,
                    id = f.id,
                    sel = if f.id == selected { " selected" } else { "" },
                    name = escape(&f.name)
                )
            })
            .collect();
        return Html(format!(
            r#"<!doctype html><html lang="en-US"><head>{head}<title>Submit a request (classic)</title>{loader}</head>
<body class="request-page"><div class="container"><h1>Submit a request</h1>
<div class="form">
<form id="new_request" class="request-form" action="/hc/en-us/requests" accept-charset="UTF-8" method="post">
<div class="form-field select optional request_ticket_form_id"><label for="request_issue_type_select">Please choose your issue below</label>
<select name="request[ticket_form_id]" id="request_issue_type_select">{options}</select></div>
<div class="form-field string required request_anonymous_requester_email"><label for="request_anonymous_requester_email">Your email address</label>
<input type="email" name="request[anonymous_requester_email]" id="request_anonymous_requester_email" required></div>
<div class="form-field string required request_subject"><label for="request_subject">Subject</label>
<input type="text" name="request[subject]" id="request_subject" maxlength="150" required></div>
<div class="form-field text required request_description"><label for="request_description">Description</label>
<textarea name="request[description]" id="request_description" rows="8" required></textarea>
<p id="request_description_hint">Please enter the details of your request.</p></div>
<div class="form-field"><label for="request-attachments">Attachments</label>
<div id="upload-dropzone" class="upload-dropzone"><input type="file" multiple id="request-attachments" data-fileupload="true" data-dropzone="upload-dropzone">
<span>Add file or drop files here</span></div>
<ul id="request-attachments-pool" class="upload-pool"></ul></div>
<footer><input type="submit" name="commit" value="Submit"></footer>
</form></div></div></body></html>"#
        ));
    }
    let props = json!({
        "action": "/hc/en-us/requests",
        "ticketForms": forms,
        "ticketFormId": selected,
        "locale": "en-US",
    });
    Html(format!(
        r#"<!doctype html><html lang="en-US"><head>{head}<title>Submit a request</title>{loader}</head>
<body class="request-page"><div class="container"><h1>Submit a request</h1>
<div id="new-request-form" class="new-request-form"></div>
<script type="application/json" id="new-request-form-props">{props}</script>
<script src="/hc/assets/new-request-form.js" defer></script>
</div></body></html>"#,
        props = script_json(&props)
    ))
}

async fn form_bundle() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        NEW_REQUEST_FORM_JS,
    )
        .into_response()
}

/// The fields of a submitted request form. Browsers send the classic template's form (which
/// has a file field) as `multipart/form-data` and script-built submissions urlencoded; Zendesk
/// takes both, so the simulator does too.
async fn request_fields(request: Request) -> Result<HashMap<String, String>, Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        let Form(fields) = Form::<HashMap<String, String>>::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)?;
        return Ok(fields);
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let mut fields = HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(IntoResponse::into_response)?
    {
        // File fields (plain attachments) are not kept: the simulator stores text tickets.
        if field.file_name().is_some() {
            continue;
        }
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        let value = field.text().await.map_err(IntoResponse::into_response)?;
        fields.insert(name, value);
    }
    Ok(fields)
}

async fn submit_request(State(sim): State<Sim>, request: Request) -> Response {
    let f = match request_fields(request).await {
        Ok(fields) => fields,
        Err(rejection) => return rejection,
    };
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).unwrap_or_default();
    let email = get("request[anonymous_requester_email]");
    let description = get("request[description]");
    if !email.contains('@') || description.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html("<h1>Please fill in your email address and a description.</h1>".to_string()),
        )
            .into_response();
    }
    let forms = sim.ticket_forms();
    let form_id = get("request[ticket_form_id]")
        .parse::<u64>()
        .ok()
        .filter(|id| forms.iter().any(|f| f.id == *id));
    let subject = Some(get("request[subject]")).filter(|s| !s.is_empty());
    let ticket = {
        let mut st = sim.state();
        let requester = st.end_user_by_email(&email, None);
        st.add_ticket(NewTicket {
            subject,
            description,
            requester_id: requester,
            ticket_form_id: form_id,
            via: Some("web".into()),
            ..NewTicket::default()
        })
    };
    match ticket {
        Ok(t) => Redirect::to(&format!("/hc/en-us/requests/{}", t.id)).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn show_request(State(sim): State<Sim>, Path(id): Path<u64>) -> Response {
    match sim.ticket(id) {
        Some(t) => Html(format!(
            r#"<!doctype html><html><head><meta charset="utf-8"><title>{subject}</title></head>
<body data-ticket-id="{id}"><h1 id="request-subject">{subject}</h1>
<p class="request-submitted">Your request was submitted.</p>
<pre id="request-description">{description}</pre></body></html>"#,
            id = t.id,
            subject = escape(&t.subject),
            description = escape(&t.description),
        ))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html("<h1>Request not found</h1>".to_string()),
        )
            .into_response(),
    }
}
