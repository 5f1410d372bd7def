//! Operations endpoints, the OpenAPI document, security headers and graceful shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use common::{no_options, spawn_app, test_bytes};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every route the server serves, as (OpenAPI path, methods).
const ROUTES: &[(&str, &[&str])] = &[
    ("/healthz", &["get"]),
    ("/readyz", &["get"]),
    ("/metrics", &["get"]),
    ("/api/v1/openapi.json", &["get"]),
    ("/api/v1/packages", &["post"]),
    ("/api/v1/packages/{id}", &["get", "delete"]),
    ("/api/v1/packages/{id}/manifest", &["put"]),
    ("/api/v1/packages/{id}/files/{file}/parts/{part}", &["put"]),
    ("/api/v1/packages/{id}/parts", &["get"]),
    ("/api/v1/packages/{id}/finalize", &["post"]),
    ("/api/v1/packages/{id}/open", &["post"]),
    ("/api/v1/packages/{id}/download", &["post"]),
    ("/api/v1/packages/{id}/files/{file}", &["get", "head"]),
    ("/api/v1/audit", &["get"]),
];

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "database and storage answer"
    );
}

#[tokio::test]
async fn every_route_is_served_and_described_in_the_openapi_document() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let id = sealdrop_crypto::PackageId::from_bytes([3; 16]).to_b64u();
    for (path, methods) in ROUTES {
        for method in *methods {
            assert!(
                doc["paths"][path][method].is_object(),
                "openapi.json lacks {method} {path}"
            );
            let concrete = path
                .replace("{id}", &id)
                .replace("{file}", "0")
                .replace("{part}", "0");
            let response = app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            assert_ne!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is routed"
            );
            if *method != "head" {
                let body = response.text().await.unwrap();
                assert!(
                    !body.contains("No such endpoint"),
                    "{method} {path} is routed"
                );
            }
        }
    }
    let documented = doc["paths"].as_object().unwrap().len();
    assert_eq!(documented, ROUTES.len(), "every documented path is a route");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/healthz"),
        (Method::POST, "/api/v1/packages"),
        (Method::GET, "/nope"),
    ] {
        let response = app
            .client
            .request(method, app.url(path))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }
}

#[tokio::test]
async fn metrics_count_what_happened() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(1000, 1)]).await;
    app.receive(&sent.id, &sent.link_secret).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "sealdrop_packages_created_total 1",
        "sealdrop_packages_finalized_total 1",
        "sealdrop_parts_stored_total 1",
        "sealdrop_downloads_started_total 1",
        &format!(
            "sealdrop_download_bytes_total {}",
            sent.ciphertexts[0].len()
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "metrics lack `{line}`:\n{text}"
        );
    }
    assert!(text.contains("sealdrop_http_requests_total{class=\"2xx\"}"));
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_download_finish() {
    let app = spawn_app().await;
    let plaintext = test_bytes(20 << 20, 9);
    let sent = app.send(&no_options(), &[plaintext]).await;
    let token: Value = app
        .start_download(&sent.id, &sent.proof)
        .await
        .json()
        .await
        .unwrap();
    let response = app
        .fetch_file(&sent.id, 0, token["download_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let address = app.address.clone();
    let expected = sent.ciphertexts[0].clone();
    let stopping = tokio::spawn(app.stop());
    let body = response
        .bytes()
        .await
        .expect("the download completes after shutdown began");
    assert_eq!(body.len(), expected.len());
    assert!(body == expected);
    stopping.await.unwrap();
    assert!(
        reqwest::get(format!("{address}/healthz")).await.is_err(),
        "no new connections after shutdown"
    );
}
