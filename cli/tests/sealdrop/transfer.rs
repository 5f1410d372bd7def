//! `sealdrop send` and `sealdrop get`, and a sender's upload across a server crash.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sealdrop_client::{
    Client, ClientError, Credential, GetOptions, NoProgress, Progress, RetryPolicy, SendOptions,
};
use sealdrop_crypto::{LinkSecret, PackageId, SecureLink};

use crate::support::{
    free_port, listing, sealdrop, sha256_file, write_test_file, Backend, Gate, Server,
};

/// Runs `sealdrop ARGS` as a sender of `server` with `token` (asynchronously: the test's
/// runtime keeps serving the gate meanwhile).
async fn run(args: &[&str], server: &Server, token: &str, state: &Path) -> Output {
    tokio::process::Command::from(sealdrop())
        .args(args)
        .env("SEALDROP_URL", &server.url)
        .env("SEALDROP_TOKEN", token)
        .env("SEALDROP_STATE_DIR", state)
        .env_remove("SEALDROP_EMAIL")
        .output()
        .await
        .expect("run sealdrop")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_made_token_sends_and_the_link_gets() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Send Test");
    let server = Server::start(free_port(), &backend).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "notes.txt", 3 << 20, 12);
    let state = work.path().join("state");

    let sent = run(
        &[
            "send",
            input.to_str().expect("utf-8 path"),
            "--downloads",
            "2",
        ],
        &server,
        &token,
        &state,
    )
    .await;
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let stdout = String::from_utf8(sent.stdout).expect("utf-8");
    let link = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "standard output is only the link: {stdout}"
    );
    assert!(link.starts_with(&format!("{}/p/", server.url)), "{link}");
    let secret = link.split_once('#').expect("fragment").1;
    assert!(
        !String::from_utf8_lossy(&sent.stderr).contains(secret),
        "the secret is printed once, on standard output"
    );

    let out = work.path().join("out");
    let out_text = out.to_str().expect("utf-8 path");
    let got = run(&["get", link, "-o", out_text], &server, &token, &state).await;
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&got.stdout).trim(),
        out.join("notes.txt").display().to_string()
    );
    assert_eq!(sha256_file(&out.join("notes.txt")), sha256_file(&input));

    // A link without its secret fails with a sentence, not a panic.
    let (without_secret, _) = link.split_once('#').expect("fragment");
    let bad = run(
        &["get", without_secret, "-o", out_text],
        &server,
        &token,
        &state,
    )
    .await;
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("not a sealdrop link"), "{stderr}");
}

fn retry_for(seconds: u64) -> RetryPolicy {
    RetryPolicy {
        retry_for: Duration::from_secs(seconds),
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_millis(500),
    }
}

/// Counts what the client reports.
#[derive(Default)]
struct Recorder {
    bytes: AtomicU64,
    retries: AtomicU64,
}

impl Progress for Recorder {
    fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::SeqCst);
    }

    fn retrying(&self, _reason: &str, _delay: Duration) {
        self.retries.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_survives_the_server_being_killed_and_restarted() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Fault Test");
    let port = free_port();
    let mut server = Server::start(port, &backend).await;
    let gate = Gate::start(port).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "big.bin", 60 << 20, 31);
    let state = work.path().join("state");

    let recorder = Arc::new(Recorder::default());
    let upload = {
        let client = Client::new(&gate.url(), Credential::ApiToken(token.clone()))
            .expect("client")
            .with_state_dir(Some(state.clone()))
            .with_parallel(3)
            .with_retry(retry_for(120));
        let input = input.clone();
        let recorder = recorder.clone();
        tokio::spawn(async move {
            client
                .send(&[input], SendOptions::default(), &*recorder)
                .await
        })
    };
    while recorder.bytes.load(Ordering::SeqCst) < 20 << 20 {
        assert!(!upload.is_finished(), "the upload ended before the kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Keep the client away while the server is down and checked; kill it mid-upload (parts
    // are in flight).
    gate.set_open(false);
    server.child.kill().expect("SIGKILL the server");
    server.child.wait().expect("reap the server");
    drop(server);
    let server = Server::start(port, &backend).await;

    // Before finalize, the link (read from the client's state file) gives nothing away and
    // writes nothing.
    let files = listing(&state);
    assert_eq!(files.len(), 1, "{files:?}");
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join(&files[0])).expect("state"))
            .expect("json");
    let early_link = SecureLink::new(
        &server.url,
        PackageId::parse_b64u(saved["id"].as_str().expect("id")).expect("id"),
        LinkSecret::parse_b64u(saved["link_secret"].as_str().expect("secret")).expect("secret"),
    );
    let early = work.path().join("early");
    let options = GetOptions {
        retry: retry_for(2),
        ..GetOptions::default()
    };
    let error = Client::get(&early_link, &early, options, &NoProgress)
        .await
        .expect_err("an unfinished package cannot be downloaded");
    assert!(
        !matches!(
            error,
            ClientError::Tampered { .. } | ClientError::GaveUp { .. }
        ),
        "a clean refusal, not a broken download: {error:?}"
    );
    assert_eq!(listing(&early), Vec::<String>::new());

    // Let the client back in: it resumes and finishes.
    gate.set_open(true);
    let link = upload
        .await
        .expect("task")
        .expect("the upload resumes after the restart");
    assert_eq!(link.id(), early_link.id());
    assert!(recorder.retries.load(Ordering::SeqCst) >= 1);

    let out = work.path().join("out");
    let saved = Client::get(&link, &out, GetOptions::default(), &NoProgress)
        .await
        .expect("get");
    assert_eq!(
        sha256_file(&saved[0]),
        sha256_file(&input),
        "bytes out == bytes in"
    );
}

#[test]
fn a_ca_file_without_certificates_stops_send_and_get_naming_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let not_pem = work.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello\n").expect("write");
    let input = write_test_file(work.path(), "a.txt", 10, 1);
    let link = SecureLink::new(
        "https://127.0.0.1:9",
        PackageId::from_bytes([7; 16]),
        LinkSecret::from_bytes([9; 32]),
    )
    .to_string();
    let input_text = input.to_str().expect("utf-8 path");
    for args in [
        vec!["send", input_text, "--server", "https://127.0.0.1:9"],
        vec!["get", link.as_str(), "-o", "out"],
    ] {
        let out = sealdrop()
            .args(&args)
            .arg("--ca-file")
            .arg(&not_pem)
            .env("SEALDROP_TOKEN", "sdt_unused")
            .env("SEALDROP_STATE_DIR", work.path().join("state"))
            .current_dir(work.path())
            .output()
            .expect("run sealdrop");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail: {stderr}");
        assert!(
            stderr.contains("not-a-ca.pem") && stderr.contains("not a PEM file"),
            "{args:?}: {stderr}"
        );
    }
}
