//! The app's installations: uninstalled, the installation answers 404; installed again, it is
//! a new installation under a new id, and the sidebar's tokens name that id. Driven through
//! the `sealdrop-zendesk` client the server's lifecycle check uses.

mod common;

use common::{acme, client, grant_as, grant_with_scope, http, world};
use sealdrop_zendesk::api::ApiError;
use sealdrop_zendesk::signed_url::{self, AppPublicKey, Expectations, ExpectedAudience};
use serde_json::Value;

/// The installation id a ZAF token names, verified against the pinned `expected` one.
fn verified_installation(sim: &zendesk_sim::Sim, token: &str, expected: u64) -> Option<u64> {
    let key = AppPublicKey::from_pem(sim.public_key_pem()).expect("the simulator's key parses");
    let tenant = acme();
    signed_url::verify(
        token,
        &Expectations {
            key: &key,
            subdomain: &tenant,
            audience: ExpectedAudience::Installation(expected),
        },
    )
    .ok()
    .map(|id| id.installation_id)
}

#[tokio::test]
async fn an_uninstalled_app_answers_404_and_a_reinstalled_one_has_a_new_id() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    let first = w.sim.installation_id();
    let found = api.app_installation(first).await.expect("installed");
    assert_eq!(found.map(|i| i.id), Some(first));

    assert_eq!(w.sim.uninstall_app(), vec![first]);
    assert_eq!(api.app_installation(first).await, Ok(None), "404: gone");
    assert!(w.sim.zaf_token(w.agent).is_err(), "no sidebar, no token");
    let page = http()
        .get(
            w.sim
                .base_url()
                .join(&format!("agent/tickets/{}?as={}", w.ticket, w.agent))
                .expect("url"),
        )
        .send()
        .await
        .expect("ticket page");
    let html = page.text().await.expect("html");
    assert!(
        html.contains("No apps") && !html.contains("zaf-signed-url"),
        "the ticket page has no sidebar: {html}"
    );
    // Uninstalling the app does not touch the OAuth grant.
    assert_eq!(api.me().await.map(|u| u.id), Ok(w.admin));

    let second = w.sim.reinstall_app();
    assert_ne!(second, first, "a reinstalled app is a new installation");
    assert_eq!(w.sim.installation_id(), second);
    assert_eq!(api.app_installation(first).await, Ok(None));
    assert_eq!(
        api.app_installation(second).await.map(|i| i.map(|i| i.id)),
        Ok(Some(second))
    );
    let token = w.sim.zaf_token(w.agent).expect("the sidebar opens again");
    assert_eq!(
        verified_installation(&w.sim, &token, first),
        None,
        "the new token does not name the old installation"
    );
    assert_eq!(verified_installation(&w.sim, &token, second), Some(second));

    // The list shows the live installation only.
    let listed: Value = http()
        .get(
            w.sim
                .base_url()
                .join("api/v2/apps/installations.json")
                .expect("url"),
        )
        .bearer_auth(grant.access_token.expose())
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let ids: Vec<u64> = listed["installations"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|i| i["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![second]);
}

#[tokio::test]
async fn a_second_installation_lives_beside_the_first_until_one_is_uninstalled() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    let first = w.sim.installation_id();
    let second = w.sim.install_app();
    assert_eq!(
        w.sim
            .installations()
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        vec![first, second]
    );
    assert!(api.app_installation(first).await.expect("call").is_some());
    let token = w.sim.zaf_token(w.agent).expect("sign");
    assert_eq!(
        verified_installation(&w.sim, &token, second),
        Some(second),
        "the sidebar opens the newest installation"
    );
    assert!(w.sim.uninstall_installation(first));
    assert_eq!(api.app_installation(first).await, Ok(None));
    assert!(api.app_installation(second).await.expect("call").is_some());
}

#[tokio::test]
async fn the_control_api_uninstalls_and_reinstalls() {
    let w = world(None).await;
    let first = w.sim.installation_id();
    let post = |path: &str| {
        let url = w.sim.base_url().join(path).expect("url");
        async move {
            let r = http().post(url).send().await.expect("request");
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, body) = post("sim/app/uninstall").await;
    assert_eq!(
        (status, body["uninstalled"][0].as_u64()),
        (200, Some(first))
    );
    assert!(!w.sim.is_installed());
    let (status, _) = post("sim/zaf_token").await;
    assert_ne!(status, 200, "no token for an uninstalled app");
    let (status, body) = post("sim/app/reinstall").await;
    assert_eq!(status, 200);
    let second = body["installation_id"].as_u64().expect("an id");
    assert_ne!(second, first);
    let info: Value = http()
        .get(w.sim.base_url().join("sim/info").expect("url"))
        .send()
        .await
        .expect("info")
        .json()
        .await
        .expect("json");
    assert_eq!(info["installed"], true);
    assert_eq!(info["installation_id"].as_u64(), Some(second));
    assert!(info["audience"]
        .as_str()
        .is_some_and(|a| a.ends_with(&format!("/{second}.json"))));
}

#[tokio::test]
async fn a_grant_without_the_apps_scope_cannot_see_installations_and_a_revoked_one_nothing() {
    let w = world(None).await;
    let old = grant_with_scope(&w, w.admin, "users:read tickets:read").await;
    let api = client(&w, &old.access_token);
    let first = w.sim.installation_id();
    assert_eq!(
        api.app_installation(first).await,
        Err(ApiError::GrantRevoked { status: 403 })
    );
    assert_eq!(
        api.me().await.map(|u| u.id),
        Ok(w.admin),
        "the grant itself still works"
    );
    w.sim.revoke_all_grants();
    assert_eq!(
        api.app_installation(first).await,
        Err(ApiError::GrantRevoked { status: 401 })
    );
}
