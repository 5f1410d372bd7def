//! Role restrictions through the grant, with the role cache's stated lifetime.

mod common;

use std::time::Duration;

use common::{acme, client, grant_as, world};
use sealdrop_zendesk::api::ApiError;
use sealdrop_zendesk::roles::{AllowedRole, RoleCache, RoleError, RolePolicy};
use sealdrop_zendesk::session::ConfirmedRole;
use sealdrop_zendesk::Subdomain;
use zendesk_sim::UserChange;

#[tokio::test]
async fn an_agent_whose_role_is_not_allowed_is_refused() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    let cache = RoleCache::default();
    let only_role_7 = RolePolicy::new(vec![AllowedRole::Admin, AllowedRole::Custom(7)]);
    let tenant = acme();
    let api = &api;
    let check = |user: u64| cache.check(&tenant, user, &only_role_7, move || api.user(user));
    assert_eq!(
        check(w.custom_agent).await,
        Ok(ConfirmedRole::CustomRole(7))
    );
    assert_eq!(check(w.admin).await, Ok(ConfirmedRole::Admin));
    assert_eq!(
        check(w.agent).await,
        Err(RoleError::NotAllowed),
        "a plain agent is not custom role 7"
    );
    assert_eq!(
        check(w.customer).await,
        Err(RoleError::NotAllowed),
        "end users never"
    );
    assert_eq!(
        check(424_242).await,
        Err(RoleError::Api(ApiError::NotFound))
    );
}

#[tokio::test]
async fn a_role_change_in_zendesk_is_seen_once_the_cache_lifetime_has_passed() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    let lifetime = Duration::from_millis(400);
    let cache = RoleCache::new(lifetime);
    let policy = RolePolicy::default();
    let tenant = acme();
    assert_eq!(
        cache
            .check(&tenant, w.agent, &policy, || api.user(w.agent))
            .await,
        Ok(ConfirmedRole::Agent)
    );

    w.sim.change_user(
        w.agent,
        UserChange {
            role: Some("end-user".into()),
            ..UserChange::default()
        },
    );
    // Within the lifetime the cached answer stands (that is the stated staleness bound)...
    assert_eq!(
        cache
            .check(&tenant, w.agent, &policy, || api.user(w.agent))
            .await,
        Ok(ConfirmedRole::Agent)
    );
    tokio::time::sleep(lifetime + Duration::from_millis(50)).await;
    // ...and once it has passed, Zendesk's new answer is used.
    assert_eq!(
        cache
            .check(&tenant, w.agent, &policy, || api.user(w.agent))
            .await,
        Err(RoleError::NotAllowed)
    );

    w.sim.change_user(
        w.agent,
        UserChange {
            role: Some("agent".into()),
            custom_role_id: Some(7),
            ..UserChange::default()
        },
    );
    tokio::time::sleep(lifetime + Duration::from_millis(50)).await;
    assert_eq!(
        cache
            .check(&tenant, w.agent, &policy, || api.user(w.agent))
            .await,
        Ok(ConfirmedRole::CustomRole(7))
    );
}

#[tokio::test]
async fn one_tenants_grant_and_cache_never_answer_for_another() {
    let acme_world = world(None).await;
    let globex_world = world(None).await;
    let acme_grant = grant_as(&acme_world, acme_world.admin).await;
    let globex_grant = grant_as(&globex_world, globex_world.admin).await;
    // Each simulator is a separate Zendesk account: a token from one is unknown to the other.
    assert_eq!(
        client(&globex_world, &acme_grant.access_token).me().await,
        Err(ApiError::GrantRevoked { status: 401 })
    );
    let cache = RoleCache::default();
    let policy = RolePolicy::default();
    let globex = Subdomain::parse("globex").expect("valid");
    let acme_api = client(&acme_world, &acme_grant.access_token);
    let globex_api = client(&globex_world, &globex_grant.access_token);
    assert!(cache
        .check(&acme(), acme_world.agent, &policy, || acme_api
            .user(acme_world.agent))
        .await
        .is_ok());
    // The same numeric id in the other tenant is looked up there, not served from acme's entry.
    globex_world.sim.change_user(
        acme_world.agent,
        UserChange {
            role: Some("end-user".into()),
            ..UserChange::default()
        },
    );
    assert_eq!(
        cache
            .check(&globex, acme_world.agent, &policy, || globex_api
                .user(acme_world.agent))
            .await,
        Err(RoleError::NotAllowed)
    );
}
