//! Mail in tests: the outbox folder of the embedded default, or a real SMTP server's capture
//! folder when `SEALDROP_TEST_SMTP_URL` and `SEALDROP_TEST_SMTP_CAPTURE_DIR` are set (the
//! server-pg-s3 stage).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use super::TestApp;

/// The SMTP URL and capture folder of the test environment, if it has a server.
pub fn smtp_env() -> Option<(String, PathBuf)> {
    let url = std::env::var("SEALDROP_TEST_SMTP_URL")
        .ok()
        .filter(|v| !v.is_empty())?;
    let dir = std::env::var("SEALDROP_TEST_SMTP_CAPTURE_DIR")
        .ok()
        .filter(|v| !v.is_empty())?;
    Some((url, PathBuf::from(dir)))
}

/// A fresh address (tests may share one SMTP capture folder).
pub fn address(name: &str) -> String {
    format!("{name}.{:012x}@example.com", rand::random::<u64>() >> 16)
}

/// Every mail delivered to `to` so far (outbox or SMTP capture).
pub fn mails_to(app: &TestApp, to: &str) -> Vec<String> {
    let dir = smtp_env().map_or_else(|| app.data_dir.path().join("outbox"), |(_, dir)| dir);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        // Undo quoted-printable soft line breaks and `=3D`, enough to search the text.
        .map(|mail| {
            mail.replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .filter(|mail| {
            mail.lines().take_while(|l| !l.is_empty()).any(|l| {
                (l.starts_with("To: ") || l.starts_with("X-Sealdrop-Rcpt-To: "))
                    && l.to_lowercase().contains(&to.to_lowercase())
            })
        })
        .collect()
}

/// Waits (up to 10 s) until `to` has `count` mails; returns them.
pub async fn wait_for_mails(app: &TestApp, to: &str, count: usize) -> Vec<String> {
    for _ in 0..100 {
        let mails = mails_to(app, to);
        if mails.len() >= count {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected {count} mail(s) to {to}, found {}",
        mails_to(app, to).len()
    );
}
