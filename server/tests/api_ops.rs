//! Operations endpoints, the OpenAPI document, security headers and graceful shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{no_options, spawn_app, spawn_app_with, test_bytes, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_server::storage::PART_SIZE;
use serde_json::Value;

/// Routes of the server that are not API operations, so the OpenAPI document leaves them out: each
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
                "the OpenAPI document lacks {method} {path}"
            );
            let concrete = path
                .replace("{id}", &id)
                .replace("{file}", "0")
                .replace("{part}", "0")
                .replace("{device_key}", &"A".repeat(43));
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
        let methods = routes.get(path).unwrap_or_else(|| {
            panic!("the OpenAPI document describes {path}, which is not a route")
        });
        for method in item.as_object().unwrap().keys() {
            if method == "parameters" || method == "summary" || method == "description" {
                continue;
            }
            let served = methods.contains(method) || (method == "head" && methods.contains("get"));
            assert!(
                served,
                "the OpenAPI document describes {method} {path}, which is not served"
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

/// The template of the part upload route, as the router knows it.
const PART_PUT_ROUTE: &str = "/api/v1/packages/{id}/files/{file}/parts/{part}";

#[tokio::test]
async fn metrics_count_ciphertext_by_direction_and_backend_and_time_routes_by_template() {
    let app = spawn_app().await;
    let before = app.scrape_metrics().await;
    // Three parts: one for the small file, two for the one just over a part.
    let files = [
        test_bytes(1000, 1),
        test_bytes(PART_SIZE as usize + 5000, 2),
    ];
    let sent = app.send(&no_options(), &files).await;
    assert_eq!(
        app.receive(&sent.id, &sent.link_secret).await,
        sent.plaintexts
    );
    let missing = app
        .client
        .get(app.url(&format!("/no/such/page/{}", sent.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let after = app.scrape_metrics().await;
    let grew = |name: &str, labels: &[(&str, &str)]| {
        after.count(name, labels) - before.count(name, labels)
    };

    // Every ciphertext byte went to the store once and came back once, over this backend.
    let ciphertext = sent.ciphertexts.iter().map(Vec::len).sum::<usize>() as f64;
    let parts = 3.0;
    for direction in ["upload", "download"] {
        let labels = [("direction", direction), ("backend", app.storage)];
        assert_eq!(
            grew("sealdrop_transfer_bytes_total", &labels),
            ciphertext,
            "{direction} bytes:\n{}",
            after.text
        );
        assert_eq!(
            grew("sealdrop_transfer_part_duration_seconds_count", &labels),
            parts,
            "{direction} parts timed"
        );
    }
    let other_backend = if app.storage == "s3" { "folder" } else { "s3" };
    assert_eq!(
        after.value(
            "sealdrop_transfer_bytes_total",
            &[("backend", other_backend)]
        ),
        None
    );

    // Each part's PUT was timed under the route's template, not the path it was sent to.
    let part_put = [
        ("route", PART_PUT_ROUTE),
        ("method", "PUT"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        grew("sealdrop_http_request_duration_seconds_count", &part_put),
        parts,
        "{}",
        after.text
    );
    assert!(grew("sealdrop_http_request_duration_seconds_sum", &part_put) > 0.0);
    let file_get = [
        ("route", "/api/v1/packages/{id}/files/{file}"),
        ("method", "GET"),
        ("status_class", "2xx"),
    ];
    assert_eq!(
        grew("sealdrop_http_request_duration_seconds_count", &file_get),
        2.0
    );
    let unmatched = [("route", "unmatched"), ("status_class", "4xx")];
    assert_eq!(
        grew("sealdrop_http_request_duration_seconds_count", &unmatched),
        1.0
    );
    assert!(
        after
            .samples
            .iter()
            .all(|s| s.labels.values().all(|v| !v.contains(&sent.id))),
        "a label holds the package id:\n{}",
        after.text
    );

    // The lifecycle counters keep their names.
    for (name, n) in [
        ("sealdrop_packages_created_total", 1.0),
        ("sealdrop_packages_finalized_total", 1.0),
        ("sealdrop_parts_stored_total", parts),
        ("sealdrop_downloads_started_total", 1.0),
    ] {
        assert_eq!(grew(name, &[]), n, "{name}");
    }
}

#[tokio::test]
async fn metrics_read_the_database_pool_at_each_scrape() {
    let app = spawn_app().await;
    // Two connections held by "requests" while Prometheus scrapes.
    let _first = app.state.db.pool().acquire().await.unwrap();
    let _second = app.state.db.pool().acquire().await.unwrap();
    let scrape = app.scrape_metrics().await;
    let backend = [("backend", app.database)];
    let figure = |name: &str| {
        scrape
            .value(name, &backend)
            .unwrap_or_else(|| panic!("no {name}{backend:?}:\n{}", scrape.text))
    };
    let open = figure("sealdrop_db_pool_connections");
    let idle = figure("sealdrop_db_pool_idle_connections");
    let max = figure("sealdrop_db_pool_max_connections");
    assert!(open - idle >= 2.0, "open {open}, idle {idle}");
    assert!(open <= max && max > 0.0, "open {open}, max {max}");
}

#[tokio::test]
async fn metrics_show_purge_runs_what_they_removed_and_their_errors() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(1000, 1)]).await;
    // The purge task's first run starts with the server; let it finish first.
    let mut before = app.scrape_metrics().await;
    for _ in 0..100 {
        if before.count("sealdrop_purge_runs_total", &[("outcome", "ok")]) >= 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        before = app.scrape_metrics().await;
    }
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.purge().await.revoked, 1);
    app.clock
        .advance(std::time::Duration::from_secs(8 * 24 * 3600));
    assert_eq!(app.purge().await.rows_deleted, 1);
    let after = app.scrape_metrics().await;
    let grew = |name: &str, labels: &[(&str, &str)]| {
        after.count(name, labels) - before.count(name, labels)
    };
    assert_eq!(grew("sealdrop_purge_runs_total", &[("outcome", "ok")]), 2.0);
    assert_eq!(grew("sealdrop_packages_revoked_total", &[]), 1.0);
    assert_eq!(grew("sealdrop_packages_purged_total", &[]), 1.0);
    assert_eq!(
        grew(
            "sealdrop_purge_rows_deleted_total",
            &[("table", "packages")]
        ),
        1.0
    );
    assert_eq!(
        after.value("sealdrop_purge_runs_total", &[("outcome", "error")]),
        Some(0.0),
        "the error series exists before any error, for alert rules"
    );
    assert!(after.value("sealdrop_purge_last_duration_seconds", &[]) >= Some(0.0));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last = after
        .value("sealdrop_purge_last_success_timestamp_seconds", &[])
        .unwrap();
    assert!((now - last).abs() < 60.0, "last success {last}, now {now}");

    // A run that fails on the database counts as an error.
    app.state.db.close().await;
    assert!(app.state.purge().await.is_err());
    let failed = app.scrape_metrics().await;
    assert_eq!(
        failed.count("sealdrop_purge_runs_total", &[("outcome", "error")]),
        1.0
    );
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

/// The served document bounds the settings with this server's limits, so that what it admits
/// is what this server accepts; with the default limits it is the generated document as it is.
#[tokio::test]
async fn the_served_document_carries_this_servers_limits() {
    let app = spawn_app_with(|c| {
        c.max_file_size = 123_456;
        c.max_expiry_secs = 7200;
        c.default_expiry_secs = 3600;
    })
    .await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let update = &doc["components"]["schemas"]["SettingsUpdate"]["properties"];
    assert_eq!(update["max_file_size"]["maximum"], 123_456);
    assert_eq!(update["max_expiry_secs"]["maximum"], 7200);
    assert_eq!(update["default_expiry_secs"]["maximum"], 7200);

    // With the default settings the server serves the generated document as it is.
    let app = spawn_app().await;
    let served: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, sealdrop_api::openapi::document());
}
