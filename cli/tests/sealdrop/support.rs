//! Running the binary: a data folder and backend per test, `sealdrop serve` as a child
//! process, and test files.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};

/// The `sealdrop` binary, with no log filter from the test's environment and, for `admin`,
/// no settings file: an installed server's /etc/sealdrop/sealdrop.env must not point a test
/// at its database (a test that wants a file passes `--env-file`, which wins).
pub fn sealdrop() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealdrop"));
    command
        .env_remove("RUST_LOG")
        .env("SEALDROP_ENV_FILE", "/dev/null");
    command
}

/// The settings `serve` and `admin` share for one test: a fresh data folder, and a fresh
/// Postgres database and S3 prefix when the environment names them.
pub struct Backend {
    /// The data folder (SQLite file, blobs, outbox), removed when the backend is dropped.
    _data_dir: TempDir,
    /// `--data-dir …` and the database and storage flags.
    pub args: Vec<String>,
}

impl Backend {
    pub async fn new() -> Backend {
        let data_dir = tempfile::tempdir().expect("temporary data folder");
        let mut args = vec![
            "--data-dir".to_owned(),
            data_dir.path().display().to_string(),
        ];
        let suffix = format!("{:016x}", rand::random::<u64>());
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(admin_url) = var("SEALDROP_TEST_DATABASE_URL") {
            args.extend([
                "--database-url".to_owned(),
                fresh_postgres_database(&admin_url, &suffix).await,
            ]);
        }
        if let (Some(endpoint), Some(bucket), Some(key), Some(secret)) = (
            var("SEALDROP_TEST_S3_ENDPOINT"),
            var("SEALDROP_TEST_S3_BUCKET"),
            var("SEALDROP_TEST_S3_ACCESS_KEY_ID"),
            var("SEALDROP_TEST_S3_SECRET_ACCESS_KEY"),
        ) {
            args.extend([
                "--storage".to_owned(),
                "s3".to_owned(),
                "--s3-endpoint".to_owned(),
                endpoint,
                "--s3-bucket".to_owned(),
                bucket,
                "--s3-region".to_owned(),
                var("SEALDROP_TEST_S3_REGION").unwrap_or_else(|| "garage".into()),
                "--s3-access-key-id".to_owned(),
                key,
                "--s3-secret-access-key".to_owned(),
                secret,
                "--s3-path-style".to_owned(),
                "true".to_owned(),
                "--s3-prefix".to_owned(),
                format!("test-{suffix}/"),
            ]);
        }
        Backend {
            _data_dir: data_dir,
            args,
        }
    }

    /// Runs `sealdrop admin ARGS` on this backend.
    pub fn admin(&self, args: &[&str]) -> Output {
        sealdrop()
            .arg("admin")
            .args(&self.args)
            .args(args)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run sealdrop admin")
    }

    /// Creates a tenant with `sealdrop admin tenant create` and returns its API token.
    pub fn create_tenant(&self, name: &str) -> String {
        let out = self.admin(&["tenant", "create", name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

/// A database of its own on the Postgres server at `admin_url`; returns its URL.
async fn fresh_postgres_database(admin_url: &str, suffix: &str) -> String {
    use sqlx::Connection;
    let name = format!("sealdrop_test_{suffix}");
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to Postgres");
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(admin_url).expect("database URL");
    url.set_path(&name);
    url.to_string()
}

/// A `sealdrop serve` child process, killed when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Server {
    /// Starts `sealdrop serve` on `port` and waits until `/healthz` answers.
    pub async fn start(port: u16, backend: &Backend) -> Server {
        let url = format!("http://127.0.0.1:{port}");
        let child = sealdrop()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &url])
            .args(&backend.args)
            .env_remove("DATABASE_URL")
            .env_remove("SEALDROP_SMTP_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sealdrop serve");
        let server = Server { child, url };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("{}/healthz", server.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return server;
            }
            assert!(Instant::now() < deadline, "sealdrop serve did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

/// Forwards a port of its own to a target port until it is closed: then new connections are
/// dropped at once and open ones end, so a client can be kept away while a test looks.
#[derive(Clone)]
pub struct Gate {
    pub port: u16,
    open: Arc<AtomicBool>,
}

impl Gate {
    pub async fn start(target: u16) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let gate = Gate {
            port: listener.local_addr().expect("gate address").port(),
            open: Arc::new(AtomicBool::new(true)),
        };
        let open = gate.open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !open.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let open = open.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = closed(&open) => {}
                    }
                });
            }
        });
        gate
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }
}

async fn closed(open: &AtomicBool) {
    while open.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes `len` deterministic pseudo-random bytes to `dir/name`.
pub fn write_test_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create test file"));
    // xorshift64*: cheap, deterministic, incompressible enough.
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len;
    while left > 0 {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bytes = state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        let n = left.min(8) as usize;
        file.write_all(&bytes[..n]).expect("write test file");
        left -= n as u64;
    }
    file.flush().expect("flush test file");
    path
}

/// SHA-256 of a file, in hex.
pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).expect("read for hashing");
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The names in a folder, sorted; empty if it does not exist.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
