//! OAuth 2.0 authorization code grant with PKCE (S256), as Zendesk serves it.
//!
//! - `GET /oauth/authorizations/new?response_type=code&client_id&redirect_uri&scope&state&code_challenge&code_challenge_method=S256[&as=USER_ID]`
//!   shows a consent page (an Allow button) or, with auto-approve on, redirects at once.
//!   The approving user is `as`, else the user this browser opened the agent workspace as
//!   (its `zendesk_sim_user` cookie, as Zendesk reads its session cookie), else the account's
//!   first admin.
//! - `POST /oauth/authorizations` is the consent form's submission.
//! - `POST /oauth/tokens` (form or JSON): `authorization_code` (checks client, redirect URI,
//!   code expiry and single use, and `BASE64URL(SHA256(code_verifier)) == code_challenge`)
//!   and `refresh_token` (rotates the refresh token).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::pages::escape;
use crate::state::{AuthCode, Grant};
use crate::Sim;

const CODE_LIFETIME: Duration = Duration::from_secs(120);

pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/oauth/authorizations/new", get(authorize_page))
        .route("/oauth/authorizations", post(authorize_decision))
        .route("/oauth/tokens", post(token))
}

fn random_token(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

fn bad_request(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!(
            "<h1>Invalid authorization request</h1><p>{}</p>",
            escape(msg)
        )),
    )
        .into_response()
}

/// Checks an authorization request; returns the approving user id.
fn check_request(sim: &Sim, q: &HashMap<String, String>) -> Result<u64, String> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return Err("response_type must be code".into());
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() < 43 {
        return Err("a S256 code_challenge is required".into());
    }
    let st = sim.state();
    let client = st
        .clients
        .iter()
        .find(|c| c.identifier == get("client_id"))
        .ok_or("unknown client_id")?;
    if !client
        .redirect_uris
        .iter()
        .any(|r| r == get("redirect_uri"))
    {
        return Err("redirect_uri is not registered for this client".into());
    }
    let user_id = match q.get("as").and_then(|s| s.parse::<u64>().ok()) {
        Some(id) => id,
        None => st
            .users
            .values()
            .find(|u| u.role == "admin" && u.active)
            .map(|u| u.id)
            .ok_or("no admin is signed in")?,
    };
    match st.users.get(&user_id) {
        Some(u) if u.active && !u.suspended && (u.role == "admin" || u.role == "agent") => {
            Ok(user_id)
        }
        _ => Err("the signed-in user may not authorize apps".into()),
    }
}

fn approve(sim: &Sim, q: &HashMap<String, String>, user_id: u64) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let code = random_token("");
    sim.state().codes.insert(
        code.clone(),
        AuthCode {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            code_challenge: get("code_challenge"),
            scope: get("scope"),
            user_id,
            expires: Instant::now() + CODE_LIFETIME,
        },
    );
    let mut target = match url::Url::parse(&get("redirect_uri")) {
        Ok(u) => u,
        Err(_) => return bad_request("redirect_uri is not a URL"),
    };
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    Redirect::to(target.as_str()).into_response()
}

async fn authorize_page(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(mut q): Query<HashMap<String, String>>,
) -> Response {
    // Zendesk asks whoever is signed in to Zendesk in this browser.
    if let (false, Some(user)) = (q.contains_key("as"), crate::pages::signed_in_user(&headers)) {
        q.insert("as".into(), user.to_string());
    }
    let user_id = match check_request(&sim, &q) {
        Ok(u) => u,
        Err(e) => return bad_request(&e),
    };
    if sim.settings().auto_approve {
        return approve(&sim, &q, user_id);
    }
    let mut hidden = String::new();
    for k in [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ] {
        hidden.push_str(&format!(
            r#"<input type="hidden" name="{k}" value="{}">"#,
            escape(q.get(k).map(String::as_str).unwrap_or(""))
        ));
    }
    hidden.push_str(&format!(
        r#"<input type="hidden" name="as" value="{user_id}">"#
    ));
    let client = escape(q.get("client_id").map(String::as_str).unwrap_or(""));
    let scope = escape(q.get("scope").map(String::as_str).unwrap_or(""));
    Html(format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Allow access</title></head>
<body><h1>Allow {client} to access your Zendesk account?</h1>
<p>Requested access: <code>{scope}</code></p>
<form method="post" action="/oauth/authorizations">{hidden}
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>"#
    ))
    .into_response()
}

async fn authorize_decision(
    State(sim): State<Sim>,
    Form(q): Form<HashMap<String, String>>,
) -> Response {
    let user_id = match check_request(&sim, &q) {
        Ok(u) => u,
        Err(e) => return bad_request(&e),
    };
    if q.get("decision").map(String::as_str) != Some("allow") {
        let Ok(mut target) =
            url::Url::parse(q.get("redirect_uri").map(String::as_str).unwrap_or(""))
        else {
            return bad_request("redirect_uri is not a URL");
        };
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", q.get("state").map(String::as_str).unwrap_or(""));
        return Redirect::to(target.as_str()).into_response();
    }
    approve(&sim, &q, user_id)
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let params: HashMap<String, String> = if is_json {
        match serde_json::from_slice::<HashMap<String, serde_json::Value>>(&body) {
            Ok(m) => m
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            Err(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "body is not JSON",
                )
            }
        }
    } else {
        match serde_urlencoded_parse(&body) {
            Some(m) => m,
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "body is not a form",
                )
            }
        }
    };
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");

    let mut st = sim.state();
    let Some(client) = st
        .clients
        .iter()
        .find(|c| c.identifier == get("client_id"))
        .cloned()
    else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client");
    };
    if let Some(secret) = &client.secret {
        if get("client_secret") != secret {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        }
    }
    let ttl = st.access_ttl;
    let now = Instant::now();

    let grant = match get("grant_type") {
        "authorization_code" => {
            // Single use: the code is gone whatever happens next.
            let Some(code) = st.codes.remove(get("code")) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            if code.expires < now {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "code expired");
            }
            if code.client_id != client.identifier || code.redirect_uri != get("redirect_uri") {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "client or redirect_uri mismatch",
                );
            }
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(get("code_verifier").as_bytes()));
            if get("code_verifier").len() < 43 || challenge != code.code_challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            let id = st.next_id();
            let grant = Grant {
                id,
                client_id: client.identifier.clone(),
                user_id: code.user_id,
                scope: code.scope,
                access_token: random_token(""),
                access_expires: ttl.map(|t| now + t),
                refresh_token: ttl.map(|_| random_token("")),
                revoked: false,
            };
            st.grants.push(grant.clone());
            grant
        }
        "refresh_token" => {
            let presented = get("refresh_token");
            let Some(g) = st.grants.iter_mut().find(|g| {
                !g.revoked
                    && g.client_id == client.identifier
                    && !presented.is_empty()
                    && g.refresh_token.as_deref() == Some(presented)
            }) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token is invalid, revoked or already used",
                );
            };
            g.access_token = random_token("");
            g.access_expires = ttl.map(|t| now + t);
            g.refresh_token = Some(random_token(""));
            g.clone()
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant_type",
            )
        }
    };
    let mut body = json!({
        "access_token": grant.access_token,
        "token_type": "bearer",
        "scope": grant.scope,
    });
    if let (Some(ttl), Some(rt)) = (ttl, grant.refresh_token) {
        body["expires_in"] = json!(ttl.as_secs());
        body["refresh_token"] = json!(rt);
        body["refresh_token_expires_in"] = json!(30 * 24 * 3600);
    }
    Json(body).into_response()
}

fn serde_urlencoded_parse(body: &[u8]) -> Option<HashMap<String, String>> {
    let s = std::str::from_utf8(body).ok()?;
    Some(
        url::form_urlencoded::parse(s.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}
