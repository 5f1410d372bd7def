//! `POST /api/v1/packages/{id}/download` with an `Idempotency-Key`: a repeated key gets a new
//! download token without taking another download from the limit (docs/API.md).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{spawn_app, test_bytes, SentPackage, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY_A: &str = "k6sG0kVb2cQ1n9Zt4yXw-A";
const KEY_B: &str = "Zq8_Lm3Pr5Tv7Xz9Bd1Fh-";
const KEY_C: &str = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d";

/// `POST …/download` with an optional `Idempotency-Key`.
async fn start(app: &TestApp, sent: &SentPackage, key: Option<&str>) -> reqwest::Response {
    let mut request = app.with_proof(
        Method::POST,
        &format!("/api/v1/packages/{}/download", sent.id),
        &sent.proof,
    );
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// The `200` answer of a download start, as JSON.
async fn started(app: &TestApp, sent: &SentPackage, key: Option<&str>) -> Value {
    let response = start(app, sent, key).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "download start with {key:?}"
    );
    response.json().await.unwrap()
}

async fn expect_limit_reached(app: &TestApp, sent: &SentPackage, key: Option<&str>) {
    let (code, message) =
        TestApp::expect_error(start(app, sent, key).await, StatusCode::GONE).await;
    assert_eq!(code, "download_limit_reached", "{key:?}: {message}");
}

fn count(events: &[String], name: &str) -> usize {
    events.iter().filter(|e| *e == name).count()
}

#[tokio::test]
async fn a_repeated_key_gets_a_new_token_without_counting_a_download() {
    let app = spawn_app().await;
    let sent = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(3000, 1)])
        .await;

    let first = started(&app, &sent, Some(KEY_A)).await;
    let again = started(&app, &sent, Some(KEY_A)).await;
    assert_ne!(
        first["download_token"], again["download_token"],
        "a fresh token every time"
    );
    assert_eq!(
        first["expires_at"], again["expires_at"],
        "the repeat's token expires with the first"
    );
    for answer in [&first, &again] {
        let token = answer["download_token"].as_str().unwrap();
        let response = app.fetch_file(&sent.id, 0, token, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.bytes().await.unwrap() == sent.ciphertexts[0]);
    }

    expect_limit_reached(&app, &sent, Some(KEY_B)).await;
    expect_limit_reached(&app, &sent, None).await;
    let events = app.audit_events(&sent.id).await;
    assert_eq!(count(&events, "downloaded"), 1, "{events:?}");
    // The key still works after the limit was reached by others' tries.
    started(&app, &sent, Some(KEY_A)).await;
}

#[tokio::test]
async fn a_key_from_another_package_does_not_help() {
    let app = spawn_app().await;
    let first = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(100, 2)])
        .await;
    let second = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(100, 3)])
        .await;
    started(&app, &first, Some(KEY_A)).await;
    started(&app, &second, Some(KEY_B)).await;
    expect_limit_reached(&app, &second, Some(KEY_A)).await;
    expect_limit_reached(&app, &first, Some(KEY_B)).await;

    // A key used on one package is a new key on another: it counts there.
    let third = app
        .send(&json!({ "max_downloads": 2 }), &[test_bytes(100, 4)])
        .await;
    started(&app, &third, Some(KEY_A)).await;
    started(&app, &third, Some(KEY_A)).await;
    started(&app, &third, Some(KEY_C)).await;
    expect_limit_reached(&app, &third, Some(KEY_B)).await;
    let events = app.audit_events(&third.id).await;
    assert_eq!(count(&events, "downloaded"), 2, "{events:?}");
}

#[tokio::test]
async fn concurrent_repeats_of_one_key_count_once() {
    let app = spawn_app().await;
    let sent = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(100, 5)])
        .await;
    let attempts = (0..6).map(|_| start(&app, &sent, Some(KEY_C)));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    expect_limit_reached(&app, &sent, Some(KEY_A)).await;
    let events = app.audit_events(&sent.id).await;
    assert_eq!(count(&events, "downloaded"), 1, "{events:?}");
}

#[tokio::test]
async fn a_key_is_remembered_for_the_download_token_lifetime_only() {
    let app = spawn_app().await;
    let sent = app
        .send(
            &json!({ "max_downloads": 2, "expires_in_secs": 7 * 24 * 3600 }),
            &[test_bytes(100, 6)],
        )
        .await;
    let first = started(&app, &sent, Some(KEY_A)).await;
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    let token = first["download_token"].as_str().unwrap();
    assert_eq!(
        app.fetch_file(&sent.id, 0, token, None).await.status(),
        StatusCode::UNAUTHORIZED,
        "the first token has expired"
    );
    // The key was forgotten with its token: this is a new download, and it counts.
    let second = started(&app, &sent, Some(KEY_A)).await;
    assert_ne!(first["expires_at"], second["expires_at"]);
    let events = app.audit_events(&sent.id).await;
    assert_eq!(count(&events, "downloaded"), 2, "{events:?}");
    // Repeating it now is free again, and the limit is used up for other keys.
    started(&app, &sent, Some(KEY_A)).await;
    expect_limit_reached(&app, &sent, Some(KEY_B)).await;
}

#[tokio::test]
async fn a_malformed_key_is_refused_before_anything_counts() {
    let app = spawn_app().await;
    let sent = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(100, 7)])
        .await;
    for bad in [
        "short",
        "has spaces in it, which keys do not",
        &"x".repeat(65),
        "not+base64url/at=all==",
    ] {
        let (code, message) =
            TestApp::expect_error(start(&app, &sent, Some(bad)).await, StatusCode::BAD_REQUEST)
                .await;
        assert_eq!(code, "bad_request", "{bad}");
        assert!(message.contains("Idempotency-Key"), "{bad}: {message}");
    }
    // The quoted form of the IETF draft is the same key.
    started(&app, &sent, Some(&format!("\"{KEY_A}\""))).await;
    started(&app, &sent, Some(KEY_A)).await;
    let events = app.audit_events(&sent.id).await;
    assert_eq!(count(&events, "downloaded"), 1, "{events:?}");
}
