//! `sealdrop admin …` and the command's help.

use sealdrop_crypto::{LinkProof, SecureLink};

use crate::support::{free_port, sealdrop, write_test_file, Backend, Server};

/// Sends one file of `size` bytes with `sealdrop send` as the tenant of `token`; returns the
/// link it printed.
fn send_one(server: &Server, token: &str, work: &std::path::Path, size: u64) -> SecureLink {
    let input = write_test_file(work, "a.txt", size, 1);
    let sent = sealdrop()
        .arg("send")
        .arg(&input)
        .env("SEALDROP_URL", &server.url)
        .env("SEALDROP_TOKEN", token)
        .env("SEALDROP_STATE_DIR", work.join("state"))
        .output()
        .expect("run sealdrop send");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    SecureLink::parse(String::from_utf8_lossy(&sent.stdout).trim()).expect("a link")
}

#[tokio::test]
async fn tenants_are_created_once_and_listed_without_their_tokens() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Acme Support");
    assert!(
        token.starts_with("sdt_") && token.len() == 47,
        "standard output is just the token: {token}"
    );
    backend.create_tenant("Other Support");

    let list = backend.admin(&["tenant", "list"]);
    let list = String::from_utf8(list.stdout).expect("utf-8");
    assert!(
        list.contains("Acme Support") && list.contains("Other Support"),
        "{list}"
    );
    assert!(!list.contains(&token[4..]), "tokens are never listed");

    let again = backend.admin(&["tenant", "create", "Acme Support"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_purge_removes_a_revoked_package_now() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Purge Test");
    let server = Server::start(free_port(), &backend).await;
    let work = tempfile::tempdir().expect("tempdir");
    let link = send_one(&server, &token, work.path(), 100);
    let id = link.id().to_b64u();
    let proof = LinkProof::derive(link.secret(), &link.id()).to_b64u();
    let client = reqwest::Client::new();
    let info = || {
        client
            .get(format!("{}/api/v1/packages/{id}", server.url))
            .header("X-Sealdrop-Link-Proof", &proof)
            .send()
    };

    let revoked = client
        .delete(format!("{}/api/v1/packages/{id}", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(
        info().await.expect("info").status(),
        reqwest::StatusCode::GONE
    );

    let out = backend.admin(&["purge"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 revoked"), "{stdout}");
    // Its blobs are gone; the row stays for the retention period, so the link still says why.
    assert_eq!(
        info().await.expect("info").status(),
        reqwest::StatusCode::GONE
    );
}

#[tokio::test]
async fn the_lifecycle_check_leaves_tenants_made_by_hand_alone() {
    let backend = Backend::new().await;
    backend.create_tenant("Scripted Support");
    let out = backend.admin(&["lifecycle", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("checked 0 Zendesk tenant(s): 0 scheduled, 0 cancelled, 0 deleted"),
        "{stdout}"
    );
    let list = String::from_utf8(backend.admin(&["tenant", "list"]).stdout).expect("utf-8");
    assert!(list.contains("Scripted Support"), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_deletes_a_tenant_and_its_certificate_verifies_until_a_byte_changes() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Deleted Support");
    let server = Server::start(free_port(), &backend).await;
    let work = tempfile::tempdir().expect("tempdir");
    send_one(&server, &token, work.path(), 20_000);
    let list = String::from_utf8(backend.admin(&["tenant", "list"]).stdout).expect("utf-8");
    let id = list
        .lines()
        .find(|l| l.ends_with("Deleted Support"))
        .and_then(|l| l.split('\t').next())
        .expect("the tenant is listed")
        .to_owned();

    let unconfirmed = backend.admin(&["tenant", "delete", &id]);
    assert!(!unconfirmed.status.success());
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));

    let certificate = work.path().join("certificate.json");
    let html = work.path().join("certificate.html");
    let cert_arg = certificate.display().to_string();
    let html_arg = html.display().to_string();
    let deleted = backend.admin(&[
        "tenant",
        "delete",
        &id,
        "--yes",
        "--certificate",
        &cert_arg,
        "--html",
        &html_arg,
    ]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    let list = String::from_utf8(backend.admin(&["tenant", "list"]).stdout).expect("utf-8");
    assert!(!list.contains("Deleted Support"), "{list}");
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.contains("Certificate of deletion") && page.contains("Deleted Support"));

    let verified = backend.admin(&["certificate", "verify", &cert_arg]);
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(
        said.starts_with("valid:") && said.contains("1 package(s)"),
        "{said}"
    );

    let text = std::fs::read_to_string(&certificate).expect("certificate");
    let tampered = work.path().join("tampered.json");
    std::fs::write(
        &tampered,
        text.replacen("\"packages\":1", "\"packages\":0", 1),
    )
    .expect("write");
    let refused = backend.admin(&["certificate", "verify", &tampered.display().to_string()]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("signature does not match"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_exports_a_tenant_and_one_address_and_erases_the_address() {
    let backend = Backend::new().await;
    let token = backend.create_tenant("Export Support");
    let server = Server::start(free_port(), &backend).await;
    let work = tempfile::tempdir().expect("tempdir");
    let input = write_test_file(work.path(), "a.txt", 3000, 2);
    let sent = sealdrop()
        .arg("send")
        .arg(&input)
        .args(["--to", "alice@example.com", "--to", "bob@example.com"])
        .env("SEALDROP_URL", &server.url)
        .env("SEALDROP_TOKEN", &token)
        .env("SEALDROP_STATE_DIR", work.path().join("state"))
        .output()
        .expect("run sealdrop send");
    assert!(
        sent.status.success(),
        "{}",
        String::from_utf8_lossy(&sent.stderr)
    );
    let link = SecureLink::parse(String::from_utf8_lossy(&sent.stdout).trim()).expect("a link");
    let list = String::from_utf8(backend.admin(&["tenant", "list"]).stdout).expect("utf-8");
    let id = list
        .lines()
        .find(|l| l.ends_with("Export Support"))
        .and_then(|l| l.split('\t').next())
        .expect("the tenant is listed")
        .to_owned();
    let secrets = [link.secret().to_b64u(), token.clone()];
    let ok = |out: &std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout.clone()).expect("utf-8");
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret in {text}");
        }
        text
    };

    let export: serde_json::Value =
        serde_json::from_str(&ok(&backend.admin(&["tenant", "export", &id]))).expect("JSON");
    assert_eq!(export["tenant"]["name"], "Export Support");
    assert_eq!(export["packages"][0]["id"], link.id().to_b64u().as_str());
    assert_eq!(
        export["packages"][0]["recipients"],
        serde_json::json!(["alice@example.com", "bob@example.com"])
    );

    let refused = backend.admin(&["tenant", "export", &id, "--format", "csv"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--out"));
    let dir = work.path().join("export");
    let dir_arg = dir.display().to_string();
    ok(&backend.admin(&[
        "tenant", "export", &id, "--format", "csv", "--out", &dir_arg,
    ]));
    for table in ["settings", "packages", "recipients", "audit"] {
        let path = dir.join(format!("{table}.csv"));
        let csv = std::fs::read_to_string(&path).expect("a file per table");
        for secret in &secrets {
            assert!(!csv.contains(secret.as_str()), "a secret in {table}.csv");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{table}.csv is readable by its owner only");
        }
    }
    let recipients = std::fs::read_to_string(dir.join("recipients.csv")).expect("read");
    assert!(recipients.starts_with("package,email\r\n"), "{recipients}");
    assert!(recipients.contains("alice@example.com") && recipients.contains("bob@example.com"));

    let alice = ok(&backend.admin(&["subject", "export", &id, "Alice@Example.com"]));
    let alice: serde_json::Value = serde_json::from_str(&alice).expect("JSON");
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(
        alice["recipient_of"][0]["package"],
        link.id().to_b64u().as_str()
    );
    assert!(!alice.to_string().contains("bob@"));

    let unconfirmed = backend.admin(&["subject", "erase", &id, "alice@example.com"]);
    assert!(!unconfirmed.status.success());
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    let erased = ok(&backend.admin(&["subject", "erase", &id, "alice@example.com", "--yes"]));
    let erased: serde_json::Value = serde_json::from_str(&erased).expect("JSON");
    assert_eq!(erased["recipient_entries"], 1);
    assert!(erased["placeholder"]
        .as_str()
        .expect("text")
        .starts_with("erased:"));

    let after = ok(&backend.admin(&["tenant", "export", &id]));
    assert!(!after.contains("alice@"), "{after}");
    assert!(after.contains("bob@example.com") && after.contains("subject_erased"));
}

#[test]
fn admin_reads_the_settings_file_and_the_environment_and_flags_win_over_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let from = |name: &str| work.path().join(name);
    let env_file = from("sealdrop.env");
    std::fs::write(
        &env_file,
        format!(
            "# as the package installs it\nSEALDROP_DATA_DIR='{}'\n\n#SEALDROP_LISTEN=127.0.0.1:8080\n",
            from("from-file").display()
        ),
    )
    .expect("write the settings file");
    // Run in the work folder: had admin not read the file, it would use ./sealdrop-data.
    let admin = |args: &[&str]| {
        let mut command = sealdrop();
        command
            .arg("admin")
            .arg("--env-file")
            .arg(&env_file)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("SEALDROP_DATA_DIR")
            .current_dir(work.path());
        command
    };
    let created = admin(&["tenant", "create", "From File"])
        .output()
        .expect("run sealdrop admin");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(from("from-file").join("sealdrop.db").is_file());
    assert!(!from("sealdrop-data").exists());

    let from_env = admin(&["tenant", "list"])
        .env("SEALDROP_DATA_DIR", from("from-env"))
        .output()
        .expect("run sealdrop admin");
    let from_flag = admin(&["tenant", "list", "--data-dir"])
        .arg(from("from-flag"))
        .output()
        .expect("run sealdrop admin");
    for (out, dir) in [(from_env, "from-env"), (from_flag, "from-flag")] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("From File"),
            "{dir} is a database of its own"
        );
        assert!(from(dir).join("sealdrop.db").is_file(), "{dir} was used");
    }
}

#[test]
fn admin_refuses_a_settings_file_it_cannot_read_as_systemd_would() {
    let work = tempfile::tempdir().expect("tempdir");
    let bad = work.path().join("bad.env");
    std::fs::write(
        &bad,
        "SEALDROP_LISTEN=127.0.0.1:9000\nexport DATABASE_URL=x\n",
    )
    .expect("write the settings file");
    let missing = work.path().join("missing.env");
    for (file, says) in [(&bad, "line 2"), (&missing, "--env-file")] {
        let out = sealdrop()
            .args(["admin", "tenant", "list", "--env-file"])
            .arg(file)
            .current_dir(work.path())
            .output()
            .expect("run sealdrop admin");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{} was accepted", file.display());
        assert!(
            err.contains(&file.display().to_string()) && err.contains(says),
            "the error names the file and {says}: {err}"
        );
    }
    assert!(
        !work.path().join("sealdrop-data").exists(),
        "admin stopped before opening a database"
    );
}

#[test]
fn help_explains_the_commands() {
    let out = sealdrop().arg("--help").output().expect("run sealdrop");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for needle in ["serve", "admin", "send", "get", "Quick start"] {
        assert!(text.contains(needle), "--help mentions {needle}:\n{text}");
    }
    let out = sealdrop()
        .args(["serve", "--help"])
        .output()
        .expect("run sealdrop");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for needle in [
        "SEALDROP_LISTEN",
        "DATABASE_URL",
        "SEALDROP_S3_ENDPOINT",
        "SEALDROP_MAX_FILE_SIZE",
    ] {
        assert!(text.contains(needle), "serve --help mentions {needle}");
    }
    let out = sealdrop()
        .args(["send", "--help"])
        .output()
        .expect("run sealdrop");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        text.contains("secrets") && text.contains("--retry-for"),
        "send --help says the state file holds secrets:\n{text}"
    );
    for (args, needles) in [
        (
            &["admin", "tenant", "export", "--help"][..],
            &["never ciphertext", "--format csv --out", "recipients.csv"][..],
        ),
        (
            &["admin", "subject", "erase", "--help"][..],
            &["erased:", "--yes", "subject export"][..],
        ),
    ] {
        let out = sealdrop().args(args).output().expect("run sealdrop");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        for needle in needles {
            assert!(text.contains(needle), "{args:?} mentions {needle}:\n{text}");
        }
    }
}

#[tokio::test]
async fn log_format_json_writes_one_json_object_per_line() {
    let backend = Backend::new().await;
    backend.create_tenant("Log Test");
    let out = sealdrop()
        .arg("admin")
        .args(&backend.args)
        .args(["tenant", "list"])
        .env_remove("DATABASE_URL")
        .env("SEALDROP_LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .output()
        .expect("run sealdrop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = String::from_utf8(out.stderr).expect("utf-8");
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "RUST_LOG=debug logs something");
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.get("level").is_some(), "a level in {line}");
    }

    let out = sealdrop()
        .args(["admin", "--log-format", "yaml", "tenant", "list"])
        .output()
        .expect("run sealdrop");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--log-format") && err.contains("text") && err.contains("json"),
        "the error names the flag and its values: {err}"
    );
}
