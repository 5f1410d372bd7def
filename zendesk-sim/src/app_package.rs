//! The app package as Zendesk hosts it: its assets on an origin of their own, the
//! installation's settings, and the app proxy behind ZAF's `client.request`
//! (docs/ZENDESK.md "Sidebar from the app package").
//!
//! ## Assets: `GET {apps origin}/{installation}/assets/{path}`
//! With an app folder configured ([`crate::SimConfig::app_dir`], the folder `cargo xtask
//! package-app` assembles), the simulator serves the files under its `assets/` on a second
//! listener, as Zendesk serves them from `https://{app id}.apps.zdusercontent.com`: byte for
//! byte, nothing from the sealdrop server. When the manifest's `ticket_sidebar.url` is an
//! `assets/` file, the agent page frames it there (a GET with `origin` and `app_guid`, no
//! signed POST).
//!
//! ## Settings: `POST /sim/app/settings` `{name: value, …}`
//! The installation's settings as the Zendesk admin entered them, secure ones included. The
//! agent page hands the app only the non-secure ones (the manifest's `"secure": true`
//! parameters never reach the browser).
//!
//! ## The proxy: `POST /api/v2/apps/proxy` `{installation_id, options}`
//! What Zendesk's proxy does with a `client.request(options)`, as its documentation states it:
//! - `{{setting.NAME}}` in `url`, `headers`, `data` and the `jwt` options becomes the
//!   setting's value; a secure setting only with `secure: true`, only for a URL whose host
//!   is in the manifest's `domainWhitelist`, and only where its `scopes` allow (`url`,
//!   `header`, `body`, `jwt_secret_key`, `jwt_claim`); otherwise the request is refused (403);
//! - `jwt: {algorithm: "HS256", secret_key, expiry, claims}`: a JWT over the claims plus
//!   `iat` and `exp = iat + expiry`, signed with the substituted `secret_key`, replaces
//!   `{{jwt.token}}` (only HS256 here);
//! - only the headers given are sent, and none whose name has an underscore (Zendesk's
//!   proxies drop them);
//! - the body is text (`data` a string, or an object sent as JSON when `contentType` says
//!   JSON); answers that are not UTF-8 text, or larger than [`MAX_ANSWER`], are refused
//!   (502): the proxy carries no binary files;
//! - the answer is relayed as `{status, status_text, body, content_type}`.

use std::collections::HashSet;
use std::path::{Path as FsPath, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use url::Url;

use crate::Sim;

/// The largest answer the proxy relays.
pub const MAX_ANSWER: usize = 2 * 1024 * 1024;

/// What the simulator reads from the app's `manifest.json`.
#[derive(Debug, Clone, Default)]
pub struct AppManifest {
    /// `location.support.ticket_sidebar.url`.
    pub sidebar_url: String,
    /// `domainWhitelist`.
    pub domain_whitelist: Vec<String>,
    /// Names of the `"secure": true` parameters.
    pub secure: HashSet<String>,
    /// Their `scopes` (where the proxy may insert them: `header`, `body`, `url`,
    /// `jwt_secret_key`, `jwt_claim`, …); a secure parameter without scopes goes anywhere.
    pub scopes: std::collections::HashMap<String, Vec<String>>,
}

impl AppManifest {
    /// Reads `{dir}/manifest.json`.
    pub fn read(dir: &FsPath) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(dir.join("manifest.json"))?;
        let m: Value = serde_json::from_str(&text)?;
        let sidebar = &m["location"]["support"]["ticket_sidebar"];
        let sidebar_url = sidebar
            .as_str()
            .or_else(|| sidebar["url"].as_str())
            .unwrap_or_default()
            .to_owned();
        let domain_whitelist = m["domainWhitelist"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let secure = m["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|p| p["secure"].as_bool() == Some(true))
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let scopes = m["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| {
                        let name = p["name"].as_str()?.to_owned();
                        let list = p["scopes"]
                            .as_array()?
                            .iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect();
                        Some((name, list))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            sidebar_url,
            domain_whitelist,
            secure,
            scopes,
        })
    }

    /// Whether the sidebar is a file of the package (`assets/…`).
    pub fn sidebar_is_asset(&self) -> bool {
        self.sidebar_url.starts_with("assets/")
    }
}

/// The routes on the simulator's own origin.
pub(crate) fn router() -> Router<Sim> {
    Router::new()
        .route("/api/v2/apps/proxy", post(proxy))
        .route("/sim/app/settings", post(set_settings).get(settings_public))
        .route("/sim/app_jwt", post(app_jwt))
}

/// The routes of the apps origin (the second listener).
pub(crate) fn assets_router(sim: Sim) -> Router {
    Router::new()
        .route("/{installation}/assets/{*path}", get(asset))
        .with_state(sim)
}

async fn asset(
    State(sim): State<Sim>,
    Path((installation, path)): Path<(u64, String)>,
) -> Response {
    let live = sim.installations().iter().any(|i| i.id == installation);
    let Some(dir) = sim.app_dir().filter(|_| live) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(file) = below(&dir.join("assets"), &path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type(&file))], bytes).into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `root/path` when `path` stays below `root` (no `..`, no absolute part, no dotfile).
fn below(root: &FsPath, path: &str) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for seg in path.split('/') {
        if seg.is_empty() || seg.starts_with('.') || seg.contains('\\') {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

fn content_type(file: &FsPath) -> &'static str {
    match file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

async fn set_settings(State(sim): State<Sim>, Json(body): Json<Map<String, Value>>) -> StatusCode {
    sim.set_app_settings(body);
    StatusCode::NO_CONTENT
}

/// The settings the browser may see (non-secure ones).
async fn settings_public(State(sim): State<Sim>) -> Json<Value> {
    Json(Value::Object(sim.public_app_settings()))
}

#[derive(Deserialize)]
struct AppJwtRequest {
    user_id: u64,
}

/// `POST /sim/app_jwt {"user_id"}`: the app JWT the proxy signs for the packaged sidebar's
/// sign-in (web/sidebar/signin.js: `iss`, `aud`, `sub`, `installation_id`, a random `jti`,
/// 300 s), with the installation's `shared_secret` setting, for tests that call
/// `POST /zendesk/app/session` without a browser (the schemathesis stage).
async fn app_jwt(State(sim): State<Sim>, Json(r): Json<AppJwtRequest>) -> Response {
    let settings = sim.app_settings();
    let Some(secret) = settings.get("shared_secret").and_then(Value::as_str) else {
        return (
            StatusCode::CONFLICT,
            "the installation has no shared_secret setting",
        )
            .into_response();
    };
    let mut jti = [0u8; 18];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut jti);
    let options = json!({
        "algorithm": "HS256",
        "secret_key": secret,
        "expiry": 300,
        "claims": {
            "iss": format!("{}.zendesk.com", sim.subdomain()),
            "aud": "sealdrop",
            "sub": r.user_id.to_string(),
            "installation_id": sim.installation_id(),
            "jti": hex_of(&jti),
        },
    });
    match make_jwt(&options, &|text: &str, _: &str| Ok(text.to_owned())) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
struct ProxyRequest {
    installation_id: u64,
    options: Value,
}

fn relay_error(status: u16, message: &str) -> Json<Value> {
    Json(json!({
        "status": status,
        "status_text": "error",
        "body": json!({ "error": message }).to_string(),
        "content_type": "application/json",
    }))
}

async fn proxy(State(sim): State<Sim>, Json(req): Json<ProxyRequest>) -> Json<Value> {
    if !sim
        .installations()
        .iter()
        .any(|i| i.id == req.installation_id)
    {
        return relay_error(404, "no such app installation");
    }
    let manifest = sim.app_manifest().unwrap_or_default();
    let settings = sim.app_settings();
    let o = &req.options;
    let secure = o["secure"].as_bool() == Some(true);
    let Some(raw_url) = o["url"].as_str() else {
        return relay_error(400, "url is required");
    };
    // Settings go into the URL first: the host they name decides whether secure ones may go.
    let url_text = match substitute(raw_url, &settings, &manifest, None, "url") {
        Ok(u) => u,
        Err(e) => return relay_error(403, &e),
    };
    let Ok(url) = Url::parse(&url_text) else {
        return relay_error(400, "url is not absolute");
    };
    let whitelisted = url.host_str().is_some_and(|host| {
        manifest
            .domain_whitelist
            .iter()
            .any(|d| d.eq_ignore_ascii_case(host))
    });
    let may_use_secure = secure && whitelisted;
    let sub_in = |text: &str, scope: &str| {
        substitute(text, &settings, &manifest, Some(may_use_secure), scope)
    };

    let token = if o["jwt"].is_object() {
        match make_jwt(&o["jwt"], &sub_in) {
            Ok(t) => Some(t),
            Err(e) => return relay_error(403, &e),
        }
    } else {
        None
    };
    let fill = |text: &str, scope: &str| -> Result<String, String> {
        let text = sub_in(text, scope)?;
        Ok(match &token {
            Some(t) => text.replace("{{jwt.token}}", t),
            None => text,
        })
    };
    // From the text, not the parsed URL, which would have percent-encoded `{{jwt.token}}`.
    let url = match fill(&url_text, "url").map(|u| Url::parse(&u)) {
        Ok(Ok(u)) => u,
        Ok(Err(_)) => return relay_error(400, "url is not absolute"),
        Err(e) => return relay_error(403, &e),
    };
    let method = o["type"].as_str().unwrap_or("GET").to_ascii_uppercase();
    let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return relay_error(400, "type is not an HTTP method");
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a plain reqwest client builds");
    let mut request = client.request(method, url);
    if let Some(headers) = o["headers"].as_object() {
        for (name, value) in headers {
            if name.contains('_') {
                continue;
            }
            let Some(value) = value.as_str() else {
                continue;
            };
            match fill(value, "header") {
                Ok(v) => request = request.header(name.as_str(), v),
                Err(e) => return relay_error(403, &e),
            }
        }
    }
    let content_type = o["contentType"]
        .as_str()
        .unwrap_or("application/x-www-form-urlencoded; charset=UTF-8");
    let body = match &o["data"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other if content_type.contains("json") => Some(other.to_string()),
        _ => return relay_error(400, "data must be text, or JSON with a JSON contentType"),
    };
    if let Some(body) = body {
        match fill(&body, "body") {
            Ok(b) => {
                request = request
                    .header(header::CONTENT_TYPE.as_str(), content_type)
                    .body(b)
            }
            Err(e) => return relay_error(403, &e),
        }
    }
    let answer = match request.send().await {
        Ok(a) => a,
        Err(e) => return relay_error(502, &format!("the proxy could not reach the server: {e}")),
    };
    let status = answer.status();
    let answer_type = answer
        .headers()
        .get(header::CONTENT_TYPE.as_str())
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Ok(bytes) = answer.bytes().await else {
        return relay_error(502, "the server's answer was cut off");
    };
    if bytes.len() > MAX_ANSWER {
        return relay_error(502, "the answer is larger than the proxy relays");
    }
    let Ok(text) = String::from_utf8(bytes.to_vec()) else {
        return relay_error(502, "the proxy relays text only, not binary answers");
    };
    Json(json!({
        "status": status.as_u16(),
        "status_text": status.canonical_reason().unwrap_or_default(),
        "body": text,
        "content_type": answer_type,
    }))
}

/// Replaces `{{setting.NAME}}` found in the request's `scope` (`url`, `header`, `body`,
/// `jwt_secret_key`, `jwt_claim`). A secure setting only when `secure_ok` is `Some(true)` (a
/// secure request to a `domainWhitelist` host; `None`: not known yet, the URL before its host
/// is) and its `scopes`, if any, name `scope`.
fn substitute(
    text: &str,
    settings: &Map<String, Value>,
    manifest: &AppManifest,
    secure_ok: Option<bool>,
    scope: &str,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{{setting.") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "{{setting.".len()..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[at..]);
            return Ok(out);
        };
        let name = &after[..end];
        if manifest.secure.contains(name) {
            if secure_ok != Some(true) {
                return Err(format!(
                    "the secure setting {name} goes only into secure requests to the app's domainWhitelist"
                ));
            }
            if manifest
                .scopes
                .get(name)
                .is_some_and(|scopes| !scopes.iter().any(|s| s == scope))
            {
                return Err(format!(
                    "the secure setting {name} may not be used in the {scope}"
                ));
            }
        }
        let value = match settings.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Signs the `jwt` option's token, as Zendesk's proxy does.
fn make_jwt(
    options: &Value,
    sub: &dyn Fn(&str, &str) -> Result<String, String>,
) -> Result<String, String> {
    let algorithm = options["algorithm"].as_str().unwrap_or("HS256");
    if algorithm != "HS256" {
        return Err(format!(
            "the simulator's proxy signs HS256 only, not {algorithm}"
        ));
    }
    let secret = sub(
        options["secret_key"].as_str().unwrap_or_default(),
        "jwt_secret_key",
    )?;
    if secret.is_empty() {
        return Err("jwt.secret_key is empty".into());
    }
    let expiry = options["expiry"].as_u64().unwrap_or(3600);
    let mut claims = match &options["claims"] {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    for value in claims.values_mut() {
        if let Value::String(s) = value {
            *s = sub(s, "jwt_claim")?;
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    claims.insert("iat".into(), Value::from(now));
    claims.insert("exp".into(), Value::from(now + expiry));
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Value::Object(claims),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("signing failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_settings_go_only_where_allowed() {
        let mut settings = Map::new();
        settings.insert("shared_secret".into(), json!("s3cret"));
        settings.insert("sealdrop_url".into(), json!("https://sd.example"));
        let manifest = AppManifest {
            secure: ["shared_secret".to_owned()].into(),
            scopes: [(
                "shared_secret".to_owned(),
                vec!["jwt_secret_key".to_owned()],
            )]
            .into(),
            ..AppManifest::default()
        };
        let sub = |text: &str, ok: Option<bool>, scope: &str| {
            substitute(text, &settings, &manifest, ok, scope)
        };
        assert_eq!(
            sub("{{setting.sealdrop_url}}/x", None, "url").expect("as expected"),
            "https://sd.example/x"
        );
        assert!(sub("{{setting.shared_secret}}", Some(false), "jwt_secret_key").is_err());
        assert_eq!(
            sub("{{setting.shared_secret}}", Some(true), "jwt_secret_key").expect("as expected"),
            "s3cret"
        );
        assert!(
            sub("Bearer {{setting.shared_secret}}", Some(true), "header").is_err(),
            "a secret scoped to the JWT key never goes into a header"
        );
    }

    #[test]
    fn paths_stay_below_the_assets() {
        let root = FsPath::new("/app/assets");
        assert!(below(root, "sidebar.html").is_some());
        assert!(below(root, "team/store.js").is_some());
        assert!(below(root, "../manifest.json").is_none());
        assert!(below(root, "a//b").is_none());
        assert!(below(root, ".hidden").is_none());
    }
}
