//! Who may do what: link proofs, tenant isolation, missing credentials.
#![allow(clippy::unwrap_used)]

mod common;

use common::{no_options, spawn_app, test_bytes, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_crypto::{LinkProof, LinkSecret, OsRandom, PackageId};
use serde_json::Value;

async fn raw(response: reqwest::Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_wrong_link_proof_is_answered_exactly_like_a_missing_package() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(10, 1)]).await;
    let unfinished = app.prepare(&no_options(), &[test_bytes(10, 2)]).await;
    app.upload(&unfinished).await; // uploaded, not finalized: not openable yet

    let other_secret = LinkSecret::generate(&OsRandom).unwrap();
    let wrong_proof =
        LinkProof::derive(&other_secret, &PackageId::parse_b64u(&sent.id).unwrap()).to_b64u();
    let unknown_id = PackageId::from_bytes([7; 16]).to_b64u();

    for action in ["", "/open", "/download"] {
        let method = if action.is_empty() {
            Method::GET
        } else {
            Method::POST
        };
        let path = |id: &str| format!("/api/v1/packages/{id}{action}");
        let wrong = raw(app
            .with_proof(method.clone(), &path(&sent.id), &wrong_proof)
            .send()
            .await
            .unwrap())
        .await;
        let missing = raw(app
            .with_proof(method.clone(), &path(&unknown_id), &sent.proof)
            .send()
            .await
            .unwrap())
        .await;
        let garbage = raw(app
            .with_proof(method.clone(), &path("not-an-id"), &sent.proof)
            .send()
            .await
            .unwrap())
        .await;
        let not_final = raw(app
            .with_proof(
                method.clone(),
                &path(&unfinished.sent.id),
                &unfinished.sent.proof,
            )
            .send()
            .await
            .unwrap())
        .await;
        assert_eq!(wrong.0, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(
            wrong.1,
            r#"{"error":"not_found","message":"No package at this link."}"#
        );
        assert_eq!(wrong, missing, "{action}: wrong proof vs unknown id");
        assert_eq!(wrong, garbage, "{action}: wrong proof vs malformed id");
        assert_eq!(
            wrong, not_final,
            "{action}: wrong proof vs unfinalized package"
        );
    }
    // And the right proof still works: nothing was used up by the failures.
    assert_eq!(
        app.receive(&sent.id, &sent.link_secret).await,
        sent.plaintexts
    );
}

#[tokio::test]
async fn tenant_b_can_neither_see_nor_revoke_nor_upload_to_tenant_a_packages() {
    let app = spawn_app().await;
    let token_b = app.create_tenant("Tenant B").await;
    let prepared = app.prepare(&no_options(), &[test_bytes(100, 3)]).await;
    let id = prepared.sent.id.clone();

    // B cannot revoke A's package: it does not exist for B.
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{id}")))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::NOT_FOUND).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("not_found", "No package with this id.")
    );

    // B's own package's upload token does not open A's package for uploads.
    let b_package: Value = app
        .create_package_raw(&token_b, &no_options())
        .await
        .json()
        .await
        .unwrap();
    let b_upload = b_package["upload_token"].as_str().unwrap();
    let response = app
        .put_manifest(&id, b_upload, &prepared.verifier, &prepared.sent.manifest)
        .await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::NOT_FOUND)
            .await
            .0,
        "not_found"
    );
    let response = app.put_part(&id, b_upload, 0, 0, b"x").await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::NOT_FOUND)
            .await
            .0,
        "not_found"
    );
    // A tenant token is not an upload token.
    let response = app.put_part(&id, &token_b, 0, 0, b"x").await;
    assert_eq!(
        TestApp::expect_error(response, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "unauthorized"
    );

    // B's audit log does not show A's package.
    app.upload(&prepared).await;
    let audit: Value = app
        .client
        .get(app.url(&format!("/api/v1/audit?package={id}")))
        .bearer_auth(&token_b)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["events"].as_array().unwrap().len(), 0);
    assert!(
        !app.audit_events(&id).await.is_empty(),
        "A sees its own events"
    );

    // A's package is untouched.
    assert_eq!(
        app.finalize(&id, &prepared.sent.upload_token)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.receive(&id, &prepared.sent.link_secret).await,
        prepared.sent.plaintexts
    );
}

#[tokio::test]
async fn missing_or_bad_credentials_say_what_is_needed() {
    let app = spawn_app().await;
    let id = PackageId::from_bytes([1; 16]).to_b64u();

    let response = app
        .client
        .post(app.url("/api/v1/packages"))
        .json(&no_options())
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("Authorization: Bearer sdt_"), "{message}");

    let response = app
        .create_package_raw(
            "sdt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &no_options(),
        )
        .await;
    let (_, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(message, "The API token is not valid.");

    let response = app
        .client
        .get(app.url(&format!("/api/v1/packages/{id}")))
        .send()
        .await
        .unwrap();
    let (_, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("X-Sealdrop-Link-Proof"), "{message}");

    // A proof that cannot be one is an unusable credential, like a missing one: 401 (it was
    // a 400, which schemathesis's ignored_auth check flagged as not refusing bad credentials).
    for action in ["/open", "/download", "/verification"] {
        let response = app
            .with_proof(
                Method::POST,
                &format!("/api/v1/packages/{id}{action}"),
                "SCHEMATHESIS-INVALID-VALUE",
            )
            .json(&serde_json::json!({"email": "a@example.com"}))
            .send()
            .await
            .unwrap();
        let (code, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(code, "unauthorized", "{action}");
        assert_eq!(
            message, "The link proof is malformed (expected 43 base64url characters).",
            "{action}"
        );
    }
    let response = app
        .with_proof(Method::GET, &format!("/api/v1/packages/{id}"), "short")
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(response, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "unauthorized"
    );

    let response = app
        .client
        .post(app.url(&format!("/api/v1/packages/{id}/finalize")))
        .send()
        .await
        .unwrap();
    let (_, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("X-Sealdrop-Upload-Token"), "{message}");

    let response = app
        .client
        .get(app.url(&format!("/api/v1/packages/{id}/files/0")))
        .send()
        .await
        .unwrap();
    let (_, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert!(message.contains("X-Sealdrop-Download-Token"), "{message}");

    let response = app
        .client
        .get(app.url("/api/v1/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(response, StatusCode::UNAUTHORIZED)
            .await
            .0,
        "unauthorized"
    );
}

#[tokio::test]
async fn a_download_token_is_bound_to_its_package() {
    let app = spawn_app().await;
    let first = app.send(&no_options(), &[test_bytes(10, 4)]).await;
    let second = app.send(&no_options(), &[test_bytes(10, 5)]).await;
    let token: Value = app
        .start_download(&first.id, &first.proof)
        .await
        .json()
        .await
        .unwrap();
    let token = token["download_token"].as_str().unwrap();
    assert_eq!(
        app.fetch_file(&first.id, 0, token, None).await.status(),
        StatusCode::OK
    );
    let response = app.fetch_file(&second.id, 0, token, None).await;
    let (_, message) = TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(message, "The download token is not valid for this package.");
}
