//! A part is claimed atomically: of concurrent uploads of one part exactly one wins, the store
//! holds exactly the bytes its row records, and finalize refuses a claimed part the store
//! does not hold. Runs on both databases and both stores (the CI's server stages).
#![allow(clippy::unwrap_used)]

mod common;

use common::{no_options, sha256_hex, spawn_app, test_bytes, TestApp};
use reqwest::StatusCode;
use sealdrop_server::storage::{BlobKey, PART_SIZE};
use serde_json::{json, Value};

/// Uploads the manifest of a two-part file and returns the prepared package.
async fn two_part_upload(app: &TestApp) -> common::PreparedPackage {
    let prepared = app
        .prepare(&no_options(), &[test_bytes(PART_SIZE as usize + 1000, 7)])
        .await;
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
    prepared
}

#[tokio::test]
async fn concurrent_uploads_of_different_bytes_to_one_part_have_exactly_one_winner() {
    let app = spawn_app().await;
    let prepared = two_part_upload(&app).await;
    let sent = &prepared.sent;
    let genuine = &sent.ciphertexts[0][..PART_SIZE as usize];
    // Eight writers race for part 0, each with its own bytes (each with a correct checksum).
    let variants: Vec<Vec<u8>> = (0u8..8)
        .map(|i| {
            let mut v = genuine.to_vec();
            v[1000] ^= i;
            v
        })
        .collect();
    let answers = futures::future::join_all(
        variants
            .iter()
            .map(|bytes| app.put_part(&sent.id, &sent.upload_token, 0, 0, bytes)),
    )
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    let winners: Vec<usize> = statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_success())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one writer wins: {statuses:?}");
    assert_eq!(statuses[winners[0]], StatusCode::CREATED);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        7,
        "the others are told the part is taken: {statuses:?}"
    );
    let winner = &variants[winners[0]];

    // The row records the winner's checksum, and the store holds the winner's bytes.
    let row: Vec<u8> = sqlx::query_scalar(
        "SELECT sha256 FROM parts WHERE package_id = $1 AND file = 0 AND part = 0",
    )
    .bind(&sent.id)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(hex::encode(row), sha256_hex(winner));

    // The same bytes again are fine; anyone else's are still refused.
    let again = app
        .put_part(&sent.id, &sent.upload_token, 0, 0, winner)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let loser = &variants[(winners[0] + 1) % variants.len()];
    let (code, message) = TestApp::expect_error(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, loser)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(code, "conflict");
    assert!(message.contains("different bytes"), "{message}");

    // Finalize, then read the ciphertext back: part 0 is exactly the winner's bytes.
    let rest = &sent.ciphertexts[0][PART_SIZE as usize..];
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, rest)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.finalize(&sent.id, &sent.upload_token).await.status(),
        StatusCode::OK
    );
    let started: Value = app
        .start_download(&sent.id, &sent.proof)
        .await
        .json()
        .await
        .unwrap();
    let token = started["download_token"].as_str().unwrap();
    let body = app
        .fetch_file(
            &sent.id,
            0,
            token,
            Some(&format!("bytes=0-{}", PART_SIZE - 1)),
        )
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&body), sha256_hex(winner), "stored = recorded");
}

#[tokio::test]
async fn finalize_refuses_a_claimed_part_missing_from_the_store_and_a_resend_repairs_it() {
    let app = spawn_app().await;
    let prepared = two_part_upload(&app).await;
    let sent = &prepared.sent;
    let ciphertext = &sent.ciphertexts[0];
    let (first, second) = ciphertext.split_at(PART_SIZE as usize);
    for (part, bytes) in [(0, first), (1, second)] {
        assert_eq!(
            app.put_part(&sent.id, &sent.upload_token, 0, part, bytes)
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    // As if the request that claimed part 1 had died before its write reached the store.
    app.state
        .storage
        .delete_prefix(&BlobKey::part(&sent.id, 0, 1).unwrap())
        .await
        .unwrap();

    let response = app.finalize(&sent.id, &sent.upload_token).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "incomplete_upload");
    assert_eq!(body["missing"], json!([{ "file": 0, "parts": [1] }]));

    // The client sends the part again (the same bytes): it is written, and all is well.
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, second)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.finalize(&sent.id, &sent.upload_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.receive(&sent.id, &sent.link_secret).await,
        sent.plaintexts
    );
}

#[tokio::test]
async fn a_part_refused_for_its_checksum_claims_nothing() {
    let app = spawn_app().await;
    let prepared = two_part_upload(&app).await;
    let sent = &prepared.sent;
    let first = &sent.ciphertexts[0][..PART_SIZE as usize];
    let response = app
        .put_part_with_sha(
            &sent.id,
            &sent.upload_token,
            0,
            0,
            first,
            &sha256_hex(b"other"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, first)
            .await
            .status(),
        StatusCode::CREATED,
        "the part is still free"
    );
}

#[tokio::test]
async fn a_held_part_resent_with_faulty_bytes_keeps_its_stored_bytes() {
    // On S3 the part streams into the store as it arrives; a body that fails its checks must
    // be cut off before the store completes it, so the stored object stays the first one.
    let app = spawn_app().await;
    let prepared = two_part_upload(&app).await;
    let sent = &prepared.sent;
    let genuine = &sent.ciphertexts[0][..PART_SIZE as usize];
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 0, genuine)
            .await
            .status(),
        StatusCode::CREATED
    );

    // The genuine header with other bytes of the same length: refused for its checksum.
    let mut tampered = genuine.to_vec();
    tampered[PART_SIZE as usize - 1] ^= 1;
    let (code, message) = TestApp::expect_error(
        app.put_part_with_sha(
            &sent.id,
            &sent.upload_token,
            0,
            0,
            &tampered,
            &sha256_hex(genuine),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(code, "checksum_mismatch");
    assert!(message.contains("nothing was stored"), "{message}");
    // Bodies of the wrong length under the genuine header, sent without a Content-Length (so
    // only the body itself can tell): refused for their length.
    let mut long = genuine.to_vec();
    long.push(0);
    for (body, says) in [
        (
            &genuine[..PART_SIZE as usize - 1],
            format!("the body has {}", PART_SIZE - 1),
        ),
        (&long[..], "the body is longer".to_owned()),
    ] {
        let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
        let response = app
            .client
            .put(app.url(&format!("/api/v1/packages/{}/files/0/parts/0", sent.id)))
            .header("X-Sealdrop-Upload-Token", &sent.upload_token)
            .header("X-Sealdrop-Sha256", sha256_hex(genuine))
            .body(reqwest::Body::wrap_stream(futures::stream::iter(pieces)))
            .send()
            .await
            .unwrap();
        let (code, message) = TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(code, "bad_request");
        assert!(message.contains(&says), "{message}");
    }

    // The part is still held, and the store still has the genuine bytes: the recipient
    // decrypts exactly the file that was sent.
    let rest = &sent.ciphertexts[0][PART_SIZE as usize..];
    assert_eq!(
        app.put_part(&sent.id, &sent.upload_token, 0, 1, rest)
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.finalize(&sent.id, &sent.upload_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.receive(&sent.id, &sent.link_secret).await,
        sent.plaintexts,
        "the recipient gets the file that was sent"
    );
}
