//! The purge task removes expired, revoked and abandoned packages: rows and blobs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{no_options, spawn_app, spawn_app_with, test_bytes, TestApp};
use reqwest::{Method, StatusCode};
use sealdrop_server::purge::PurgeReport;
use serde_json::json;

#[tokio::test]
async fn purge_removes_expired_revoked_and_abandoned_packages_with_their_blobs() {
    let app = spawn_app().await;
    let expiring = app
        .send(&json!({ "expires_in_secs": 7200 }), &[test_bytes(1000, 1)])
        .await;
    let revoked = app.send(&no_options(), &[test_bytes(1000, 2)]).await;
    let abandoned = app.prepare(&no_options(), &[test_bytes(1000, 3)]).await;
    app.upload(&abandoned).await; // never finalized
    let kept = app
        .send(
            &json!({ "expires_in_secs": 30 * 24 * 3600 }),
            &[test_bytes(1000, 4)],
        )
        .await;

    let response = app
        .client
        .delete(app.url(&format!("/api/v1/packages/{}", revoked.id)))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Nothing has expired yet: only the revoked package's blobs go; its row stays (marked)
    // so that the link says why it no longer opens.
    assert_eq!(
        app.purge().await,
        PurgeReport {
            revoked: 1,
            ..PurgeReport::default()
        }
    );
    assert!(
        app.blob_keys(&revoked.id).await.is_empty(),
        "revoked blobs removed"
    );
    assert!(app.state.db.package(&revoked.id).await.unwrap().is_some());
    assert!(!app.blob_keys(&expiring.id).await.is_empty());

    // Two hours later the expiring package's blobs go; a day later the abandoned upload,
    // entirely (a package never finalized has nothing to explain).
    app.clock.advance(Duration::from_secs(7201));
    assert_eq!(app.purge().await.expired, 1);
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(app.purge().await.abandoned, 1);
    assert!(app
        .state
        .db
        .package(&abandoned.sent.id)
        .await
        .unwrap()
        .is_none());
    for id in [&expiring.id, &revoked.id, &abandoned.sent.id] {
        assert!(app.blob_keys(id).await.is_empty(), "blobs of {id} removed");
    }
    let info = |p: &common::SentPackage| {
        app.with_proof(Method::GET, &format!("/api/v1/packages/{}", p.id), &p.proof)
            .send()
    };
    let answer = info(&expiring).await.unwrap();
    assert_eq!(
        TestApp::expect_error(answer, StatusCode::GONE).await.0,
        "expired",
        "within the retention the link says why"
    );
    let answer = info(&revoked).await.unwrap();
    assert_eq!(
        TestApp::expect_error(answer, StatusCode::GONE).await.0,
        "revoked"
    );

    // The long-lived package is untouched, and the audit log remembers the purges.
    assert_eq!(
        app.receive(&kept.id, &kept.link_secret).await,
        kept.plaintexts
    );
    for id in [&expiring.id, &revoked.id, &abandoned.sent.id] {
        assert_eq!(
            app.audit_events(id).await.first().map(String::as_str),
            Some("purged")
        );
    }

    // Seven days after their purge, the rows go too, with everything hanging off them.
    app.clock.advance(Duration::from_secs(7 * 24 * 3600));
    let report = app.purge().await;
    assert_eq!(report.rows_deleted, 2, "{report:?}");
    for id in [&expiring.id, &revoked.id] {
        assert!(
            app.state.db.package(id).await.unwrap().is_none(),
            "row of {id}"
        );
        assert!(
            app.state.db.parts(id).await.unwrap().is_empty(),
            "parts of {id}"
        );
        for table in ["package_files", "download_tokens", "download_keys"] {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE package_id = $1"
            ))
            .bind(id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
            assert_eq!(n, 0, "{table} rows of {id}");
        }
    }
    let answer = info(&expiring).await.unwrap();
    assert_eq!(
        TestApp::expect_error(answer, StatusCode::NOT_FOUND).await.0,
        "not_found",
        "after the retention the package is unknown"
    );
    assert_eq!(
        app.purge().await,
        PurgeReport::default(),
        "nothing left to do"
    );
}

#[tokio::test]
async fn a_downloaded_out_package_loses_its_blobs_once_no_download_is_running() {
    let app = spawn_app().await;
    let p = app
        .send(&json!({ "max_downloads": 1 }), &[test_bytes(1000, 5)])
        .await;
    assert_eq!(app.receive(&p.id, &p.link_secret).await, p.plaintexts);
    // The last download's token is live for a day: its transfer may still be running.
    assert_eq!(app.purge().await.downloaded_out, 0);
    assert!(!app.blob_keys(&p.id).await.is_empty());
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(app.purge().await.downloaded_out, 1);
    assert!(app.blob_keys(&p.id).await.is_empty());
    assert_eq!(
        app.audit_events(&p.id).await.first().map(String::as_str),
        Some("purged")
    );
}

#[tokio::test]
async fn retention_follows_the_server_and_each_tenants_settings() {
    let app = spawn_app_with(|args| {
        args.package_retention_days = 3;
        args.audit_retention_days = 30;
    })
    .await;
    let short = app.create_tenant("short-retention").await;
    // The second tenant keeps purged rows 1 day and audit events 2 days.
    let response = app
        .client
        .put(app.url("/api/v1/settings"))
        .bearer_auth(&short)
        .json(&json!({ "package_retention_days": 1, "audit_retention_days": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let settings: serde_json::Value = response.json().await.unwrap();
    assert_eq!(settings["package_retention_days"], 1);
    let bad = app
        .client
        .put(app.url("/api/v1/settings"))
        .bearer_auth(&short)
        .json(&json!({ "audit_retention_days": 0 }))
        .send()
        .await
        .unwrap();
    let (code, message) = TestApp::expect_error(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(code, "bad_request");
    assert!(message.contains("audit_retention_days"), "{message}");

    let mine = app
        .send(&json!({ "expires_in_secs": 3600 }), &[test_bytes(100, 1)])
        .await;
    let theirs = app
        .send_as(
            &short,
            &json!({ "expires_in_secs": 3600 }),
            &[test_bytes(100, 2)],
        )
        .await;
    app.clock.advance(Duration::from_secs(3601));
    assert_eq!(app.purge().await.expired, 2);
    // Day 1 (+): the short tenant's row goes; ours stays until day 3.
    app.clock.advance(Duration::from_secs(24 * 3600 + 1));
    assert_eq!(app.purge().await.rows_deleted, 1);
    assert!(app.state.db.package(&theirs.id).await.unwrap().is_none());
    assert!(app.state.db.package(&mine.id).await.unwrap().is_some());
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));
    assert_eq!(app.purge().await.rows_deleted, 1);
    assert!(app.state.db.package(&mine.id).await.unwrap().is_none());

    // Audit events: the short tenant's are gone after 2 days, ours stay for 30.
    let count = |tenant_token: &str| {
        let request = app
            .client
            .get(app.url("/api/v1/audit"))
            .bearer_auth(tenant_token)
            .send();
        async move {
            let body: serde_json::Value = request.await.unwrap().json().await.unwrap();
            body["events"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        count(&short).await,
        0,
        "the short tenant's audit events are gone"
    );
    assert!(count(&app.token).await > 0, "ours are kept");
    app.clock.advance(Duration::from_secs(30 * 24 * 3600));
    let report = app.purge().await;
    assert!(report.audit_events > 0, "{report:?}");
    assert_eq!(count(&app.token).await, 0);
}
