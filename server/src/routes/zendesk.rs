//! Zendesk entry points (docs/ZENDESK.md): the sidebar sign-in `POST /zendesk/sidebar`, the
//! admin's API grant `GET /zendesk/oauth/start` and `GET /zendesk/oauth/callback`, and the
//! agent app's static files at `/agent-app/`.
//!
//! The sidebar answer is the agent app page (`sidebar.html` from `SEALDROP_AGENT_APP_DIR`, or a
//! minimal built-in page until the app is there) with three `<meta>` elements the page reads:
//! `sealdrop-status` (`ready`, `setup_required`, `reauthorization_required` or `refused`),
//! `sealdrop-message` (a sentence for the user) and, unless refused, `sealdrop-session` (the
//! `sda_…` token). The page is framed by the tenant's Zendesk only (`frame-ancestors`).

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sealdrop_api::zendesk::{
    AppSession, AppSessionRequest, CallbackQuery, IdentifyQuery, OAuthStarted,
};

use crate::agents::app_identity::{self, AppProof, IdentifyError};
use crate::agents::{self, AppSignIn, GrantRequest, RoleCheck, SignInError, SignedIn};
use crate::db::GrantStatus;
use crate::html::escape;
use crate::http::auth::AgentSession;
use crate::http::files::{self, below};
use crate::http::HttpError;
use crate::state::AppState;
use crate::zendesk::oauth;
use crate::zendesk::Subdomain;

/// The Zendesk routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/zendesk/sidebar", post(sidebar))
        .route("/zendesk/app/session", post(app_session))
        .route("/zendesk/app/identify", get(app_identify))
        .route("/zendesk/oauth/start", get(oauth_start).post(oauth_start))
        .route("/zendesk/oauth/callback", get(oauth_callback))
        .route("/agent-app/{*path}", get(agent_app_file))
}

/// The sidebar page's CSP; `frame-ancestors` is appended per tenant.
/// `frame-src 'self'`: a download through the service worker is a hidden frame of this origin.
const SIDEBAR_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; worker-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'";

/// Longest credential or claim in a packaged sidebar's sign-in (they are 43 characters).
const MAX_PROOF_LEN: usize = 128;

/// Largest sign-in form accepted.
const MAX_SIDEBAR_FORM: usize = 16 * 1024;

/// What the sidebar page is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PageStatus {
    Ready,
    SetupRequired,
    ReauthorizationRequired,
    Refused,
}

impl PageStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::SetupRequired => "setup_required",
            Self::ReauthorizationRequired => "reauthorization_required",
            Self::Refused => "refused",
        }
    }
}

/// `POST /zendesk/sidebar` (form field `token`): the ZAF signed URL sign-in.
async fn sidebar(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let token = form_token(&headers, &body);
    let Some(token) = token else {
        return page(
            &state,
            None,
            StatusCode::BAD_REQUEST,
            PageStatus::Refused,
            "This page is opened by Zendesk: open a ticket in Zendesk and use the sealdrop app there.",
            None,
        )
        .await;
    };
    match agents::sign_in(&state.db, &state.zendesk, &token, state.clock.now()).await {
        Ok(signed_in) => {
            let (status, message) = page_status(&signed_in);
            tracing::info!(tenant = %signed_in.tenant_id, user = signed_in.user_id, status = status.as_str(), "sidebar sign-in");
            let code = if status == PageStatus::Refused { StatusCode::FORBIDDEN } else { StatusCode::OK };
            page(&state, Some(&signed_in.subdomain), code, status, message, signed_in.session.as_deref()).await
        }
        Err(SignInError::Token(subdomain, e)) => {
            tracing::info!(error = %e, "sidebar sign-in refused");
            let message = format!("Zendesk's sign-in could not be verified ({e}). Reload the app from Zendesk.");
            page(&state, subdomain.as_ref(), StatusCode::UNAUTHORIZED, PageStatus::Refused, &message, None).await
        }
        Err(SignInError::Replayed(subdomain)) => {
            tracing::info!("sidebar sign-in refused: token already used");
            let message = "This Zendesk sign-in was already used once, and each is good for one session. \
                           Reload the app from Zendesk (reloading only this frame sends the same one again).";
            page(&state, Some(&subdomain), StatusCode::UNAUTHORIZED, PageStatus::Refused, message, None).await
        }
        Err(SignInError::NoKey(subdomain)) => page(
            &state,
            Some(&subdomain),
            StatusCode::SERVICE_UNAVAILABLE,
            PageStatus::Refused,
            "This sealdrop server has no Zendesk app public key configured (SEALDROP_ZENDESK_APP_PUBLIC_KEY); ask its operator.",
            None,
        )
        .await,
        Err(SignInError::AppToken(subdomain, e)) => {
            let message = format!("Zendesk's sign-in could not be verified ({e}). Reload the app from Zendesk.");
            page(&state, subdomain.as_ref(), StatusCode::UNAUTHORIZED, PageStatus::Refused, &message, None).await
        }
        Err(SignInError::NoAppSecret(subdomain)) => page(
            &state,
            Some(&subdomain),
            StatusCode::NOT_FOUND,
            PageStatus::Refused,
            "This Zendesk account has no sealdrop app secret yet; ask the sealdrop operator.",
            None,
        )
        .await,
        Err(SignInError::Agent(subdomain, e)) => {
            let e = HttpError::from(e);
            let status = e.status();
            let message = match &e {
                HttpError::Internal(err) => {
                    tracing::error!(error = ?err, "sidebar sign-in failed");
                    "Something went wrong on the sealdrop server; please reload the app.".to_owned()
                }
                other => other.to_string(),
            };
            page(&state, subdomain.as_ref(), status, PageStatus::Refused, &message, None).await
        }
    }
}

/// `POST /zendesk/app/session` (`Authorization: Bearer <app JWT>`): the sign-in of the sidebar
/// served from the app package, through Zendesk's proxy (docs/ZENDESK.md "Sidebar from the app
/// package"). Answers what the server-rendered page carried in its `<meta>` elements, as JSON.
///
/// The body (JSON, optional) carries what proves the user ([`AppSessionRequest`]); without a
/// working credential the answer is `identify` with the popup's URL until the user approved.
async fn app_session(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return HttpError::Unauthorized(
            "An app JWT is required (Authorization: Bearer …), signed by Zendesk's app proxy."
                .into(),
        )
        .into_response();
    };
    let request = if body.is_empty() {
        AppSessionRequest::default()
    } else {
        // An object only: serde would also read a struct from a JSON array (`[null, null]`).
        let parsed = serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| e.to_string())
            .and_then(|v| match v {
                serde_json::Value::Object(_) => {
                    serde_json::from_value::<AppSessionRequest>(v).map_err(|e| e.to_string())
                }
                _ => Err("a JSON object is expected".to_owned()),
            })
            .and_then(|r| {
                let too_long = [&r.credential, &r.claim]
                    .into_iter()
                    .flatten()
                    .any(|s| s.len() > MAX_PROOF_LEN);
                if too_long {
                    Err(format!(
                        "credential and claim are at most {MAX_PROOF_LEN} characters"
                    ))
                } else {
                    Ok(r)
                }
            });
        match parsed {
            Ok(r) => r,
            Err(e) => {
                return HttpError::BadRequest(format!("The sign-in body is not valid: {e}."))
                    .into_response()
            }
        }
    };
    let proof = AppProof {
        credential: request.credential,
        claim: request.claim,
    };
    let now = state.clock.now();
    match agents::sign_in_app(&state.db, &state.zendesk, token, &proof, now).await {
        Ok(AppSignIn::Unproven { identify_path }) => {
            let message = if identify_path.is_some() {
                "sealdrop asks Zendesk who you are, once in this browser. Press Confirm and approve in the window that opens."
            } else {
                "This sign-in request was already used or has expired; the app makes a new one."
            };
            no_store(
                (
                    StatusCode::OK,
                    Json(AppSession {
                        status: "identify".to_owned(),
                        message: message.to_owned(),
                        session: None,
                        credential: None,
                        identify_path,
                    }),
                )
                    .into_response(),
            )
        }
        Ok(AppSignIn::SignedIn {
            signed_in,
            new_credential,
        }) => {
            let (status, message) = page_status(&signed_in);
            tracing::info!(tenant = %signed_in.tenant_id, user = signed_in.user_id, status = status.as_str(), "app sign-in");
            let code = if status == PageStatus::Refused {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            no_store(
                (
                    code,
                    Json(AppSession {
                        status: status.as_str().to_owned(),
                        message: message.to_owned(),
                        session: signed_in.session,
                        credential: new_credential.map(|c| c.expose().to_owned()),
                        identify_path: None,
                    }),
                )
                    .into_response(),
            )
        }
        Err(SignInError::AppToken(_, e)) => {
            tracing::info!(error = %e, "app sign-in refused");
            HttpError::Unauthorized(format!("Zendesk's sign-in could not be verified ({e})."))
                .into_response()
        }
        Err(SignInError::Token(_, e)) => {
            tracing::info!(error = %e, "app sign-in refused");
            HttpError::Unauthorized(format!("Zendesk's sign-in could not be verified ({e})."))
                .into_response()
        }
        Err(SignInError::Replayed(_)) => HttpError::Unauthorized(
            "This Zendesk sign-in was already used once; reload the app.".into(),
        )
        .into_response(),
        Err(SignInError::NoAppSecret(_) | SignInError::NoKey(_)) => HttpError::NotFound(
            "This Zendesk account has no sealdrop app secret yet; ask the sealdrop operator."
                .into(),
        )
        .into_response(),
        Err(SignInError::Agent(_, e)) => HttpError::from(e).into_response(),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /zendesk/app/identify?claim=<hash>` (a popup the packaged sidebar opens): sends the
/// browser to Zendesk's consent page for a pending claim; Zendesk returns to
/// `/zendesk/oauth/callback`, which proves the claim when Zendesk names the user the app JWT
/// named ([`app_identity`]).
async fn app_identify(
    State(state): State<AppState>,
    query: Result<Query<IdentifyQuery>, QueryRejection>,
) -> Response {
    let claim = query.map(|Query(q)| q.claim).unwrap_or_default();
    match app_identity::start(&state.db, &state.zendesk, &claim, state.clock.now()).await {
        Ok(url) => no_store(axum::response::Redirect::to(url.as_str()).into_response()),
        Err(e) => identify_failed(e),
    }
}

fn identify_failed(e: IdentifyError) -> Response {
    if let IdentifyError::Internal(err) = &e {
        tracing::error!(error = %err, "identity proof failed");
    }
    callback_page(
        e.status(),
        "sealdrop could not confirm who you are",
        &e.to_string(),
    )
}

/// What the sidebar page is told after a verified sign-in.
fn page_status(signed_in: &SignedIn) -> (PageStatus, &'static str) {
    match signed_in.check {
        RoleCheck::Allowed(_) => (PageStatus::Ready, "Signed in."),
        RoleCheck::NotAllowed(_) => (
            PageStatus::Refused,
            "Your Zendesk role is not allowed to use sealdrop in this account. Ask your Zendesk admin if you need it.",
        ),
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => (
            PageStatus::ReauthorizationRequired,
            "sealdrop's access to Zendesk stopped working. A Zendesk admin must authorize it again from this app; \
             everyone else: ask your Zendesk admin.",
        ),
        RoleCheck::NoGrant(_) => (
            PageStatus::SetupRequired,
            "sealdrop is not set up for this Zendesk yet. If you are a Zendesk admin, authorize sealdrop to read \
             users and tickets; otherwise ask your Zendesk admin to open the app first.",
        ),
    }
}

fn form_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form || body.len() > MAX_SIDEBAR_FORM {
        return None;
    }
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty())
}

/// The built-in page, until `agent-app/assets/sidebar.html` exists.
const FALLBACK_SIDEBAR: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<title>sealdrop</title>\n</head>\n<body>\n<main>\n<h1>sealdrop</h1>\n<p id=\"sealdrop-message\"></p>\n</main>\n</body>\n</html>\n";

async fn page(
    state: &AppState,
    subdomain: Option<&Subdomain>,
    code: StatusCode,
    status: PageStatus,
    message: &str,
    session: Option<&str>,
) -> Response {
    let path = state.zendesk.config.agent_app_dir.join("sidebar.html");
    let template = match tokio::fs::read_to_string(&path).await {
        Ok(html) => html,
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, path = %path.display(), "cannot read the sidebar page; using the built-in one");
            }
            FALLBACK_SIDEBAR.to_owned()
        }
    };
    let mut metas = format!(
        "<meta name=\"sealdrop-status\" content=\"{}\">\n<meta name=\"sealdrop-message\" content=\"{}\">\n",
        status.as_str(),
        escape(message)
    );
    if let Some(session) = session {
        metas.push_str(&format!(
            "<meta name=\"sealdrop-session\" content=\"{}\">\n",
            escape(session)
        ));
    }
    let mut html = match template.find("</head>") {
        Some(at) => {
            let mut html = template.clone();
            html.insert_str(at, &metas);
            html
        }
        None => format!("{metas}{template}"),
    };
    // The built-in page shows the message itself (it has no script to do it).
    html = html.replacen(
        "<p id=\"sealdrop-message\"></p>",
        &format!("<p id=\"sealdrop-message\">{}</p>", escape(message)),
        1,
    );
    let ancestors =
        subdomain.map_or_else(|| "'none'".to_owned(), |s| state.zendesk.frame_ancestors(s));
    let csp = format!("{SIDEBAR_CSP}; frame-ancestors {ancestors}");
    let mut response = (code, Html(html)).into_response();
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ---- the admin's grant -------------------------------------------------------------------

/// `GET /zendesk/oauth/start` (agent session): begins the grant and answers
/// `{"authorize_url": …}` for the page to open in a new window (a fetch cannot follow a
/// redirect to Zendesk, and the session travels in a header, never in a URL).
///
/// With a working grant only a confirmed admin may start a new one; without one (setup or
/// re-authorization) any signed-in user may start, and the callback accepts the grant only if
/// Zendesk says it was made by an admin.
async fn oauth_start(
    State(state): State<AppState>,
    AgentSession(ctx): AgentSession,
) -> Result<Response, HttpError> {
    let url = agents::start_grant(&state.db, &state.zendesk, &ctx, state.clock.now()).await?;
    Ok(Json(OAuthStarted {
        authorize_url: url.as_str().to_owned(),
        expires_in_secs: oauth::PENDING_LIFETIME.as_secs(),
    })
    .into_response())
}

fn callback_page(code: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>sealdrop: {t}</title></head>\n\
         <body><main><h1>{t}</h1><p>{x}</p></main></body></html>\n",
        t = escape(title),
        x = escape(text)
    );
    (code, Html(html)).into_response()
}

/// `GET /zendesk/oauth/callback?code&state`: finishes the grant (browser page).
async fn oauth_callback(
    State(state): State<AppState>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    // A query axum cannot read (a parameter given twice) is this page's 400 too, not axum's
    // plain-text answer.
    let Ok(Query(q)) = query else {
        return callback_page(
            StatusCode::BAD_REQUEST,
            "sealdrop was not authorized",
            "The address of this page is malformed. Start again from the sealdrop app.",
        );
    };
    // A packaged sidebar's identity claim, or else the admin's grant.
    if let Some(raw_state) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    {
        let now = state.clock.now();
        let declined = q.error.is_some();
        match app_identity::finish(&state.db, &state.zendesk, raw_state, q.code.as_deref(), declined, now).await {
            Ok(name) => {
                return callback_page(
                    StatusCode::OK,
                    "sealdrop knows who you are",
                    &format!(
                        "The sealdrop app in the browser where you pressed Confirm is signed in as {name}. \
                         Close this window; the app goes on by itself. If you did not just press Confirm \
                         in the sealdrop app, tell your Zendesk admin."
                    ),
                )
            }
            Err(IdentifyError::NotAClaim) => {}
            Err(e) => return identify_failed(e),
        }
    }
    let request = GrantRequest {
        code: q.code,
        state: q.state,
        error: q.error,
    };
    match agents::finish_grant(&state.db, &state.zendesk, request, state.clock.now()).await {
        Ok(()) => callback_page(
            StatusCode::OK,
            "sealdrop can now reach Zendesk",
            "Access is granted. Close this window and reload the sealdrop app in Zendesk.",
        ),
        Err(e) => {
            if let agents::GrantError::Internal(err) = &e {
                tracing::error!(error = %err, "zendesk grant callback failed");
            }
            callback_page(e.status(), "sealdrop was not authorized", &e.to_string())
        }
    }
}

// ---- static files ------------------------------------------------------------------------

async fn agent_app_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let file = below(&state.zendesk.config.agent_app_dir, &path);
    files::serve(file, req, "No such file.").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_form_only() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert_eq!(form_token(&h, b"token=a.b.c&x=1").as_deref(), Some("a.b.c"));
        assert_eq!(form_token(&h, b"token="), None);
        assert_eq!(form_token(&HeaderMap::new(), b"token=a.b.c"), None);
    }
}
