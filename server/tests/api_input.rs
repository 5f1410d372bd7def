//! Bad input gets a clear 4xx and leaves no state behind.
#![allow(clippy::unwrap_used)]

mod common;

use common::{no_options, sha256_hex, spawn_app, spawn_app_with, test_bytes, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn parts_listing(app: &TestApp, id: &str, upload_token: &str) -> Value {
    let response = app
        .client
        .get(app.url(&format!("/api/v1/packages/{id}/parts")))
        .header("X-Sealdrop-Upload-Token", upload_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_wrong_checksum_or_length_stores_nothing() {
    let app = spawn_app().await;
    let prepared = app.prepare(&no_options(), &[test_bytes(70_000, 1)]).await;
    let sent = &prepared.sent;
    assert_eq!(
        app.put_manifest(
            &sent.id,
            &sent.upload_token,
            &prepared.verifier,
            &sent.manifest
        )
        .await
        .status(),
        StatusCode::OK
    );
    let part = &sent.ciphertexts[0];

    let wrong_sha = sha256_hex(b"something else");
    let response = app
        .put_part_with_sha(&sent.id, &sent.upload_token, 0, 0, part, &wrong_sha)
        .await;
    let (code, message) = TestApp::expect_error(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(code, "checksum_mismatch");
    assert!(message.contains("nothing was stored"), "{message}");

    let short = &part[..part.len() - 1];
    let response = app
        .put_part(&sent.id, &sent.upload_token, 0, 0, short)
        .await;
    let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(
        message.contains(&format!("exactly {} bytes", part.len())),
        "{message}"
    );

    let mut long = part.clone();
    long.push(0);
    let response = app
        .put_part(&sent.id, &sent.upload_token, 0, 0, &long)
        .await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::BAD_REQUEST)
            .await
            .0,
        "bad_request"
    );

    assert!(app.blob_keys(&sent.id).await.is_empty(), "no blob written");
    assert_eq!(
        parts_listing(&app, &sent.id, &sent.upload_token).await["files"],
        json!([{ "file": 0, "parts": [], "expected": 1 }])
    );
    let spool: Vec<_> = std::fs::read_dir(app.data_dir.path().join("spool"))
        .unwrap()
        .collect();
    assert!(spool.is_empty(), "spool files are cleaned up");

    // Then the right bytes go in.
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, part)
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn malformed_part_requests_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let prepared = app.prepare(&no_options(), &[test_bytes(10, 2)]).await;
    let sent = &prepared.sent;
    let part = &sent.ciphertexts[0];

    // Before the manifest.
    let (code, message) = TestApp::expect_error(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, part).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "conflict");
    assert!(message.contains("manifest"), "{message}");
    assert_eq!(
        app.put_manifest(
            &sent.id,
            &sent.upload_token,
            &prepared.verifier,
            &sent.manifest
        )
        .await
        .status(),
        StatusCode::OK
    );

    // A file or part the manifest does not have does not exist: 404, as on the download side.
    for (file, part_index, needle) in [
        (1usize, 0u64, "no file 1"),
        (0, 1, "File 0 of this package has no part 1 (it has 1)."),
    ] {
        let response = app
            .put_part(&sent.id, &sent.upload_token, file, part_index, part)
            .await;
        let (code, message) = TestApp::expect_error(response, StatusCode::NOT_FOUND).await;
        assert_eq!(code, "not_found");
        assert!(message.contains(needle), "{message}");
    }
    let response = app
        .client
        .put(app.url(&format!("/api/v1/packages/{}/files/x/parts/0", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .header("X-Sealdrop-Sha256", sha256_hex(part))
        .body(part.clone())
        .send()
        .await
        .unwrap();
    assert!(TestApp::expect_error(response, StatusCode::BAD_REQUEST)
        .await
        .1
        .contains("not a number"));
    for sha in ["", "zz", &"a".repeat(63)] {
        let response = app
            .put_part_with_sha(&sent.id, &sent.upload_token, 0, 0, part, sha)
            .await;
        assert!(TestApp::expect_error(response, StatusCode::BAD_REQUEST)
            .await
            .1
            .contains("X-Sealdrop-Sha256"));
    }
    let response = app.put_part(&sent.id, "sdu_nonsense", 0, 0, part).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "unauthorized"
    );
    let unknown = sealdrop_crypto::PackageId::from_bytes([9; 16]).to_b64u();
    let response = app.put_part(&unknown, &sent.upload_token, 0, 0, part).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::NOT_FOUND)
            .await
            .0,
        "not_found"
    );
    assert!(app.blob_keys(&sent.id).await.is_empty());
}

#[tokio::test]
async fn bad_manifests_are_refused_and_a_held_one_cannot_change() {
    let app = spawn_app_with(|c| c.max_file_size = 100_000).await;
    let prepared = app.prepare(&no_options(), &[test_bytes(10, 3)]).await;
    let sent = &prepared.sent;
    let put = |body: Vec<u8>, verifier: String| {
        let app = &app;
        let id = sent.id.clone();
        let token = sent.upload_token.clone();
        async move { app.put_manifest(&id, &token, &verifier, &body).await }
    };

    let response = put(vec![0u8; (1 << 20) + 1], prepared.verifier.clone()).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE)
            .await
            .0,
        "payload_too_large"
    );
    let response = put(b"SEALDROP-not-really".to_vec(), prepared.verifier.clone()).await;
    let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(
        message.starts_with("The manifest is not valid"),
        "{message}"
    );
    let response = put(sent.manifest.clone(), "not-a-verifier".into()).await;
    assert!(TestApp::expect_error(response, StatusCode::BAD_REQUEST)
        .await
        .1
        .contains("X-Sealdrop-Link-Verifier"));

    // A manifest made for another package.
    let other = app.prepare(&no_options(), &[test_bytes(10, 4)]).await;
    let response = put(other.sent.manifest.clone(), prepared.verifier.clone()).await;
    assert!(TestApp::expect_error(response, StatusCode::BAD_REQUEST)
        .await
        .1
        .contains("different package"));

    // A file over the server's limit.
    let big = app.prepare(&no_options(), &[test_bytes(200_000, 5)]).await;
    let response = app
        .put_manifest(
            &big.sent.id,
            &big.sent.upload_token,
            &big.verifier,
            &big.sent.manifest,
        )
        .await;
    let (code, message) = TestApp::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(code, "payload_too_large");
    assert!(message.contains("at most 100000"), "{message}");
    // The limit counts the file, not its ciphertext (16 bytes per 64 KiB more): a file of
    // exactly the limit goes through, one byte more does not.
    for (size, status) in [
        (100_000, StatusCode::OK),
        (100_001, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let file = app.prepare(&no_options(), &[test_bytes(size, 6)]).await;
        let response = app
            .put_manifest(
                &file.sent.id,
                &file.sent.upload_token,
                &file.verifier,
                &file.sent.manifest,
            )
            .await;
        assert_eq!(response.status(), status, "a file of {size} bytes");
    }

    // Nothing was stored by the failures.
    assert_eq!(
        parts_listing(&app, &sent.id, &sent.upload_token).await["files"],
        json!([])
    );

    // The right manifest; the same again is a no-op; a different one after a part is held is a conflict.
    assert_eq!(
        put(sent.manifest.clone(), prepared.verifier.clone())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        put(sent.manifest.clone(), prepared.verifier.clone())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, &sent.ciphertexts[0])
            .await
            .status(),
        StatusCode::CREATED
    );
    let mut changed = sent.manifest.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1; // still parses (metadata ciphertext), but differs
    let response = put(changed, prepared.verifier.clone()).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::CONFLICT)
            .await
            .0,
        "conflict"
    );
}

#[tokio::test]
async fn malformed_json_is_refused_and_creates_nothing() {
    let app = spawn_app().await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/api/v1/packages"))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, needle) in [
        ("{", "not valid JSON"),
        (r#"{"expires_in_secs": "soon"}"#, "expected u64"),
        (r#"{"surprise": 1}"#, "unknown field"),
        (r#"{"max_downloads": 0}"#, "max_downloads"),
        (r#"{"expires_in_secs": 0}"#, "expires_in_secs"),
        (r#"{"recipients": ["not an address"]}"#, "email"),
    ] {
        let (code, message) =
            TestApp::expect_error(send(body).await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "bad_request", "{body}");
        assert!(message.contains(needle), "{body}: {message}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/packages"))
        .bearer_auth(&app.token)
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE)
            .await
            .0,
        "payload_too_large"
    );

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
    // The tenant's own `tenant_created` event is there; nothing about a package is.
    let package_events: Vec<&Value> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] != "tenant_created")
        .collect();
    assert!(package_events.is_empty(), "no package was created: {audit}");
    // An empty body is a request with every option at its default.
    let response = app
        .client
        .post(app.url("/api/v1/packages"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_endpoints_answer_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::NOT_FOUND).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("not_found", "No such endpoint.")
    );
}

#[tokio::test]
async fn files_over_the_tenants_own_size_limit_are_refused_for_every_sender() {
    let app = spawn_app().await;
    // The tenant's settings (as an admin would set them) lower the server's per-file limit.
    let tenant: (String,) = sqlx::query_as("SELECT id FROM tenants WHERE name = 'Test Tenant'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tenant_settings (tenant_id, widget_key, max_file_size, updated_at) \
         VALUES ($1, 'sdw_size_limit_test', 50000, 0)",
    )
    .bind(&tenant.0)
    .execute(app.state.db.pool())
    .await
    .unwrap();

    // A tenant API token's upload is held to it, and nothing is stored.
    let too_big = app.prepare(&no_options(), &[test_bytes(60_000, 7)]).await;
    let response = app
        .put_manifest(
            &too_big.sent.id,
            &too_big.sent.upload_token,
            &too_big.verifier,
            &too_big.sent.manifest,
        )
        .await;
    let (code, message) = TestApp::expect_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(code, "payload_too_large");
    assert!(message.contains("at most 50000"), "{message}");
    let stored: (Option<Vec<u8>>,) = sqlx::query_as("SELECT manifest FROM packages WHERE id = $1")
        .bind(&too_big.sent.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(stored.0, None, "the refused manifest was not stored");

    // Within the limit, the same tenant uploads as usual.
    let fits = app.prepare(&no_options(), &[test_bytes(40_000, 8)]).await;
    let response = app
        .put_manifest(
            &fits.sent.id,
            &fits.sent.upload_token,
            &fits.verifier,
            &fits.sent.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

/// Found by schemathesis: a part without `X-Sealdrop-Sha256` (or a manifest without its
/// verifier) sent to a finalized package answered 409, the package's state, before saying
/// the request itself lacks a header. The request's own form is checked first.
#[tokio::test]
async fn a_missing_header_is_a_400_whatever_the_package_state() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(10, 4)]).await;
    let part = &sent.ciphertexts[0];
    let response = app
        .client
        .put(app.url(&format!("/api/v1/packages/{}/files/0/parts/0", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .body(part.clone())
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(message.contains("X-Sealdrop-Sha256"), "{message}");
    let response = app
        .client
        .put(app.url(&format!("/api/v1/packages/{}/manifest", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .body(sent.manifest.clone())
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(message.contains("X-Sealdrop-Link-Verifier"), "{message}");
    // With the headers, the state speaks.
    let response = app.put_part(&sent.id, &sent.upload_token, 0, 0, part).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::CONFLICT)
            .await
            .0,
        "conflict"
    );
}

/// Found by schemathesis: `limit` was 1..=500 for a JSON page and 1..=10 000 for CSV, so a
/// limit valid for one format was a 400 for the other, which no schema of one parameter can
/// say. One range now, and a JSON page is cut to 500.
#[tokio::test]
async fn an_audit_limit_is_valid_for_both_formats() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.create_package(&no_options()).await;
    }
    let page = |query: &'static str| {
        let app = &app;
        async move {
            app.client
                .get(app.url(&format!("/api/v1/audit?{query}")))
                .bearer_auth(&app.token)
                .send()
                .await
                .unwrap()
        }
    };
    let response = page("limit=10000").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["events"].as_array().unwrap().len() >= 3, "{body}");
    assert_eq!(
        page("limit=10000&format=csv").await.status(),
        StatusCode::OK
    );
    for query in ["limit=0", "limit=10001", "limit=10001&format=csv"] {
        let (code, message) =
            TestApp::expect_error(page(query).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "bad_request", "{query}");
        assert_eq!(message, "limit must be between 1 and 10000.", "{query}");
    }
}
