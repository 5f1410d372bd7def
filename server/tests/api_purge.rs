//! The purge task removes expired, revoked and abandoned packages: rows and blobs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{no_options, spawn_app, test_bytes, TestApp};
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

    // Nothing has expired yet: only the revoked row goes.
    assert_eq!(
        app.purge().await,
        PurgeReport {
            revoked: 1,
            ..PurgeReport::default()
        }
    );
    assert!(
        app.state.db.package(&revoked.id).await.unwrap().is_none(),
        "revoked row removed"
    );
    assert!(app.state.db.package(&expiring.id).await.unwrap().is_some());

    // Two hours later the expiring package goes; a day later the abandoned upload too.
    app.clock.advance(Duration::from_secs(7201));
    assert_eq!(app.purge().await.expired, 1);
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(app.purge().await.abandoned, 1);

    for id in [&expiring.id, &revoked.id, &abandoned.sent.id] {
        assert!(
            app.state.db.package(id).await.unwrap().is_none(),
            "row of {id} removed"
        );
        assert!(
            app.state.db.parts(id).await.unwrap().is_empty(),
            "part rows of {id} removed"
        );
        assert!(app.blob_keys(id).await.is_empty(), "blobs of {id} removed");
    }
    let info = app
        .with_proof(
            Method::GET,
            &format!("/api/v1/packages/{}", expiring.id),
            &expiring.proof,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        TestApp::expect_error(info, StatusCode::NOT_FOUND).await.0,
        "not_found",
        "a purged package is unknown"
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
    assert_eq!(
        app.purge().await,
        PurgeReport {
            download_tokens: 0,
            ..PurgeReport::default()
        },
        "nothing left to do"
    );
}
