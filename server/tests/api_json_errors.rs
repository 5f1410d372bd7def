//! JSON bodies of the wrong shape are refused with a message that names the field by its path
//! and says what was expected there (docs/API.md "Errors").
#![allow(clippy::unwrap_used)]

mod common;

use common::{spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Sends `body` as JSON with the tenant token; returns the `400` message.
async fn refused(app: &TestApp, method: Method, path: &str, body: &str) -> String {
    let response = app
        .client
        .request(method, app.url(path))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request", "{body}");
    message
}

#[tokio::test]
async fn create_package_errors_name_the_field() {
    let app = spawn_app().await;
    for (body, expected) in [
        (
            r#"{"max_downloads": "five"}"#,
            r#"The request body does not fit this endpoint: max_downloads: invalid type: string "five", expected u32."#,
        ),
        (
            r#"{"max_downloads": -1}"#,
            "The request body does not fit this endpoint: max_downloads: invalid value: integer `-1`, expected u32.",
        ),
        (
            r#"{"recipients": ["a@example.com", 7]}"#,
            "The request body does not fit this endpoint: recipients[1]: invalid type: integer `7`, expected a string.",
        ),
        (
            r#"{"require_auth": "yes"}"#,
            r#"The request body does not fit this endpoint: require_auth: invalid type: string "yes", expected a boolean."#,
        ),
        (
            r#"{"downloads": 5}"#,
            "The request body does not fit this endpoint: downloads: unknown field `downloads`, expected one of \
             `recipients`, `require_auth`, `expires_in_secs`, `max_downloads`, `notify_sender`.",
        ),
        (
            r#"{"max_downloads": 5"#,
            "The request body is not valid JSON: EOF while parsing an object at line 1 column 19.",
        ),
    ] {
        assert_eq!(
            refused(&app, Method::POST, "/api/v1/packages", body).await,
            expected,
            "{body}"
        );
    }
    let audit: Value = app
        .client
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        audit["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] != "created"),
        "nothing was created: {audit}"
    );
}

#[tokio::test]
async fn settings_errors_name_the_field() {
    let app = spawn_app().await;
    for (body, expected) in [
        (
            r#"{"max_file_size": "big"}"#,
            r#"The request body does not fit this endpoint: max_file_size: invalid type: string "big", expected u64."#,
        ),
        (
            r#"{"widget_forms": [12, "x"]}"#,
            r#"The request body does not fit this endpoint: widget_forms[1]: invalid type: string "x", expected u64."#,
        ),
        (
            r#"{"require_auth_default": 1}"#,
            "The request body does not fit this endpoint: require_auth_default: invalid type: integer `1`, expected a boolean.",
        ),
    ] {
        assert_eq!(
            refused(&app, Method::PUT, "/api/v1/settings", body).await,
            expected,
            "{body}"
        );
    }
    let settings: Value = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        settings["widget_forms"],
        serde_json::json!([]),
        "nothing changed"
    );
    assert_eq!(settings["require_auth_default"], true, "nothing changed");
}

#[tokio::test]
async fn a_database_out_of_reach_answers_503_with_retry_after_not_500() {
    let app = spawn_app().await;
    let sent = app
        .send(&serde_json::json!({}), &[common::test_bytes(100, 1)])
        .await;
    let info = || {
        app.with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
    };
    assert_eq!(info().await.unwrap().status(), StatusCode::OK);
    // As when PostgreSQL restarts: no connection to be had.
    app.state.db.pool().close().await;
    let response = info().await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2"),
        "clients are told to come back"
    );
    let (code, message) = TestApp::expect_error(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(code, "unavailable");
    assert!(
        message.contains("database") && message.contains("try again"),
        "{message}"
    );
}
