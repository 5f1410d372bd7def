//! Test helpers shared by every integration test of `sealdrop-server` (the API tests here and
//! the client engineer's `cli_*.rs` and `faults.rs`). Keep these names stable.
//!
//! [`spawn_app`] starts the real application on `127.0.0.1:0` with its own database and blob
//! store:
//! - by default a fresh SQLite file and blob folder in a temporary directory;
//! - when `SEALDROP_TEST_DATABASE_URL` (a Postgres URL allowed to `CREATE DATABASE`) is set, a
//!   fresh Postgres database per test;
//! - when `SEALDROP_TEST_S3_ENDPOINT`, `SEALDROP_TEST_S3_BUCKET`, `SEALDROP_TEST_S3_REGION`,
//!   `SEALDROP_TEST_S3_ACCESS_KEY_ID` and `SEALDROP_TEST_S3_SECRET_ACCESS_KEY` are set, that
//!   S3 bucket with a fresh key prefix per test.
//!
//! Logs are silent unless `TEST_LOG` is set (then `RUST_LOG` or `debug` filters them).
//! [`TestApp`] also offers the sender's and recipient's side of the protocol with real
//! encryption ([`TestApp::send`], [`TestApp::receive`]) so tests read as user stories.
#![allow(dead_code, clippy::unwrap_used)]

pub mod mail;
pub mod metrics;

use std::sync::OnceLock;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Parser;
use reqwest::StatusCode;
use sealdrop_crypto::{
    default_aead, encrypt_file, FileInfo, LinkProof, LinkSecret, Manifest, Metadata, OsRandom,
    PackageBuilder, PackageId, ServerSecret,
};
use sealdrop_server::clock::Clock;
use sealdrop_server::config::{ConfigArgs, StorageKind};
use sealdrop_server::purge::PurgeReport;
use sealdrop_server::storage::{BlobKey, PART_SIZE};
use sealdrop_server::{AppState, Application};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A running server for one test. Dropping it stops the server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub address: String,
    /// The port bound.
    pub port: u16,
    /// A client with no default headers.
    pub client: reqwest::Client,
    /// The server's state (database, storage, clock, config).
    pub state: AppState,
    /// The server's clock; [`Clock::advance`] moves time for expiry tests.
    pub clock: Clock,
    /// An API token (`sdt_…`) of the tenant "Test Tenant", created at start.
    pub token: String,
    /// The data folder (SQLite file, blobs, spool, outbox).
    pub data_dir: TempDir,
    /// `"sqlite"` or `"postgres"`.
    pub database: &'static str,
    /// `"folder"` or `"s3"`.
    pub storage: &'static str,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// A package created, encrypted and uploaded by [`TestApp::send`].
pub struct SentPackage {
    /// b64u package id.
    pub id: String,
    /// The link secret C (what the fragment carries).
    pub link_secret: LinkSecret,
    /// `b64u(A)`, for `X-Sealdrop-Link-Proof`.
    pub proof: String,
    /// The upload token (stops working at finalize).
    pub upload_token: String,
    /// The server secret as the creator received it.
    pub server_secret: String,
    /// The plaintexts, in file order.
    pub plaintexts: Vec<Vec<u8>>,
    /// The ciphertexts, in file order.
    pub ciphertexts: Vec<Vec<u8>>,
    /// The manifest bytes.
    pub manifest: Vec<u8>,
    /// The `201` answer of `POST /api/v1/packages`.
    pub created: Value,
}

/// A package created and encrypted locally but not uploaded ([`TestApp::prepare`]).
pub struct PreparedPackage {
    /// What the upload would send; parts and manifest are not on the server yet.
    pub sent: SentPackage,
    /// `b64u(SHA-256(A))`, for `X-Sealdrop-Link-Verifier`.
    pub verifier: String,
}

static TRACING: OnceLock<()> = OnceLock::new();

/// The server settings, parsed the way `sealdrop serve` parses them.
#[derive(clap::Parser)]
struct TestArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

/// Starts the app with the default limits.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app after `adjust` has changed the settings (limits, expiry...).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut ConfigArgs)) -> TestApp {
    TRACING.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            sealdrop_server::telemetry::init(
                "debug,sqlx=warn,aws=warn,hyper=info",
                sealdrop_server::config::LogFormat::Text,
            );
        }
    });
    let data_dir = tempfile::tempdir().expect("temporary data folder");
    let suffix = format!("{:016x}", rand::random::<u64>());

    let (database_url, database) = match std::env::var("SEALDROP_TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => (
            fresh_postgres_database(&admin_url, &suffix).await,
            "postgres",
        ),
        _ => (
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.path().join("sealdrop.db").display()
            ),
            "sqlite",
        ),
    };
    let s3 = s3_settings();
    let storage = if s3.is_some() { "s3" } else { "folder" };
    // Parsed like the command line, so settings added later get their defaults; every
    // setting that must not come from the environment is given as a flag.
    let data_dir_text = data_dir.path().display().to_string();
    let mut args = TestArgs::try_parse_from([
        "sealdrop-test",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir_text,
        "--database-url",
        &database_url,
        "--storage",
        "folder",
        "--s3-path-style",
        "true",
        "--max-file-size",
        "10737418240",
        "--max-files",
        "1000",
        "--default-expiry-secs",
        "604800",
        "--max-expiry-secs",
        "2592000",
        "--purge-interval-secs",
        "3600",
        "--shutdown-timeout-secs",
        "5",
    ])
    .expect("test settings parse")
    .config;
    args.public_url = None;
    args.smtp_url = None;
    if let Some(s3) = s3 {
        args.storage = StorageKind::S3;
        args.s3_endpoint = Some(s3.endpoint);
        args.s3_bucket = Some(s3.bucket);
        args.s3_region = s3.region;
        args.s3_access_key_id = Some(s3.access_key_id);
        args.s3_secret_access_key = Some(s3.secret_access_key);
        args.s3_prefix = format!("test-{suffix}/");
    }
    adjust(&mut args);
    let config = args.into_config().expect("valid test configuration");
    let clock = Clock::default();
    let app = Application::build_with_clock(config, clock.clone())
        .await
        .expect("application starts");
    let port = app.local_addr().expect("bound").port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let token = create_tenant(&state, "Test Tenant").await;
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::new(),
        state,
        clock,
        token,
        data_dir,
        database,
        storage,
        stop: Some(stop),
        server: Some(server),
    }
}

struct S3Settings {
    endpoint: String,
    bucket: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

fn s3_settings() -> Option<S3Settings> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    Some(S3Settings {
        endpoint: var("SEALDROP_TEST_S3_ENDPOINT")?,
        bucket: var("SEALDROP_TEST_S3_BUCKET")?,
        region: var("SEALDROP_TEST_S3_REGION").unwrap_or_else(|| "garage".into()),
        access_key_id: var("SEALDROP_TEST_S3_ACCESS_KEY_ID")?,
        secret_access_key: var("SEALDROP_TEST_S3_SECRET_ACCESS_KEY")?,
    })
}

/// Creates `sealdrop_test_<suffix>` on the Postgres server and returns its URL.
async fn fresh_postgres_database(admin_url: &str, suffix: &str) -> String {
    use sqlx::Connection;
    let name = format!("sealdrop_test_{suffix}");
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to SEALDROP_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let mut url = url::Url::parse(admin_url).expect("SEALDROP_TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Creates a tenant the way `sealdrop admin tenant create` does; returns its API token.
pub async fn create_tenant(state: &AppState, name: &str) -> String {
    let token =
        sealdrop_server::tokens::NewToken::generate(sealdrop_server::tokens::TokenKind::Tenant);
    let id = format!("t{:016x}", rand::random::<u64>());
    state
        .db
        .create_tenant(&id, name, token.hash().as_bytes(), state.clock.now())
        .await
        .expect("create tenant")
        .expect("tenant name is free");
    token.text().to_owned()
}

/// Hex SHA-256, for `X-Sealdrop-Sha256`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic pseudo-random bytes (fast, incompressible enough for tests).
pub fn test_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

impl TestApp {
    /// `address + path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Creates another tenant; returns its API token.
    pub async fn create_tenant(&self, name: &str) -> String {
        create_tenant(&self.state, name).await
    }

    /// `POST /api/v1/packages` with `token` and `body`; returns the raw response.
    pub async fn create_package_raw(&self, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/packages"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a package with the test tenant's token; panics unless `201`.
    pub async fn create_package(&self, body: &Value) -> Value {
        let response = self.create_package_raw(&self.token, body).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create package");
        response.json().await.expect("json")
    }

    /// Creates a package (`create` options) and encrypts `files` for it, uploading nothing.
    pub async fn prepare(&self, create: &Value, files: &[Vec<u8>]) -> PreparedPackage {
        self.prepare_as(&self.token, create, files).await
    }

    /// [`Self::prepare`] with `bearer` (a tenant token or an agent session) as the credential.
    pub async fn prepare_as(
        &self,
        bearer: &str,
        create: &Value,
        files: &[Vec<u8>],
    ) -> PreparedPackage {
        let response = self.create_package_raw(bearer, create).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create package");
        let created: Value = response.json().await.expect("json");
        let id = PackageId::parse_b64u(created["id"].as_str().unwrap()).unwrap();
        let server_secret =
            ServerSecret::parse_b64u(created["server_secret"].as_str().unwrap()).unwrap();
        let link_secret = LinkSecret::generate(&OsRandom).unwrap();
        let aead = default_aead();
        let mut builder = PackageBuilder::new(id, &OsRandom).unwrap();
        let mut ciphertexts = Vec::new();
        let mut infos = Vec::new();
        for (i, plaintext) in files.iter().enumerate() {
            let (_, key) = builder.add_file(plaintext.len() as u64).unwrap();
            ciphertexts.push(encrypt_file(aead, &key, plaintext));
            infos.push(FileInfo {
                name: format!("file-{i}.bin"),
                size: plaintext.len() as u64,
                media_type: "application/octet-stream".into(),
            });
        }
        builder.link_stanza(&link_secret, &server_secret);
        let metadata = Metadata {
            files: infos,
            message: Some("hello".into()),
            sender: None,
        };
        let manifest = builder.build(aead, &metadata).unwrap();
        let proof = LinkProof::derive(&link_secret, &id);
        PreparedPackage {
            verifier: proof.verifier().to_b64u(),
            sent: SentPackage {
                id: id.to_b64u(),
                link_secret,
                proof: proof.to_b64u(),
                upload_token: created["upload_token"].as_str().unwrap().to_owned(),
                server_secret: created["server_secret"].as_str().unwrap().to_owned(),
                plaintexts: files.to_vec(),
                ciphertexts,
                manifest,
                created,
            },
        }
    }

    /// `PUT …/manifest`.
    pub async fn put_manifest(
        &self,
        id: &str,
        upload_token: &str,
        verifier: &str,
        manifest: &[u8],
    ) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/api/v1/packages/{id}/manifest")))
            .header("X-Sealdrop-Upload-Token", upload_token)
            .header("X-Sealdrop-Link-Verifier", verifier)
            .body(manifest.to_vec())
            .send()
            .await
            .expect("request")
    }

    /// `PUT …/files/{file}/parts/{part}` with the right checksum header.
    pub async fn put_part(
        &self,
        id: &str,
        upload_token: &str,
        file: usize,
        part: u64,
        bytes: &[u8],
    ) -> reqwest::Response {
        self.put_part_with_sha(id, upload_token, file, part, bytes, &sha256_hex(bytes))
            .await
    }

    /// `PUT …/files/{file}/parts/{part}` with a given checksum header.
    pub async fn put_part_with_sha(
        &self,
        id: &str,
        upload_token: &str,
        file: usize,
        part: u64,
        bytes: &[u8],
        sha: &str,
    ) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/api/v1/packages/{id}/files/{file}/parts/{part}")))
            .header("X-Sealdrop-Upload-Token", upload_token)
            .header("X-Sealdrop-Sha256", sha)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("request")
    }

    /// Uploads every part of every file of a prepared package (manifest first).
    pub async fn upload(&self, prepared: &PreparedPackage) {
        let sent = &prepared.sent;
        let response = self
            .put_manifest(
                &sent.id,
                &sent.upload_token,
                &prepared.verifier,
                &sent.manifest,
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "manifest: {}",
            response.text().await.unwrap_or_default()
        );
        for (file, ciphertext) in sent.ciphertexts.iter().enumerate() {
            for (part, bytes) in ciphertext.chunks(PART_SIZE as usize).enumerate() {
                let response = self
                    .put_part(&sent.id, &sent.upload_token, file, part as u64, bytes)
                    .await;
                assert_eq!(response.status(), StatusCode::CREATED, "part {file}/{part}");
            }
        }
    }

    /// `POST …/finalize`.
    pub async fn finalize(&self, id: &str, upload_token: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/packages/{id}/finalize")))
            .header("X-Sealdrop-Upload-Token", upload_token)
            .send()
            .await
            .expect("request")
    }

    /// Creates, encrypts, uploads and finalizes a package: the sender's whole side.
    pub async fn send(&self, create: &Value, files: &[Vec<u8>]) -> SentPackage {
        self.send_as(&self.token, create, files).await
    }

    /// [`Self::send`] with `bearer` (another tenant's token, an agent session) as the
    /// credential.
    pub async fn send_as(&self, bearer: &str, create: &Value, files: &[Vec<u8>]) -> SentPackage {
        let prepared = self.prepare_as(bearer, create, files).await;
        self.upload(&prepared).await;
        let response = self
            .finalize(&prepared.sent.id, &prepared.sent.upload_token)
            .await;
        assert_eq!(response.status(), StatusCode::OK, "finalize");
        prepared.sent
    }

    /// A request with the link proof header.
    pub fn with_proof(
        &self,
        method: reqwest::Method,
        path: &str,
        proof: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-Sealdrop-Link-Proof", proof)
    }

    /// `POST …/download`; returns the raw response.
    pub async fn start_download(&self, id: &str, proof: &str) -> reqwest::Response {
        self.with_proof(
            reqwest::Method::POST,
            &format!("/api/v1/packages/{id}/download"),
            proof,
        )
        .send()
        .await
        .expect("request")
    }

    /// `GET …/files/{file}` with a download token and an optional `Range`.
    pub async fn fetch_file(
        &self,
        id: &str,
        file: usize,
        download_token: &str,
        range: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .get(self.url(&format!("/api/v1/packages/{id}/files/{file}")))
            .header("X-Sealdrop-Download-Token", download_token);
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().await.expect("request")
    }

    /// The recipient's whole side: open (server secret + manifest), decrypt the metadata,
    /// start a download, fetch and decrypt every file. Returns the plaintexts.
    pub async fn receive(&self, id: &str, link_secret: &LinkSecret) -> Vec<Vec<u8>> {
        let package_id = PackageId::parse_b64u(id).unwrap();
        let proof = LinkProof::derive(link_secret, &package_id).to_b64u();
        let response = self
            .with_proof(
                reqwest::Method::POST,
                &format!("/api/v1/packages/{id}/open"),
                &proof,
            )
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "open");
        let opened: Value = response.json().await.unwrap();
        let server_secret =
            ServerSecret::parse_b64u(opened["server_secret"].as_str().unwrap()).unwrap();
        let manifest = Manifest::parse(
            &STANDARD
                .decode(opened["manifest"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        let aead = default_aead();
        let package = manifest
            .open_with_link(aead, link_secret, &server_secret)
            .expect("the link opens the package");
        let response = self.start_download(id, &proof).await;
        assert_eq!(response.status(), StatusCode::OK, "download");
        let token: Value = response.json().await.unwrap();
        let token = token["download_token"].as_str().unwrap().to_owned();
        let mut out = Vec::new();
        for (i, info) in package.metadata().files.clone().iter().enumerate() {
            let response = self.fetch_file(id, i, &token, None).await;
            assert_eq!(response.status(), StatusCode::OK, "file {i}");
            let ciphertext = response.bytes().await.unwrap();
            let plaintext = package
                .decrypt_file(aead, i, &ciphertext)
                .expect("ciphertext decrypts");
            assert_eq!(plaintext.len() as u64, info.size);
            out.push(plaintext);
        }
        out
    }

    /// Keys the blob store holds for a package.
    pub async fn blob_keys(&self, id: &str) -> Vec<String> {
        self.state
            .storage
            .list(&BlobKey::package(id).unwrap())
            .await
            .expect("list blobs")
    }

    /// `GET /metrics`, checked to be OpenMetrics text as Prometheus parses it.
    pub async fn scrape_metrics(&self) -> metrics::Scrape {
        let response = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "/metrics");
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            content_type,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
        metrics::Scrape::parse(&response.text().await.expect("body"))
    }

    /// Runs the purge task once.
    pub async fn purge(&self) -> PurgeReport {
        self.state.purge().await.expect("purge")
    }

    /// The tenant's audit events (newest first) for one package, as event names.
    pub async fn audit_events(&self, id: &str) -> Vec<String> {
        let response = self
            .client
            .get(self.url(&format!("/api/v1/audit?package={id}")))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Reads the JSON error of a response, asserting its status; returns `(code, message)`.
    pub async fn expect_error(response: reqwest::Response, status: StatusCode) -> (String, String) {
        assert_eq!(response.status(), status);
        let body: Value = response.json().await.expect("errors are JSON");
        (
            body["error"].as_str().unwrap().to_owned(),
            body["message"].as_str().unwrap().to_owned(),
        )
    }

    /// Stops the server gracefully and waits for it (up to 10 s).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A JSON body with no options.
pub fn no_options() -> Value {
    json!({})
}
