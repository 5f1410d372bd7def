//! Zendesk test set-up shared by `api_zendesk.rs` and `api_tenant_isolation.rs`: the real
//! server (`common::spawn_app_with`) and one in-process `zendesk_sim` per tenant, all signing
//! with one app key (as Zendesk signs every installation of one app with that app's key).
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use sealdrop_crypto::{default_aead, Manifest, ServerSecret};
use sealdrop_server::config::ConfigArgs;
use serde_json::{json, Value};
use url::Url;
use zendesk_sim::{NewUser, OAuthClient, RunningSim, SimConfig, ZafSigner};

use crate::common::{spawn_app_with, SentPackage, TestApp};

/// The app's RSA key pair (PKCS#8 PEM), made once per test binary.
fn app_private_pem() -> &'static str {
    static PEM: OnceLock<String> = OnceLock::new();
    PEM.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key");
        key.to_pkcs8_pem(LineEnding::LF).expect("PEM").to_string()
    })
}

/// One simulated Zendesk account and its people.
pub struct Tenant {
    pub sim: RunningSim,
    pub admin: u64,
    pub agent: u64,
    /// An agent with custom role 7.
    pub custom_agent: u64,
    pub customer: u64,
}

/// The server and its Zendesk accounts.
pub struct World {
    pub app: TestApp,
    pub tenants: Vec<Tenant>,
    _key_dir: tempfile::TempDir,
}

/// What `POST /zendesk/sidebar` answered.
#[derive(Debug)]
pub struct SidebarPage {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl SidebarPage {
    /// A `<meta name=… content=…>` value.
    pub fn meta(&self, name: &str) -> Option<String> {
        let start = format!("<meta name=\"{name}\" content=\"");
        let at = self.html.find(&start)? + start.len();
        let end = self.html[at..].find('"')?;
        Some(
            self.html[at..at + end]
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&"),
        )
    }

    /// The session token, if the page holds one.
    pub fn session(&self) -> Option<String> {
        self.meta("sealdrop-session")
    }

    /// `ready`, `setup_required`, `reauthorization_required` or `refused`.
    pub fn page_status(&self) -> String {
        self.meta("sealdrop-status").unwrap_or_default()
    }

    /// The sentence shown to the user.
    pub fn message(&self) -> String {
        self.meta("sealdrop-message").unwrap_or_default()
    }
}

/// Starts one simulator per subdomain and the server pointed at them.
pub async fn spawn(subdomains: &[&str]) -> World {
    spawn_with(subdomains, |_| {}).await
}

/// [`spawn`] with further settings.
pub async fn spawn_with(subdomains: &[&str], adjust: impl FnOnce(&mut ConfigArgs)) -> World {
    let pem = tokio::task::spawn_blocking(|| app_private_pem().to_owned())
        .await
        .unwrap();
    let mut tenants = Vec::new();
    for (i, sub) in subdomains.iter().enumerate() {
        let mut config = SimConfig::new(sub, Url::parse("http://127.0.0.1:9/").unwrap());
        config.signer = Some(ZafSigner::from_private_pem(&pem).unwrap());
        config.auto_approve = true;
        config.installation_id = 360_000_100 + i as u64;
        let sim = zendesk_sim::start(config).await.expect("simulator starts");
        let user = |role: &str, custom: Option<u64>| NewUser {
            role: Some(role.into()),
            custom_role_id: custom,
            ..NewUser::default()
        };
        // The same user ids mean different people in different accounts: in the first, 1001 is
        // the admin; in the others, 1001 is a customer.
        let (admin, agent, custom_agent, customer) = if i == 0 {
            let admin = sim.add_user(user("admin", None)).id;
            let agent = sim.add_user(user("agent", None)).id;
            let custom = sim.add_user(user("agent", Some(7))).id;
            let customer = sim.add_user(user("end-user", None)).id;
            (admin, agent, custom, customer)
        } else {
            let customer = sim.add_user(user("end-user", None)).id;
            let admin = sim.add_user(user("admin", None)).id;
            let agent = sim.add_user(user("agent", None)).id;
            let custom = sim.add_user(user("agent", Some(7))).id;
            (admin, agent, custom, customer)
        };
        tenants.push(Tenant {
            sim,
            admin,
            agent,
            custom_agent,
            customer,
        });
    }
    let key_dir = tempfile::tempdir().unwrap();
    let key_file = key_dir.path().join("app-public-key.pem");
    std::fs::write(&key_file, tenants[0].sim.public_key_pem()).unwrap();
    let base: Vec<String> = tenants
        .iter()
        .map(|t| format!("{}={}", t.sim.subdomain(), t.sim.base_url()))
        .collect();
    let app = spawn_app_with(|args| {
        args.zendesk.zendesk_base_url = Some(base.join(","));
        args.zendesk.zendesk_app_public_key = Some(key_file.clone());
        adjust(args);
    })
    .await;
    let mut redirect = app.state.config.public_url.clone();
    redirect.set_path("/zendesk/oauth/callback");
    for t in &tenants {
        t.sim
            .set_app_url(Url::parse(&app.url("/zendesk/sidebar")).unwrap());
        t.sim.set_sealdrop_url(Url::parse(&app.url("/")).unwrap());
        t.sim.register_client(OAuthClient {
            identifier: "sealdrop".into(),
            secret: None,
            redirect_uris: vec![redirect.to_string()],
        });
    }
    World {
        app,
        tenants,
        _key_dir: key_dir,
    }
}

/// A client that does not follow redirects.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Tenant {
    /// Posts a signed URL token to the sidebar, as Zendesk's hidden form does.
    pub async fn post_token(&self, app: &TestApp, token: &str) -> SidebarPage {
        let url = self.sim.signed_app_url();
        let response = app
            .client
            .post(url)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        SidebarPage {
            status: response.status(),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    /// `user` opens the sidebar.
    pub async fn sign_in(&self, app: &TestApp, user: u64) -> SidebarPage {
        let token = self.sim.zaf_token(user).unwrap();
        self.post_token(app, &token).await
    }

    /// `user` opens the sidebar and must get a ready session.
    pub async fn session(&self, app: &TestApp, user: u64) -> String {
        let page = self.sign_in(app, user).await;
        assert_eq!(
            (page.status, page.page_status().as_str()),
            (StatusCode::OK, "ready"),
            "{}",
            page.message()
        );
        page.session().expect("a ready page holds a session")
    }

    /// Runs the grant with `session` (start → Zendesk approves as `as_user` → callback);
    /// returns the callback page's status and text.
    pub async fn grant(&self, app: &TestApp, session: &str, as_user: u64) -> (StatusCode, String) {
        let started = app
            .client
            .get(app.url("/zendesk/oauth/start"))
            .bearer_auth(session)
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::OK, "oauth start");
        let body: Value = started.json().await.unwrap();
        let mut authorize = Url::parse(body["authorize_url"].as_str().unwrap()).unwrap();
        assert!(
            authorize.as_str().starts_with(self.sim.base_url().as_str()),
            "goes to this tenant's Zendesk"
        );
        authorize
            .query_pairs_mut()
            .append_pair("as", &as_user.to_string());
        let approved = no_redirects().get(authorize).send().await.unwrap();
        assert!(
            approved.status().is_redirection(),
            "Zendesk approves: {}",
            approved.status()
        );
        let location = Url::parse(approved.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(location.path(), "/zendesk/oauth/callback");
        let callback = app.url(&format!(
            "/zendesk/oauth/callback?{}",
            location.query().unwrap_or("")
        ));
        let response = app.client.get(callback).send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The admin's first visit and grant; returns the admin's ready session.
    pub async fn set_up(&self, app: &TestApp) -> String {
        let first = self.sign_in(app, self.admin).await;
        assert_eq!(first.page_status(), "setup_required", "{}", first.message());
        let setup = first.session().expect("a setup session");
        let (status, text) = self.grant(app, &setup, self.admin).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        self.session(app, self.admin).await
    }
}

/// `GET` with a bearer credential; returns status and JSON (or `Null`).
pub async fn get_json(app: &TestApp, path: &str, bearer: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A request with a bearer credential and a JSON body; returns status and JSON.
pub async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The sender's whole side with `bearer` (agent session or tenant token) as the credential.
pub async fn send_as(
    app: &TestApp,
    bearer: &str,
    create: &Value,
    files: &[Vec<u8>],
) -> SentPackage {
    let prepared = app.prepare_as(bearer, create, files).await;
    app.upload(&prepared).await;
    let response = app
        .finalize(&prepared.sent.id, &prepared.sent.upload_token)
        .await;
    assert_eq!(response.status(), StatusCode::OK, "finalize");
    prepared.sent
}

/// `POST …/{action}` with the link proof and, optionally, an agent session.
pub async fn with_proof_and(
    app: &TestApp,
    id: &str,
    action: &str,
    proof: &str,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut request = app.with_proof(
        reqwest::Method::POST,
        &format!("/api/v1/packages/{id}/{action}"),
        proof,
    );
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.unwrap()
}

/// The agent's side of opening a package: open and download with the agent session, decrypt.
pub async fn receive_as_agent(app: &TestApp, sent: &SentPackage, session: &str) -> Vec<Vec<u8>> {
    let opened = with_proof_and(app, &sent.id, "open", &sent.proof, Some(session)).await;
    assert_eq!(opened.status(), StatusCode::OK, "open");
    let opened: Value = opened.json().await.unwrap();
    let server_secret =
        ServerSecret::parse_b64u(opened["server_secret"].as_str().unwrap()).unwrap();
    let manifest = Manifest::parse(
        &STANDARD
            .decode(opened["manifest"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let aead = default_aead();
    let package = manifest
        .open_with_link(aead, &sent.link_secret, &server_secret)
        .expect("opens");
    let started = with_proof_and(app, &sent.id, "download", &sent.proof, Some(session)).await;
    assert_eq!(started.status(), StatusCode::OK, "download");
    let token: Value = started.json().await.unwrap();
    let token = token["download_token"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for i in 0..package.metadata().files.len() {
        let response = app.fetch_file(&sent.id, i, &token, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        out.push(
            package
                .decrypt_file(aead, i, &response.bytes().await.unwrap())
                .expect("decrypts"),
        );
    }
    out
}

/// A JSON body.
pub fn body(v: Value) -> Value {
    v
}

/// `{"require_auth": true}`.
pub fn require_auth() -> Value {
    json!({ "require_auth": true })
}
