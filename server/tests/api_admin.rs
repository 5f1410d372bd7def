//! The `sealdrop admin` command against a running server's database and store.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Output};

use common::{no_options, spawn_app, test_bytes, TestApp};
use reqwest::StatusCode;
use sealdrop_server::config::StorageConfig;

/// Runs `sealdrop admin ARGS` with the same settings as `app`.
fn admin(app: &TestApp, args: &[&str]) -> Output {
    let config = &app.state.config;
    let mut command = Command::new(env!("CARGO_BIN_EXE_sealdrop"));
    command.arg("admin").args(args);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
        .env("SEALDROP_DATA_DIR", &config.data_dir)
        .env("DATABASE_URL", &config.database_url);
    if let StorageConfig::S3(s3) = &config.storage {
        let (id, secret) = s3.credentials.clone().unwrap();
        command
            .env("SEALDROP_STORAGE", "s3")
            .env(
                "SEALDROP_S3_ENDPOINT",
                s3.endpoint.clone().unwrap_or_default(),
            )
            .env("SEALDROP_S3_BUCKET", &s3.bucket)
            .env("SEALDROP_S3_REGION", &s3.region)
            .env("SEALDROP_S3_ACCESS_KEY_ID", id)
            .env("SEALDROP_S3_SECRET_ACCESS_KEY", secret)
            .env("SEALDROP_S3_PATH_STYLE", s3.path_style.to_string())
            .env("SEALDROP_S3_PREFIX", &s3.prefix);
    }
    command.output().expect("run sealdrop")
}

#[tokio::test]
async fn an_admin_made_tenant_token_works_against_the_server() {
    let app = spawn_app().await;
    let out = admin(&app, &["tenant", "create", "Acme Support"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(
        token.starts_with("sdt_") && token.len() == 47,
        "stdout is just the token"
    );

    let response = app.create_package_raw(&token, &no_options()).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    let list = admin(&app, &["tenant", "list"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("Acme Support") && list.contains("Test Tenant"),
        "{list}"
    );
    assert!(!list.contains(&token[4..]), "tokens are never listed");

    let again = admin(&app, &["tenant", "create", "Acme Support"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn admin_purge_runs_the_purge_now() {
    let app = spawn_app().await;
    let sent = app.send(&no_options(), &[test_bytes(100, 1)]).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", sent.id)))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let out = admin(&app, &["purge"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 revoked"));
    assert!(app.state.db.package(&sent.id).await.unwrap().is_none());
}

#[test]
fn help_explains_the_commands() {
    let out = Command::new(env!("CARGO_BIN_EXE_sealdrop"))
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["serve", "admin", "Quick start"] {
        assert!(text.contains(needle), "--help mentions {needle}:\n{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_sealdrop"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "SEALDROP_LISTEN",
        "DATABASE_URL",
        "SEALDROP_S3_ENDPOINT",
        "SEALDROP_MAX_FILE_SIZE",
    ] {
        assert!(text.contains(needle), "serve --help mentions {needle}");
    }
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let app = spawn_app().await;
    let config = &app.state.config;
    let out = Command::new(env!("CARGO_BIN_EXE_sealdrop"))
        .args(["admin", "tenant", "list"])
        .env("SEALDROP_DATA_DIR", &config.data_dir)
        .env("DATABASE_URL", &config.database_url)
        .env("SEALDROP_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "RUST_LOG=debug logs something");
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.get("level").is_some(), "a level in {line}");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_sealdrop"))
        .args(["admin", "--log-format", "yaml", "tenant", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--log-format") && err.contains("text") && err.contains("json"),
        "the error names the flag and its values: {err}"
    );
}
