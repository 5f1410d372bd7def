//! Recipient verification: email codes, their rules, recipient sessions, and mail (docs/API.md
//! "Recipient verification"). Runs on SQLite by default and on Postgres when
//! `SEALDROP_TEST_DATABASE_URL` is set; mail goes to the outbox folder, or to a real SMTP
//! server when `SEALDROP_TEST_SMTP_URL` and `SEALDROP_TEST_SMTP_CAPTURE_DIR` are set.

mod common;

use std::time::Duration;

use common::mail::{address, mails_to, smtp_env, wait_for_mails};
use common::{spawn_app_with, test_bytes, SentPackage, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

/// Starts the app, sending mail over SMTP when the test environment provides a server.
async fn spawn() -> TestApp {
    spawn_app_with(|args| {
        if let Some(url) = smtp_env().map(|(url, _)| url) {
            args.smtp_url = Some(url);
        }
    })
    .await
}

/// The code in a verification mail: the line that is exactly eight digits.
fn code_in(mail: &str) -> String {
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in the mail:\n{mail}"))
        .to_owned()
}

async fn request_code(app: &TestApp, p: &SentPackage, email: &str) -> reqwest::Response {
    app.with_proof(
        Method::POST,
        &format!("/api/v1/packages/{}/verification", p.id),
        &p.proof,
    )
    .json(&json!({ "email": email }))
    .send()
    .await
    .expect("request")
}

async fn confirm(app: &TestApp, p: &SentPackage, email: &str, code: &str) -> reqwest::Response {
    app.with_proof(
        Method::POST,
        &format!("/api/v1/packages/{}/verification/confirm", p.id),
        &p.proof,
    )
    .json(&json!({ "email": email, "code": code }))
    .send()
    .await
    .expect("request")
}

/// Asks for a code for `email` and reads it from the mail (the `n`th mail to that address).
async fn code_for(app: &TestApp, p: &SentPackage, email: &str, n: usize) -> String {
    let response = request_code(app, p, email).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mails = wait_for_mails(app, email, n).await;
    code_in(&mails[n - 1])
}

async fn open(app: &TestApp, p: &SentPackage, session: Option<&str>) -> reqwest::Response {
    let mut request = app.with_proof(
        Method::POST,
        &format!("/api/v1/packages/{}/open", p.id),
        &p.proof,
    );
    if let Some(session) = session {
        request = request.header("X-Sealdrop-Recipient-Session", session);
    }
    request.send().await.expect("request")
}

async fn protected_package(app: &TestApp, recipients: &[&str]) -> SentPackage {
    app.send(
        &json!({ "recipients": recipients, "require_auth": true }),
        &[test_bytes(100_000, 1)],
    )
    .await
}

fn wrong(code: &str) -> String {
    let last = (code.as_bytes()[7] - b'0' + 1) % 10;
    format!("{}{last}", &code[..7])
}

async fn count_rows(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.state.db.pool())
        .await
        .expect("query")
        .try_get::<i64, _>(0)
        .expect("count")
}

#[tokio::test]
async fn a_recipient_confirms_a_code_and_downloads_the_files() {
    let app = spawn().await;
    let bob = address("Bob");
    let p = protected_package(&app, &[&bob]).await;

    let (code, message) =
        TestApp::expect_error(open(&app, &p, None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(code, "verification_required", "{message}");
    let response = app.start_download(&p.id, &p.proof).await;
    TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;

    // The address is matched case-insensitively.
    let code = code_for(&app, &p, &bob.to_uppercase(), 1).await;
    let mail = &mails_to(&app, &bob.to_lowercase())[0];
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "text and HTML bodies"
    );
    assert!(mail.contains("Test Tenant"), "the mail names the sender");
    assert!(
        !mail.contains(&p.proof) && !mail.contains(&p.server_secret),
        "no secret but the code"
    );
    assert!(!mail.contains(&p.link_secret.to_b64u()));

    let response = confirm(&app, &p, &bob, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    let session = body["recipient_session"]
        .as_str()
        .expect("session")
        .to_owned();
    assert!(session.starts_with("sdr_"));
    assert!(body["expires_at"].as_str().is_some());

    assert_eq!(
        open(&app, &p, Some(&session)).await.status(),
        StatusCode::OK
    );
    let response = app
        .with_proof(
            Method::POST,
            &format!("/api/v1/packages/{}/download", p.id),
            &p.proof,
        )
        .header("X-Sealdrop-Recipient-Session", &session)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await.expect("json");
    let file = app
        .fetch_file(
            &p.id,
            0,
            token["download_token"].as_str().expect("token"),
            None,
        )
        .await;
    assert_eq!(
        file.bytes().await.expect("body").as_ref(),
        &p.ciphertexts[0][..]
    );
    assert!(app
        .audit_events(&p.id)
        .await
        .contains(&"verified".to_owned()));
}

#[tokio::test]
async fn strangers_get_the_same_answer_and_the_same_database_write_but_no_mail() {
    let app = spawn().await;
    let bob = address("bob");
    let eve = address("eve");
    let p = protected_package(&app, &[&bob]).await;

    let for_bob = request_code(&app, &p, &bob).await;
    let for_eve = request_code(&app, &p, &eve).await;
    assert_eq!(for_bob.status(), StatusCode::ACCEPTED);
    assert_eq!(for_eve.status(), StatusCode::ACCEPTED);
    let bob_body = for_bob.text().await.expect("body");
    assert_eq!(bob_body, for_eve.text().await.expect("body"));
    assert_eq!(bob_body, r#"{"status":"sent_if_recipient"}"#);
    assert_eq!(
        count_rows(&app, "SELECT COUNT(*) FROM verification_codes").await,
        2,
        "a code row for each"
    );

    wait_for_mails(&app, &bob, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        mails_to(&app, &eve).is_empty(),
        "no mail to a non-recipient"
    );
    // A stranger cannot confirm anything, whatever they type.
    let response = confirm(&app, &p, &eve, "12345678").await;
    TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn a_code_works_once() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &p, &bob, 1).await;
    assert_eq!(
        confirm(&app, &p, &bob, &code).await.status(),
        StatusCode::OK
    );
    let (_, message) = TestApp::expect_error(
        confirm(&app, &p, &bob, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert!(message.contains("new code"), "{message}");
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &p, &bob, 1).await;
    app.clock.advance(Duration::from_secs(10 * 60));
    TestApp::expect_error(
        confirm(&app, &p, &bob, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let code = code_for(&app, &p, &bob, 2).await;
    app.clock.advance(Duration::from_secs(9 * 60));
    assert_eq!(
        confirm(&app, &p, &bob, &code).await.status(),
        StatusCode::OK,
        "still valid after 9 minutes"
    );
}

#[tokio::test]
async fn five_wrong_tries_kill_the_code() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &p, &bob, 1).await;
    let mut messages = Vec::new();
    for _ in 0..5 {
        let (_, message) = TestApp::expect_error(
            confirm(&app, &p, &bob, &wrong(&code)).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        messages.push(message);
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "tries left are not revealed: {messages:?}"
    );
    let (_, message) = TestApp::expect_error(
        confirm(&app, &p, &bob, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        message, messages[0],
        "the dead code answers like a wrong one"
    );

    // A new code works again.
    let code = code_for(&app, &p, &bob, 2).await;
    assert_eq!(
        confirm(&app, &p, &bob, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn concurrent_guesses_never_exceed_five_tries() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &p, &bob, 1).await;
    let bad = wrong(&code);
    let guesses = (0..20).map(|_| confirm(&app, &p, &bob, &bad));
    for response in futures::future::join_all(guesses).await {
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let attempts = count_rows(&app, "SELECT MAX(attempts) FROM verification_codes").await;
    assert_eq!(attempts, 5, "every try counted, none past the limit");
    TestApp::expect_error(
        confirm(&app, &p, &bob, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn a_new_code_leaves_the_live_one_working() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let first = code_for(&app, &p, &bob, 1).await;
    // Someone holding the link asks again (or Bob, whose first mail is slow): the code Bob is
    // typing still works.
    let second = code_for(&app, &p, &bob, 2).await;
    assert_eq!(
        confirm(&app, &p, &bob, &first).await.status(),
        StatusCode::OK
    );
    // Confirming one code retires the others.
    if first != second {
        TestApp::expect_error(
            confirm(&app, &p, &bob, &second).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
}

#[tokio::test]
async fn codes_per_address_are_capped_per_hour_for_recipients_and_strangers_alike() {
    let app = spawn().await;
    let bob = address("bob");
    let eve = address("eve");
    let p = protected_package(&app, &[&bob]).await;
    for email in [&bob, &eve] {
        for _ in 0..5 {
            assert_eq!(
                request_code(&app, &p, email).await.status(),
                StatusCode::ACCEPTED
            );
        }
        let (code, message) = TestApp::expect_error(
            request_code(&app, &p, email).await,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        assert_eq!(code, "rate_limited");
        assert!(message.contains("hour"), "{message}");
    }
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        request_code(&app, &p, &bob).await.status(),
        StatusCode::ACCEPTED,
        "a new hour, a new allowance"
    );
}

#[tokio::test]
async fn links_to_other_packages_cannot_lock_an_address_out() {
    let app = spawn().await;
    let bob = address("bob");
    // Mallory holds links to five packages of tenant B that list Bob, and asks for codes for
    // Bob until every cap she can reach is used up.
    let other_tenant = app.create_tenant("tenant-b").await;
    let (mut refused, mut accepted) = (0, 0);
    for _ in 0..5 {
        let p = app
            .send_as(
                &other_tenant,
                &json!({ "recipients": [&bob], "require_auth": true }),
                &[test_bytes(1000, 3)],
            )
            .await;
        for _ in 0..6 {
            match request_code(&app, &p, &bob).await.status() {
                StatusCode::TOO_MANY_REQUESTS => refused += 1,
                StatusCode::ACCEPTED => accepted += 1,
                other => panic!("unexpected {other}"),
            }
        }
    }
    assert!(refused >= 10, "tenant B's caps hold ({refused} refused)");
    // Bob's own package at tenant A still sends him a code, and it works.
    let mine = protected_package(&app, &[&bob]).await;
    // Mail goes out in the background: let every one of Mallory's codes arrive first, so
    // that the next mail is the one for Bob's own package.
    wait_for_mails(&app, &bob, accepted).await;
    let code = code_for(&app, &mine, &bob, accepted + 1).await;
    assert_eq!(
        confirm(&app, &mine, &bob, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn codes_are_refused_where_no_code_is_needed() {
    let app = spawn().await;
    let bob = address("bob");
    let p = app
        .send(&json!({ "recipients": [&bob] }), &[test_bytes(1000, 4)])
        .await;
    let (code, message) =
        TestApp::expect_error(request_code(&app, &p, &bob).await, StatusCode::CONFLICT).await;
    assert_eq!(code, "conflict");
    assert!(message.contains("link alone"), "{message}");
    assert_eq!(
        count_rows(&app, "SELECT COUNT(*) FROM verification_codes").await,
        0
    );
    assert_eq!(
        count_rows(&app, "SELECT COUNT(*) FROM rate_counters").await,
        0,
        "no allowance was spent"
    );
}

#[tokio::test]
async fn codes_per_package_are_capped_per_hour() {
    let app = spawn().await;
    let p = protected_package(&app, &[&address("bob")]).await;
    for i in 0..30 {
        let response = request_code(&app, &p, &address(&format!("guess{i}"))).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "request {i}");
    }
    let response = request_code(&app, &p, &address("one-more")).await;
    TestApp::expect_error(response, StatusCode::TOO_MANY_REQUESTS).await;
}

#[tokio::test]
async fn a_session_opens_only_its_own_package_and_expires() {
    let app = spawn().await;
    let bob = address("bob");
    let a = protected_package(&app, &[&bob]).await;
    let b = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &a, &bob, 1).await;
    let body: Value = confirm(&app, &a, &bob, &code)
        .await
        .json()
        .await
        .expect("json");
    let session = body["recipient_session"]
        .as_str()
        .expect("session")
        .to_owned();
    assert_eq!(
        open(&app, &a, Some(&session)).await.status(),
        StatusCode::OK
    );
    let (code, _) = TestApp::expect_error(
        open(&app, &b, Some(&session)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        code, "verification_required",
        "a session is scoped to one package"
    );
    let (code, _) = TestApp::expect_error(
        open(&app, &a, Some("sdr_garbage")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(code, "verification_required");

    app.clock.advance(Duration::from_secs(3601));
    let (code, _) = TestApp::expect_error(
        open(&app, &a, Some(&session)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(code, "verification_required", "sessions last an hour");
}

#[tokio::test]
async fn a_code_is_bound_to_its_package_and_address() {
    let app = spawn().await;
    let bob = address("bob");
    let carol = address("carol");
    let a = protected_package(&app, &[&bob, &carol]).await;
    let b = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &a, &bob, 1).await;
    TestApp::expect_error(
        confirm(&app, &b, &bob, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    TestApp::expect_error(
        confirm(&app, &a, &carol, &code).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(
        confirm(&app, &a, &bob, &code).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn codes_and_stranger_addresses_are_stored_only_as_keyed_hashes() {
    let app = spawn().await;
    let bob = address("bob");
    let eve = address("eve");
    let p = protected_package(&app, &[&bob]).await;
    let code = code_for(&app, &p, &bob, 1).await;
    assert_eq!(
        request_code(&app, &p, &eve).await.status(),
        StatusCode::ACCEPTED
    );
    let rows = sqlx::query("SELECT email_hash, code_hash FROM verification_codes")
        .fetch_all(app.state.db.pool())
        .await
        .expect("rows");
    use sha2::Digest;
    let plain_sha = sha2::Sha256::digest(code.as_bytes()).to_vec();
    for row in rows {
        let email_hash: Vec<u8> = row.try_get(0).expect("email_hash");
        let code_hash: Vec<u8> = row.try_get(1).expect("code_hash");
        assert_eq!(code_hash.len(), 32);
        assert_ne!(code_hash, plain_sha, "not a plain hash of the code");
        assert!(!String::from_utf8_lossy(&code_hash).contains(&code));
        assert!(!String::from_utf8_lossy(&email_hash).contains("eve"));
    }
    let key_file = app.data_dir.path().join("verification.key");
    assert!(
        key_file.is_file(),
        "the HMAC key lives outside the database"
    );
}

#[tokio::test]
async fn wrong_links_and_malformed_requests_are_refused() {
    let app = spawn().await;
    let bob = address("bob");
    let p = protected_package(&app, &[&bob]).await;
    let other = protected_package(&app, &[&bob]).await;
    let response = app
        .with_proof(
            Method::POST,
            &format!("/api/v1/packages/{}/verification", p.id),
            &other.proof,
        )
        .json(&json!({ "email": bob }))
        .send()
        .await
        .expect("request");
    let (code, message) = TestApp::expect_error(response, StatusCode::NOT_FOUND).await;
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("not_found", "No package at this link.")
    );

    for email in [
        "",
        "bob",
        "bob@@example.com",
        "bob@example.com\r\nBcc: eve@example.com",
    ] {
        TestApp::expect_error(request_code(&app, &p, email).await, StatusCode::BAD_REQUEST).await;
    }
    let (_, message) = TestApp::expect_error(
        confirm(&app, &p, &bob, "123").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(message.contains("8 digits"), "{message}");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/packages/{}/verification", p.id)))
        .json(&json!({ "email": bob }))
        .send()
        .await
        .expect("request");
    TestApp::expect_error(response, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        count_rows(&app, "SELECT COUNT(*) FROM verification_codes").await,
        0
    );
}

#[tokio::test]
async fn invalid_recipient_addresses_are_refused_at_create() {
    let app = spawn().await;
    let response = app
        .create_package_raw(&app.token, &json!({ "recipients": ["not an address"] }))
        .await;
    TestApp::expect_error(response, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn the_sender_gets_a_receipt_when_a_recipient_downloads() {
    let app = spawn().await;
    let sender = address("agent");
    let p = app
        .send(
            &json!({ "notify_sender": sender, "max_downloads": 3 }),
            &[test_bytes(1000, 2)],
        )
        .await;
    assert!(mails_to(&app, &sender).is_empty());
    app.receive(&p.id, &p.link_secret).await;
    let mails = wait_for_mails(&app, &sender, 1).await;
    assert!(mails[0].contains(&p.id), "the receipt names the package");
    assert!(mails[0].contains("download 1 of 3"), "{}", mails[0]);
    assert!(!mails[0].contains(&p.server_secret) && !mails[0].contains(&p.proof));
}

#[tokio::test]
async fn the_recipient_page_is_served_with_a_strict_policy() {
    let app = spawn().await;
    let response = app
        .client
        .get(app.url("/p/AAAAAAAAAAAAAAAAAAAAAA"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "form-action 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let html = response.text().await.expect("html");
    assert!(html.contains("/static/recipient/app.js"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no third-party resources"
    );

    let js = app
        .client
        .get(app.url("/static/shared/download.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"]
        .to_str()
        .expect("type")
        .contains("javascript"));
    assert_eq!(js.headers()["service-worker-allowed"], "/p/");
    let escape = app
        .client
        .get(app.url("/static/..%2F..%2FCargo.toml"))
        .send()
        .await
        .expect("request");
    assert_eq!(escape.status(), StatusCode::NOT_FOUND);
}
