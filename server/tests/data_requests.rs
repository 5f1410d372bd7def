//! Data requests: a tenant's export holds its settings, package metadata and audit log and no
//! secret; one address's export lists what the tenant holds about it and nothing of anyone
//! else; erasing it leaves nothing of it, leaves others and other tenants untouched, and keeps
//! the audit log whole. Admins only. Runs on both databases (the CI's server stages).
#![allow(clippy::unwrap_used)]

mod common;
mod zendesk_world;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{spawn_app, test_bytes, SentPackage, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_crypto::LinkProof;
use sealdrop_server::verification::{self, CodeRequest, EmailAddress};
use serde_json::{json, Value};
use zendesk_world::{get_json, send_json, spawn};

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// Secrets seen during a test; none may appear in an export.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: impl Into<String>) {
        self.0.push((what.to_owned(), value.into()));
    }

    fn add_package(&mut self, sent: &SentPackage) {
        let proof = LinkProof::parse_b64u(&sent.proof).unwrap();
        let secret = URL_SAFE_NO_PAD.decode(&sent.server_secret).unwrap();
        self.add("link secret", sent.link_secret.to_b64u());
        self.add("link proof", sent.proof.clone());
        self.add("link verifier", proof.verifier().to_b64u());
        self.add("upload token", sent.upload_token.clone());
        self.add("server secret", sent.server_secret.clone());
        self.add("server secret (hex)", hex::encode(&secret));
        self.add("server secret (base64)", STANDARD.encode(&secret));
        self.add("manifest", STANDARD.encode(&sent.manifest)[..40].to_owned());
        for ciphertext in &sent.ciphertexts {
            self.add("ciphertext", STANDARD.encode(&ciphertext[..60]));
            self.add("ciphertext (hex)", hex::encode(&ciphertext[..30]));
        }
    }

    fn assert_absent(&self, text: &str, what: &str) {
        for (name, value) in &self.0 {
            assert!(
                !text.contains(value.as_str()),
                "the {what} holds the {name} {value}"
            );
        }
    }
}

/// A verification code for `email` on `sent`, as its mail would carry it.
async fn code_for(app: &TestApp, sent: &SentPackage, email: &str) -> Option<String> {
    let package = app.state.db.package(&sent.id).await.unwrap().unwrap();
    let asked = verification::request_code(
        &app.state.db,
        &app.state.verification_key,
        &package.tenant_id,
        &sent.id,
        &EmailAddress::parse(email).unwrap(),
        app.clock.now(),
    )
    .await
    .unwrap();
    match asked {
        CodeRequest::Issued(code) => code.map(|c| c.expose().to_owned()),
        CodeRequest::RateLimited => panic!("rate limited"),
    }
}

/// `email` confirms a code on `sent` and downloads it with the recipient session; records
/// the code, the session and the download token in `secrets`.
async fn verify_and_download(
    app: &TestApp,
    sent: &SentPackage,
    email: &str,
    secrets: &mut Secrets,
) {
    let code = code_for(app, sent, email).await.expect("a recipient");
    let session = verification::confirm(
        &app.state.db,
        &app.state.verification_key,
        &sent.id,
        &LinkProof::parse_b64u(&sent.proof).unwrap(),
        email,
        &code,
        app.clock.now(),
    )
    .await
    .unwrap();
    let session = session.token.text().to_owned();
    let started = app
        .with_proof(
            Method::POST,
            &format!("/api/v1/packages/{}/download", sent.id),
            &sent.proof,
        )
        .header("X-Sealdrop-Recipient-Session", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    secrets.add("verification code", code);
    secrets.add("recipient session", session);
    secrets.add(
        "download token",
        started["download_token"].as_str().unwrap(),
    );
}

async fn get(app: &TestApp, bearer: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, bearer: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn subject_export(app: &TestApp, bearer: &str, email: &str) -> Value {
    let response = post(
        app,
        bearer,
        "/api/v1/tenant/subjects/export",
        &json!({ "email": email }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The package ids a list of a subject export names, sorted (packages made within one second
/// come in the order of their ids).
fn packages(list: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["package"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// `ids`, sorted.
fn sorted<'a>(ids: impl IntoIterator<Item = &'a String>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids
}

/// A package id as a CSV cell (an id may start with `-`, which the export defuses).
fn cell(id: &str) -> String {
    if id.starts_with('-') {
        format!("'{id}")
    } else {
        id.to_owned()
    }
}

/// Alice and Bob received packages of the test tenant; Alice also of another tenant.
struct World {
    app: TestApp,
    other_token: String,
    /// To Alice and Bob; both verified and downloaded.
    both: SentPackage,
    /// To Alice, receipts to her too; she asked for a code and never typed it.
    alices: SentPackage,
    /// To Bob; he verified.
    bobs: SentPackage,
    /// The other tenant's, to Alice; she verified.
    other: SentPackage,
    secrets: Secrets,
}

async fn world() -> World {
    let app = spawn_app().await;
    let mut secrets = Secrets::default();
    secrets.add("tenant API token", app.token.clone());
    let other_token = app.create_tenant("Other Tenant").await;
    secrets.add("tenant API token", other_token.clone());
    let both = app
        .send(
            &json!({ "recipients": [ALICE, BOB], "require_auth": true }),
            &[test_bytes(3000, 1)],
        )
        .await;
    let alices = app
        .send(
            &json!({ "recipients": [ALICE], "require_auth": true,
                     "notify_sender": "Alice@Example.com" }),
            &[test_bytes(2000, 2), test_bytes(100, 3)],
        )
        .await;
    let bobs = app
        .send(
            &json!({ "recipients": [BOB], "require_auth": true }),
            &[test_bytes(1000, 4)],
        )
        .await;
    let other = app
        .send_as(
            &other_token,
            &json!({ "recipients": [ALICE], "require_auth": true }),
            &[test_bytes(500, 5)],
        )
        .await;
    for sent in [&both, &alices, &bobs, &other] {
        secrets.add_package(sent);
    }
    verify_and_download(&app, &both, ALICE, &mut secrets).await;
    verify_and_download(&app, &both, BOB, &mut secrets).await;
    verify_and_download(&app, &bobs, BOB, &mut secrets).await;
    verify_and_download(&app, &other, ALICE, &mut secrets).await;
    let unused = code_for(&app, &alices, ALICE).await.unwrap();
    secrets.add("verification code", unused);
    let settings: Value = get(&app, &app.token, "/api/v1/settings")
        .await
        .json()
        .await
        .unwrap();
    secrets.add("widget key", settings["widget_key"].as_str().unwrap());
    World {
        app,
        other_token,
        both,
        alices,
        bobs,
        other,
        secrets,
    }
}

#[tokio::test]
async fn a_tenant_export_holds_settings_package_metadata_and_the_audit_log_and_no_secret() {
    let w = world().await;
    let app = &w.app;
    let response = get(app, &app.token, "/api/v1/tenant/export").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    w.secrets.assert_absent(&text, "JSON export");
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["kind"], "sealdrop-tenant-export/1");
    assert_eq!(export["tenant"]["name"], "Test Tenant");
    assert!(export["settings"]["require_auth_default"].is_boolean());
    assert!(export["settings"].get("widget_key").is_none());

    let listed = export["packages"].as_array().unwrap();
    let by_id = |id: &str| listed.iter().find(|p| p["id"] == id).unwrap();
    let mut ids: Vec<&str> = listed.iter().map(|p| p["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, sorted([&w.both.id, &w.alices.id, &w.bobs.id]));
    assert!(!text.contains(&w.other.id), "another tenant's package");
    let alices = by_id(&w.alices.id);
    assert_eq!(alices["state"], "ready");
    assert_eq!(alices["files"], 2);
    assert_eq!(
        alices["ciphertext_bytes"],
        (w.alices.ciphertexts[0].len() + w.alices.ciphertexts[1].len()) as u64
    );
    assert_eq!(alices["recipients"], json!([ALICE]));
    assert_eq!(alices["notify_sender"], "Alice@Example.com");
    assert_eq!(alices["require_auth"], true);
    assert_eq!(by_id(&w.both.id)["recipients"], json!([ALICE, BOB]));
    assert_eq!(by_id(&w.both.id)["downloads_used"], 2);
    for field in ["created_at", "expires_at", "finalized_at"] {
        assert!(alices[field].as_str().unwrap().ends_with('Z'), "{field}");
    }

    let events = export["audit_events"].as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "tenant_created", "oldest first");
    for kind in ["created", "finalized", "verified", "downloaded"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(events
        .iter()
        .any(|e| e["event"] == "verified" && e["detail"]["recipient"] == BOB));

    // The CSV form: one table per request, the same rows.
    for (table, header, expected) in [
        (
            "settings",
            "setting,value",
            vec!["tenant_name,Test Tenant".to_owned()],
        ),
        (
            "packages",
            "id,state,created_by,created_by_user,ticket_id,require_auth,notify_sender,created_at,\
             finalized_at,expires_at,revoked_at,purged_at,max_downloads,downloads_used,files,\
             ciphertext_bytes,recipients",
            vec![
                format!("{},ready,tenant_token", cell(&w.alices.id)),
                "Alice@Example.com".to_owned(),
            ],
        ),
        (
            "recipients",
            "package,email",
            vec![
                format!("{},{ALICE}", cell(&w.both.id)),
                format!("{},{BOB}", cell(&w.both.id)),
                format!("{},{BOB}", cell(&w.bobs.id)),
            ],
        ),
        (
            "audit",
            "id,at,event,package,detail",
            vec![
                r#""{""recipient"":""alice@example.com""}""#.to_owned(),
                ",tenant_created,,".to_owned(),
            ],
        ),
    ] {
        let response = get(
            app,
            &app.token,
            &format!("/api/v1/tenant/export?format=csv&table={table}"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{table}");
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            response.headers()["content-disposition"],
            format!("attachment; filename=\"sealdrop-{table}.csv\"").as_str()
        );
        let csv = response.text().await.unwrap();
        w.secrets.assert_absent(&csv, &format!("{table} CSV"));
        assert!(!csv.contains(&w.other.id), "another tenant's package");
        assert_eq!(csv.split("\r\n").next(), Some(header), "{table}");
        for line in expected {
            assert!(csv.contains(&line), "{table} CSV lacks {line}:\n{csv}");
        }
    }
    assert!(!String::from_utf8_lossy(
        &get(
            app,
            &app.token,
            "/api/v1/tenant/export?format=csv&table=settings"
        )
        .await
        .bytes()
        .await
        .unwrap()
    )
    .contains("widget_key"));

    for bad in [
        "format=csv",
        "format=csv&table=secrets",
        "format=xml",
        "table=audit",
        "limit=1",
    ] {
        let response = get(app, &app.token, &format!("/api/v1/tenant/export?{bad}")).await;
        let (code, _) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "bad_request", "{bad}");
    }

    // The other tenant's export holds its own package only.
    let other: Value = get(app, &w.other_token, "/api/v1/tenant/export")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = other["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [w.other.id.as_str()]);
}

#[tokio::test]
async fn one_address_is_exported_then_erased_and_nobody_else_is_touched() {
    let w = world().await;
    let app = &w.app;
    let alice = subject_export(app, &app.token, "  Alice@Example.COM ").await;
    let text = alice.to_string();
    w.secrets.assert_absent(&text, "subject export");
    assert_eq!(alice["kind"], "sealdrop-subject-export/1");
    assert_eq!(alice["email"], ALICE);
    assert_eq!(
        packages(&alice["recipient_of"]),
        sorted([&w.both.id, &w.alices.id])
    );
    assert_eq!(packages(&alice["notify_sender_of"]), [&w.alices.id]);
    let codes = alice["verification_codes"].as_array().unwrap();
    assert_eq!(codes[0]["package"], w.both.id.as_str(), "oldest first");
    assert_eq!(codes[1]["package"], w.alices.id.as_str());
    assert!(codes[0]["used_at"].is_string() && codes[1]["used_at"].is_null());
    assert_eq!(codes[0]["attempts"], 1);
    assert_eq!(packages(&alice["recipient_sessions"]), [&w.both.id]);
    let events = alice["audit_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "verified");
    assert_eq!(events[0]["package"], w.both.id.as_str());
    assert!(!text.contains("bob@"), "nothing of Bob: {text}");
    assert!(!text.contains(&w.bobs.id) && !text.contains(&w.other.id));

    let bob_before = subject_export(app, &app.token, BOB).await;
    assert_eq!(
        packages(&bob_before["recipient_of"]),
        sorted([&w.both.id, &w.bobs.id])
    );
    assert_eq!(bob_before["audit_events"].as_array().unwrap().len(), 2);
    let other_before = subject_export(app, &w.other_token, ALICE).await;
    assert_eq!(packages(&other_before["recipient_of"]), [&w.other.id]);

    // Erasing asks for the address twice.
    let response = post(
        app,
        &app.token,
        "/api/v1/tenant/subjects/erase",
        &json!({ "email": ALICE, "confirm": BOB }),
    )
    .await;
    let (_, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert!(message.contains("confirm"), "{message}");
    let response = post(
        app,
        &app.token,
        "/api/v1/tenant/subjects/erase",
        &json!({ "email": "not an address", "confirm": "not an address" }),
    )
    .await;
    TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        subject_export(app, &app.token, ALICE).await["recipient_of"],
        alice["recipient_of"],
        "nothing was erased"
    );

    let response = post(
        app,
        &app.token,
        "/api/v1/tenant/subjects/erase",
        &json!({ "email": ALICE, "confirm": "ALICE@example.com" }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let erased: Value = response.json().await.unwrap();
    let placeholder = erased["placeholder"].as_str().unwrap().to_owned();
    assert!(placeholder.starts_with("erased:"), "{placeholder}");
    assert_eq!(
        erased,
        json!({
            "placeholder": placeholder,
            "recipient_entries": 2,
            "notify_sender_cleared": 1,
            "grant_contact_cleared": 0,
            "verification_codes": 2,
            "recipient_sessions": 1,
            "audit_events_rewritten": 1,
        })
    );

    // Nothing of Alice is left in this tenant.
    let after = subject_export(app, &app.token, ALICE).await;
    for list in [
        "recipient_of",
        "notify_sender_of",
        "verification_codes",
        "recipient_sessions",
        "audit_events",
    ] {
        assert_eq!(after[list], json!([]), "{list}");
    }
    let export = get(app, &app.token, "/api/v1/tenant/export")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !export.to_lowercase().contains("alice"),
        "the export still names Alice: {export}"
    );
    let export: Value = serde_json::from_str(&export).unwrap();
    let events = export["audit_events"].as_array().unwrap();
    let verified: Vec<&Value> = events.iter().filter(|e| e["event"] == "verified").collect();
    assert_eq!(verified.len(), 3, "the log keeps every event");
    assert_eq!(verified[0]["detail"]["recipient"], placeholder.as_str());
    assert_eq!(verified[0]["package"], w.both.id.as_str());
    let record = events.last().unwrap();
    assert_eq!(record["event"], "subject_erased");
    assert_eq!(record["package"], Value::Null);
    assert_eq!(record["detail"]["by"], "tenant_token");
    assert_eq!(record["detail"]["subject"], placeholder.as_str());
    assert_eq!(record["detail"]["recipient_entries"], 2);
    // She can no longer be sent a code for those packages.
    assert_eq!(code_for(app, &w.both, ALICE).await, None);

    // Bob and the other tenant's Alice are untouched.
    let bob_after = subject_export(app, &app.token, BOB).await;
    for list in [
        "recipient_of",
        "notify_sender_of",
        "verification_codes",
        "recipient_sessions",
        "audit_events",
    ] {
        assert_eq!(bob_after[list], bob_before[list], "Bob's {list}");
    }
    let other_after = subject_export(app, &w.other_token, ALICE).await;
    assert_eq!(other_after["recipient_of"], other_before["recipient_of"]);
    assert_eq!(
        other_after["recipient_sessions"],
        other_before["recipient_sessions"]
    );
    assert_eq!(other_after["audit_events"], other_before["audit_events"]);
    assert_eq!(other_after["audit_events"].as_array().unwrap().len(), 1);

    // Erasing again finds nothing and gives the same placeholder.
    let again: Value = post(
        app,
        &app.token,
        "/api/v1/tenant/subjects/erase",
        &json!({ "email": ALICE, "confirm": ALICE }),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["placeholder"], placeholder.as_str());
    assert_eq!(again["recipient_entries"], 0);
    assert_eq!(again["audit_events_rewritten"], 0);
}

#[tokio::test]
async fn only_admins_export_and_erase() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin = acme.set_up(app).await;
    let agent = acme.session(app, acme.agent).await;
    let requests = [
        (Method::GET, "/api/v1/tenant/export", Value::Null),
        (
            Method::GET,
            "/api/v1/tenant/export?format=csv&table=audit",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/tenant/subjects/export",
            json!({ "email": ALICE }),
        ),
        (
            Method::POST,
            "/api/v1/tenant/subjects/erase",
            json!({ "email": ALICE, "confirm": ALICE }),
        ),
    ];
    for (method, path, body) in &requests {
        let refused = match method {
            &Method::GET => get_json(app, path, &agent).await.0,
            _ => send_json(app, method.clone(), path, &agent, body).await.0,
        };
        assert_eq!(refused, StatusCode::FORBIDDEN, "an agent: {method} {path}");
        let anonymous = app
            .client
            .request(method.clone(), app.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    let (_, audit) = get_json(app, "/api/v1/audit?event=subject_erased", &admin).await;
    assert_eq!(audit["events"], json!([]), "the agent erased nothing");
    for (method, path, body) in &requests {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&admin)
            .json(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "an admin: {method} {path}"
        );
    }
    let (_, audit) = get_json(app, "/api/v1/audit?event=subject_erased", &admin).await;
    let by = audit["events"][0]["detail"]["by"].as_str().unwrap();
    assert_eq!(by, format!("agent:{}", acme.admin));
}
