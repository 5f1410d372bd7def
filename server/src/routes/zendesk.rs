//! Zendesk entry points (docs/ZENDESK.md): the sidebar sign-in `POST /zendesk/sidebar`, the
//! admin's API grant `GET /zendesk/oauth/start` and `GET /zendesk/oauth/callback`, and the
//! agent app's static files at `/agent-app/`.
//!
//! The sidebar answer is the agent app page (`sidebar.html` from `SEALDROP_AGENT_APP_DIR`, or a
//! minimal built-in page until the app is there) with three `<meta>` elements the page reads:
//! `sealdrop-status` (`ready`, `setup_required`, `reauthorization_required` or `refused`),
//! `sealdrop-message` (a sentence for the user) and, unless refused, `sealdrop-session` (the
//! `sda_…` token). The page is framed by the tenant's Zendesk only (`frame-ancestors`).

use std::path::{Component, Path as FsPath, PathBuf};

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::agents::{self, AgentContext, GrantStatus, RoleCheck};
use crate::app::AppState;
use crate::error::HttpError;
use crate::zendesk::oauth;
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::signed_url::{self, Expectations, ExpectedAudience, SignedUrlError};
use crate::zendesk::{SecretString, Subdomain};

/// The Zendesk routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/zendesk/sidebar", post(sidebar))
        .route("/zendesk/oauth/start", get(oauth_start).post(oauth_start))
        .route("/zendesk/oauth/callback", get(oauth_callback))
        .route("/agent-app/{*path}", get(agent_app_file))
}

/// The sidebar page's CSP; `frame-ancestors` is appended per tenant.
const SIDEBAR_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
     style-src 'self'; img-src 'self' data:; worker-src 'self'; base-uri 'none'; form-action 'none'";

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
    match sign_in(&state, &token).await {
        Ok(SignIn { subdomain, status, message, session }) => {
            let code = if status == PageStatus::Refused { StatusCode::FORBIDDEN } else { StatusCode::OK };
            page(&state, Some(&subdomain), code, status, &message, session.as_deref()).await
        }
        Err(SignInError::Token(subdomain, e)) => {
            tracing::info!(error = %e, "sidebar sign-in refused");
            let message = format!("Zendesk's sign-in could not be verified ({e}). Reload the app from Zendesk.");
            page(&state, subdomain.as_ref(), StatusCode::UNAUTHORIZED, PageStatus::Refused, &message, None).await
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
        Err(SignInError::Http(subdomain, e)) => {
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

struct SignIn {
    subdomain: Subdomain,
    status: PageStatus,
    message: String,
    session: Option<String>,
}

enum SignInError {
    Token(Option<Subdomain>, SignedUrlError),
    NoKey(Subdomain),
    Http(Option<Subdomain>, HttpError),
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        Self::Http(None, e.into())
    }
}

async fn sign_in(state: &AppState, token: &str) -> Result<SignIn, SignInError> {
    // Only chooses which tenant's expectations to verify against; trusted after `verify`.
    let claimed = signed_url::peek_subdomain(token).map_err(|e| SignInError::Token(None, e))?;
    let tenant = agents::tenant_by_subdomain(&state.db, &claimed).await?;
    let installation = match &tenant {
        Some(t) => agents::installation(&state.db, &t.id).await?,
        None => None,
    };
    let configured = state.zendesk.app_key();
    let (pem, key) = match (configured, &installation) {
        (Some((pem, key)), _) => (pem.clone(), key.clone()),
        (None, Some(inst)) => match signed_url::AppPublicKey::from_pem(&inst.app_public_key) {
            Ok(key) => (inst.app_public_key.clone(), key),
            Err(_) => return Err(SignInError::NoKey(claimed)),
        },
        (None, None) => return Err(SignInError::NoKey(claimed)),
    };
    let audience = match &installation {
        Some(inst) => ExpectedAudience::Installation(inst.installation_id),
        None => ExpectedAudience::AnyInstallation,
    };
    let identity = signed_url::verify(
        token,
        &Expectations {
            key: &key,
            subdomain: &claimed,
            audience,
        },
    )
    .map_err(|e| SignInError::Token(Some(claimed.clone()), e))?;
    let subdomain = identity.subdomain.clone();
    let now = state.clock.now();
    let tenant = match tenant {
        Some(t) => {
            if installation.is_none() {
                agents::record_installation(&state.db, &t.id, identity.installation_id, &pem, now)
                    .await?;
            }
            t
        }
        None => {
            agents::create_tenant(&state.db, &subdomain, identity.installation_id, &pem, now)
                .await?
        }
    };
    let check = agents::check_role(state, &tenant.id, &subdomain, identity.user_id)
        .await
        .map_err(|e| SignInError::Http(Some(subdomain.clone()), e))?;
    let issue = |role: Option<ConfirmedRole>| {
        state
            .zendesk
            .sessions()
            .issue(&subdomain, identity.user_id, identity.installation_id, role)
            .0
    };
    let (status, message, session) = match check {
        RoleCheck::Allowed(role) => (PageStatus::Ready, "Signed in.".to_owned(), Some(issue(Some(role)))),
        RoleCheck::NotAllowed(_) => (
            PageStatus::Refused,
            "Your Zendesk role is not allowed to use sealdrop in this account. Ask your Zendesk admin if you need it."
                .to_owned(),
            None,
        ),
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => (
            PageStatus::ReauthorizationRequired,
            "sealdrop's access to Zendesk stopped working. A Zendesk admin must authorize it again from this app; \
             everyone else: ask your Zendesk admin."
                .to_owned(),
            Some(issue(None)),
        ),
        RoleCheck::NoGrant(_) => (
            PageStatus::SetupRequired,
            "sealdrop is not set up for this Zendesk yet. If you are a Zendesk admin, authorize sealdrop to read \
             users and tickets; otherwise ask your Zendesk admin to open the app first."
                .to_owned(),
            Some(issue(None)),
        ),
    };
    tracing::info!(tenant = %tenant.id, user = identity.user_id, status = status.as_str(), "sidebar sign-in");
    Ok(SignIn {
        subdomain,
        status,
        message,
        session,
    })
}

/// Escapes text for an HTML attribute value or element content.
fn escape(s: &str) -> String {
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

/// The built-in page, until `web/sidebar/sidebar.html` exists.
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

/// The agent session of a request (any verified session, setup sessions included).
pub(crate) async fn bearer_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<AgentContext, HttpError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(crate::zendesk::session::PREFIX))
        .ok_or_else(|| {
            HttpError::Unauthorized(
                "This endpoint needs the agent session: send `Authorization: Bearer sda_…`.".into(),
            )
        })?;
    agents::session_context(state, token).await
}

/// `GET /zendesk/oauth/start` (agent session): begins the grant and answers
/// `{"authorize_url": …}` for the page to open in a new window (a fetch cannot follow a
/// redirect to Zendesk, and the session travels in a header, never in a URL).
///
/// With a working grant only a confirmed admin may start a new one; without one (setup or
/// re-authorization) any signed-in user may start, and the callback accepts the grant only if
/// Zendesk says it was made by an admin.
async fn oauth_start(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let ctx = bearer_session(&state, &headers).await?;
    let subdomain = ctx.session.tenant.clone();
    match agents::check_role(&state, &ctx.tenant.id, &subdomain, ctx.session.user_id).await? {
        RoleCheck::NoGrant(_) | RoleCheck::Allowed(ConfirmedRole::Admin) => {}
        _ => {
            return Err(HttpError::Forbidden(
                "Only a Zendesk admin can authorize sealdrop's access to Zendesk.".into(),
            ))
        }
    }
    let config = state
        .zendesk
        .oauth_config(&state.config.public_url, &subdomain);
    let pending = oauth::begin(&config, &subdomain);
    agents::insert_pending(
        &state,
        &ctx.tenant.id,
        &subdomain,
        &pending,
        ctx.session.user_id,
    )
    .await?;
    Ok(Json(json!({
        "authorize_url": pending.authorize_url.as_str(),
        "expires_in_secs": oauth::PENDING_LIFETIME.as_secs(),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
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
async fn oauth_callback(State(state): State<AppState>, Query(q): Query<CallbackQuery>) -> Response {
    match finish_grant(&state, q).await {
        Ok(()) => callback_page(
            StatusCode::OK,
            "sealdrop can now reach Zendesk",
            "Access is granted. Close this window and reload the sealdrop app in Zendesk.",
        ),
        Err((code, text)) => callback_page(code, "sealdrop was not authorized", &text),
    }
}

async fn finish_grant(state: &AppState, q: CallbackQuery) -> Result<(), (StatusCode, String)> {
    let internal = |e: &dyn std::fmt::Display| {
        tracing::error!(error = %e, "zendesk grant callback failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the sealdrop server; start again from the app.".to_owned(),
        )
    };
    let unknown = || {
        (
            StatusCode::BAD_REQUEST,
            "This authorization is unknown, already used or expired. Start again from the sealdrop app.".to_owned(),
        )
    };
    let raw_state = q
        .state
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(unknown)?;
    let pending = agents::take_pending(state, &raw_state)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(unknown)?;
    if q.error.is_some() {
        return Err((
            StatusCode::FORBIDDEN,
            "Access was not granted in Zendesk. Start again from the app to retry.".into(),
        ));
    }
    let code = q
        .code
        .filter(|c| !c.is_empty() && c.len() <= 1024)
        .ok_or_else(unknown)?;
    let subdomain = agents::subdomain_of(&state.db, &pending.tenant_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(unknown)?;
    let zendesk = &state.zendesk;
    let verifier = zendesk
        .cipher()
        .open_bytes(&subdomain, &pending.verifier_enc)
        .map_err(|e| internal(&e))?;
    let verifier = SecretString::new(String::from_utf8_lossy(&verifier).into_owned());
    let config = zendesk.oauth_config(&state.config.public_url, &subdomain);
    let grant = oauth::exchange_code(zendesk.http(), &config, &subdomain, &code, &verifier)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %subdomain, "zendesk code exchange failed");
            (
                StatusCode::BAD_GATEWAY,
                format!(
                    "Zendesk did not complete the authorization: {e}. Start again from the app."
                ),
            )
        })?;
    // Only an admin's grant is accepted: that is what makes a first visit an admin's set-up.
    let client = crate::zendesk::api::ZendeskClient::new(
        zendesk.http().clone(),
        zendesk.endpoints(&subdomain).base_url(&subdomain),
        grant.access_token.clone(),
    );
    let me = client.me().await.map_err(|e| {
        tracing::warn!(error = %e, %subdomain, "reading the granting user failed");
        (
            StatusCode::BAD_GATEWAY,
            "Zendesk did not say who granted access; start again from the app.".to_owned(),
        )
    })?;
    if crate::zendesk::roles::confirmed_role(&me) != Some(ConfirmedRole::Admin) {
        if let Err(e) = client.revoke_current_token().await {
            tracing::warn!(error = %e, "revoking a non-admin's token failed");
        }
        return Err((
            StatusCode::FORBIDDEN,
            "Only a Zendesk admin can authorize sealdrop. Ask your Zendesk admin to open the app and authorize it.".into(),
        ));
    }
    agents::store_grant(state, &pending.tenant_id, &subdomain, &grant, me.id)
        .await
        .map_err(|e| internal(&e))?;
    let detail = json!({ "granted_by": me.id.to_string(), "started_by": pending.created_by });
    state
        .db
        .audit(
            &pending.tenant_id,
            None,
            "zendesk_granted",
            Some(&detail),
            state.clock.now(),
        )
        .await
        .map_err(|e| internal(&e))?;
    tracing::info!(tenant = %pending.tenant_id, %subdomain, "zendesk grant stored");
    Ok(())
}

// ---- static files ------------------------------------------------------------------------

/// `rel` below `root`, if `rel` is a plain relative path.
fn below(root: &FsPath, rel: &str) -> Option<PathBuf> {
    let rel = FsPath::new(rel);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

async fn agent_app_file(
    State(state): State<AppState>,
    Path(path): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let not_found = || HttpError::NotFound("No such file.".into());
    let file = below(&state.zendesk.config.agent_app_dir, &path).ok_or_else(not_found)?;
    if !tokio::fs::metadata(&file)
        .await
        .map(|m| m.is_file())
        .unwrap_or(false)
    {
        return Err(not_found());
    }
    let response = ServeFile::new(&file)
        .oneshot(req)
        .await
        .map_err(|e| {
            HttpError::Internal(anyhow::Error::new(e).context("serving an agent app file"))
        })?
        .into_response();
    Ok(response)
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

    #[test]
    fn paths_cannot_leave_the_folder() {
        let root = FsPath::new("/srv/app");
        assert_eq!(
            below(root, "sidebar.js"),
            Some(PathBuf::from("/srv/app/sidebar.js"))
        );
        assert_eq!(below(root, "../x"), None);
        assert_eq!(below(root, "/etc/passwd"), None);
    }
}
