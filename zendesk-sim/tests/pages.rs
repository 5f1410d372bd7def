//! The Help Center request pages and the control API.

mod common;

use common::{client, grant_as, world};
use serde_json::{json, Value};

#[tokio::test]
async fn the_request_page_is_the_copenhagen_theme_with_the_loader_tag_in_its_head() {
    let w = world(None).await;
    w.sim.set_widget_key("sdw_test_key");
    let base = w.sim.base_url().clone();
    let html = reqwest::get(base.join("hc/en-us/requests/new").expect("url"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let head = html.split("</head>").next().expect("a head");
    assert!(head.contains(r#"<script src="http://127.0.0.1:8080/widget/v1/loader.js" data-key="sdw_test_key" defer></script>"#));
    assert!(
        head.contains(r#""new-request-form": "/hc/theming_assets/new-request-form-bundle.js""#),
        "the theme's import map"
    );
    assert!(html.contains(r#"<div id="new-request-form"></div>"#));
    assert!(html.contains("renderNewRequestForm(settings, props, container)"));
    assert!(
        html.contains("wysiwyg: true"),
        "the description is a CKEditor"
    );
    assert!(
        html.contains(r#""name":"Billing","value":360000002"#),
        "the ticket forms"
    );

    // The theme's own files, byte for byte.
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/copenhagen");
    for (served, file) in [
        (
            "new-request-form-bundle.js",
            "assets/new-request-form-bundle.js",
        ),
        ("wysiwyg-bundle.js", "assets/wysiwyg-bundle.js"),
        ("script.js", "script.js"),
    ] {
        let resp = reqwest::get(
            base.join(&format!("hc/theming_assets/{served}"))
                .expect("url"),
        )
        .await
        .expect("asset");
        assert_eq!(
            resp.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let bytes = resp.bytes().await.expect("bytes");
        assert_eq!(
            bytes.as_ref(),
            std::fs::read(fixtures.join(file)).expect("fixture"),
            "{served}"
        );
    }
    let css = reqwest::get(base.join("hc/theming_assets/style.css").expect("url"))
        .await
        .expect("css")
        .text()
        .await
        .expect("text");
    assert!(
        css.contains("color: #2F3941") && !css.contains("$text_color"),
        "settings compiled into style.css"
    );
}

#[tokio::test]
async fn the_classic_request_page_has_the_older_markup() {
    let w = world(None).await;
    let html = reqwest::get(
        w.sim
            .base_url()
            .join("hc/en-us/requests/new?markup=classic")
            .expect("url"),
    )
    .await
    .expect("page")
    .text()
    .await
    .expect("html");
    for needle in [
        r#"<form id="new_request""#,
        r#"<textarea name="request[description]" id="request_description""#,
        r#"id="upload-dropzone""#,
        r#"<select name="request[ticket_form_id]""#,
        r#"/widget/v1/loader.js" data-key="sdw_demo""#,
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
}

#[tokio::test]
async fn submitting_a_request_creates_a_ticket_seen_by_the_api() {
    let w = world(None).await;
    let http = common::http();
    let forged = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[
            (
                "request[anonymous_requester_email]",
                "erin@customer.example",
            ),
            ("request[description]", "no token"),
            ("authenticity_token", "forged"),
        ])
        .send()
        .await
        .expect("submit");
    assert_eq!(
        forged.status(),
        422,
        "a post without a CSRF token the Help Center issued is refused"
    );
    let session: Value = http
        .get(
            w.sim
                .base_url()
                .join("api/v2/help_center/sessions.json")
                .expect("url"),
        )
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let csrf = session["current_session"]["csrf_token"]
        .as_str()
        .expect("a token")
        .to_string();
    let resp = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            (
                "request[anonymous_requester_email]",
                "erin@customer.example",
            ),
            ("request[subject]", "Scans"),
            (
                "request[description]",
                "Here: https://sealdrop.example/p/abc#secret",
            ),
            ("request[ticket_form_id]", "360000002"),
        ])
        .send()
        .await
        .expect("submit");
    assert!(resp.status().is_redirection());
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let id: u64 = location
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .expect("ticket id");

    let listed: Value = reqwest::get(w.sim.base_url().join("sim/tickets").expect("url"))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ticket = listed["tickets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == json!(id)))
        .expect("listed");
    assert_eq!(
        ticket["description"],
        "Here: https://sealdrop.example/p/abc#secret"
    );
    assert_eq!(ticket["ticket_form_id"], 360_000_002);
    assert_eq!(ticket["via"], "web");

    let grant = grant_as(&w, w.admin).await;
    let requester_id = ticket["requester_id"].as_u64().expect("a requester");
    let requester = client(&w, &grant.access_token)
        .user(requester_id)
        .await
        .expect("the requester");
    assert_eq!(requester.email.as_deref(), Some("erin@customer.example"));
    let shown = reqwest::get(w.sim.base_url().join(&location).expect("url"))
        .await
        .expect("show")
        .text()
        .await
        .expect("html");
    assert!(shown.contains("https://sealdrop.example/p/abc#secret"));

    let empty = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[
            (
                "request[anonymous_requester_email]",
                "erin@customer.example",
            ),
            ("authenticity_token", csrf.as_str()),
        ])
        .send()
        .await
        .expect("submit");
    assert_eq!(
        empty.status(),
        422,
        "a request without a description is refused"
    );

    // A rich-text description is kept as its text; the log holds what was posted.
    let html = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[
            ("authenticity_token", csrf.as_str()),
            ("request[anonymous_requester_email]", "erin@customer.example"),
            ("request[description]", "<p>Hi &amp; thanks</p><p>Link: <a href=\"https://s.example/p/a#b\">https://s.example/p/a#b</a></p>"),
            ("request[description_mimetype]", "text/html"),
        ])
        .send()
        .await
        .expect("submit");
    assert!(html.status().is_redirection());
    let log: Value = reqwest::get(w.sim.base_url().join("sim/help_center/log").expect("url"))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let posts = log["posts"].as_array().expect("posts");
    assert_eq!(
        posts
            .iter()
            .map(|p| p["status"].as_u64())
            .collect::<Vec<_>>(),
        [Some(422), Some(302), Some(422), Some(302)]
    );
    let last = posts
        .last()
        .and_then(|p| p["ticket_id"].as_u64())
        .expect("a ticket");
    let listed: Value = reqwest::get(w.sim.base_url().join("sim/tickets").expect("url"))
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ticket = listed["tickets"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == json!(last)))
        .expect("listed");
    assert_eq!(
        ticket["description"],
        "Hi & thanks\n\nLink: https://s.example/p/a#b"
    );
}

#[tokio::test]
async fn the_control_api_drives_the_simulator_over_http() {
    let w = world(None).await;
    let http = common::http();
    let base = w.sim.base_url().clone();
    let pem = http
        .get(base.join("sim/public_key.pem").expect("url"))
        .send()
        .await
        .expect("pem")
        .text()
        .await
        .expect("text");
    assert_eq!(pem, w.sim.public_key_pem());
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));

    let user: Value = http
        .post(base.join("sim/users").expect("url"))
        .json(&json!({"role": "agent", "name": "Bea"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let uid = user["user"]["id"].as_u64().expect("id");
    let changed: Value = http
        .patch(base.join(&format!("sim/users/{uid}")).expect("url"))
        .json(&json!({"custom_role_id": 12}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("json");
    assert_eq!(changed["user"]["custom_role_id"], 12);
    let token: Value = http
        .post(base.join("sim/zaf_token").expect("url"))
        .json(&json!({"user_id": uid}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(
        token["token"].as_str().map(|t| t.split('.').count()),
        Some(3)
    );
    assert!(token["app_url"]
        .as_str()
        .is_some_and(|u| u.contains("/zendesk/sidebar?origin=")));

    let s = http
        .post(base.join("sim/throttle").expect("url"))
        .json(&json!({"count": 1}))
        .send()
        .await
        .expect("throttle");
    assert_eq!(s.status(), 204);
    let grant = grant_as(&w, w.admin).await;
    let started = std::time::Instant::now();
    client(&w, &grant.access_token)
        .user(uid)
        .await
        .expect("after one 429");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let revoked: Value = http
        .post(base.join("sim/grants/revoke").expect("url"))
        .send()
        .await
        .expect("revoke")
        .json()
        .await
        .expect("json");
    assert_eq!(revoked["revoked"], 1);
}
