//! The Help Center request pages and the control API.

mod common;

use common::{client, grant_as, world};
use serde_json::{json, Value};

#[tokio::test]
async fn the_react_request_page_mounts_on_new_request_form_with_the_loader_tag() {
    let w = world(None).await;
    w.sim.set_widget_key("sdw_test_key");
    let html = reqwest::get(w.sim.base_url().join("hc/en-us/requests/new").expect("url"))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains(r#"<div id="new-request-form""#));
    assert!(html.contains(r#"<script src="http://127.0.0.1:8080/widget/v1/loader.js" data-key="sdw_test_key" defer></script>"#));
    assert!(html.contains(r#"<script src="/hc/assets/new-request-form.js" defer></script>"#));
    let props: Value = serde_json::from_str(
        html.split(r#"id="new-request-form-props">"#)
            .nth(1)
            .and_then(|s| s.split("</script>").next())
            .expect("props"),
    )
    .expect("json props");
    assert_eq!(props["ticketForms"].as_array().map(Vec::len), Some(2));

    let js = reqwest::get(
        w.sim
            .base_url()
            .join("hc/assets/new-request-form.js")
            .expect("url"),
    )
    .await
    .expect("js");
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let js = js.text().await.expect("text");
    assert!(
        js.contains("request[description]") && js.contains("new-request-form"),
        "the React bundle"
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
    let resp = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[
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
    let people = client(&w, &grant.access_token)
        .ticket_participants(id)
        .await
        .expect("participants");
    assert_eq!(
        people.requester.email.as_deref(),
        Some("erin@customer.example")
    );
    let shown = reqwest::get(w.sim.base_url().join(&location).expect("url"))
        .await
        .expect("show")
        .text()
        .await
        .expect("html");
    assert!(shown.contains("https://sealdrop.example/p/abc#secret"));

    let empty = http
        .post(w.sim.base_url().join("hc/en-us/requests").expect("url"))
        .form(&[(
            "request[anonymous_requester_email]",
            "erin@customer.example",
        )])
        .send()
        .await
        .expect("submit");
    assert_eq!(
        empty.status(),
        422,
        "a request without a description is refused"
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
