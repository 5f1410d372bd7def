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

/// Found by schemathesis: JSON Schema's `integer` admits `5.0`, which serde refused for a u32.
#[tokio::test]
async fn whole_numbers_written_with_a_fraction_are_integers() {
    let app = spawn_app().await;
    let created = app
        .create_package_raw(
            &app.token,
            &serde_json::json!({"max_downloads": 3.0, "expires_in_secs": 3600e0}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // Read exactly (serde_json's default float parsing was one unit in the last place off).
    let created = app
        .client
        .post(app.url("/api/v1/packages"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(r#"{"expires_in_secs": 2098209613560911.0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let response = app
        .client
        .put(app.url("/api/v1/settings"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body(r#"{"max_file_size": 19286.0, "widget_forms": [7.0], "audit_retention_days": 630.0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let settings: Value = response.json().await.unwrap();
    assert_eq!(settings["max_file_size"], 19286);
    assert_eq!(settings["widget_forms"], serde_json::json!([7]));
    assert_eq!(settings["audit_retention_days"], 630);
    // A fraction is still refused.
    assert_eq!(
        refused(&app, Method::PUT, "/api/v1/settings", r#"{"max_file_size": 1.5}"#).await,
        "The request body does not fit this endpoint: max_file_size: invalid type: floating point `1.5`, expected u64."
    );
}

/// Found by schemathesis: `PUT /api/v1/settings` with no body answered 200 (an empty body read
/// as `{}`), though the document requires one. Bodies an endpoint requires are refused empty.
#[tokio::test]
async fn a_required_body_cannot_be_left_out() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::PUT, "/api/v1/settings"),
        (Method::POST, "/api/v1/tenant/deletion"),
        (Method::POST, "/api/v1/tenant/subjects/export"),
        (Method::POST, "/api/v1/tenant/subjects/erase"),
    ] {
        assert_eq!(
            refused(&app, method.clone(), path, " ").await,
            "This endpoint needs a JSON body (`{…}`); the request has none.",
            "{method} {path}"
        );
    }
    // Creating a package takes no body at all (every field is optional).
    let response = app
        .client
        .post(app.url("/api/v1/packages"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// Found by schemathesis: a path segment that does not decode got axum's plain-text 400, and
/// a method a path does not take an empty 405; every error is the JSON error body.
#[tokio::test]
async fn errors_outside_the_handlers_are_json_too() {
    let app = spawn_app().await;
    let id = sealdrop_crypto::PackageId::from_bytes([5; 16]).to_b64u();
    for path in [
        "/api/v1/packages/%FF".to_owned(),
        format!("/api/v1/packages/{id}/files/%FF"),
    ] {
        let response = app
            .client
            .get(app.url(&path))
            .header("X-Sealdrop-Link-Proof", "A".repeat(43))
            .header(
                "X-Sealdrop-Download-Token",
                format!("sdd_{}", "A".repeat(43)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "bad_request", "{path}");
        assert!(message.contains("UTF-8"), "{path}: {message}");
    }
    let response = app
        .client
        .patch(app.url("/api/v1/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET,HEAD,PUT");
    assert_eq!(response.headers()["content-type"], "application/json");
    let (code, _) = TestApp::expect_error(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(code, "method_not_allowed");
}
