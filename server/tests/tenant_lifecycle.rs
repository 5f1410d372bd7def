//! The lifecycle of Zendesk tenants against in-process simulators: an uninstalled app (or a
//! dead grant) schedules the tenant's deletion and mails its admin; reinstalling within the
//! grace period re-pins the new installation and cancels it; past the grace period the tenant
//! is deleted with a certificate, mailed to its admin. Runs on both databases and both stores;
//! mail goes to the outbox folder, or to a real SMTP server when `SEALDROP_TEST_SMTP_URL` and
//! `SEALDROP_TEST_SMTP_CAPTURE_DIR` are set.
#![allow(clippy::unwrap_used)]

mod common;
mod zendesk_world;

use std::time::Duration;

use common::mail::{address, mails_to, smtp_env, wait_for_mails};
use common::{test_bytes, TestApp};
use reqwest::StatusCode;
use sealdrop_server::db::{AuditFilter, AuditKind, DeletionReason};
use sealdrop_server::deletion;
use sealdrop_server::lifecycle::Outcome;
use sealdrop_server::zendesk::Subdomain;
use serde_json::{json, Value};
use sqlx::Row;
use zendesk_sim::UserChange;
use zendesk_world::{send_as, spawn_with, Tenant, World};

const DAY: i64 = 86_400;
const GRACE: i64 = 30 * DAY;

/// The server and simulators for `subdomains`, mail over SMTP when the environment has a
/// capture server; each admin gets an address of its own (tests may share the capture).
async fn world(subdomains: &[&str]) -> World {
    let w = spawn_with(subdomains, |args| {
        if let Some((url, _)) = smtp_env() {
            args.smtp_url = Some(url);
        }
    })
    .await;
    for t in &w.tenants {
        t.sim.change_user(
            t.admin,
            UserChange {
                email: Some(address(&format!("admin-{}", t.sim.subdomain()))),
                ..UserChange::default()
            },
        );
    }
    w
}

fn admin_email(t: &Tenant) -> String {
    t.sim.user(t.admin).unwrap().email
}

/// The subject line of a mail.
fn subject(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default()
        .to_owned()
}

async fn tenant_id(app: &TestApp, subdomain: &str) -> Option<String> {
    app.state
        .db
        .tenant_by_subdomain(&Subdomain::parse(subdomain).unwrap())
        .await
        .unwrap()
        .map(|t| t.id)
}

/// Runs the check; returns what it did with `tenant`.
async fn check(app: &TestApp, tenant: &str) -> Outcome {
    let report = app.state.lifecycle_check().await.expect("the check runs");
    report
        .tenants
        .into_iter()
        .find(|t| t.tenant_id == tenant)
        .map(|t| t.outcome)
        .unwrap_or_else(|| panic!("tenant {tenant} was not checked"))
}

/// `(installation_id, uninstalled_at)` of the tenant's pinned installation.
async fn pinned(app: &TestApp, tenant: &str) -> (u64, Option<i64>) {
    let i = app.state.db.installation(tenant).await.unwrap().unwrap();
    (i.installation_id, i.uninstalled_at)
}

/// `(reason, detected_at, delete_at, notified_at)` of the tenant's scheduled deletion.
async fn schedule(app: &TestApp, tenant: &str) -> Option<(String, i64, i64, Option<i64>)> {
    sqlx::query(
        "SELECT reason, detected_at, delete_at, notified_at FROM scheduled_deletions WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(app.state.db.pool())
    .await
    .unwrap()
    .map(|r| {
        (
            r.try_get(0).unwrap(),
            r.try_get(1).unwrap(),
            r.try_get(2).unwrap(),
            r.try_get(3).unwrap(),
        )
    })
}

async fn last_active(app: &TestApp, tenant: &str) -> i64 {
    sqlx::query_scalar("SELECT last_active_at FROM tenants WHERE id = $1")
        .bind(tenant)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

async fn events(app: &TestApp, tenant: &str, kind: AuditKind) -> Vec<Value> {
    app.state
        .db
        .audit_events(
            tenant,
            &AuditFilter {
                kind: Some(kind),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_str(e.detail.as_deref().unwrap_or("null")).unwrap())
        .collect()
}

async fn rows_of(app: &TestApp, table: &str, tenant: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"
    ))
    .bind(tenant)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn an_uninstalled_app_is_scheduled_for_deletion_and_reinstalling_cancels_it() {
    let w = world(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let tenant = tenant_id(app, "acme").await.unwrap();
    let agent = acme.session(app, acme.agent).await;
    let sent = send_as(
        app,
        &agent,
        &json!({ "expires_in_secs": GRACE }),
        &[test_bytes(3000, 1)],
    )
    .await;
    let first = acme.sim.installation_id();
    assert_eq!(check(app, &tenant).await, Outcome::Installed);
    assert_eq!(schedule(app, &tenant).await, None);

    // The admin uninstalls the app: the next check sees Zendesk answer 404.
    acme.sim.uninstall_app();
    let outcome = check(app, &tenant).await;
    let (reason, detected, delete_at, notified) = schedule(app, &tenant).await.expect("scheduled");
    let (_, uninstalled_at) = pinned(app, &tenant).await;
    assert_eq!(uninstalled_at, Some(detected), "the installation is marked");
    assert!(last_active(app, &tenant).await <= detected);
    assert_eq!(reason, "uninstalled");
    assert_eq!(
        delete_at,
        detected + GRACE,
        "max(uninstalled, last active) + 30 days"
    );
    assert!(notified.is_some());
    assert_eq!(
        outcome,
        Outcome::Scheduled {
            reason: DeletionReason::Uninstalled,
            delete_at,
            notified: true
        }
    );
    let mails = wait_for_mails(app, &admin_email(acme), 1).await;
    let day = chrono::DateTime::from_timestamp(delete_at, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    assert!(
        subject(&mails[0]).contains("will delete") && subject(&mails[0]).contains(&day),
        "{}",
        mails[0]
    );
    assert!(
        mails[0].contains("uninstalled from acme.zendesk.com"),
        "{}",
        mails[0]
    );
    assert_eq!(
        events(app, &tenant, AuditKind::DeletionScheduled).await,
        vec![
            json!({ "reason": "uninstalled", "delete_at": sealdrop_server::clock::rfc3339(delete_at) })
        ]
    );

    // Checked again, and again nearly a month later: still scheduled, told once, nothing gone.
    app.clock.advance(Duration::from_secs((GRACE - DAY) as u64));
    assert!(matches!(check(app, &tenant).await, Outcome::Pending { .. }));
    assert_eq!(schedule(app, &tenant).await.map(|s| s.2), Some(delete_at));
    assert_eq!(mails_to(app, &admin_email(acme)).len(), 1, "one notice");
    assert!(app.state.db.tenant(&tenant).await.unwrap().is_some());
    assert!(!app.blob_keys(&sent.id).await.is_empty(), "files kept");

    // Reinstalled: the new installation's first sign-in is accepted and pinned.
    let second = acme.sim.reinstall_app();
    assert_ne!(second, first);
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(
        (page.status, page.page_status().as_str()),
        (StatusCode::OK, "ready"),
        "{}",
        page.message()
    );
    assert_eq!(pinned(app, &tenant).await, (second, None));
    assert_eq!(schedule(app, &tenant).await, None, "deletion cancelled");
    assert_eq!(
        events(app, &tenant, AuditKind::Reinstalled).await,
        vec![json!({
            "from": first.to_string(),
            "to": second.to_string(),
            "deletion_cancelled": true
        })]
    );
    // The old installation's tokens no longer open a session; the admin's grant still works.
    let stale = acme.sim.signer().sign(&{
        let mut c = acme.sim.zaf_claims(acme.agent);
        c.aud = zendesk_sim::zaf::audience("acme", first);
        c
    });
    let refused = acme.post_token(app, &stale.unwrap()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(check(app, &tenant).await, Outcome::Installed);
    acme.session(app, acme.admin).await;
    assert_eq!(app.receive(&sent.id, &sent.link_secret).await.len(), 1);

    // Uninstalled again: the new installation is the one found gone, with a fresh grace period
    // and a second notice.
    acme.sim.uninstall_app();
    assert!(matches!(
        check(app, &tenant).await,
        Outcome::Scheduled {
            reason: DeletionReason::Uninstalled,
            notified: true,
            ..
        }
    ));
    let (_, again, delete_again, _) = schedule(app, &tenant).await.expect("scheduled again");
    assert_eq!(pinned(app, &tenant).await, (second, Some(again)));
    assert!(again > detected);
    assert_eq!(
        delete_again,
        again.max(last_active(app, &tenant).await) + GRACE
    );
    wait_for_mails(app, &admin_email(acme), 2).await;
}

#[tokio::test]
async fn past_the_grace_period_the_tenant_is_deleted_and_its_admin_gets_the_certificate() {
    let w = world(&["acme", "globex"]).await;
    let (app, acme, globex) = (&w.app, &w.tenants[0], &w.tenants[1]);
    acme.set_up(app).await;
    globex.set_up(app).await;
    let tenant = tenant_id(app, "acme").await.unwrap();
    let other = tenant_id(app, "globex").await.unwrap();
    let agent = acme.session(app, acme.agent).await;
    let sent = send_as(app, &agent, &json!({}), &[test_bytes(5000, 2)]).await;
    let cli_tenant = app.token.clone();

    acme.sim.uninstall_app();
    assert!(matches!(
        check(app, &tenant).await,
        Outcome::Scheduled { .. }
    ));
    let delete_at = schedule(app, &tenant).await.unwrap().2;
    // globex keeps working through the month; acme is gone.
    app.clock.advance(Duration::from_secs((GRACE - 60) as u64));
    let kept = send_as(
        app,
        &globex.session(app, globex.agent).await,
        &json!({}),
        &[test_bytes(4000, 3)],
    )
    .await;
    assert!(app.clock.now() < delete_at);
    assert!(matches!(check(app, &tenant).await, Outcome::Pending { .. }));
    app.clock.advance(Duration::from_secs(61));
    assert!(app.clock.now() >= delete_at);
    assert_eq!(
        check(app, &tenant).await,
        Outcome::Deleted { notified: true }
    );

    // Nothing of acme is left.
    assert!(app.state.db.tenant(&tenant).await.unwrap().is_none());
    assert_eq!(tenant_id(app, "acme").await, None);
    for table in [
        "packages",
        "audit_events",
        "tenant_settings",
        "zendesk_installations",
        "zendesk_grants",
        "zendesk_role_cache",
        "scheduled_deletions",
        "team_devices",
        "team_keys",
    ] {
        assert_eq!(rows_of(app, table, &tenant).await, 0, "{table}");
    }
    assert!(
        app.blob_keys(&sent.id).await.is_empty(),
        "store prefix empty"
    );
    let record = app.state.db.deletion(&tenant).await.unwrap().unwrap();
    let certificate_text = record.certificate.expect("a certificate");
    let certificate = deletion::verify(&certificate_text, &app.state.deletion_key.public_b64u())
        .expect("verifies");
    assert_eq!(certificate.tenant_id, tenant);
    assert_eq!(certificate.deleted.packages, 1);

    // The admin was told when it was scheduled and when it was done, certificate attached.
    let mails = wait_for_mails(app, &admin_email(acme), 2).await;
    let done = mails
        .iter()
        .find(|m| subject(m).contains("deleted the data of acme.zendesk.com"))
        .unwrap_or_else(|| panic!("a done mail among {mails:#?}"));
    assert!(
        done.contains("sealdrop-deletion-certificate.json"),
        "{done}"
    );
    assert!(done.contains(deletion::WELL_KNOWN_PATH), "{done}");
    let attached = done
        .lines()
        .find(|l| l.starts_with("{\"certificate\""))
        .unwrap_or_else(|| panic!("the certificate in {done}"));
    assert_eq!(
        attached, certificate_text,
        "the certificate itself is attached"
    );

    // globex, installed and in use, and the CLI tenant are untouched.
    assert_eq!(check(app, &other).await, Outcome::Installed);
    assert_eq!(schedule(app, &other).await, None);
    assert_eq!(app.receive(&kept.id, &kept.link_secret).await.len(), 1);
    assert_eq!(
        app.create_package_raw(&cli_tenant, &json!({}))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert!(mails_to(app, &admin_email(globex)).is_empty());

    // Installing the app again later starts a new, empty account.
    acme.sim.reinstall_app();
    let page = acme.sign_in(app, acme.admin).await;
    assert_eq!(page.page_status(), "setup_required", "{}", page.message());
    let fresh = tenant_id(app, "acme").await.unwrap();
    assert_ne!(fresh, tenant);
}

#[tokio::test]
async fn a_revoked_grant_schedules_deletion_activity_postpones_it_and_a_new_grant_cancels_it() {
    let w = world(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let tenant = tenant_id(app, "acme").await.unwrap();

    // An admin removes sealdrop's access in Zendesk: nothing can confirm the app is there.
    acme.sim.revoke_all_grants();
    let outcome = check(app, &tenant).await;
    let (reason, detected, delete_at, _) = schedule(app, &tenant).await.expect("scheduled");
    assert_eq!(reason, "no_grant");
    assert_eq!(delete_at, detected + GRACE);
    assert!(matches!(
        outcome,
        Outcome::Scheduled {
            reason: DeletionReason::NoGrant,
            notified: true,
            ..
        }
    ));
    assert_eq!(
        app.state.db.grant_status(&tenant).await.unwrap().as_str(),
        "needs_reauthorization"
    );
    // The grant is dead, yet the admin is told: their address was kept at the grant.
    let mails = wait_for_mails(app, &admin_email(acme), 1).await;
    assert!(
        mails[0].contains("can no longer reach acme.zendesk.com"),
        "{}",
        mails[0]
    );
    assert_eq!(
        pinned(app, &tenant).await.1,
        None,
        "not known to be uninstalled"
    );

    // Agents still open the app (and see that an admin must authorize): the date moves on.
    app.clock.advance(Duration::from_secs((10 * DAY) as u64));
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(page.page_status(), "reauthorization_required");
    let active = last_active(app, &tenant).await;
    assert!(active > detected);
    assert!(matches!(check(app, &tenant).await, Outcome::Pending { .. }));
    assert_eq!(
        schedule(app, &tenant).await.map(|s| (s.1, s.2)),
        Some((detected, active + GRACE)),
        "max(detected, last active) + grace"
    );
    assert_eq!(mails_to(app, &admin_email(acme)).len(), 1, "told once");

    // The admin authorizes again: the next check cancels the deletion.
    let setup = acme.sign_in(app, acme.admin).await.session().unwrap();
    let (status, text) = acme.grant(app, &setup, acme.admin).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(check(app, &tenant).await, Outcome::Cancelled);
    assert_eq!(schedule(app, &tenant).await, None);
    assert_eq!(
        events(app, &tenant, AuditKind::DeletionCancelled).await,
        vec![json!({ "reason": "no_grant" })]
    );
    app.clock.advance(Duration::from_secs((40 * DAY) as u64));
    assert_eq!(check(app, &tenant).await, Outcome::Installed);
    assert!(app.state.db.tenant(&tenant).await.unwrap().is_some());
}

#[tokio::test]
async fn another_installation_is_refused_while_the_pinned_one_exists_and_pinned_once_it_is_gone() {
    let w = world(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    acme.set_up(app).await;
    let tenant = tenant_id(app, "acme").await.unwrap();
    let first = acme.sim.installation_id();

    // A second installation in the same account, the first still there: refused.
    let second = acme.sim.install_app();
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(
        page.message().contains("installation"),
        "{}",
        page.message()
    );
    assert_eq!(pinned(app, &tenant).await, (first, None));
    assert!(events(app, &tenant, AuditKind::Reinstalled)
        .await
        .is_empty());

    // The first is uninstalled but the grant is dead: nothing confirms it is gone, so nothing
    // is pinned...
    assert!(acme.sim.uninstall_installation(first));
    acme.sim.revoke_all_grants();
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.message());
    assert_eq!(pinned(app, &tenant).await, (first, None));

    // ...but its people get a setup session, so an admin can authorize sealdrop again.
    assert_eq!(
        page.page_status(),
        "reauthorization_required",
        "{}",
        page.message()
    );
    let setup = acme.sign_in(app, acme.admin).await.session().unwrap();
    let (status, text) = acme.grant(app, &setup, acme.admin).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        pinned(app, &tenant).await,
        (first, None),
        "still nothing pinned"
    );

    // With a working grant, Zendesk answers 404 for the first at the next sign-in: the second
    // is pinned at once, no lifecycle check needed.
    let page = acme.sign_in(app, acme.agent).await;
    assert_eq!(
        (page.status, page.page_status().as_str()),
        (StatusCode::OK, "ready"),
        "{}",
        page.message()
    );
    assert_eq!(pinned(app, &tenant).await, (second, None));
    assert_eq!(
        events(app, &tenant, AuditKind::Reinstalled).await,
        vec![json!({
            "from": first.to_string(),
            "to": second.to_string(),
            "deletion_cancelled": false
        })]
    );
}

#[tokio::test]
async fn the_granting_admins_address_is_in_their_data_request_and_erased_with_it() {
    let w = world(&["acme"]).await;
    let (app, acme) = (&w.app, &w.tenants[0]);
    let admin_session = acme.set_up(app).await;
    let email = admin_email(acme);
    let call = |path: &'static str, body: Value| {
        app.client
            .post(app.url(path))
            .bearer_auth(&admin_session)
            .json(&body)
            .send()
    };
    let export = || async {
        let response = call("/api/v1/tenant/subjects/export", json!({ "email": email }))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()
    };
    // Stored at the grant so a scheduled deletion can be told: it is the admin's data too.
    assert_eq!(
        export().await["zendesk_grant_contact_of"],
        json!(acme.admin.to_string())
    );
    let erased = call(
        "/api/v1/tenant/subjects/erase",
        json!({ "email": email, "confirm": email }),
    )
    .await
    .unwrap();
    assert_eq!(erased.status(), StatusCode::OK);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(erased["grant_contact_cleared"], 1, "{erased}");
    assert_eq!(export().await["zendesk_grant_contact_of"], Value::Null);
}
