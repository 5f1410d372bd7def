//! The client under failure: connections cut mid-transfer. Every test ends with bytes out ==
//! bytes in. (The server killed with SIGKILL mid-upload and restarted is a test of the
//! `sealdrop` binary, in `cli/tests/`.)

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::spawn_app;
use sealdrop_client::{
    Client, ClientError, Credential, GetOptions, NoProgress, Progress, RetryPolicy, SendOptions,
};
use sealdrop_crypto::SecureLink;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------------------------
// A tiny TCP proxy that can cut connections.

/// Forwards `127.0.0.1:port` to a target port. It can cut the connection carrying the byte
/// that crosses a threshold (once, per direction), and it can be closed (new connections are
/// dropped at once, open ones are cut) and reopened.
#[derive(Clone)]
struct Proxy {
    port: u16,
    open: Arc<AtomicBool>,
    /// Client-to-server bytes forwarded so far, and the cut point (`u64::MAX`: never).
    up: Arc<Budget>,
    /// Server-to-client bytes forwarded so far, and the cut point.
    down: Arc<Budget>,
    cuts: Arc<AtomicU64>,
}

struct Budget {
    forwarded: AtomicU64,
    cut_at: AtomicU64,
}

impl Budget {
    fn new() -> Self {
        Budget {
            forwarded: AtomicU64::new(0),
            cut_at: AtomicU64::new(u64::MAX),
        }
    }

    /// How many of `n` bytes may pass; `(n, false)` unless this read crosses the cut point,
    /// which then fires once.
    fn pass(&self, n: usize) -> (usize, bool) {
        let before = self.forwarded.fetch_add(n as u64, Ordering::SeqCst);
        let cut_at = self.cut_at.load(Ordering::SeqCst);
        if before < cut_at
            && before + n as u64 >= cut_at
            && self
                .cut_at
                .compare_exchange(cut_at, u64::MAX, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            return ((cut_at - before) as usize, true);
        }
        (n, false)
    }

    /// Cut the connection once `bytes` more have passed.
    fn cut_after(&self, bytes: u64) {
        let now = self.forwarded.load(Ordering::SeqCst);
        self.cut_at.store(now + bytes, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy = Proxy {
            port: listener.local_addr().expect("proxy address").port(),
            open: Arc::new(AtomicBool::new(true)),
            up: Arc::new(Budget::new()),
            down: Arc::new(Budget::new()),
            cuts: Arc::new(AtomicU64::new(0)),
        };
        let accepting = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accepting.open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let proxy = accepting.clone();
                tokio::spawn(async move { proxy.forward(client, server).await });
            }
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn set_open(&self, open: bool) {
        self.open.store(open, Ordering::SeqCst);
    }

    async fn forward(&self, client: TcpStream, server: TcpStream) {
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        // Whichever direction ends (or is cut) ends the connection.
        tokio::select! {
            _ = self.pump(client_read, server_write, &self.up) => {}
            _ = self.pump(server_read, client_write, &self.down) => {}
        }
    }

    async fn pump(
        &self,
        mut from: tokio::net::tcp::OwnedReadHalf,
        mut to: tokio::net::tcp::OwnedWriteHalf,
        budget: &Budget,
    ) {
        let mut buf = vec![0u8; 32 << 10];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !self.open.load(Ordering::SeqCst) {
                break;
            }
            let (allowed, cut) = budget.pass(n);
            if to.write_all(&buf[..allowed]).await.is_err() {
                break;
            }
            if cut {
                self.cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn write_test_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create test file"));
    let mut written = 0u64;
    let mut block = 0u64;
    while written < len {
        let n = (len - written).min(1 << 20) as usize;
        file.write_all(&common::test_bytes(n, seed ^ (block << 32)))
            .expect("write");
        written += n as u64;
        block += 1;
    }
    file.flush().expect("flush");
    path
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read")))
}

fn listing(dir: &Path) -> Vec<String> {
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

fn retry_for(seconds: u64) -> RetryPolicy {
    RetryPolicy {
        retry_for: Duration::from_secs(seconds),
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
    }
}

/// Records what the client reports.
#[derive(Default)]
struct Recorder {
    bytes: AtomicU64,
    retries: AtomicU64,
    notes: Mutex<Vec<String>>,
}

impl Progress for Recorder {
    fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
    }

    fn retrying(&self, _reason: &str, _delay: Duration) {
        self.retries.fetch_add(1, Ordering::SeqCst);
    }

    fn note(&self, text: &str) {
        self.notes.lock().expect("notes").push(text.to_owned());
    }
}

// ---------------------------------------------------------------------------------------------
// (a) Connections cut mid-transfer.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_mid_part_resumes_and_the_bytes_match() {
    let app = spawn_app().await;
    let proxy = Proxy::start(app.port).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "big.bin", 30 << 20, 21);

    // Cut the upload 12 MiB in: in the middle of the second part.
    proxy.up.cut_after(12 << 20);
    let recorder = Recorder::default();
    let link = Client::new(&proxy.url(), Credential::ApiToken(app.token.clone()))
        .expect("client")
        .with_state_dir(Some(work.path().join("state")))
        .with_retry(retry_for(30))
        .send(
            std::slice::from_ref(&input),
            SendOptions::default(),
            &recorder,
        )
        .await
        .expect("the upload survives a cut connection");
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the connection was cut"
    );
    assert!(
        recorder.retries.load(Ordering::SeqCst) >= 1,
        "the client retried"
    );

    let out = work.path().join("out");
    let saved = Client::get(&link, &out, GetOptions::default(), &NoProgress)
        .await
        .expect("get");
    assert_eq!(sha256_file(&saved[0]), sha256_file(&input));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_mid_file_resumes_with_a_range_and_the_bytes_match() {
    let app = spawn_app().await;
    let proxy = Proxy::start(app.port).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "big.bin", 20 << 20, 22);
    let link = Client::new(&app.address, Credential::ApiToken(app.token.clone()))
        .expect("client")
        .with_state_dir(None)
        .send(
            std::slice::from_ref(&input),
            SendOptions::default(),
            &NoProgress,
        )
        .await
        .expect("send");

    // Download through the proxy, cut 7 MiB (and a few bytes, mid-chunk) into the file.
    let via_proxy = SecureLink::new(&proxy.url(), link.id(), link.secret().clone());
    proxy.down.cut_after((7 << 20) + 12_345);
    let recorder = Recorder::default();
    let out = work.path().join("out");
    let options = GetOptions {
        retry: retry_for(30),
        ..GetOptions::default()
    };
    let saved = Client::get(&via_proxy, &out, options, &recorder)
        .await
        .expect("the download survives a cut connection");
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the connection was cut"
    );
    assert!(
        recorder.retries.load(Ordering::SeqCst) >= 1,
        "the client retried"
    );
    assert_eq!(
        recorder.bytes.load(Ordering::SeqCst),
        20 << 20,
        "no byte was counted twice: the download resumed where it stopped"
    );
    assert_eq!(sha256_file(&saved[0]), sha256_file(&input));
    assert_eq!(listing(&out), vec!["big.bin".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_process_resumes_an_interrupted_upload_from_its_state_file() {
    let app = spawn_app().await;
    let proxy = Proxy::start(app.port).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "big.bin", 40 << 20, 23);
    let state = work.path().join("state");

    // The network goes away 20 MiB in and stays away: the first run gives up.
    let recorder = Arc::new(Recorder::default());
    let first = {
        let client = Client::new(&proxy.url(), Credential::ApiToken(app.token.clone()))
            .expect("client")
            .with_state_dir(Some(state.clone()))
            .with_parallel(2)
            .with_retry(retry_for(2));
        let input = input.clone();
        let recorder = recorder.clone();
        tokio::spawn(async move {
            client
                .send(&[input], SendOptions::default(), &*recorder)
                .await
        })
    };
    while recorder.bytes.load(Ordering::SeqCst) < 20 << 20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set_open(false);
    let error = first
        .await
        .expect("task")
        .expect_err("the first run gives up");
    assert!(matches!(error, ClientError::GaveUp { .. }), "{error:?}");

    // The state file is there, private.
    let files = listing(&state);
    assert_eq!(files.len(), 1, "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join(&files[0]))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the state file holds secrets");
    }

    // A new client (a new process would do the same) continues and sends only what is missing.
    proxy.set_open(true);
    let recorder = Recorder::default();
    let link = Client::new(&proxy.url(), Credential::ApiToken(app.token.clone()))
        .expect("client")
        .with_state_dir(Some(state.clone()))
        .with_retry(retry_for(30))
        .send(
            std::slice::from_ref(&input),
            SendOptions::default(),
            &recorder,
        )
        .await
        .expect("the second run finishes the upload");
    let notes = recorder.notes.lock().expect("notes").join("\n");
    assert!(notes.contains("Resuming an interrupted upload"), "{notes}");
    assert!(
        !notes.contains(": 0 of"),
        "some parts were already on the server: {notes}"
    );
    assert_eq!(
        listing(&state),
        Vec::<String>::new(),
        "the state is deleted after finalize"
    );

    let out = work.path().join("out");
    let saved = Client::get(&link, &out, GetOptions::default(), &NoProgress)
        .await
        .expect("get");
    assert_eq!(sha256_file(&saved[0]), sha256_file(&input));
}
