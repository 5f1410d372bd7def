//! Deleting a tenant: every row and stored object goes, a deletion interrupted midway
//! finishes when run again, and the signed certificate verifies (and nothing else does).
//! Runs on both databases and both stores (the CI's server stages).
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{spawn_app, test_bytes, TestApp};
use futures::future::BoxFuture;
use futures::FutureExt;
use reqwest::StatusCode;
use sealdrop_server::deletion::{self, VerifyError};
use sealdrop_server::storage::{BlobKey, ByteStream, Storage, StorageError};
use serde_json::{json, Value};

/// A store that passes everything through but fails every `delete_prefix` after the first
/// `allowed`: a server dying midway through a deletion.
#[derive(Debug)]
struct FailingDeletes {
    inner: Arc<dyn Storage>,
    allowed: usize,
    done: AtomicUsize,
}

impl Storage for FailingDeletes {
    fn put_file<'a>(
        &'a self,
        key: &'a BlobKey,
        path: &'a Path,
        len: u64,
    ) -> BoxFuture<'a, Result<(), StorageError>> {
        self.inner.put_file(key, path, len)
    }
    fn read_range<'a>(
        &'a self,
        key: &'a BlobKey,
        range: Range<u64>,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        self.inner.read_range(key, range)
    }
    fn delete_prefix<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<(), StorageError>> {
        if self.done.fetch_add(1, Ordering::SeqCst) >= self.allowed {
            return async { Err(StorageError::S3("the process was killed".into())) }.boxed();
        }
        self.inner.delete_prefix(prefix)
    }
    fn list<'a>(&'a self, prefix: &'a BlobKey) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        self.inner.list(prefix)
    }
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        self.inner.check()
    }
}

async fn count(app: &TestApp, sql: &str, tenant: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(tenant)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deleted_tenant_leaves_nothing_and_an_interrupted_deletion_finishes_when_run_again() {
    let app = spawn_app().await;
    let tenant: String = sqlx::query_scalar("SELECT id FROM tenants WHERE name = 'Test Tenant'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    // Another tenant's package must survive.
    let other = app.create_tenant("Other").await;
    let survivor = app
        .send_as(&other, &json!({}), &[test_bytes(5000, 9)])
        .await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(
            app.send(
                &json!({}),
                &[test_bytes(20_000, i), test_bytes(100, i + 10)],
            )
            .await,
        );
    }
    let unfinished = app.prepare(&json!({}), &[test_bytes(1000, 5)]).await;
    app.upload(&unfinished).await;
    let parts: i64 = count(
        &app,
        "SELECT COUNT(*) FROM parts t JOIN packages p ON p.id = t.package_id WHERE p.tenant_id = $1",
        &tenant,
    )
    .await;
    let audit = count(
        &app,
        "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1",
        &tenant,
    )
    .await;
    assert!(
        parts >= 7 && audit > 0,
        "{parts} parts, {audit} audit events"
    );

    // Killed after the first package's blobs went.
    let dying = FailingDeletes {
        inner: app.state.storage.clone(),
        allowed: 1,
        done: AtomicUsize::new(0),
    };
    let now = || app.clock.now();
    let issuer = "https://files.example.test";
    let error = deletion::delete_tenant(
        &app.state.db,
        &dying,
        &app.state.deletion_key,
        issuer,
        &tenant,
        now,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("killed") || format!("{error:?}").contains("killed"));
    assert!(
        count(
            &app,
            "SELECT COUNT(*) FROM packages WHERE tenant_id = $1",
            &tenant
        )
        .await
            > 0,
        "the deletion stopped midway"
    );

    // Run again: it finishes, and certifies what the tenant held at the first start.
    let mut progress = Vec::new();
    let text = deletion::delete_tenant(
        &app.state.db,
        app.state.storage.as_ref(),
        &app.state.deletion_key,
        issuer,
        &tenant,
        now,
        &mut |left| progress.push(left),
    )
    .await
    .unwrap();
    assert_eq!(progress.last(), Some(&0));
    let key = app.state.deletion_key.public_b64u();
    let certificate = deletion::verify(&text, &key).unwrap();
    assert_eq!(certificate.tenant_id, tenant);
    assert_eq!(certificate.tenant_name, "Test Tenant");
    assert_eq!(certificate.deleted.packages, 4);
    assert_eq!(certificate.deleted.parts, parts as u64);
    assert_eq!(certificate.deleted.audit_events, audit as u64);
    assert_eq!(
        certificate.store_prefixes_found_empty.len(),
        3,
        "the rest, after the kill"
    );

    // Nothing of the tenant is left, in any table or in the store.
    for sql in [
        "SELECT COUNT(*) FROM packages WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM api_tokens WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM tenant_settings WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM team_devices WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM team_keys WHERE tenant_id = $1",
        "SELECT COUNT(*) FROM tenants WHERE id = $1",
    ] {
        assert_eq!(count(&app, sql, &tenant).await, 0, "{sql}");
    }
    for p in sent.iter().map(|s| &s.id).chain([&unfinished.sent.id]) {
        assert!(app.blob_keys(p).await.is_empty(), "blobs of {p}");
        for table in ["parts", "package_files", "download_tokens"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE package_id = $1"
            ))
            .bind(p)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{table} of {p}");
        }
    }
    // The old token no longer works; the other tenant's package still opens.
    let refused = app.create_package_raw(&app.token, &json!({})).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.receive(&survivor.id, &survivor.link_secret).await,
        survivor.plaintexts
    );

    // Run a third time: the same certificate.
    let again = deletion::delete_tenant(
        &app.state.db,
        app.state.storage.as_ref(),
        &app.state.deletion_key,
        issuer,
        &tenant,
        now,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(again, text);

    // The public key is served; a changed byte does not verify.
    let served: Value = app
        .client
        .get(app.url("/.well-known/sealdrop-deletion-key"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["public_key"], key.as_str());
    assert_eq!(served["alg"], "Ed25519");
    let changed = text.replacen("\"packages\":4", "\"packages\":3", 1);
    assert_ne!(changed, text);
    assert_eq!(
        deletion::verify(&changed, &key),
        Err(VerifyError::BadSignature)
    );
    let relaid = text.replacen(':', ": ", 1);
    assert_eq!(deletion::verify(&relaid, &key), Err(VerifyError::Altered));
}

#[tokio::test]
async fn a_tenant_admin_deletes_everything_through_the_api_after_typing_its_name() {
    let app = spawn_app().await;
    let sent = app.send(&json!({}), &[test_bytes(3000, 1)]).await;
    let settings: Value = app
        .client
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings["tenant_name"], "Test Tenant");
    let delete = |confirm: &'static str| {
        app.client
            .post(app.url("/api/v1/tenant/deletion"))
            .bearer_auth(&app.token)
            .json(&json!({ "confirm": confirm }))
            .send()
    };
    let (code, message) =
        TestApp::expect_error(delete("Test").await.unwrap(), StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(message.contains("\"Test Tenant\""), "{message}");
    assert!(
        !app.blob_keys(&sent.id).await.is_empty(),
        "nothing was deleted"
    );

    let response = delete("Test Tenant").await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let key = app.state.deletion_key.public_b64u();
    let certificate = deletion::verify(body["certificate"].as_str().unwrap(), &key).unwrap();
    assert_eq!(certificate.deleted.packages, 1);
    assert!(body["html"]
        .as_str()
        .unwrap()
        .contains("Certificate of deletion"));
    assert!(app.blob_keys(&sent.id).await.is_empty());
    // The token went with the tenant.
    let (code, _) = TestApp::expect_error(
        delete("Test Tenant").await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(code, "unauthorized");
}
