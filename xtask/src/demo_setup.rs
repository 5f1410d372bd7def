//! Connects the demo's sealdrop server to the demo's Zendesk simulator, the way an admin
//! would by clicking, so that the Help Center page works from the first minute:
//!
//! 1. the simulator's admin opens the sidebar (a signed ZAF token POSTed to `/zendesk/sidebar`),
//!    which creates the tenant and gives a setup session;
//! 2. the admin grants API access (OAuth with PKCE; the demo simulator auto-approves);
//! 3. the admin adds the simulator's origin to the Help Center origins;
//! 4. the simulator's Help Center pages are given the tenant's widget key.
//!
//! The `schemathesis` test stage does the same to get an agent session and a widget key.
//!
//! Everything talks to 127.0.0.1 only, so a minimal HTTP/1.0 client over `TcpStream` does
//! (HTTP/1.0 keeps answers unchunked) and xtask needs no HTTP crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// What the admin's first steps leave: the tenant's widget key, and the admin's sidebar
/// session (`sda_…`, an hour), made after the grant so its role is confirmed.
#[derive(Debug)]
pub struct Connected {
    pub widget_key: String,
    pub admin_session: String,
}

/// Runs the admin's first steps.
pub fn connect(server_url: &str, sim_url: &str) -> Result<Connected> {
    let admin = admin_user(sim_url)?;

    // 1. Sidebar sign-in: creates the tenant; before any grant this is a setup session.
    let session = sidebar_session(server_url, sim_url, admin)?;
    // 2. The API-access grant.
    let start = request(
        "GET",
        &format!("{server_url}/zendesk/oauth/start"),
        &[("Authorization", &format!("Bearer {session}"))],
        None,
    )?;
    let start: Value =
        serde_json::from_str(&start.body).context("oauth/start did not answer JSON")?;
    let authorize = start["authorize_url"]
        .as_str()
        .context("oauth/start gave no authorize_url")?;
    let approved = request("GET", authorize, &[], None)?;
    let callback = approved
        .location
        .context("the simulator did not redirect back to sealdrop (is --auto-approve on?)")?;
    let done = request("GET", &callback, &[], None)?;
    if done.status != 200 {
        bail!("the OAuth callback answered {}: {}", done.status, done.body);
    }
    // 3. With the grant in place, a new sign-in is a full admin session.
    let session = sidebar_session(server_url, sim_url, admin)?;
    let auth = format!("Bearer {session}");
    let body = json!({ "help_center_origins": [sim_url] }).to_string();
    let put = request(
        "PUT",
        &format!("{server_url}/api/v1/settings"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(&body),
    )?;
    if put.status != 200 {
        bail!(
            "saving the Help Center origin answered {}: {}",
            put.status,
            put.body
        );
    }
    let settings = request(
        "GET",
        &format!("{server_url}/api/v1/settings"),
        &[("Authorization", &auth)],
        None,
    )?;
    let settings: Value = serde_json::from_str(&settings.body).context("settings were not JSON")?;
    let widget_key = settings["widget_key"]
        .as_str()
        .context("no widget_key in the settings")?
        .to_string();
    // 4. The Help Center pages carry the tenant's key in their loader tag.
    let body = json!({ "widget_key": widget_key }).to_string();
    let patched = request(
        "PATCH",
        &format!("{sim_url}/sim/settings"),
        &[("Content-Type", "application/json")],
        Some(&body),
    )?;
    if patched.status / 100 != 2 {
        bail!("the simulator refused the widget key: {}", patched.status);
    }
    Ok(Connected {
        widget_key,
        admin_session: session,
    })
}

/// The simulator's admin user.
/// Puts the app's shared secret in the simulated installation's settings
/// (`POST /sim/app/settings`), as the Zendesk admin does in the app's settings page.
pub fn set_app_secret(sim_url: &str, secret: &str) -> Result<()> {
    let body = json!({ "shared_secret": secret }).to_string();
    let done = request(
        "POST",
        &format!("{sim_url}/sim/app/settings"),
        &[("Content-Type", "application/json")],
        Some(&body),
    )?;
    if done.status != 204 {
        bail!("the simulator's app settings answered {}", done.status);
    }
    Ok(())
}

pub fn admin_user(sim_url: &str) -> Result<u64> {
    let users = get_json(&format!("{sim_url}/sim/users"))?;
    users["users"]
        .as_array()
        .and_then(|list| list.iter().find(|u| u["role"] == "admin"))
        .and_then(|u| u["id"].as_u64())
        .context("the simulator has no admin user")
}

/// A signed URL token (ZAF JWT) the simulator signs for `user`, what Zendesk posts to the
/// sidebar.
pub fn zaf_token(sim_url: &str, user: u64) -> Result<String> {
    let body = json!({ "user_id": user }).to_string();
    let minted = request(
        "POST",
        &format!("{sim_url}/sim/zaf_token"),
        &[("Content-Type", "application/json")],
        Some(&body),
    )?;
    let minted: Value =
        serde_json::from_str(&minted.body).context("zaf_token did not answer JSON")?;
    Ok(minted["token"]
        .as_str()
        .context("no ZAF token")?
        .to_string())
}

/// The app JWT the simulator's proxy signs for `user` with the installation's `shared_secret`
/// (`POST /sim/app_jwt`), what the packaged sidebar's sign-in sends.
pub fn app_jwt(sim_url: &str, user: u64) -> Result<String> {
    let body = json!({ "user_id": user }).to_string();
    let minted = request(
        "POST",
        &format!("{sim_url}/sim/app_jwt"),
        &[("Content-Type", "application/json")],
        Some(&body),
    )?;
    if minted.status != 200 {
        bail!(
            "the simulator's app_jwt answered {}: {}",
            minted.status,
            minted.body
        );
    }
    let minted: Value =
        serde_json::from_str(&minted.body).context("app_jwt did not answer JSON")?;
    Ok(minted["token"].as_str().context("no app JWT")?.to_string())
}

/// Signs `user` into the sidebar and returns the `sda_…` session from the page.
fn sidebar_session(server_url: &str, sim_url: &str, user: u64) -> Result<String> {
    let token = zaf_token(sim_url, user)?;
    let form = format!("token={token}"); // a JWT is URL-safe as it is
    let page = request(
        "POST",
        &format!("{server_url}/zendesk/sidebar"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&form),
    )?;
    let marker = "<meta name=\"sealdrop-session\" content=\"";
    let start = page
        .body
        .find(marker)
        .with_context(|| format!("the sidebar gave no session (status {})", page.status))?
        + marker.len();
    let end = page.body[start..]
        .find('"')
        .context("unterminated session meta")?
        + start;
    Ok(page.body[start..end].to_string())
}

fn get_json(url: &str) -> Result<Value> {
    let answer = request("GET", url, &[], None)?;
    serde_json::from_str(&answer.body).with_context(|| format!("{url} did not answer JSON"))
}

/// What [`request`] got back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// One HTTP/1.0 request to a `http://127.0.0.1:PORT/...` URL.
pub fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("not a local http URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host).with_context(|| format!("connecting to {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or("");
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer of {method} {url}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP answer")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    let location = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("location"))
        .map(|(_, value)| value.trim().to_string());
    Ok(Answer {
        status,
        location,
        body: body.to_string(),
    })
}
