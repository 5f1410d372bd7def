//! The upload → open → download story, with real encryption, plus limits, expiry and Range.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{no_options, spawn_app, test_bytes, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_server::storage::PART_SIZE;
use serde_json::{json, Value};

/// Plaintext that encrypts to a little more than two parts (three parts of ciphertext).
fn three_part_plaintext() -> Vec<u8> {
    test_bytes(2 * 8_388_608 + 1000, 7)
}

#[tokio::test]
async fn a_sent_package_comes_back_byte_for_byte() {
    let app = spawn_app().await;
    let files = vec![Vec::new(), test_bytes(1000, 1), three_part_plaintext()];
    let sent = app.send(&json!({ "max_downloads": 3 }), &files).await;

    // What a recipient sees before opening.
    let response = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let info: Value = response.json().await.unwrap();
    assert_eq!(info["state"], "ready");
    assert_eq!(info["downloads_left"], 3);
    assert_eq!(info["sender"], "Test Tenant");
    assert_eq!(info["files"].as_array().unwrap().len(), 3);
    assert_eq!(
        info["files"][2]["ciphertext_size"],
        sent.ciphertexts[2].len()
    );
    assert!(info.get("server_secret").is_none(), "info never carries S");

    let received = app.receive(&sent.id, &sent.link_secret).await;
    assert_eq!(received, files, "bytes out == bytes in");

    let events = app.audit_events(&sent.id).await;
    for event in ["created", "uploaded", "finalized", "opened", "downloaded"] {
        assert!(
            events.iter().any(|e| e == event),
            "audit log has {event}: {events:?}"
        );
    }
    assert_eq!(
        events.iter().filter(|e| *e == "uploaded").count(),
        3,
        "one `uploaded` per file"
    );
}

#[tokio::test]
async fn parts_are_listed_and_a_re_sent_part_is_accepted_once() {
    let app = spawn_app().await;
    let prepared = app.prepare(&no_options(), &[three_part_plaintext()]).await;
    let sent = &prepared.sent;
    let response = app
        .put_manifest(
            &sent.id,
            &sent.upload_token,
            &prepared.verifier,
            &sent.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let part1 = &sent.ciphertexts[0][PART_SIZE as usize..2 * PART_SIZE as usize];

    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, part1)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, part1)
            .await
            .status(),
        StatusCode::OK,
        "same bytes again"
    );
    let mut other = part1.to_vec();
    other[0] ^= 1;
    let (code, message) = TestApp::expect_error(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, &other)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "conflict");
    assert!(message.contains("different bytes"), "{message}");

    let listing: Value = app
        .client
        .get(app.url(&format!("/api/v1/packages/{}/parts", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listing["files"],
        json!([{ "file": 0, "parts": [1], "expected": 3 }])
    );

    // Finalize says what is missing.
    let response = app.finalize(&sent.id, &sent.upload_token).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "incomplete_upload");
    assert_eq!(body["missing"], json!([{ "file": 0, "parts": [0, 2] }]));

    for part in [0u64, 2] {
        let bytes: Vec<u8> = sent.ciphertexts[0]
            .chunks(PART_SIZE as usize)
            .nth(part as usize)
            .unwrap()
            .to_vec();
        assert_eq!(
            app.put_part(&sent.id, &sent.upload_token, 0, part, &bytes)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(
        app.finalize(&sent.id, &sent.upload_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.finalize(&sent.id, &sent.upload_token).await.status(),
        StatusCode::OK,
        "finalize is idempotent"
    );
    assert_eq!(
        app.receive(&sent.id, &sent.link_secret).await,
        sent.plaintexts
    );

    // The upload token stops working for changes at finalize.
    let (code, _) = TestApp::expect_error(
        app.put_part(
            &sent.id,
            &sent.upload_token,
            0,
            0,
            &sent.ciphertexts[0][..PART_SIZE as usize],
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "conflict");
    // ...and for reading what is held: it no longer lists the package's parts.
    let response = app
        .client
        .get(app.url(&format!("/api/v1/packages/{}/parts", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::CONFLICT).await;
    assert_eq!(code, "conflict");
    assert!(message.contains("finalized"), "{message}");
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .header("X-Sealdrop-Upload-Token", &sent.upload_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(response, StatusCode::FORBIDDEN)
            .await
            .0,
        "forbidden"
    );
}

#[tokio::test]
async fn ranges_return_exactly_the_bytes_asked_for() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[three_part_plaintext()]).await;
    let ciphertext = &sent.ciphertexts[0];
    let size = ciphertext.len();
    let token: Value = app
        .start_download(&sent.id, &sent.proof)
        .await
        .json()
        .await
        .unwrap();
    let token = token["download_token"].as_str().unwrap();
    let p = PART_SIZE as usize;

    for (range, expected) in [
        (format!("bytes={}-{}", p - 10, p + 9), (p - 10)..(p + 10)), // across a part boundary
        (format!("bytes={}-", 2 * p - 5), (2 * p - 5)..size),        // open-ended, two parts
        ("bytes=-100".to_owned(), (size - 100)..size),               // suffix
        ("bytes=0-0".to_owned(), 0..1),
        (format!("bytes=5-{}", size * 2), 5..size), // end past the file
    ] {
        let response = app.fetch_file(&sent.id, 0, token, Some(&range)).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        let content_range = response.headers()["content-range"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            content_range,
            format!("bytes {}-{}/{size}", expected.start, expected.end - 1)
        );
        assert_eq!(
            response.bytes().await.unwrap(),
            &ciphertext[expected],
            "{range}"
        );
    }

    let response = app
        .fetch_file(&sent.id, 0, token, Some(&format!("bytes={size}-")))
        .await;
    assert_eq!(
        response.headers()["content-range"],
        format!("bytes */{size}").as_str()
    );
    assert_eq!(
        TestApp::expect_error(response, StatusCode::RANGE_NOT_SATISFIABLE)
            .await
            .0,
        "range_not_satisfiable"
    );
    let response = app
        .fetch_file(&sent.id, 0, token, Some("bytes=0-1,4-5"))
        .await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::BAD_REQUEST)
            .await
            .0,
        "bad_request"
    );

    let response = app
        .client
        .head(app.url(&format!("/api/v1/packages/{}/files/0", sent.id)))
        .header("X-Sealdrop-Download-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-length"],
        size.to_string().as_str()
    );
    assert_eq!(response.headers()["accept-ranges"], "bytes");

    let whole = app.fetch_file(&sent.id, 0, token, None).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.unwrap(), ciphertext.as_slice());
    let response = app.fetch_file(&sent.id, 1, token, None).await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::NOT_FOUND)
            .await
            .0,
        "not_found"
    );
}

#[tokio::test]
async fn the_download_limit_holds_even_under_concurrency() {
    let app = spawn_app().await;
    let sent = app
        .send(&json!({ "max_downloads": 3 }), &[test_bytes(100, 2)])
        .await;
    let attempts = (0..8).map(|_| app.start_download(&sent.id, &sent.proof));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::GONE).count(),
        5,
        "{statuses:?}"
    );

    let (code, message) = TestApp::expect_error(
        app.start_download(&sent.id, &sent.proof).await,
        StatusCode::GONE,
    )
    .await;
    assert_eq!(code, "download_limit_reached");
    assert!(message.contains("download limit"), "{message}");
    let info = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(info, StatusCode::GONE).await.0,
        "download_limit_reached"
    );
}

#[tokio::test]
async fn an_expired_package_is_gone_and_its_download_tokens_stop() {
    let app = spawn_app().await;
    let sent = app
        .send(&json!({ "expires_in_secs": 3600 }), &[test_bytes(10, 3)])
        .await;
    let token: Value = app
        .start_download(&sent.id, &sent.proof)
        .await
        .json()
        .await
        .unwrap();
    let token = token["download_token"].as_str().unwrap();
    assert_eq!(
        app.fetch_file(&sent.id, 0, token, None).await.status(),
        StatusCode::OK
    );

    app.clock.advance(Duration::from_secs(3601));
    let info = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(info, StatusCode::GONE).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("expired", "This package has expired.")
    );
    assert_eq!(
        TestApp::expect_error(
            app.start_download(&sent.id, &sent.proof).await,
            StatusCode::GONE
        )
        .await
        .0,
        "expired"
    );
    assert_eq!(
        app.fetch_file(&sent.id, 0, token, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn expiry_is_clamped_to_the_maximum() {
    let app = common::spawn_app_with(|c| {
        c.max_expiry_secs = 7200;
        c.default_expiry_secs = 3600;
    })
    .await;
    let created = app
        .create_package(&json!({ "expires_in_secs": 999_999 }))
        .await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(created["expires_at"].as_str().unwrap()).unwrap();
    let in_secs = expires.timestamp() - app.clock.now();
    assert!(
        (7190..=7200).contains(&in_secs),
        "clamped to 2 h, got {in_secs} s"
    );
    assert_eq!(created["part_chunks"], 128);
}

#[tokio::test]
async fn a_package_requiring_authentication_is_not_opened_by_the_link_alone() {
    let app = spawn_app().await;
    let sent = app
        .send(
            &json!({ "require_auth": true, "recipients": ["a@example.com"] }),
            &[test_bytes(10, 4)],
        )
        .await;
    let info: Value = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["require_auth"], true);
    let open = app
        .with_proof(
            Method::POST,
            &format!("/api/v1/packages/{}/open", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(open, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "verification_required"
    );
    let download = app.start_download(&sent.id, &sent.proof).await;
    assert_eq!(
        TestApp::expect_error(download, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "verification_required"
    );
}

#[tokio::test]
async fn revoking_deletes_the_blobs_and_closes_the_link() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(5000, 5)]).await;
    let token: Value = app
        .start_download(&sent.id, &sent.proof)
        .await
        .json()
        .await
        .unwrap();
    let token = token["download_token"].as_str().unwrap();
    assert_eq!(app.blob_keys(&sent.id).await.len(), 1);

    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        app.blob_keys(&sent.id).await.is_empty(),
        "blobs deleted at revoke"
    );
    let info = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", sent.id),
            &sent.proof,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(info, StatusCode::GONE).await.0,
        "revoked"
    );
    assert_eq!(
        app.fetch_file(&sent.id, 0, token, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        StatusCode::NO_CONTENT,
        "revoking twice is fine"
    );
    assert!(app
        .audit_events(&sent.id)
        .await
        .contains(&"revoked".to_owned()));
}
