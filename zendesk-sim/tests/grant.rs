//! The admin's grant against the simulator over HTTP: granted, used, revoked, refreshed.

mod common;

use std::time::Duration;

use common::{acme, client, grant_as, http, oauth_config, world};
use sealdrop_zendesk::api::ApiError;
use sealdrop_zendesk::oauth::{self, OAuthError, TokenCipher};
use sealdrop_zendesk::SecretString;
use zendesk_sim::UserChange;

#[tokio::test]
async fn an_admin_grants_access_and_the_server_uses_it() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    assert_eq!(
        grant.refresh_token, None,
        "non-expiring tokens carry no refresh token"
    );
    assert_eq!(grant.expires_at, None);
    assert_eq!(grant.scope, oauth::DEFAULT_SCOPE);

    let api = client(&w, &grant.access_token);
    let me = api.me().await.expect("users/me");
    assert_eq!((me.id, me.role.as_str()), (w.admin, "admin"));
    let requester = api.user(w.customer).await.expect("users/{id}");
    assert_eq!(
        (requester.id, requester.email.as_deref()),
        (w.customer, Some("carol@customer.example"))
    );

    // Stored only sealed, and it still works after a round trip through storage.
    let cipher = TokenCipher::new(&[9; 32]).expect("key");
    let reopened = cipher
        .open(&acme(), &cipher.seal(&acme(), &grant))
        .expect("opens");
    assert_eq!(
        client(&w, &reopened.access_token)
            .user(w.agent)
            .await
            .expect("user")
            .role,
        "agent"
    );
}

#[tokio::test]
async fn the_token_endpoint_checks_pkce_and_single_use_codes() {
    let w = world(None).await;
    w.sim.set_auto_approve(true);
    let config = oauth_config(&w.sim);
    let http = http();
    let code_for = |pending: &oauth::PendingAuthorization| {
        let http = http.clone();
        let url = pending.authorize_url.clone();
        async move {
            let resp = http.get(url).send().await.expect("authorize");
            assert!(
                resp.status().is_redirection(),
                "auto-approve redirects at once"
            );
            let loc =
                url::Url::parse(resp.headers()["location"].to_str().expect("ascii")).expect("url");
            loc.query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
                .expect("code")
        }
    };

    let pending = oauth::begin(&config, &acme());
    let code = code_for(&pending).await;
    let wrong = SecretString::new("x".repeat(43));
    let refused = oauth::exchange_code(&http, &config, &acme(), &code, &wrong).await;
    assert!(
        matches!(refused, Err(OAuthError::GrantRevoked(_))),
        "{refused:?}"
    );
    // The code was consumed by the failed attempt: the right verifier is too late now.
    let again = oauth::exchange_code(&http, &config, &acme(), &code, &pending.code_verifier).await;
    assert!(
        matches!(again, Err(OAuthError::GrantRevoked(_))),
        "{again:?}"
    );

    let pending = oauth::begin(&config, &acme());
    let code = code_for(&pending).await;
    oauth::exchange_code(&http, &config, &acme(), &code, &pending.code_verifier)
        .await
        .expect("exchange");
    let replay = oauth::exchange_code(&http, &config, &acme(), &code, &pending.code_verifier).await;
    assert!(
        matches!(replay, Err(OAuthError::GrantRevoked(_))),
        "codes are single use: {replay:?}"
    );

    let mut unknown = config.clone();
    unknown.client_id = "someone-else".into();
    let pending = oauth::begin(&config, &acme());
    let code = code_for(&pending).await;
    let bad_client =
        oauth::exchange_code(&http, &unknown, &acme(), &code, &pending.code_verifier).await;
    assert!(
        matches!(bad_client, Err(OAuthError::Client(_))),
        "{bad_client:?}"
    );
}

#[tokio::test]
async fn a_revoked_grant_is_reported_as_grant_revoked() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    api.user(w.agent).await.expect("works before");
    assert_eq!(w.sim.revoke_all_grants(), 1);
    assert_eq!(
        api.user(w.agent).await,
        Err(ApiError::GrantRevoked { status: 401 })
    );

    // The app can also revoke its own token (when an admin disconnects sealdrop).
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    api.revoke_current_token().await.expect("revoke");
    assert_eq!(api.me().await, Err(ApiError::GrantRevoked { status: 401 }));
}

#[tokio::test]
async fn a_grant_dies_with_the_granting_admins_role() {
    let w = world(None).await;
    let grant = grant_as(&w, w.admin).await;
    let api = client(&w, &grant.access_token);
    w.sim.change_user(
        w.admin,
        UserChange {
            role: Some("end-user".into()),
            ..UserChange::default()
        },
    );
    assert_eq!(
        api.user(w.customer).await,
        Err(ApiError::GrantRevoked { status: 403 })
    );
    w.sim.change_user(
        w.admin,
        UserChange {
            role: Some("admin".into()),
            active: Some(false),
            ..UserChange::default()
        },
    );
    assert_eq!(
        api.user(w.customer).await,
        Err(ApiError::GrantRevoked { status: 401 })
    );
}

#[tokio::test]
async fn an_expiring_grant_is_refreshed_and_the_old_refresh_token_dies() {
    let w = world(Some(Duration::from_secs(30))).await;
    let grant = grant_as(&w, w.admin).await;
    assert!(
        grant.refresh_token.is_some(),
        "expiring tokens come with a refresh token"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    assert!(
        grant.needs_refresh(now),
        "30 s left is inside the refresh margin"
    );

    w.sim.expire_access_tokens();
    assert_eq!(
        client(&w, &grant.access_token).me().await,
        Err(ApiError::GrantRevoked { status: 401 })
    );

    let config = oauth_config(&w.sim);
    let fresh = oauth::refresh(&http(), &config, &acme(), &grant)
        .await
        .expect("refresh");
    assert_ne!(fresh.access_token, grant.access_token);
    assert_ne!(
        fresh.refresh_token, grant.refresh_token,
        "refresh tokens rotate"
    );
    assert_eq!(
        client(&w, &fresh.access_token)
            .me()
            .await
            .expect("works again")
            .id,
        w.admin
    );

    let stale = oauth::refresh(&http(), &config, &acme(), &grant).await;
    assert!(
        matches!(stale, Err(OAuthError::GrantRevoked(_))),
        "{stale:?}"
    );

    w.sim.revoke_all_grants();
    let after_revoke = oauth::refresh(&http(), &config, &acme(), &fresh).await;
    assert!(
        matches!(after_revoke, Err(OAuthError::GrantRevoked(_))),
        "{after_revoke:?}"
    );
}

#[tokio::test]
async fn only_agents_and_admins_can_grant() {
    let w = world(None).await;
    let config = oauth_config(&w.sim);
    let pending = oauth::begin(&config, &acme());
    let mut url = pending.authorize_url.clone();
    url.query_pairs_mut()
        .append_pair("as", &w.customer.to_string());
    let resp = http().get(url).send().await.expect("page");
    assert_eq!(resp.status(), 400);
}
