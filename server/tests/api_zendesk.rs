//! The Zendesk platform end to end against in-process simulators: sidebar sign-in with signed
//! URLs, the admin's grant, role restrictions with the role cache, settings, the audit log.
#![allow(clippy::unwrap_used)]

mod common;
mod zendesk_world;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::test_bytes;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use zendesk_sim::{UserChange, ZafSigner};
use zendesk_world::{
    get_json, no_redirects, receive_as_agent, require_auth, send_as, send_json, spawn, spawn_with,
    with_proof_and,
};

#[tokio::test]
async fn an_admin_sets_up_the_tenant_then_agents_send_and_open_files() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);

    // An agent is first: the page says to ask an admin, and the session it holds can do nothing.
    let first = acme.sign_in(app, acme.agent).await;
    assert_eq!(
        (first.status, first.page_status().as_str()),
        (StatusCode::OK, "setup_required")
    );
    assert!(
        first
            .message()
            .contains("ask your Zendesk admin to open the app first"),
        "{}",
        first.message()
    );
    let setup = first.session().unwrap();
    let response = app.create_package_raw(&setup, &json!({})).await;
    let (code, message) = common::TestApp::expect_error(response, StatusCode::FORBIDDEN).await;
    assert_eq!(code, "forbidden");
    assert!(message.contains("not set up"), "{message}");
    let (status, me) = get_json(app, "/api/v1/me", &setup).await;
    assert_eq!(
        (status, me["status"].as_str(), me["role"].clone()),
        (StatusCode::OK, Some("setup_required"), Value::Null)
    );

    // The agent cannot set it up: Zendesk says the grant is not an admin's.
    let (status, text) = acme.grant(app, &setup, acme.agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        text.contains("Only a Zendesk admin can authorize sealdrop"),
        "{text}"
    );
    assert_eq!(
        get_json(app, "/api/v1/me", &setup).await.1["status"],
        "setup_required"
    );

    // The admin does.
    let admin = acme.set_up(app).await;
    let (_, me) = get_json(app, "/api/v1/me", &admin).await;
    assert_eq!(me["subdomain"], "acme");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["user_id"], acme.admin.to_string());
    assert_eq!(me["settings"]["require_auth_default"], true);

    // The agent now signs in; the page is framed by acme's Zendesk (and its stand-in) only.
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(page.page_status(), "ready");
    let csp = page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let sim_origin = acme
        .sim
        .base_url()
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    assert!(
        csp.ends_with(&format!(
            "frame-ancestors https://acme.zendesk.com {sim_origin}"
        )),
        "{csp}"
    );
    assert!(
        csp.starts_with(
            "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'"
        ),
        "{csp}"
    );
    assert!(
        csp.contains("img-src 'self' data:") && csp.contains("worker-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let agent = page.session().unwrap();
    let (_, me) = get_json(app, "/api/v1/me", &agent).await;
    assert_eq!(
        (me["role"].as_str(), me["is_admin"].as_bool()),
        (Some("agent"), Some(false))
    );

    // The agent sends files that require authentication: the link alone does not open them,
    // the link plus an agent session of the tenant does, and the bytes come back unchanged.
    let files = vec![test_bytes(200_000, 1), test_bytes(10, 2)];
    let sent = send_as(app, &agent, &require_auth(), &files).await;
    let response = with_proof_and(app, &sent.id, "open", &sent.proof, None).await;
    assert_eq!(
        common::TestApp::expect_error(response, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "verification_required"
    );
    assert_eq!(receive_as_agent(app, &sent, &admin).await, files);

    // The audit log tells who did what; only admins read it.
    let (status, audit) =
        get_json(app, &format!("/api/v1/audit?package={}", sent.id), &admin).await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "downloaded",
            "opened",
            "finalized",
            "uploaded",
            "uploaded",
            "created"
        ]
    );
    assert_eq!(audit["events"][5]["detail"]["by"], "agent");
    let (status, _) = get_json(app, "/api/v1/audit", &agent).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The agent's sent list shows it (the admin's does not).
    let (status, mine) = get_json(app, "/api/v1/packages?mine=1", &agent).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["packages"][0]["id"], sent.id.as_str());
    assert_eq!(mine["packages"][0]["state"], "ready");
    assert_eq!(mine["packages"][0]["require_auth"], true);
    assert_eq!(
        get_json(app, "/api/v1/packages?mine=1", &admin).await.1["packages"],
        json!([])
    );
    assert_eq!(
        get_json(app, "/api/v1/packages?mine=1", &app.token).await.0,
        StatusCode::FORBIDDEN
    );

    // The agent revokes it.
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = with_proof_and(app, &sent.id, "open", &sent.proof, Some(&agent)).await;
    assert_eq!(
        common::TestApp::expect_error(response, StatusCode::GONE)
            .await
            .0,
        "revoked"
    );
    let (_, mine) = get_json(app, "/api/v1/packages?mine=1", &agent).await;
    assert_eq!(mine["packages"][0]["state"], "revoked");
}

#[tokio::test]
async fn a_signed_url_token_opens_one_session_only() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let token = acme.sim.zaf_token(acme.agent).unwrap();
    let first = acme.post_token(app, &token).await;
    assert_eq!(first.page_status(), "ready", "{}", first.message());
    assert!(first.session().is_some());

    // The same token again (copied from a proxy log, or the frame reloaded alone): refused,
    // with the way out, and no session.
    let replay = acme.post_token(app, &token).await;
    assert_eq!(
        replay.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        replay.message()
    );
    assert_eq!(replay.page_status(), "refused");
    assert_eq!(replay.session(), None);
    assert!(
        replay.message().contains("already used")
            && replay.message().contains("Reload the app from Zendesk"),
        "{:?}",
        replay.message()
    );

    // Zendesk signs a fresh token for each sidebar it opens: the same agent opening two
    // tickets in the same second gets two sessions.
    let (a, b) = (
        acme.sim.zaf_token(acme.agent).unwrap(),
        acme.sim.zaf_token(acme.agent).unwrap(),
    );
    assert_ne!(a, b, "each launch has its own app_guid, so its own qsh");
    assert_eq!(acme.post_token(app, &a).await.page_status(), "ready");
    assert_eq!(acme.post_token(app, &b).await.page_status(), "ready");

    // Only hashes are kept, and only while the tokens could still verify.
    let used = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM signin_tokens_used")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap()
    };
    let remembered = used().await;
    assert!(remembered >= 3, "this test's three sign-ins, and set-up's");
    app.purge().await;
    assert_eq!(used().await, remembered, "live tokens are remembered");
    app.clock.advance(std::time::Duration::from_secs(
        zendesk_sim::zaf::TOKEN_LIFETIME_SECS + 2 * 60,
    ));
    app.purge().await;
    assert_eq!(used().await, 0, "expired tokens are forgotten by the purge");
}

#[tokio::test]
async fn forged_and_broken_signed_urls_are_refused_with_the_reason() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await; // pins the installation
    let sim = &acme.sim;
    let claims = || serde_json::to_value(sim.zaf_claims(acme.agent)).unwrap();
    let sign = |c: &Value| sim.signer().sign_json(c).unwrap();
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let other_key = tokio::task::spawn_blocking(ZafSigner::generate)
        .await
        .unwrap()
        .unwrap();
    let genuine = sim.zaf_token(acme.agent).unwrap();
    let genuine_parts: Vec<&str> = genuine.split('.').collect();

    let edit = |f: &dyn Fn(&mut Value)| {
        let mut c = claims();
        f(&mut c);
        c
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims())
            ),
            "RS256",
        ),
        (
            "HS256 keyed with the public key",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &claims(),
                &jsonwebtoken::EncodingKey::from_secret(sim.public_key_pem().as_bytes()),
            )
            .unwrap(),
            "RS256",
        ),
        (
            "another RSA key",
            other_key.sign_json(&claims()).unwrap(),
            "signature",
        ),
        (
            "claims edited after signing",
            format!(
                "{}.{}.{}",
                genuine_parts[0],
                b64(&edit(&|c| c["sub"] = json!(acme.admin.to_string()))),
                genuine_parts[2]
            ),
            "signature",
        ),
        (
            "expired",
            sign(&edit(&|c| {
                c["iat"] = json!(now - 4000);
                c["nbf"] = json!(now - 4000);
                c["exp"] = json!(now - 3600);
            })),
            "expired",
        ),
        (
            "issued in the future",
            sign(&edit(&|c| {
                c["iat"] = json!(now + 3600);
                c["nbf"] = json!(now + 3600);
                c["exp"] = json!(now + 7200);
            })),
            "not valid yet",
        ),
        (
            "issuer of another host",
            sign(&edit(&|c| {
                c["iss"] = json!("acme.zendesk.com.evil.example")
            })),
            "another Zendesk",
        ),
        (
            "audience of another installation",
            sign(&edit(&|c| {
                c["aud"] = json!("https://acme.zendesk.com/api/v2/apps/installations/99.json")
            })),
            "installation",
        ),
        (
            "audience of another account",
            sign(&edit(&|c| {
                c["aud"] =
                    json!("https://globex.zendesk.com/api/v2/apps/installations/360000100.json")
            })),
            "installation",
        ),
        (
            "another location",
            sign(&edit(&|c| c["context"]["location"] = json!("top_bar"))),
            "ticket sidebar",
        ),
        (
            "another product",
            sign(&edit(&|c| c["context"]["product"] = json!("chat"))),
            "ticket sidebar",
        ),
        (
            "no subject",
            sign(&edit(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            })),
            "sub",
        ),
        (
            "no expiry",
            sign(&edit(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            "exp",
        ),
        ("garbage", "not.a.jwt".to_owned(), "malformed"),
    ];
    for (name, token, reason) in cases {
        let page = acme.post_token(app, &token).await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{name}: {}",
            page.message()
        );
        assert_eq!(page.page_status(), "refused", "{name}");
        assert_eq!(page.session(), None, "{name}: no session");
        assert!(
            page.message().contains(reason),
            "{name}: {:?} should say {reason:?}",
            page.message()
        );
    }
    // No token at all.
    let response = app
        .client
        .post(app.url("/zendesk/sidebar"))
        .form(&[("other", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!response.text().await.unwrap().contains("sealdrop-session"));
    // And the genuine token still works.
    assert_eq!(acme.post_token(app, &genuine).await.page_status(), "ready");

    // Sessions: a forged or expired-looking one is refused on the API.
    let session = acme.session(app, acme.agent).await;
    let parts: Vec<&str> = session.trim_start_matches("sda_").split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!(acme.admin.to_string());
    let forged = format!("sda_{}.{}.{}", parts[0], b64(&claims), parts[2]);
    for bad in [forged.as_str(), "sda_x.y.z", "sda_"] {
        let response = app.create_package_raw(bad, &json!({})).await;
        let (code, message) =
            common::TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(
            (code.as_str(), message.as_str()),
            ("unauthorized", "The agent session is not valid.")
        );
    }
}

#[tokio::test]
async fn refused_roles_get_no_session_and_role_changes_apply_within_the_cache_lifetime() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin = acme.set_up(app).await;
    let (status, _) = send_json(
        app,
        Method::PUT,
        "/api/v1/settings",
        &admin,
        &json!({"allowed_roles": ["admin", "custom:7"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A plain agent and an end user are refused with a clear page and no session.
    for user in [acme.agent, acme.customer] {
        let page = acme.sign_in(app, user).await;
        assert_eq!(
            (page.status, page.page_status().as_str()),
            (StatusCode::FORBIDDEN, "refused")
        );
        assert!(
            page.message().contains("role is not allowed"),
            "{}",
            page.message()
        );
        assert_eq!(page.session(), None);
    }

    // An agent with custom role 7 is allowed.
    let custom = acme.session(app, acme.custom_agent).await;
    assert_eq!(
        app.create_package_raw(&custom, &json!({})).await.status(),
        StatusCode::CREATED
    );

    // Zendesk moves them to role 8: the cached answer stands for the cache lifetime (60 s)...
    acme.sim.change_user(
        acme.custom_agent,
        UserChange {
            custom_role_id: Some(8),
            ..UserChange::default()
        },
    );
    assert_eq!(
        app.create_package_raw(&custom, &json!({})).await.status(),
        StatusCode::CREATED
    );
    // ...and then the server asks again and refuses, on every agent call and at sign-in.
    w.app.clock.advance(Duration::from_secs(61));
    let response = app.create_package_raw(&custom, &json!({})).await;
    let (_, message) = common::TestApp::expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(message.contains("role is not allowed"), "{message}");
    assert_eq!(
        acme.sign_in(app, acme.custom_agent).await.page_status(),
        "refused"
    );

    // A settings change applies at once (the cache holds roles, not decisions).
    let (status, _) = send_json(
        app,
        Method::PUT,
        "/api/v1/settings",
        &admin,
        &json!({"allowed_roles": ["admin", "agent"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.create_package_raw(&custom, &json!({})).await.status(),
        StatusCode::CREATED
    );

    // Suspension in Zendesk ends access within the lifetime too.
    acme.sim.change_user(
        acme.custom_agent,
        UserChange {
            suspended: Some(true),
            ..UserChange::default()
        },
    );
    w.app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        app.create_package_raw(&custom, &json!({})).await.status(),
        StatusCode::FORBIDDEN
    );
    let calls = acme
        .sim
        .api_log()
        .iter()
        .filter(|l| l.contains(&format!("/users/{}", acme.custom_agent)))
        .count();
    assert_eq!(
        calls,
        3,
        "one Zendesk call per cache lifetime: {:?}",
        acme.sim.api_log()
    );
}

#[tokio::test]
async fn a_revoked_grant_is_marked_and_an_admin_grants_again() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin = acme.set_up(app).await;
    let (_, settings) = get_json(app, "/api/v1/settings", &admin).await;
    assert_eq!(settings["grant"]["status"], "active");
    let agent = acme.session(app, acme.agent).await;

    // An admin removes sealdrop's access in Zendesk.
    assert_eq!(acme.sim.revoke_all_grants(), 1);
    w.app.clock.advance(Duration::from_secs(61));
    let response = app.create_package_raw(&agent, &json!({})).await;
    let (_, message) = common::TestApp::expect_error(response, StatusCode::FORBIDDEN).await;
    assert!(
        message.contains("must open the sealdrop app and authorize it again"),
        "{message}"
    );
    let (_, me) = get_json(app, "/api/v1/me", &agent).await;
    assert_eq!(me["status"], "reauthorization_required");
    let events = get_json(app, "/api/v1/me", &admin).await.1;
    assert_eq!(events["status"], "reauthorization_required");

    // The next sidebar visit tells the admin; the admin grants again from there.
    let page = acme.sign_in(app, acme.admin).await;
    assert_eq!(page.page_status(), "reauthorization_required");
    let (status, text) = acme.grant(app, &page.session().unwrap(), acme.admin).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let admin = acme.session(app, acme.admin).await;
    let (_, settings) = get_json(app, "/api/v1/settings", &admin).await;
    assert_eq!(settings["grant"]["status"], "active");
    // The agent's existing session works again.
    assert_eq!(
        app.create_package_raw(&agent, &json!({})).await.status(),
        StatusCode::CREATED
    );

    // The audit log records the loss and both grants.
    let (_, audit) = get_json(app, "/api/v1/audit?event=zendesk_granted", &admin).await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 2);
    let (_, audit) = get_json(app, "/api/v1/audit?event=zendesk_grant_lost", &admin).await;
    assert_eq!(audit["events"][0]["detail"]["reason"], "http_401");
}

/// Found by schemathesis: an unknown `state` answered 400 although the request is well formed;
/// it names an authorization that does not exist (404), and only a callback Zendesk would not
/// make is a 400. Every answer is the callback page, never axum's plain text.
#[tokio::test]
async fn the_oauth_callback_tells_a_malformed_answer_from_an_unknown_one() {
    let w = spawn(&["acme"]).await;
    let app = &w.app;
    for (query, status, says) in [
        (
            "state=unknown&code=abc",
            StatusCode::NOT_FOUND,
            "unknown, already used or expired",
        ),
        (
            "state=unknown&error=access_denied",
            StatusCode::NOT_FOUND,
            "unknown, already used or expired",
        ),
        (
            "code=abc",
            StatusCode::BAD_REQUEST,
            "not an authorization answer",
        ),
        (
            "state=unknown",
            StatusCode::NOT_FOUND,
            "unknown, already used or expired",
        ),
        (
            "state=&code=abc",
            StatusCode::BAD_REQUEST,
            "not an authorization answer",
        ),
        (
            "state=a&state=b&code=c",
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/zendesk/oauth/callback?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{query}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{query}"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(says), "{query}: {text}");
    }
    // A pending authorization answered with neither a code nor an error is not Zendesk's.
    let acme = &w.tenants[0];
    let setup = acme.sign_in(app, acme.admin).await.session().unwrap();
    let (status, started) = get_json(app, "/zendesk/oauth/start", &setup).await;
    assert_eq!(status, StatusCode::OK);
    let authorize = url::Url::parse(started["authorize_url"].as_str().unwrap()).unwrap();
    let (_, state) = authorize
        .query_pairs()
        .find(|(name, _)| name == "state")
        .unwrap();
    let response = app
        .client
        .get(app.url("/zendesk/oauth/callback"))
        .query(&[("state", state.as_ref())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("not an authorization answer"));
}

#[tokio::test]
async fn settings_are_validated_admin_only_and_the_widget_key_rotates() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin = acme.set_up(app).await;
    let agent = acme.session(app, acme.agent).await;

    let (status, before) = get_json(app, "/api/v1/settings", &admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before["allowed_roles"], json!(["admin", "agent"]));
    assert_eq!(before["require_auth_default"], true);
    assert_eq!(before["reply_link_style"], "text");
    assert_eq!(before["help_center_origins"], json!([]));
    assert_eq!(before["subdomain"], "acme");
    let key = before["widget_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sdw_") && key.len() == 47, "{key}");

    let (status, after) = send_json(
        app,
        Method::PUT,
        "/api/v1/settings",
        &admin,
        &json!({"help_center_origins": ["https://Help.Acme.com/"], "reply_link_style": "hyperlink",
                "widget_forms": [360000002], "require_auth_default": false, "max_expiry_secs": 86400}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        after["help_center_origins"],
        json!(["https://help.acme.com"])
    );
    assert_eq!(after["reply_link_style"], "hyperlink");
    assert_eq!(after["widget_forms"], json!([360000002]));
    assert_eq!(after["max_expiry_secs"], 86400);
    assert_eq!(
        after["default_expiry_secs"], 86400,
        "the default follows the lower maximum"
    );
    let (_, me) = get_json(app, "/api/v1/me", &agent).await;
    assert_eq!(me["settings"]["reply_link_style"], "hyperlink");
    assert_eq!(me["settings"]["require_auth_default"], false);
    // The tenant maximum applies to new packages.
    let created: Value = app
        .create_package_raw(&agent, &json!({"expires_in_secs": 10_000_000}))
        .await
        .json()
        .await
        .unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert!(expires <= w.app.clock.now() + 86400 + 5);

    for (bad, says) in [
        (
            json!({"allowed_roles": ["agent"]}),
            "must include \"admin\"",
        ),
        (
            json!({"help_center_origins": ["http://help.acme.com"]}),
            "https://",
        ),
        (json!({"max_file_size": 0}), "max_file_size"),
        (json!({"reply_link_style": "bold"}), "reply_link_style"),
        (json!({"widget_key": "sdw_mine"}), "unknown field"),
    ] {
        let (status, error) = send_json(app, Method::PUT, "/api/v1/settings", &admin, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            error["message"].as_str().unwrap().contains(says),
            "{bad}: {error}"
        );
    }
    assert_eq!(
        get_json(app, "/api/v1/settings", &admin).await.1,
        after,
        "refused changes change nothing"
    );

    let (status, rotated) = send_json(
        app,
        Method::POST,
        "/api/v1/settings/widget-key",
        &admin,
        &json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let new_key = rotated["widget_key"].as_str().unwrap();
    assert!(new_key.starts_with("sdw_") && new_key != key);
    assert_eq!(
        get_json(app, "/api/v1/settings", &admin).await.1["widget_key"],
        new_key
    );
    let (tenant, _) = app
        .state
        .db
        .tenant_by_widget_key(new_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tenant.name, "acme.zendesk.com");
    assert!(app
        .state
        .db
        .tenant_by_widget_key(&key)
        .await
        .unwrap()
        .is_none());

    // Agents are not admins.
    assert_eq!(
        get_json(app, "/api/v1/settings", &agent).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send_json(app, Method::PUT, "/api/v1/settings", &agent, &json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send_json(
            app,
            Method::POST,
            "/api/v1/settings/widget-key",
            &agent,
            &json!({})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let response = app
        .client
        .get(app.url("/zendesk/oauth/start"))
        .bearer_auth(&agent)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "only admins replace a working grant"
    );

    // A tenant API token reads its own tenant's settings (made on first use).
    let (status, own) = get_json(app, "/api/v1/settings", &app.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (own["subdomain"].clone(), own["grant"]["status"].as_str()),
        (Value::Null, Some("missing"))
    );
    assert_ne!(own["widget_key"], json!(new_key));
}

#[tokio::test]
async fn the_audit_log_filters_and_exports_csv() {
    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin = acme.set_up(app).await;
    let a = send_as(app, &admin, &json!({}), &[test_bytes(5, 1)]).await;
    let b = send_as(app, &admin, &json!({}), &[test_bytes(5, 2)]).await;

    let (_, created) = get_json(app, "/api/v1/audit?event=created", &admin).await;
    let packages: Vec<&str> = created["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["package"].as_str().unwrap())
        .collect();
    assert_eq!(packages, [b.id.as_str(), a.id.as_str()]);
    let (_, one) = get_json(
        app,
        &format!("/api/v1/audit?event=finalized&package={}", a.id),
        &admin,
    )
    .await;
    assert_eq!(one["events"].as_array().unwrap().len(), 1);
    let future = chrono::DateTime::from_timestamp(w.app.clock.now() + 3600, 0)
        .unwrap()
        .to_rfc3339();
    let (status, later) = get_json(
        app,
        &format!("/api/v1/audit?since={}", urlencode(&future)),
        &admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(later["events"], json!([]));
    let (status, _) = get_json(app, "/api/v1/audit?since=yesterday", &admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let response = app
        .client
        .get(app.url("/api/v1/audit?format=csv&event=created"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "id,at,event,package,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    // A base64url id may start with `-`, which the export defuses like a formula (`'-…`).
    let cell = if b.id.starts_with('-') {
        format!("'{}", b.id)
    } else {
        b.id.clone()
    };
    assert!(lines[1].contains(&format!(",created,{cell},\"{{")), "{csv}");
    assert!(lines[1].contains(r#"""by"":""agent"""#), "{csv}");
}

#[tokio::test]
async fn the_sidebar_page_and_the_agent_app_files_come_from_the_agent_app_folder() {
    let assets = tempfile::tempdir().unwrap();
    std::fs::write(
        assets.path().join("sidebar.html"),
        "<!doctype html><html><head><title>app</title><script type=\"module\" src=\"/agent-app/sidebar.js\"></script></head><body></body></html>",
    )
    .unwrap();
    std::fs::write(assets.path().join("sidebar.js"), "export const ok = 1;\n").unwrap();
    let dir = assets.path().to_owned();
    let w = spawn_with(&["acme"], |args| args.zendesk.agent_app_dir = Some(dir)).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let page = acme.sign_in(app, acme.agent).await;
    assert!(
        page.html
            .starts_with("<!doctype html><html><head><title>app</title><script"),
        "the app's own page"
    );
    let head_end = page.html.find("</head>").unwrap();
    let meta_at = page.html.find("<meta name=\"sealdrop-session\"").unwrap();
    assert!(meta_at < head_end, "the session sits in the head");
    let js = app
        .client
        .get(app.url("/agent-app/sidebar.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(js.text().await.unwrap(), "export const ok = 1;\n");
    for bad in [
        "/agent-app/../Cargo.toml",
        "/agent-app/missing.js",
        "/agent-app/%2e%2e/secret",
    ] {
        assert_eq!(
            app.client.get(app.url(bad)).send().await.unwrap().status(),
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The sidebar served from the app package signs in with the app JWT that Zendesk's proxy
/// signs with the tenant's shared secret (docs/ZENDESK.md "Sidebar from the app package"),
/// and proves its user once per browser through Zendesk's consent ("Who the packaged sidebar
/// runs for").
#[tokio::test]
async fn the_packaged_sidebar_signs_in_with_the_app_jwt_once() {
    use sealdrop_server::zendesk::app_jwt;
    use sealdrop_server::zendesk::Subdomain;

    let w = spawn(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let subdomain = Subdomain::parse("acme").unwrap();
    let (_, secret) = sealdrop_server::agents::make_app_secret_for(
        &app.state.db,
        &app.state.zendesk,
        &subdomain,
        false,
        app.clock.now(),
    )
    .await
    .unwrap();
    let now = app_jwt_now();
    let jtis = std::sync::atomic::AtomicU32::new(0);
    let claims_as = |user: u64| {
        let n = jtis.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        json!({
            "iss": "acme.zendesk.com",
            "aud": app_jwt::AUDIENCE,
            "sub": user.to_string(),
            "installation_id": acme.sim.installation_id(),
            "jti": format!("a-fresh-random-jti-{n:04}"),
        })
    };
    let claims = |_: &str| claims_as(acme.agent);
    let post_with = |token: String, body: Value| async move {
        let response = app
            .client
            .post(app.url("/zendesk/app/session"))
            .header("Authorization", format!("Bearer {token}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json::<Value>().await.unwrap())
    };
    let sign = |claims: &Value| app_jwt::sign(secret.expose(), claims, now, 60);
    // `user` approves in Zendesk what the popup at `identify_url` asks; the callback page.
    let approve = |identify_url: String, user: u64| async move {
        let started = no_redirects().get(&identify_url).send().await.unwrap();
        assert!(started.status().is_redirection(), "{}", started.status());
        let mut authorize =
            url::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
        assert!(authorize.as_str().starts_with(acme.sim.base_url().as_str()));
        assert!(
            authorize
                .query_pairs()
                .any(|(k, v)| k == "scope" && v == "users:read"),
            "asks for the least scope: {authorize}"
        );
        authorize
            .query_pairs_mut()
            .append_pair("as", &user.to_string());
        let approved = no_redirects().get(authorize).send().await.unwrap();
        assert!(approved.status().is_redirection());
        // Back to the callback (on this test server's port: its public URL has none).
        let back = url::Url::parse(approved.headers()["location"].to_str().unwrap()).unwrap();
        assert_eq!(back.path(), "/zendesk/oauth/callback");
        let back = app.url(&format!("{}?{}", back.path(), back.query().unwrap_or("")));
        let page = app.client.get(back).send().await.unwrap();
        (page.status(), page.text().await.unwrap())
    };

    // The JWT alone names the user as the app's script asked: not enough.
    let (status, body) = post_with(sign(&claims("")), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "identify");
    assert!(
        body["session"].is_null() && body.get("identify_path").is_none(),
        "{body}"
    );

    // With a claim: a popup URL on this server that carries only the claim's hash.
    let claim = "this-browser-s-random-claim-0123456789abcdef";
    let (status, body) = post_with(sign(&claims("")), json!({ "claim": claim })).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("identify")),
        "{body}"
    );
    let identify_url = app.url(body["identify_path"].as_str().unwrap());
    assert!(
        identify_url.starts_with(&app.url("/zendesk/app/identify?claim=")),
        "{identify_url} on {}",
        app.url("/")
    );
    assert!(
        !identify_url.contains(claim),
        "the claim itself never travels in a URL"
    );
    assert!(body["session"].is_null());

    // Another user signed in to Zendesk (the admin) approving it proves nothing.
    let (status, text) = approve(identify_url.clone(), acme.admin).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{text}");
    assert!(text.contains("another user"), "{text}");
    let (_, body) = post_with(sign(&claims("")), json!({ "claim": claim })).await;
    assert_eq!(body["status"], "identify", "still unproven: {body}");

    // The agent approves: proven, and collected once, by a JWT naming the same user.
    let (status, text) = approve(identify_url.clone(), acme.agent).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (_, body) = post_with(sign(&claims_as(acme.admin)), json!({ "claim": claim })).await;
    assert_eq!(
        body["status"], "identify",
        "a JWT naming the admin does not collect it: {body}"
    );
    assert!(body["session"].is_null());
    let (status, body) = post_with(sign(&claims("")), json!({ "claim": claim })).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("ready")),
        "{body}"
    );
    let credential = body["credential"].as_str().unwrap().to_owned();
    let session = body["session"].as_str().unwrap().to_owned();
    let (status, me) = get_json(app, "/api/v1/me", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user_id"], json!(acme.agent.to_string()));
    // Collected once: the same claim again is a new request that needs a new approval.
    let (_, body) = post_with(sign(&claims("")), json!({ "claim": claim })).await;
    assert_eq!(
        body["status"], "identify",
        "a claim is collected once: {body}"
    );
    assert!(body["session"].is_null() && body.get("credential").is_none());

    // The credential proves the agent from now on, and nobody else.
    let with_credential = json!({ "credential": credential });
    let (status, body) = post_with(sign(&claims("")), with_credential.clone()).await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &json!("ready")),
        "{body}"
    );
    assert!(body.get("credential").is_none(), "shown once");
    let (_, body) = post_with(sign(&claims_as(acme.admin)), with_credential.clone()).await;
    assert_eq!(
        body["status"], "identify",
        "the agent's credential does not prove the admin"
    );
    let (_, body) = post_with(sign(&claims("")), json!({ "credential": "guessed" })).await;
    assert_eq!(body["status"], "identify");
    // A body that is not an object of those fields: refused as such, before anything else.
    for bad in [
        json!([null, null]),
        json!("claim"),
        json!({ "claim": 7 }),
        json!({ "other": "x" }),
    ] {
        let (status, body) = post_with(sign(&claims("")), bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} answered {body}");
    }
    let post = |token: String| post_with(token, with_credential.clone());

    // The same token again, or another with the same jti: refused.
    let token = sign(&claims(""));
    assert_eq!(post(token.clone()).await.0, StatusCode::OK);
    assert_eq!(post(token).await.0, StatusCode::UNAUTHORIZED);
    let mut same_jti = claims("");
    same_jti["jti"] = json!("a-fresh-random-jti-0000");
    let again = app_jwt::sign(secret.expose(), &same_jti, now + 1, 60);
    assert_eq!(post(again).await.0, StatusCode::UNAUTHORIZED);

    // Signed with another secret (the tenant's rotated one, or a guess): refused.
    let other = app_jwt::AppSecret::generate();
    let forged = app_jwt::sign(other.expose(), &claims(""), now, 60);
    assert_eq!(post(forged).await.0, StatusCode::UNAUTHORIZED);

    // A rotated secret stops the old one at once.
    let (_, rotated) = sealdrop_server::agents::make_app_secret_for(
        &app.state.db,
        &app.state.zendesk,
        &subdomain,
        true,
        app.clock.now(),
    )
    .await
    .unwrap();
    assert_ne!(rotated.expose(), secret.expose());
    let old = app_jwt::sign(secret.expose(), &claims(""), now, 60);
    assert_eq!(post(old).await.0, StatusCode::UNAUTHORIZED);
    let new = app_jwt::sign(rotated.expose(), &claims(""), now, 60);
    assert_eq!(post(new).await.0, StatusCode::OK);

    // No token at all, or an account without a secret: refused.
    let none = app
        .client
        .post(app.url("/zendesk/app/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    let mut stranger = claims("");
    stranger["iss"] = json!("globex.zendesk.com");
    let token = app_jwt::sign(rotated.expose(), &stranger, now, 60);
    assert_eq!(post(token).await.0, StatusCode::NOT_FOUND);

    // A popup for a claim nobody made: a page that says so.
    let unknown = no_redirects()
        .get(app.url(&format!("/zendesk/app/identify?claim={}", "0".repeat(64))))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("unknown, already used or expired"));
}

/// The app JWT is checked against the system clock, as Zendesk's proxy signs it.
fn app_jwt_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
