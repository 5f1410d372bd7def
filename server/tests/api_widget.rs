//! The Help Center widget's side of the API: anonymous packages with the tenant's widget key,
//! only from its Help Center origins, within hourly caps and a quota, always requiring
//! authentication to open; CORS for those origins only; the loader and its assets; the purge
//! of abandoned widget uploads.

mod common;

use std::time::Duration;

use common::{spawn_app, spawn_app_with, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_crypto::{
    default_aead, encrypt_file, FileInfo, LinkProof, LinkSecret, Metadata, OsRandom,
    PackageBuilder, PackageId, ServerSecret,
};
use sealdrop_server::storage::PART_SIZE;
use serde_json::{json, Value};

const ORIGIN: &str = "https://help.acme.example";
const KEY: &str = "sdw_test_widget_key_0123456789";

/// Gives the test tenant a settings row with a widget key and one Help Center origin.
async fn enable_widget(app: &TestApp, extra: &str) -> String {
    let tenant: (String,) = sqlx::query_as("SELECT id FROM tenants WHERE name = 'Test Tenant'")
        .fetch_one(app.state.db.pool())
        .await
        .expect("test tenant");
    sqlx::query("DELETE FROM tenant_settings WHERE tenant_id = $1")
        .bind(&tenant.0)
        .execute(app.state.db.pool())
        .await
        .expect("clear settings");
    sqlx::query(
        "INSERT INTO tenant_settings (tenant_id, widget_key, help_center_origins, widget_forms, updated_at) \
         VALUES ($1, $2, $3, '[360000002]', 0)",
    )
    .bind(&tenant.0)
    .bind(KEY)
    .bind(json!([ORIGIN, "not an origin"]).to_string())
    .execute(app.state.db.pool())
    .await
    .expect("insert settings");
    if !extra.is_empty() {
        sqlx::query(&format!(
            "UPDATE tenant_settings SET {extra} WHERE tenant_id = $1"
        ))
        .bind(&tenant.0)
        .execute(app.state.db.pool())
        .await
        .expect("update settings");
    }
    tenant.0
}

/// `POST /api/v1/packages` with a widget key (and `Origin`), ready to send.
fn widget_request(
    app: &TestApp,
    key: &str,
    origin: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut request = app
        .client
        .post(app.url("/api/v1/packages"))
        .header("X-Sealdrop-Widget-Key", key)
        .json(body);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request
}

async fn widget_create(
    app: &TestApp,
    key: &str,
    origin: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    widget_request(app, key, origin, body)
        .send()
        .await
        .expect("request")
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String, String) {
    let status = response.status();
    let body: Value = response.json().await.expect("json error");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A widget package with its manifest for `sizes` (ciphertexts kept to upload).
struct WidgetPackage {
    id: String,
    upload_token: String,
    proof: String,
    verifier: String,
    manifest: Vec<u8>,
    ciphertexts: Vec<Vec<u8>>,
}

async fn prepare_widget_package(app: &TestApp, sizes: &[usize]) -> WidgetPackage {
    let response = widget_create(app, KEY, Some(ORIGIN), &json!({})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.expect("json");
    let id = PackageId::parse_b64u(created["id"].as_str().expect("id")).expect("package id");
    let server_secret =
        ServerSecret::parse_b64u(created["server_secret"].as_str().expect("S")).expect("S");
    let link_secret = LinkSecret::generate(&OsRandom).expect("C");
    let aead = default_aead();
    let mut builder = PackageBuilder::new(id, &OsRandom).expect("builder");
    let mut ciphertexts = Vec::new();
    let mut files = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let plaintext = common::test_bytes(*size, i as u64);
        let (_, key) = builder.add_file(*size as u64).expect("file");
        ciphertexts.push(encrypt_file(aead, &key, &plaintext));
        files.push(FileInfo {
            name: format!("f{i}"),
            size: *size as u64,
            media_type: "application/octet-stream".into(),
        });
    }
    builder.link_stanza(&link_secret, &server_secret);
    let manifest = builder
        .build(
            aead,
            &Metadata {
                files,
                message: None,
                sender: None,
            },
        )
        .expect("manifest");
    let proof = LinkProof::derive(&link_secret, &id);
    WidgetPackage {
        id: id.to_b64u(),
        upload_token: created["upload_token"].as_str().expect("token").to_owned(),
        proof: proof.to_b64u(),
        verifier: proof.verifier().to_b64u(),
        manifest,
        ciphertexts,
    }
}

#[tokio::test]
async fn a_widget_key_from_a_help_center_origin_creates_a_package_that_requires_authentication() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    // The widget cannot ask for an unauthenticated package: require_auth is forced on.
    let pkg = prepare_widget_package(&app, &[1000, 70_000]).await;
    let row = app
        .state
        .db
        .package(&pkg.id)
        .await
        .expect("db")
        .expect("row");
    assert_eq!(row.created_by, sealdrop_server::db::CreatedBy::Widget);
    assert!(row.require_auth);

    let response = app
        .put_manifest(&pkg.id, &pkg.upload_token, &pkg.verifier, &pkg.manifest)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    for (file, ct) in pkg.ciphertexts.iter().enumerate() {
        for (part, bytes) in ct.chunks(PART_SIZE as usize).enumerate() {
            assert_eq!(
                app.put_part(&pkg.id, &pkg.upload_token, file, part as u64, bytes)
                    .await
                    .status(),
                StatusCode::CREATED
            );
        }
    }
    assert_eq!(
        app.finalize(&pkg.id, &pkg.upload_token).await.status(),
        StatusCode::OK
    );

    // The link alone does not open it.
    let response = app
        .with_proof(
            Method::POST,
            &format!("/api/v1/packages/{}/open", pkg.id),
            &pkg.proof,
        )
        .send()
        .await
        .expect("request");
    let (status, code, _) = error_of(response).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::UNAUTHORIZED, "verification_required")
    );
}

#[tokio::test]
async fn a_wrong_or_missing_widget_key_is_refused_with_a_clear_message() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    for key in ["sdw_rotated_away", "not-a-key", "sdw_<script>"] {
        let (status, code, message) =
            error_of(widget_create(&app, key, Some(ORIGIN), &json!({})).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::UNAUTHORIZED, "unauthorized"),
            "{key}"
        );
        assert!(message.contains("widget key is not valid"), "{message}");
        assert!(!message.contains(key), "the message does not echo the key");
    }
    let response = app
        .client
        .get(app.url("/widget/v1/config"))
        .header("Origin", ORIGIN)
        .send()
        .await
        .expect("request");
    let (status, _, message) = error_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message.contains("X-Sealdrop-Widget-Key"), "{message}");
}

#[tokio::test]
async fn requests_from_other_origins_or_without_an_origin_are_refused() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    let (status, code, message) =
        error_of(widget_create(&app, KEY, Some("https://evil.example"), &json!({})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    assert!(
        message.contains("https://evil.example") && message.contains("Help Center origins"),
        "{message}"
    );
    let (status, _, message) = error_of(widget_create(&app, KEY, None, &json!({})).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(message.contains("no Origin header"), "{message}");
    // Scheme and port are part of the origin.
    let (status, ..) =
        error_of(widget_create(&app, KEY, Some("http://help.acme.example"), &json!({})).await)
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_widget_key_does_nothing_but_create_help_center_packages() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    // No mail to anyone, no limits of its own.
    for body in [
        json!({"recipients": ["a@example.com"]}),
        json!({"notify_sender": "a@example.com"}),
        json!({"max_downloads": 1}),
    ] {
        let (status, ..) = error_of(widget_create(&app, KEY, Some(ORIGIN), &body).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    // Tenant-wide endpoints do not take it.
    let response = app
        .client
        .get(app.url("/api/v1/audit"))
        .header("X-Sealdrop-Widget-Key", KEY)
        .header("Origin", ORIGIN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_client_address_gets_an_hourly_cap_of_new_packages() {
    let app = spawn_app_with(|args| args.widget_packages_per_ip_hour = 3).await;
    enable_widget(&app, "").await;
    let cap = app.state.config.widget.packages_per_ip_hour;
    assert_eq!(cap, 3, "the configured cap reaches the widget code");
    for _ in 0..cap {
        assert_eq!(
            widget_create(&app, KEY, Some(ORIGIN), &json!({}))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let (status, code, message) =
        error_of(widget_create(&app, KEY, Some(ORIGIN), &json!({})).await).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    assert!(message.contains("this hour"), "{message}");
    // The tenant's own API token is not capped by the widget's limits.
    assert_eq!(
        app.create_package_raw(&app.token, &json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        widget_create(&app, KEY, Some(ORIGIN), &json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// One widget create, as if from `client` behind a proxy that appends to `X-Forwarded-For`
/// (after an entry the client wrote itself).
async fn widget_create_from(app: &TestApp, client: &str) -> StatusCode {
    widget_create_forwarded(app, &format!("203.0.113.99, {client}")).await
}

#[tokio::test]
async fn x_forwarded_for_names_the_client_only_when_the_proxy_is_trusted() {
    // Trusted: the last X-Forwarded-For entry is the client, and each gets its own cap.
    let app = spawn_app_with(|args| {
        args.widget_packages_per_ip_hour = 1;
        args.trust_forwarded_for = true;
    })
    .await;
    enable_widget(&app, "").await;
    assert_eq!(
        widget_create_from(&app, "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        widget_create_from(&app, "198.51.100.2").await,
        StatusCode::CREATED
    );
    assert_eq!(
        widget_create_from(&app, "198.51.100.1").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the first client's cap of 1 is used up"
    );

    // Not trusted (the default): the header is ignored, so a client cannot pick a new
    // address for each request; every request counts against the TCP peer.
    let app = spawn_app_with(|args| args.widget_packages_per_ip_hour = 1).await;
    enable_widget(&app, "").await;
    assert_eq!(
        widget_create_from(&app, "198.51.100.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        widget_create_from(&app, "198.51.100.2").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged X-Forwarded-For does not buy a new cap"
    );
}

/// One widget create whose `X-Forwarded-For` is exactly `header` (what the client wrote, then
/// what the proxy appended).
async fn widget_create_forwarded(app: &TestApp, header: &str) -> StatusCode {
    widget_request(app, KEY, Some(ORIGIN), &json!({}))
        .header("X-Forwarded-For", header)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn entries_a_client_wrote_never_count_whatever_form_the_proxy_appends() {
    let app = spawn_app_with(|args| {
        args.widget_packages_per_ip_hour = 1;
        args.trust_forwarded_for = true;
    })
    .await;
    enable_widget(&app, "").await;
    // The proxy appends the real client with a port, in brackets, or as `unknown`; the client
    // rotates the address it writes itself in front. Only the first request of each real
    // client gets through.
    for (appended, real) in [
        ("198.51.100.1:5000", "v4 with a port"),
        ("[2001:db8:1:2::1]:443", "bracketed v6 with a port"),
        ("unknown", "unknown (counts as the proxy itself)"),
    ] {
        assert_eq!(
            widget_create_forwarded(&app, &format!("203.0.113.1, {appended}")).await,
            StatusCode::CREATED,
            "{real}: first request"
        );
        assert_eq!(
            widget_create_forwarded(&app, &format!("203.0.113.2, {appended}")).await,
            StatusCode::TOO_MANY_REQUESTS,
            "{real}: a client-written entry bought a new cap"
        );
    }
}

#[tokio::test]
async fn an_ipv6_client_cannot_walk_its_own_network_for_fresh_caps() {
    let app = spawn_app_with(|args| {
        args.widget_packages_per_ip_hour = 1;
        args.trust_forwarded_for = true;
    })
    .await;
    enable_widget(&app, "").await;
    assert_eq!(
        widget_create_forwarded(&app, "2001:db8:1:2::1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        widget_create_forwarded(&app, "2001:db8:1:2:ffff:ffff:ffff:ffff").await,
        StatusCode::TOO_MANY_REQUESTS,
        "another address of the same /64 shares its cap"
    );
    assert_eq!(
        widget_create_forwarded(&app, "2001:db8:1:3::1").await,
        StatusCode::CREATED,
        "the next /64 is another subscriber"
    );
}

#[tokio::test]
async fn the_forwarded_header_and_trusted_networks_are_read_when_configured() {
    let app = spawn_app_with(|args| {
        args.widget_packages_per_ip_hour = 1;
        args.trusted_proxies = vec![
            "127.0.0.0/8".parse().expect("network"),
            "::1/128".parse().expect("network"),
        ];
        args.forwarded_header = sealdrop_api::forwarded::ForwardedHeader::Forwarded;
    })
    .await;
    enable_widget(&app, "").await;
    let create = |forwarded: &'static str| {
        widget_request(&app, KEY, Some(ORIGIN), &json!({}))
            .header("Forwarded", forwarded)
            .send()
    };
    let status = |r: reqwest::Result<reqwest::Response>| r.expect("request").status();
    assert_eq!(
        status(create("for=203.0.113.1, for=\"198.51.100.7:4711\";proto=https").await),
        StatusCode::CREATED
    );
    assert_eq!(
        status(create("for=203.0.113.2, for=\"198.51.100.7:4711\";proto=https").await),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        status(create("for=\"[2001:db8::5]\"").await),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_tenant_whose_hourly_cap_is_used_up_is_refused() {
    let app = spawn_app().await;
    let tenant = enable_widget(&app, "").await;
    let now = app.clock.now();
    let cap = app.state.config.widget.packages_per_tenant_hour;
    sqlx::query("INSERT INTO rate_counters (scope, subject, window_start, hits) VALUES ('widget_package_per_tenant', $1, $2, $3)")
        .bind(tenant.as_bytes())
        .bind(sealdrop_server::db::rate::window_start(now))
        .bind(cap)
        .execute(app.state.db.pool())
        .await
        .expect("fill the counter");
    let (status, _, message) =
        error_of(widget_create(&app, KEY, Some(ORIGIN), &json!({})).await).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(message.contains("for this Help Center"), "{message}");
}

/// Sends part 0 of each file in `files` (files under 8 MiB have one part).
async fn send_parts(app: &TestApp, pkg: &WidgetPackage, files: std::ops::Range<usize>) {
    for file in files {
        let response = app
            .put_part(&pkg.id, &pkg.upload_token, file, 0, &pkg.ciphertexts[file])
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "file {file}");
    }
}

#[tokio::test]
async fn a_manifest_that_declares_much_and_sends_nothing_blocks_no_one() {
    let app = spawn_app().await;
    enable_widget(&app, "max_file_size = 50000, widget_quota_bytes = 300000").await;
    // Mallory declares five files of 45 000 bytes and sends nothing.
    let mallory = prepare_widget_package(&app, &[45_000; 5]).await;
    let response = app
        .put_manifest(
            &mallory.id,
            &mallory.upload_token,
            &mallory.verifier,
            &mallory.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // A customer's 2 x 40 000 still goes through: only stored bytes are charged.
    let customer = prepare_widget_package(&app, &[40_000, 40_000]).await;
    let response = app
        .put_manifest(
            &customer.id,
            &customer.upload_token,
            &customer.verifier,
            &customer.manifest,
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the declaration blocked a customer"
    );
    send_parts(&app, &customer, 0..2).await;
    assert_eq!(
        app.finalize(&customer.id, &customer.upload_token)
            .await
            .status(),
        StatusCode::OK
    );
    // Mallory's bytes are charged as they arrive: the part that would overflow is refused
    // before its body is stored, and the customer's finalized files are untouched.
    send_parts(&app, &mallory, 0..4).await;
    let response = app
        .put_part(
            &mallory.id,
            &mallory.upload_token,
            4,
            0,
            &mallory.ciphertexts[4],
        )
        .await;
    let (status, _, message) = error_of(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("quota"), "{message}");
    assert_eq!(
        app.blob_keys(&customer.id).await.len(),
        2,
        "the customer's files are still stored"
    );
}

#[tokio::test]
async fn files_over_the_tenant_limit_or_quota_are_refused_at_the_manifest() {
    let app = spawn_app().await;
    enable_widget(&app, "max_file_size = 50000, widget_quota_bytes = 300000").await;
    let too_big = prepare_widget_package(&app, &[60_000]).await;
    let response = app
        .put_manifest(
            &too_big.id,
            &too_big.upload_token,
            &too_big.verifier,
            &too_big.manifest,
        )
        .await;
    let (status, _, message) = error_of(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("at most 50000 bytes"), "{message}");

    // Within the quota, stored; then a second package that would not fit beside it.
    let first = prepare_widget_package(&app, &[40_000, 40_000, 40_000, 40_000, 40_000]).await;
    let response = app
        .put_manifest(
            &first.id,
            &first.upload_token,
            &first.verifier,
            &first.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    send_parts(&app, &first, 0..5).await;
    let second = prepare_widget_package(&app, &[40_000, 40_000, 40_000, 40_000, 40_000]).await;
    let response = app
        .put_manifest(
            &second.id,
            &second.upload_token,
            &second.verifier,
            &second.manifest,
        )
        .await;
    let (status, _, message) = error_of(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(message.contains("quota"), "{message}");
    // Revoking the first frees its share.
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", first.id)))
        .header("X-Sealdrop-Upload-Token", &first.upload_token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app
        .put_manifest(
            &second.id,
            &second.upload_token,
            &second.verifier,
            &second.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn config_names_the_protected_forms_and_the_file_limit() {
    let app = spawn_app().await;
    enable_widget(&app, "max_file_size = 1048576").await;
    let response = app
        .client
        .get(app.url("/widget/v1/config"))
        .header("X-Sealdrop-Widget-Key", KEY)
        .header("Origin", ORIGIN)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({ "forms": [360000002], "max_file_size": 1048576, "part_chunks": 128, "team_keys": false, "tenant": null })
    );
}

#[tokio::test]
async fn cors_lets_only_the_tenants_help_center_origins_read_the_answers() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    let preflight = |origin: &'static str, path: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "PUT")
            .header(
                "Access-Control-Request-Headers",
                "x-sealdrop-upload-token, x-sealdrop-sha256",
            )
            .send()
    };
    let ok = preflight(ORIGIN, "/api/v1/packages")
        .await
        .expect("request");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], ORIGIN);
    assert!(ok.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .contains("x-sealdrop-sha256"));
    let refused = preflight("https://evil.example", "/api/v1/packages")
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    // Endpoints the widget never calls get no CORS at all.
    let other = preflight(ORIGIN, "/api/v1/audit").await.expect("request");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Upload-token requests of a widget package: readable by its tenant's origin only.
    let pkg = prepare_widget_package(&app, &[1000]).await;
    let put = |origin: &'static str| {
        app.client
            .put(app.url(&format!("/api/v1/packages/{}/manifest", pkg.id)))
            .header("Origin", origin)
            .header("X-Sealdrop-Upload-Token", &pkg.upload_token)
            .header("X-Sealdrop-Link-Verifier", &pkg.verifier)
            .body(pkg.manifest.clone())
            .send()
    };
    let response = put(ORIGIN).await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], ORIGIN);
    let response = put("https://evil.example").await.expect("request");
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

/// A widget release as `cargo xtask wasm` writes it, in a fresh folder.
fn widget_release() -> tempfile::TempDir {
    let pkg = tempfile::tempdir().expect("temporary folder");
    let dir = pkg.path().join("widget");
    std::fs::create_dir(&dir).expect("widget folder");
    for (name, text) in [
        ("loader.js", LOADER),
        ("widget.js", "export function mount() {}\n"),
        ("worker.js", "postMessage({ type: 'ready' });\n"),
        ("widget.css", ".panel {}\n"),
        ("release.json", "{}\n"),
    ] {
        std::fs::write(dir.join(name), text).expect("write");
    }
    std::fs::write(dir.join("sealdrop_widget_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
    pkg
}

const LOADER: &str = "(function () { var RELEASE = {\"widget.js\": \"sha384-…\"}; })();\n";

#[tokio::test]
async fn the_loader_is_served_byte_for_byte_and_the_snippet_names_its_integrity() {
    let pkg = widget_release();
    let wasm_dir = pkg.path().to_owned();
    let app = spawn_app_with(|args| args.wasm_dir = Some(wasm_dir)).await;
    let response = app
        .client
        .get(app.url("/widget/v1/loader.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let h = response.headers().clone();
    assert!(h["content-type"]
        .to_str()
        .expect("ascii")
        .starts_with("text/javascript"));
    assert_eq!(h["access-control-allow-origin"], "*");
    assert_eq!(h["cross-origin-resource-policy"], "cross-origin");
    assert_eq!(h["cache-control"], "public, max-age=300");
    let served = response.bytes().await.expect("body");
    assert_eq!(&served[..], LOADER.as_bytes(), "nothing is filled in");

    // The admin's snippet pins exactly these bytes.
    let expected = sealdrop_server::widget::release::integrity(LOADER.as_bytes());
    let settings = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("request");
    assert_eq!(settings.status(), StatusCode::OK);
    let settings: Value = settings.json().await.expect("json");
    assert_eq!(settings["widget_loader_integrity"], json!(expected));
    assert!(expected.starts_with("sha384-"));
}

#[tokio::test]
async fn the_releases_files_are_public_and_cached_by_version() {
    let pkg = widget_release();
    let wasm_dir = pkg.path().to_owned();
    let app = spawn_app_with(|args| args.wasm_dir = Some(wasm_dir)).await;
    for (path, content_type) in [
        ("widget.js", "text/javascript; charset=utf-8"),
        ("worker.js", "text/javascript; charset=utf-8"),
        ("widget.css", "text/css; charset=utf-8"),
        ("sealdrop_widget_bg.wasm", "application/wasm"),
    ] {
        let response = app
            .client
            .get(app.url(&format!("/widget/v1/assets/{path}?v=abc")))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let h = response.headers();
        assert_eq!(h["content-type"], content_type, "{path}");
        assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
        assert_eq!(h["access-control-allow-origin"], "*");
    }
    let response = app
        .client
        .get(app.url("/widget/v1/assets/widget.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    for path in [
        "/widget/v1/assets/loader.js",
        "/widget/v1/assets/release.json",
        "/widget/v1/assets/widget/widget.js",
        "/widget/v1/assets/shared/upload.js",
        "/widget/v1/assets/../sealdrop_widget.js",
        "/widget/v1/assets/%2e%2e/sealdrop_widget.js",
        "/widget/v1/assets/nope.js",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn without_a_built_widget_the_loader_is_not_found_and_the_snippet_has_no_integrity() {
    let empty = tempfile::tempdir().expect("temporary folder");
    let wasm_dir = empty.path().to_owned();
    let app = spawn_app_with(|args| args.wasm_dir = Some(wasm_dir)).await;
    let response = app
        .client
        .get(app.url("/widget/v1/loader.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let settings: Value = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&app.token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(settings["widget_loader_integrity"], Value::Null);
}

#[tokio::test]
async fn abandoned_widget_uploads_are_purged_after_six_hours() {
    let app = spawn_app().await;
    enable_widget(&app, "").await;
    let widget = prepare_widget_package(&app, &[1000]).await;
    let response = app
        .put_manifest(
            &widget.id,
            &widget.upload_token,
            &widget.verifier,
            &widget.manifest,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let other = app.create_package(&json!({})).await;
    let other_id = other["id"].as_str().expect("id").to_owned();

    app.clock.advance(Duration::from_secs(5 * 3600));
    assert_eq!(app.state.purge().await.expect("purge").abandoned, 0);
    app.clock.advance(Duration::from_secs(3600 + 1));
    let report = app.state.purge().await.expect("purge");
    assert_eq!(report.abandoned, 1);
    assert!(
        app.state
            .db
            .package(&widget.id)
            .await
            .expect("db")
            .is_none(),
        "the widget upload is gone"
    );
    assert!(
        app.state.db.package(&other_id).await.expect("db").is_some(),
        "other uploads keep their 24 hours"
    );
}
