//! Role restrictions through the grant: the users API as the server reads it, and the
//! policy applied to what Zendesk answers. (How long the server trusts an answer is the
//! server's `zendesk_role_cache`, tested in server/tests/api_zendesk.rs.)

mod common;

use common::{client, grant_as, world};
use sealdrop_zendesk::api::ApiError;
use sealdrop_zendesk::roles::{AllowedRole, RolePolicy};
use sealdrop_zendesk::session::ConfirmedRole;
use zendesk_sim::UserChange;

#[tokio::test]
async fn an_agent_whose_role_is_not_allowed_is_refused() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    let only_role_7 = RolePolicy::new(vec![AllowedRole::Admin, AllowedRole::Custom(7)]);
    let check = |user: u64| {
        let (api, policy) = (&api, &only_role_7);
        async move { api.user(user).await.map(|u| policy.permits(&u)) }
    };
    assert_eq!(
        check(w.custom_agent).await,
        Ok(Some(ConfirmedRole::CustomRole(7)))
    );
    assert_eq!(check(w.admin).await, Ok(Some(ConfirmedRole::Admin)));
    assert_eq!(
        check(w.agent).await,
        Ok(None),
        "a plain agent is not custom role 7"
    );
    assert_eq!(check(w.customer).await, Ok(None), "end users never");
    assert_eq!(check(424_242).await, Err(ApiError::NotFound));
    // A role changed in Zendesk is what the next read answers.
    w.sim.change_user(
        w.agent,
        UserChange {
            role: Some("agent".into()),
            custom_role_id: Some(7),
            ..UserChange::default()
        },
    );
    assert_eq!(check(w.agent).await, Ok(Some(ConfirmedRole::CustomRole(7))));
}

#[tokio::test]
async fn one_tenants_grant_never_answers_for_another() {
    let acme_world = world(None).await;
    let globex_world = world(None).await;
    let acme_grant = grant_as(&acme_world, acme_world.admin).await;
    let globex_grant = grant_as(&globex_world, globex_world.admin).await;
    // Each simulator is a separate Zendesk account: a token from one is unknown to the other.
    assert_eq!(
        client(&globex_world, &acme_grant.access_token).me().await,
        Err(ApiError::GrantRevoked { status: 401 })
    );
    let policy = RolePolicy::default();
    let acme_api = client(&acme_world, &acme_grant.access_token);
    let globex_api = client(&globex_world, &globex_grant.access_token);
    let agent = acme_api.user(acme_world.agent).await.expect("acme's agent");
    assert_eq!(policy.permits(&agent), Some(ConfirmedRole::Agent));
    // The same numeric id in the other account is that account's user.
    globex_world.sim.change_user(
        acme_world.agent,
        UserChange {
            role: Some("end-user".into()),
            ..UserChange::default()
        },
    );
    let other = globex_api
        .user(acme_world.agent)
        .await
        .expect("globex's user");
    assert_eq!(policy.permits(&other), None);
}
