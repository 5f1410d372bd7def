//! The native client against the real server: what a sender and a recipient see.
//!
//! Every test sends real files with `sealdrop_client::Client`, gets them back through the
//! secure link, and compares SHA-256 of what went in and what came out.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{spawn_app, TestApp};
use sealdrop_client::{
    Client, ClientError, Credential, GetOptions, NoProgress, RetryPolicy, SendOptions,
};
use sealdrop_crypto::SecureLink;
use sealdrop_server::storage::BlobKey;
use sha2::{Digest, Sha256};

/// Writes `len` deterministic pseudo-random bytes to `dir/name`, 1 MiB at a time.
fn write_test_file(dir: &Path, name: &str, len: u64, seed: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("create test file"));
    let mut written = 0u64;
    let mut block = 0u64;
    while written < len {
        let n = (len - written).min(1 << 20) as usize;
        file.write_all(&common::test_bytes(n, seed ^ (block << 32)))
            .expect("write test file");
        written += n as u64;
        block += 1;
    }
    file.flush().expect("flush test file");
    path
}

/// SHA-256 of a file, read in blocks.
fn sha256_file(path: &Path) -> String {
    use std::io::Read;
    let mut file = std::fs::File::open(path).expect("open for hashing");
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).expect("read for hashing");
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    hex::encode(hash.finalize())
}

fn client(app: &TestApp, state_dir: &Path) -> Client {
    Client::new(&app.address, Credential::ApiToken(app.token.clone()))
        .expect("client")
        .with_state_dir(Some(state_dir.to_owned()))
        .with_retry(RetryPolicy::for_duration(Duration::from_secs(5)))
}

fn get_options() -> GetOptions {
    GetOptions {
        retry: RetryPolicy::for_duration(Duration::from_secs(5)),
        ..GetOptions::default()
    }
}

/// Files in `dir`, sorted by name.
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

/// Sends one file of `len` bytes and gets it back; asserts the bytes and the name.
async fn round_trip(len: u64) {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "input.bin", len, len);
    let state = work.path().join("state");

    let started = std::time::Instant::now();
    let link = client(&app, &state)
        .send(
            std::slice::from_ref(&input),
            SendOptions::default(),
            &NoProgress,
        )
        .await
        .expect("send");
    let sent_in = started.elapsed();
    assert!(link.to_string().starts_with(&format!("{}/p/", app.address)));
    assert_eq!(
        listing(&state),
        Vec::<String>::new(),
        "the resume state is deleted after finalize"
    );

    let out = work.path().join("out");
    let started = std::time::Instant::now();
    let saved = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect("get");
    let got_in = started.elapsed();
    // Visible with --nocapture: a rough throughput figure (debug build, loopback, shared CPU).
    eprintln!(
        "{len} B: send {:.2} s, get {:.2} s",
        sent_in.as_secs_f64(),
        got_in.as_secs_f64()
    );
    assert_eq!(saved, vec![out.join("input.bin")]);
    assert_eq!(std::fs::metadata(&saved[0]).expect("saved").len(), len);
    assert_eq!(
        sha256_file(&saved[0]),
        sha256_file(&input),
        "bytes out == bytes in ({len} B)"
    );
    assert_eq!(
        listing(&out),
        vec!["input.bin".to_owned()],
        "no partial file is left"
    );
}

#[tokio::test]
async fn an_empty_file_round_trips() {
    round_trip(0).await;
}

#[tokio::test]
async fn a_one_byte_file_round_trips() {
    round_trip(1).await;
}

#[tokio::test]
async fn a_64_kib_file_round_trips() {
    round_trip(64 << 10).await;
}

#[tokio::test]
async fn a_10_mib_file_round_trips() {
    round_trip(10 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_mib_file_round_trips() {
    round_trip(200 << 20).await;
}

#[tokio::test]
async fn several_files_round_trip_with_their_names() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let a = work.path().join("a");
    let b = work.path().join("b");
    std::fs::create_dir_all(&a).expect("mkdir");
    std::fs::create_dir_all(&b).expect("mkdir");
    let files = vec![
        write_test_file(&a, "report.pdf", 300_000, 1),
        write_test_file(&a, "empty.txt", 0, 2),
        // Same name from another folder: saved as "report (1).pdf".
        write_test_file(&b, "report.pdf", 9 << 20, 3),
    ];
    let options = SendOptions {
        message: Some("Here are the files".into()),
        ..SendOptions::default()
    };
    let link = client(&app, &work.path().join("state"))
        .send(&files, options, &NoProgress)
        .await
        .expect("send");

    let out = work.path().join("out");
    let saved = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect("get");
    assert_eq!(
        saved,
        vec![
            out.join("report.pdf"),
            out.join("empty.txt"),
            out.join("report (1).pdf")
        ]
    );
    for (sent, got) in files.iter().zip(&saved) {
        assert_eq!(sha256_file(got), sha256_file(sent), "{}", got.display());
    }

    // A second download into the same folder never overwrites.
    let again = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect("get again");
    assert_eq!(
        again,
        vec![
            out.join("report (2).pdf"),
            out.join("empty (1).txt"),
            out.join("report (3).pdf")
        ]
    );
}

#[tokio::test]
async fn the_download_limit_is_reported_clearly() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "once.bin", 1000, 7);
    let options = SendOptions {
        max_downloads: Some(1),
        ..SendOptions::default()
    };
    let link = client(&app, &work.path().join("state"))
        .send(&[input], options, &NoProgress)
        .await
        .expect("send");
    Client::get(
        &link,
        &work.path().join("first"),
        get_options(),
        &NoProgress,
    )
    .await
    .expect("the first download works");

    let second = work.path().join("second");
    let error = Client::get(&link, &second, get_options(), &NoProgress)
        .await
        .expect_err("the second download is refused");
    assert!(
        matches!(error, ClientError::DownloadLimitReached),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "this link has reached its download limit"
    );
    assert_eq!(listing(&second), Vec::<String>::new());
}

#[tokio::test]
async fn an_expired_link_is_reported_clearly() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "soon.bin", 1000, 8);
    let options = SendOptions {
        expires: Some(Duration::from_secs(3600)),
        ..SendOptions::default()
    };
    let link = client(&app, &work.path().join("state"))
        .send(&[input], options, &NoProgress)
        .await
        .expect("send");
    app.clock.advance(Duration::from_secs(2 * 3600));

    let out = work.path().join("out");
    let error = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect_err("an expired link does not download");
    assert!(matches!(error, ClientError::Expired), "{error:?}");
    assert_eq!(error.to_string(), "this link has expired");
    assert_eq!(listing(&out), Vec::<String>::new());
}

#[tokio::test]
async fn a_wrong_link_secret_finds_nothing() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "x.bin", 10, 9);
    let link = client(&app, &work.path().join("state"))
        .send(&[input], SendOptions::default(), &NoProgress)
        .await
        .expect("send");
    let other = sealdrop_crypto::LinkSecret::generate(&sealdrop_crypto::OsRandom).expect("secret");
    let wrong = SecureLink::new(link.base(), link.id(), other);
    let error = Client::get(&wrong, work.path(), get_options(), &NoProgress)
        .await
        .expect_err("a wrong secret opens nothing");
    assert!(matches!(error, ClientError::NotFound), "{error:?}");
}

#[tokio::test]
async fn a_tampered_blob_is_reported_and_no_file_is_left() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "contract.pdf", 3 << 20, 10);
    let link = client(&app, &work.path().join("state"))
        .send(&[input], SendOptions::default(), &NoProgress)
        .await
        .expect("send");

    // Flip one bit in the stored ciphertext, through the storage trait so that it works on
    // the folder store and on S3 alike. The file is one part long.
    let key = BlobKey::part(&link.id().to_b64u(), 0, 0).expect("blob key");
    tamper_blob(&app, &key, sealdrop_crypto::ciphertext_size(3 << 20)).await;

    let out = work.path().join("out");
    let error = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect_err("a tampered file is refused");
    assert!(matches!(error, ClientError::Tampered { .. }), "{error:?}");
    assert!(
        error.to_string().contains("the file was tampered with"),
        "{error}"
    );
    assert_eq!(
        listing(&out),
        Vec::<String>::new(),
        "neither the file nor a partial is left"
    );
}

/// Rewrites the blob `key` with one bit flipped 100 000 bytes in.
async fn tamper_blob(app: &TestApp, key: &BlobKey, len: u64) {
    use futures::StreamExt;
    let mut bytes = Vec::new();
    let mut stream = app
        .state
        .storage
        .read_range(key, 0..len)
        .await
        .expect("read blob");
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.expect("blob bytes"));
    }
    bytes[100_000] ^= 0x01;
    let spool = app.data_dir.path().join("tampered-blob");
    std::fs::write(&spool, &bytes).expect("write tampered copy");
    app.state
        .storage
        .put_file(key, &spool, bytes.len() as u64)
        .await
        .expect("store tampered copy");
}

#[tokio::test]
async fn a_recipient_confirms_an_emailed_code_and_gets_the_files() {
    let app = spawn_app().await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "private.bin", 100_000, 11);
    let email = "jane@example.com";
    let options = SendOptions {
        recipients: vec![email.into()],
        require_auth: true,
        ..SendOptions::default()
    };
    let link = client(&app, &work.path().join("state"))
        .send(std::slice::from_ref(&input), options, &NoProgress)
        .await
        .expect("send");
    let out = work.path().join("out");

    // Without an address the error says what to do.
    let error = Client::get(&link, &out, get_options(), &NoProgress)
        .await
        .expect_err("a code is needed");
    assert!(
        matches!(error, ClientError::VerificationRequired),
        "{error:?}"
    );
    assert!(error.to_string().contains("--email"), "{error}");

    // With the address a code is sent, and the error says to come back with it.
    let with_email = || GetOptions {
        email: Some(email.into()),
        ..get_options()
    };
    let error = Client::get(&link, &out, with_email(), &NoProgress)
        .await
        .expect_err("the code is on its way");
    assert!(matches!(error, ClientError::CodeSent { .. }), "{error:?}");
    assert!(error.to_string().contains("--code"), "{error}");
    assert_eq!(listing(&out), Vec::<String>::new());

    // The code from the mail opens the package.
    let code = code_from_outbox(&app).await;
    let options = GetOptions {
        code: Some(code),
        ..with_email()
    };
    let saved = Client::get(&link, &out, options, &NoProgress)
        .await
        .expect("get with the code");
    assert_eq!(sha256_file(&saved[0]), sha256_file(&input));
}

/// The code in the (only) verification mail in the outbox: the line made of 6+ digits.
async fn code_from_outbox(app: &TestApp) -> String {
    let outbox = app.data_dir.path().join("outbox");
    for _ in 0..100 {
        let mails: Vec<String> = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(code) = mails
            .iter()
            .flat_map(|m| m.lines())
            .map(str::trim)
            .find(|l| l.len() >= 6 && l.len() <= 10 && l.bytes().all(|b| b.is_ascii_digit()))
        {
            return code.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no verification mail in {}", outbox.display());
}
