//! One tenant's agents, tokens and settings never reach another tenant: for every endpoint
//! that takes a tenant credential, tenant B's credentials against tenant A's resources.
//!
//! Two simulated Zendesk accounts, `acme` (A) and `globex` (B), sign with the same app key (as
//! Zendesk does for one app) and reuse the same user ids for different people, so nothing but
//! the server's tenant checks keeps them apart.
#![allow(clippy::unwrap_used)]

mod common;
mod zendesk_world;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::test_bytes;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use zendesk_world::{get_json, require_auth, send_as, send_json, spawn, with_proof_and};

/// A request: method, path, optional JSON body.
struct Case {
    name: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    /// Also send A's link proof.
    proof: bool,
}

#[tokio::test]
async fn tenant_b_credentials_never_reach_tenant_a() {
    let w = spawn(&["acme", "globex"]).await;
    let app = &w.app;
    let (acme, globex) = (&w.tenants[0], &w.tenants[1]);
    let a_admin = acme.set_up(app).await;
    let a_agent = acme.session(app, acme.agent).await;
    let b_admin = globex.set_up(app).await;
    let b_agent = globex.session(app, globex.agent).await;
    let other_token = app.token.clone(); // a tenant API token of a third tenant

    let files = vec![test_bytes(1000, 9)];
    let a_package = send_as(app, &a_agent, &require_auth(), &files).await;
    let a_settings_before = get_json(app, "/api/v1/settings", &a_admin).await.1;
    let a_audit_before = get_json(app, "/api/v1/audit", &a_admin).await.1;

    let id = a_package.id.clone();
    let cases = vec![
        Case {
            name: "revoke A's package",
            method: Method::DELETE,
            path: format!("/api/v1/packages/{id}"),
            body: None,
            proof: false,
        },
        Case {
            name: "open A's package",
            method: Method::POST,
            path: format!("/api/v1/packages/{id}/open"),
            body: None,
            proof: true,
        },
        Case {
            name: "download A's package",
            method: Method::POST,
            path: format!("/api/v1/packages/{id}/download"),
            body: None,
            proof: true,
        },
        Case {
            name: "read A's audit",
            method: Method::GET,
            path: format!("/api/v1/audit?package={id}"),
            body: None,
            proof: false,
        },
        Case {
            name: "read settings",
            method: Method::GET,
            path: "/api/v1/settings".into(),
            body: None,
            proof: false,
        },
        Case {
            name: "change settings",
            method: Method::PUT,
            path: "/api/v1/settings".into(),
            body: Some(
                json!({"reply_link_style": "hyperlink", "help_center_origins": ["https://evil.example"]}),
            ),
            proof: false,
        },
        Case {
            name: "rotate the widget key",
            method: Method::POST,
            path: "/api/v1/settings/widget-key".into(),
            body: None,
            proof: false,
        },
        Case {
            name: "who am I",
            method: Method::GET,
            path: "/api/v1/me".into(),
            body: None,
            proof: false,
        },
        Case {
            name: "start a grant",
            method: Method::GET,
            path: "/zendesk/oauth/start".into(),
            body: None,
            proof: false,
        },
        Case {
            name: "create a package",
            method: Method::POST,
            path: "/api/v1/packages".into(),
            body: Some(json!({})),
            proof: false,
        },
        Case {
            name: "list my packages",
            method: Method::GET,
            path: "/api/v1/packages?mine=1".into(),
            body: None,
            proof: false,
        },
    ];
    let credentials = [
        ("B's admin", b_admin.as_str()),
        ("B's agent", b_agent.as_str()),
        ("another tenant's API token", other_token.as_str()),
    ];

    for case in &cases {
        for (who, credential) in credentials {
            let mut request = app
                .client
                .request(case.method.clone(), app.url(&case.path))
                .bearer_auth(credential);
            if case.proof {
                request = request.header("X-Sealdrop-Link-Proof", &a_package.proof);
            }
            if let Some(body) = &case.body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            let what = format!("{} with {who}: {status} {text}", case.name);
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match case.name {
                // A's package does not exist for B.
                "revoke A's package" => {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{what}");
                    assert_eq!(body["message"], "No package with this id.", "{what}");
                }
                // B's session is no authorisation for A's package.
                "open A's package" | "download A's package" => {
                    assert_eq!(
                        (status, body["error"].as_str()),
                        (StatusCode::UNAUTHORIZED, Some("verification_required")),
                        "{what}"
                    )
                }
                // B sees only B's log; B's agents see nothing.
                "read A's audit" if who == "B's agent" => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}")
                }
                "read A's audit" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    assert_eq!(body["events"], json!([]), "{what}");
                }
                // Settings and keys: B's own or nothing, never A's.
                "read settings" | "change settings" | "rotate the widget key"
                    if who == "B's agent" =>
                {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}")
                }
                "read settings" | "change settings" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    assert_ne!(
                        body["widget_key"], a_settings_before["widget_key"],
                        "{what}"
                    );
                    assert_ne!(body["subdomain"], json!("acme"), "{what}");
                }
                "rotate the widget key" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    assert_ne!(
                        body["widget_key"], a_settings_before["widget_key"],
                        "{what}"
                    );
                }
                "who am I" if who == "another tenant's API token" => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}")
                }
                "who am I" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    assert_eq!(body["subdomain"], "globex", "{what}");
                    assert_ne!(
                        body["tenant"],
                        get_json(app, "/api/v1/me", &a_admin).await.1["tenant"],
                        "{what}"
                    );
                }
                "start a grant" if who == "B's admin" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    let url = body["authorize_url"].as_str().unwrap();
                    assert!(
                        url.starts_with(globex.sim.base_url().as_str()),
                        "B's grant goes to B's Zendesk: {url}"
                    );
                }
                "start a grant" if who == "B's agent" => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}")
                }
                "start a grant" => assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}"),
                "list my packages" if who == "another tenant's API token" => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{what}")
                }
                "list my packages" => {
                    assert_eq!(status, StatusCode::OK, "{what}");
                    assert!(!text.contains(&id), "{what}");
                }
                "create a package" => {
                    assert_eq!(status, StatusCode::CREATED, "{what}");
                    let created = sealdrop_server::db::Database::package(
                        &app.state.db,
                        body["id"].as_str().unwrap(),
                    )
                    .await
                    .unwrap()
                    .unwrap();
                    let a_tenant = app.state.db.package(&id).await.unwrap().unwrap().tenant_id;
                    assert_ne!(created.tenant_id, a_tenant, "{what}: made in B's tenant");
                }
                other => panic!("no expectation for {other}"),
            }
        }
    }

    // Nothing of A's changed, and A's package still opens for A.
    let a_settings_after = get_json(app, "/api/v1/settings", &a_admin).await.1;
    assert_eq!(
        a_settings_after, a_settings_before,
        "A's settings are untouched"
    );
    let a_audit_after = get_json(app, "/api/v1/audit", &a_admin).await.1;
    assert_eq!(
        a_audit_after, a_audit_before,
        "nothing B did shows in A's log"
    );
    let opened = with_proof_and(app, &a_package.id, "open", &a_package.proof, Some(&a_agent)).await;
    assert_eq!(opened.status(), StatusCode::OK);
}

#[tokio::test]
async fn signed_urls_sessions_roles_and_grants_stay_in_their_tenant() {
    let w = spawn(&["acme", "globex"]).await;
    let app = &w.app;
    let (acme, globex) = (&w.tenants[0], &w.tenants[1]);
    acme.set_up(app).await;
    globex.set_up(app).await;

    // A token for B's installation that claims to come from A: the shared app key signs it,
    // but it names B's installation, so A does not accept it.
    let mut claims = serde_json::to_value(globex.sim.zaf_claims(globex.admin)).unwrap();
    claims["iss"] = json!("acme.zendesk.com");
    let token = globex.sim.signer().sign_json(&claims).unwrap();
    let page = acme.post_token(app, &token).await;
    assert_eq!(
        (page.status, page.session()),
        (StatusCode::UNAUTHORIZED, None),
        "{}",
        page.message()
    );
    assert!(
        page.message().contains("installation"),
        "{}",
        page.message()
    );

    // User 1001 is A's admin (role cached now) and B's customer: in B it is refused.
    assert_eq!(acme.admin, globex.customer);
    let page = globex.sign_in(app, globex.customer).await;
    assert_eq!(
        (page.status, page.page_status().as_str()),
        (StatusCode::FORBIDDEN, "refused")
    );

    // A session of B edited to name A fails its signature.
    let b_session = globex.session(app, globex.agent).await;
    let parts: Vec<&str> = b_session.trim_start_matches("sda_").split('.').collect();
    let mut session_claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    session_claims["ten"] = json!("acme");
    let forged = format!(
        "sda_{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(session_claims.to_string()),
        parts[2]
    );
    let (status, _) = get_json(app, "/api/v1/me", &forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A's sealed grant copied into B's row does not open there (the tenant is bound into
    // the encryption): B's grant is then marked for re-authorization, A's keeps working.
    let db = app.state.db.pool();
    let tenant_of = |sub: &'static str| async move {
        sqlx::query_scalar::<_, String>("SELECT id FROM tenants WHERE zendesk_subdomain = $1")
            .bind(sub)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
    };
    let (a_id, b_id) = (tenant_of("acme").await, tenant_of("globex").await);
    let a_blob: Vec<u8> =
        sqlx::query_scalar("SELECT access_token_enc FROM zendesk_grants WHERE tenant_id = $1")
            .bind(&a_id)
            .fetch_one(db)
            .await
            .unwrap();
    sqlx::query("UPDATE zendesk_grants SET access_token_enc = $1 WHERE tenant_id = $2")
        .bind(&a_blob)
        .bind(&b_id)
        .execute(db)
        .await
        .unwrap();
    w.app.clock.advance(Duration::from_secs(61));
    let response = app.create_package_raw(&b_session, &json!({})).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get_json(app, "/api/v1/me", &b_session).await.1["status"],
        "reauthorization_required"
    );
    let a_agent = acme.session(app, acme.agent).await;
    assert_eq!(
        app.create_package_raw(&a_agent, &json!({})).await.status(),
        StatusCode::CREATED
    );

    // An OAuth callback for B's pending request stores B's grant only.
    let page = globex.sign_in(app, globex.admin).await;
    let (status, text) = globex
        .grant(app, &page.session().unwrap(), globex.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let granted_by: Vec<(String, String)> =
        sqlx::query_as("SELECT tenant_id, granted_by FROM zendesk_grants ORDER BY tenant_id")
            .fetch_all(db)
            .await
            .unwrap();
    let mut expected = vec![
        (a_id.clone(), acme.admin.to_string()),
        (b_id.clone(), globex.admin.to_string()),
    ];
    expected.sort();
    assert_eq!(granted_by, expected);
    let b_admin = globex.session(app, globex.admin).await;
    assert_eq!(
        send_json(
            app,
            Method::PUT,
            "/api/v1/settings",
            &b_admin,
            &json!({"widget_forms": [1]})
        )
        .await
        .0,
        StatusCode::OK
    );
    let a_admin = acme.session(app, acme.admin).await;
    assert_eq!(
        get_json(app, "/api/v1/settings", &a_admin).await.1["widget_forms"],
        json!([])
    );
}
