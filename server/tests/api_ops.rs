//! Operations endpoints, the OpenAPI document, security headers and graceful shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{no_options, spawn_app, spawn_app_with, test_bytes, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Routes of the server that are not API operations, so openapi.json leaves them out: each
/// serves the files below a folder (and each must still be a route in the source).
const NOT_API: &[&str] = &[
    // The web pages' scripts, styles and the browser package (web/, --wasm-dir).
    "/static/{*path}",
    // The Help Center widget's modules, stylesheet and wasm (web/widget/, versioned URLs).
    "/widget/v1/assets/{*path}",
    // The Zendesk agent app's files (SEALDROP_AGENT_APP_DIR).
    "/agent-app/{*path}",
];

/// HTTP methods a `.route(...)` method router may name, as OpenAPI spells them.
const METHODS: &[&str] = &["get", "post", "put", "delete", "patch", "head", "options"];

/// Every `.route("PATH", METHOD(...).METHOD(...))` of the server's source (server/src/**/*.rs,
/// read now), as path -> methods. Fails on routing this reader does not understand (a method
/// router other than the plain ones, `.nest`, `.route_service`...), so that no route can
/// escape the check below unseen.
fn source_routes() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut folders = vec![root];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        let code: String = source
            .lines()
            .map(|line| line.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let name = file.display();
        for unread in [
            ".nest(",
            ".nest_service(",
            ".route_service(",
            ".route_layer(",
        ] {
            assert!(
                !code.contains(unread),
                "{name} uses `{unread}`: teach source_routes() in this test to read it"
            );
        }
        for (at, _) in code.match_indices(".route(") {
            let (path, methods) =
                parse_route(&code[at + ".route(".len()..]).unwrap_or_else(|why| {
                    panic!("{name}: cannot read the .route( at byte {at}: {why}")
                });
            routes.entry(path).or_default().extend(methods);
        }
    }
    routes
}

/// Reads `"PATH", get(..).post(..))` (the text after `.route(`).
fn parse_route(text: &str) -> Result<(String, Vec<String>), String> {
    let text = text.trim_start();
    let rest = text
        .strip_prefix('"')
        .ok_or("the path is not a string literal")?;
    let end = rest.find('"').ok_or("unterminated path")?;
    let path = rest[..end].to_owned();
    let mut rest = rest[end + 1..]
        .trim_start()
        .strip_prefix(',')
        .ok_or("no `,` after the path")?;
    let mut methods = Vec::new();
    loop {
        rest = rest.trim_start();
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if !METHODS.contains(&name) {
            return Err(format!("`{name}` is not one of the methods {METHODS:?}"));
        }
        methods.push(name.to_owned());
        rest = rest[name_len..]
            .trim_start()
            .strip_prefix('(')
            .ok_or_else(|| format!("no `(` after `{name}`"))?;
        rest = skip_to_closing_paren(rest).ok_or("unbalanced parentheses")?;
        rest = rest.trim_start();
        if let Some(next) = rest.strip_prefix('.') {
            rest = next;
            continue;
        }
        let rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        return if rest.starts_with(')') {
            Ok((path, methods))
        } else {
            Err("the method router does not end the .route(...) call".into())
        };
    }
}

/// The text after the `)` that closes an already opened `(`, skipping string literals.
fn skip_to_closing_paren(text: &str) -> Option<&str> {
    let mut depth = 1;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[i + 1..]);
                }
            }
            '"' => loop {
                match chars.next()? {
                    (_, '\\') => {
                        chars.next()?;
                    }
                    (_, '"') => break,
                    _ => {}
                }
            },
            _ => {}
        }
    }
    None
}

#[test]
fn the_route_reader_reads_method_chains() {
    assert_eq!(
        parse_route(r#""/a/{id}", get(info).delete(revoke))"#).unwrap(),
        (
            "/a/{id}".to_owned(),
            vec!["get".to_owned(), "delete".to_owned()]
        )
    );
    assert_eq!(
        parse_route("\n  \"/x\",\n  put(|| async { \")\" }),\n)").unwrap(),
        ("/x".to_owned(), vec!["put".to_owned()])
    );
    assert!(parse_route(r#""/x", any(handler))"#).is_err());
    assert!(parse_route(r#"PATH, get(handler))"#).is_err());
    assert!(parse_route(r#""/x", get(handler).layer(x))"#).is_err());
}

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
    let routes = source_routes();
    // The reader must see the routes we know of, or it reads nothing and proves nothing.
    for (path, method) in [
        ("/api/v1/packages", "post"),
        ("/api/v1/packages", "get"),
        ("/api/v1/packages/{id}", "delete"),
        ("/api/v1/packages/{id}/files/{file}/parts/{part}", "put"),
        ("/zendesk/oauth/start", "post"),
        ("/healthz", "get"),
    ] {
        assert!(
            routes.get(path).is_some_and(|m| m.contains(method)),
            "the source reader missed {method} {path}: {routes:?}"
        );
    }
    for path in NOT_API {
        assert!(
            routes.contains_key(*path),
            "{path} is allowed to be undocumented but is no longer a route: update NOT_API"
        );
    }
    let api: Vec<(&String, &BTreeSet<String>)> = routes
        .iter()
        .filter(|(path, _)| !NOT_API.contains(&path.as_str()))
        .collect();

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
    for (path, methods) in &api {
        // axum answers HEAD wherever it answers GET; the document names it where it matters.
        let documented_head = doc["paths"][path.as_str()]["head"].is_object();
        let served = methods
            .iter()
            .map(String::as_str)
            .chain(documented_head.then_some("head"));
        for method in served {
            assert!(
                doc["paths"][path.as_str()][method].is_object(),
                "openapi.json lacks {method} {path}"
            );
            let concrete = path
                .replace("{id}", &id)
                .replace("{file}", "0")
                .replace("{part}", "0");
            assert!(
                !concrete.contains('{'),
                "{path}: give its parameter a value in this test"
            );
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
            if method == "head" {
                assert_ne!(
                    response.status(),
                    StatusCode::NOT_FOUND,
                    "{method} {path} is routed"
                );
            } else {
                let body = response.text().await.unwrap();
                assert!(
                    !body.contains("No such endpoint"),
                    "{method} {path} is routed"
                );
            }
        }
    }
    // And the other way: everything documented is served.
    for (path, item) in doc["paths"].as_object().unwrap() {
        let methods = routes
            .get(path)
            .unwrap_or_else(|| panic!("openapi.json documents {path}, which is not a route"));
        for method in item.as_object().unwrap().keys() {
            if method == "parameters" || method == "summary" || method == "description" {
                continue;
            }
            let served = methods.contains(method) || (method == "head" && methods.contains("get"));
            assert!(
                served,
                "openapi.json documents {method} {path}, which is not served"
            );
        }
    }
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
async fn https_deployments_pin_https_with_strict_transport_security() {
    let https = |age: Option<u64>| {
        spawn_app_with(move |args| {
            args.public_url = Some("https://files.example.test".parse().unwrap());
            if let Some(age) = age {
                args.hsts_max_age_secs = age;
            }
        })
    };
    let hsts = |app: &TestApp, path: &'static str| {
        let request = app.client.get(app.url(path)).send();
        async move {
            request
                .await
                .unwrap()
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned())
        }
    };
    let app = https(None).await;
    for path in ["/healthz", "/p/missing", "/nope"] {
        assert_eq!(
            hsts(&app, path).await.as_deref(),
            Some("max-age=31536000"),
            "{path}"
        );
    }
    let app = https(Some(600)).await;
    assert_eq!(hsts(&app, "/healthz").await.as_deref(), Some("max-age=600"));
    let app = https(Some(0)).await;
    assert_eq!(hsts(&app, "/healthz").await, None, "0 turns it off");
    // Plain http (the local demo): browsers ignore it there, and it would pin nothing.
    let app = spawn_app().await;
    assert_eq!(hsts(&app, "/healthz").await, None);
}

#[tokio::test]
async fn metrics_need_the_operators_token_when_one_is_set() {
    let app = spawn_app_with(|args| args.metrics_token = Some("scrape-me-0123456789".into())).await;
    let get = |token: Option<&'static str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let (code, message) =
        TestApp::expect_error(get(None).await.unwrap(), StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "unauthorized");
    assert!(message.contains("--metrics-token"), "{message}");
    TestApp::expect_error(
        get(Some("scrape-me-012345678")).await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let response = get(Some("scrape-me-0123456789")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("sealdrop_"));
    // The other operations endpoints stay open for load balancers.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
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
