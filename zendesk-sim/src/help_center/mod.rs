//! The Help Center: the "Submit a request" page in Zendesk's real default theme, the classic
//! markup beside it, and the endpoints the theme's scripts call.
//!
//! ## Pages
//! - `GET /hc/en-us/requests/new`: the **Copenhagen theme** (vendored release, see
//!   [`theme`]): its templates rendered with the objects Help Center gives them, its
//!   `style.css`, and its React request form from the theme's own built bundles, with the
//!   CKEditor 5 description (`wysiwyg: true`, as `new_request_page.hbs` always sets).
//!   `?ticket_form_id=` selects a ticket form (the theme reloads the page with it);
//!   `?as={user_id}` signs an end user in (a `sim_hc_user` cookie; `?as=anonymous` signs out):
//!   signed-in users get no email field and, as on Zendesk, an image button in the editor;
//!   `?colors=dark` serves the theme with dark colour settings.
//! - `?markup=classic`: the older template markup ([`legacy`]), as older and custom themes
//!   render it.
//! - The sealdrop widget's loader tag goes into `document_head` as an admin adds it there.
//!
//! ## Endpoints the theme calls
//! - `GET /api/v2/help_center/sessions.json` → `{current_session: {csrf_token}}` and
//!   `GET /api/v2/users/me.json` (without an OAuth bearer) → `{user: {..., authenticity_token}}`.
//! - `POST /hc/en-us/requests`: the form post. It needs an `authenticity_token` the simulator
//!   handed out (422 otherwise, as Rails answers), then creates a ticket (via `web`) and
//!   redirects to `/hc/en-us/requests/{id}`. An HTML description
//!   (`request[description_mimetype]=text/html`) becomes the ticket's plain-text description.
//! - Upload endpoints, which a protected form must never reach with a file:
//!   `POST /api/v2/uploads.json` (the theme's attachment field), `POST /hc/request_uploads`
//!   (CKEditor images), `POST /api/v2/guide/user_images/uploads`. They answer as Zendesk does
//!   and are recorded.
//! - Every other `/api/v2/help_center/...` call answers an empty result and is recorded.
//!
//! `GET /sim/help_center/log` returns the record ([`crate::state::HelpCenterLog`]).

mod legacy;
pub(crate) mod theme;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde_json::json;

use crate::pages::escape;
use crate::state::{FormPost, NewTicket, UploadAttempt};
use crate::Sim;

use theme::{NewRequestPage, Visitor};

const USER_COOKIE: &str = "sim_hc_user";

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/hc/en-us/requests/new", get(new_request))
        .route("/hc/en-us/requests", post(submit_request))
        .route("/hc/en-us/requests/{id}", get(show_request))
        .route("/hc/theming_assets/{*file}", get(theme_asset))
        .route("/api/v2/help_center/sessions.json", get(session))
        .route("/api/v2/help_center/{*rest}", get(other_api))
        .route("/api/v2/uploads.json", post(upload))
        .route("/hc/request_uploads", post(upload))
        .route("/api/v2/guide/user_images/uploads", post(upload))
        .route("/sim/help_center/log", get(log))
}

/// The signed-in Help Center user from the `sim_hc_user` cookie.
fn visitor(sim: &Sim, headers: &HeaderMap) -> Visitor {
    let id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(USER_COOKIE)?.strip_prefix('='))
        .find_map(|v| v.parse::<u64>().ok());
    match id
        .and_then(|id| sim.user(id))
        .filter(|u| u.active && !u.suspended)
    {
        Some(u) => Visitor::SignedIn {
            id: u.id,
            name: u.name,
        },
        None => Visitor::Anonymous,
    }
}

/// A fresh CSRF token, remembered as valid.
fn csrf_token(sim: &Sim) -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    sim.state().help_center.csrf_tokens.push(token.clone());
    token
}

async fn new_request(
    State(sim): State<Sim>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let forms = sim.ticket_forms();
    let selected = q
        .get("ticket_form_id")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|id| forms.iter().any(|f| f.id == *id))
        .or_else(|| forms.first().map(|f| f.id))
        .unwrap_or(0);
    // `?as=` signs a user in (or out) for this and later pages, like a session cookie.
    let (visitor, cookie) = match q.get("as").map(String::as_str) {
        Some("anonymous") => (
            Visitor::Anonymous,
            Some(format!("{USER_COOKIE}=; Path=/; Max-Age=0")),
        ),
        Some(id) => match id.parse::<u64>().ok().and_then(|id| sim.user(id)) {
            Some(u) => (
                Visitor::SignedIn {
                    id: u.id,
                    name: u.name.clone(),
                },
                Some(format!("{USER_COOKIE}={}; Path=/; SameSite=Lax", u.id)),
            ),
            None => return (StatusCode::NOT_FOUND, Html("<h1>No such user</h1>")).into_response(),
        },
        None => (visitor(&sim, &headers), None),
    };
    let loader = loader_tag(&sim);
    let html = if q.get("markup").map(String::as_str) == Some("classic") {
        legacy::page(&forms, selected, &loader, &csrf_token(&sim))
    } else {
        let page = NewRequestPage {
            help_center_name: &brand_name(sim.subdomain()),
            visitor,
            forms: forms.iter().map(|f| (f.id, f.name.clone())).collect(),
            selected_form: selected,
            dark: q.get("colors").map(String::as_str) == Some("dark"),
            head_extra: loader,
        };
        match theme::render_new_request_page(&page) {
            Ok(html) => html,
            Err(e) => {
                tracing::error!("rendering the Copenhagen templates: {e}");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("template error: {e}"),
                )
                    .into_response();
            }
        }
    };
    let mut response = Html(html).into_response();
    if let Some(cookie) = cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The brand's name: the subdomain, capitalised (`acme` → `Acme`).
fn brand_name(subdomain: &str) -> String {
    let mut chars = subdomain.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The loader tag an admin pastes into `document_head.hbs`: the snippet a test set, or the
/// plain tag with the widget key.
fn loader_tag(sim: &Sim) -> String {
    let s = sim.settings();
    if let Some(tag) = &s.loader_tag {
        return tag.clone();
    }
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

async fn theme_asset(
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if file == "style.css" {
        let dark = q.get("colors").map(String::as_str) == Some("dark");
        return (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
            theme::compiled_style_css(dark),
        )
            .into_response();
    }
    match theme::asset_file(&file) {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn session(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!({ "current_session": { "csrf_token": csrf_token(&sim) } }))
}

/// `GET /api/v2/users/me.json` from a Help Center page (no OAuth bearer): the session's user.
pub(crate) fn session_user(sim: &Sim, headers: &HeaderMap) -> Response {
    let token = csrf_token(sim);
    let user = match visitor(sim, headers) {
        Visitor::Anonymous => {
            json!({ "id": null, "role": "anonymous", "authenticity_token": token })
        }
        Visitor::SignedIn { id, name } => {
            json!({ "id": id, "name": name, "role": "end-user", "authenticity_token": token })
        }
    };
    Json(json!({ "user": user })).into_response()
}

async fn other_api(State(sim): State<Sim>, uri: Uri) -> Json<serde_json::Value> {
    let line = format!(
        "GET {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    sim.state().help_center.api_calls.push(line);
    Json(json!({ "results": [] }))
}

async fn upload(
    State(sim): State<Sim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = format!(
        "{method} {}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
    );
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    tracing::warn!(
        "a file reached a Zendesk upload endpoint: {request} ({} bytes)",
        body.len()
    );
    let id = {
        let mut st = sim.state();
        st.help_center.uploads.push(UploadAttempt {
            request,
            content_type,
            bytes: body.len(),
        });
        st.next_id()
    };
    let token = format!("upload_{id}");
    let url = format!("{}hc/request_uploads/{token}", sim.base_url());
    match uri.path() {
        "/hc/request_uploads" => Json(json!({ "url": url, "token": token })).into_response(),
        "/api/v2/guide/user_images/uploads" => Json(json!({ "errors": [{ "title": "user images are not simulated" }] })).into_response(),
        _ => (
            StatusCode::CREATED,
            Json(json!({ "upload": { "token": token, "attachment": { "file_name": "upload", "content_url": url } } })),
        )
            .into_response(),
    }
}

async fn log(State(sim): State<Sim>) -> Json<serde_json::Value> {
    Json(json!(sim.state().help_center))
}

/// The fields of a submitted request form, in order. Browsers send a form with a file field as
/// `multipart/form-data` and others urlencoded; Zendesk takes both, so the simulator does too.
async fn request_fields(request: Request) -> Result<Vec<(String, String)>, Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, &())
            .await
            .map_err(IntoResponse::into_response)?;
        return Ok(fields);
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(IntoResponse::into_response)?;
    let mut fields = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(IntoResponse::into_response)?
    {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        match field.file_name().map(str::to_string) {
            Some(file) => {
                let bytes = field.bytes().await.map_err(IntoResponse::into_response)?;
                if !file.is_empty() || !bytes.is_empty() {
                    fields.push((name, format!("<file {file}, {} bytes>", bytes.len())));
                }
            }
            None => fields.push((
                name,
                field.text().await.map_err(IntoResponse::into_response)?,
            )),
        }
    }
    Ok(fields)
}

async fn submit_request(State(sim): State<Sim>, headers: HeaderMap, request: Request) -> Response {
    let fields = match request_fields(request).await {
        Ok(fields) => fields,
        Err(rejection) => return rejection,
    };
    let visitor = visitor(&sim, &headers);
    let (status, error, ticket_id) = create_ticket(&sim, &fields, &visitor);
    sim.state().help_center.posts.push(FormPost {
        fields,
        status: status.as_u16(),
        error: error.clone(),
        ticket_id,
    });
    match (ticket_id, error) {
        (Some(id), _) => Redirect::to(&format!("/hc/en-us/requests/{id}")).into_response(),
        (None, error) => (
            status,
            Html(format!(
                "<h1>The request was not submitted</h1><p class=\"error\">{}</p>",
                escape(&error.unwrap_or_default())
            )),
        )
            .into_response(),
    }
}

fn create_ticket(
    sim: &Sim,
    fields: &[(String, String)],
    visitor: &Visitor,
) -> (StatusCode, Option<String>, Option<u64>) {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let refuse = |status: StatusCode, why: &str| (status, Some(why.to_string()), None);
    let token = get("authenticity_token");
    if token.is_empty() || !sim.state().help_center.csrf_tokens.contains(&token) {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid authenticity token (the form did not fetch a CSRF token)",
        );
    }
    let raw_description = get("request[description]");
    let description = if get("request[description_mimetype]") == "text/html" {
        html_to_text(&raw_description)
    } else {
        raw_description
    };
    if description.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Description: cannot be blank",
        );
    }
    let requester = match visitor {
        Visitor::SignedIn { id, .. } => *id,
        Visitor::Anonymous => {
            let email = get("request[anonymous_requester_email]");
            if !email.contains('@') {
                return refuse(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Your email address: is invalid",
                );
            }
            sim.state().end_user_by_email(&email, None)
        }
    };
    let forms = sim.ticket_forms();
    let form_id = get("request[ticket_form_id]")
        .parse::<u64>()
        .ok()
        .filter(|id| forms.iter().any(|f| f.id == *id));
    let subject = Some(get("request[subject]")).filter(|s| !s.is_empty());
    let ticket = sim.state().add_ticket(NewTicket {
        subject,
        description,
        requester_id: requester,
        ticket_form_id: form_id,
        via: Some("web".into()),
        ..NewTicket::default()
    });
    match ticket {
        Ok(t) => (StatusCode::FOUND, None, Some(t.id)),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// The plain text of a rich-text description, as Zendesk keeps beside its HTML: paragraphs
/// and line breaks become newlines, tags go, entities are decoded.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        match name {
            "br" => text.push('\n'),
            "p" | "div" | "li" | "h1" | "h2" | "h3" | "h4" | "pre" | "blockquote"
                if tag.starts_with('/') =>
            {
                text.push_str("\n\n")
            }
            _ => {}
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    let decoded = text
        .replace("&nbsp;", "\u{a0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let lines: Vec<&str> = decoded.lines().map(str::trim_end).collect();
    let mut out = lines.join("\n");
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim().to_string()
}

async fn show_request(State(sim): State<Sim>, Path(id): Path<u64>) -> Response {
    match sim.ticket(id) {
        Some(t) => Html(format!(
            r#"<!doctype html><html lang="en-US"><head><meta charset="utf-8"><title>{subject}</title></head>
<body data-ticket-id="{id}"><h1 id="request-subject">{subject}</h1>
<p class="request-submitted">Your request was submitted.</p>
<pre id="request-description">{description}</pre></body></html>"#,
            id = t.id,
            subject = escape(&t.subject),
            description = escape(&t.description),
        ))
        .into_response(),
        None => (StatusCode::NOT_FOUND, Html("<h1>Request not found</h1>".to_string())).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn an_html_description_becomes_its_text() {
        assert_eq!(
            html_to_text("<p>Hello &amp; welcome,</p><p>line one<br>line two</p><p>Link: <a href=\"https://x/p/a#b\">https://x/p/a#b</a></p>"),
            "Hello & welcome,\n\nline one\nline two\n\nLink: https://x/p/a#b"
        );
        assert_eq!(html_to_text("plain text"), "plain text");
    }
}
