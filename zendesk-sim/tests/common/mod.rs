//! Shared set-up: a simulator with an admin, two agents, a customer and a ticket.
//!
//! The tests drive the `sealdrop-zendesk` crate, the Zendesk client the server runs, without
//! building the whole server (S3 SDK, sqlx, ...).
#![allow(dead_code)]

use std::time::Duration;

use sealdrop_zendesk::api::ZendeskClient;
use sealdrop_zendesk::oauth::{self, Grant, OAuthConfig};
use sealdrop_zendesk::{SecretString, Subdomain, ZendeskEndpoints};
use url::Url;
use zendesk_sim::{NewTicket, NewUser, OAuthClient, RunningSim, SimConfig};

pub const REDIRECT: &str = "http://127.0.0.1:9/zendesk/oauth/callback";

pub struct World {
    pub sim: RunningSim,
    pub admin: u64,
    pub agent: u64,
    pub custom_agent: u64,
    pub customer: u64,
    pub cc: u64,
    pub ticket: u64,
}

pub async fn world(access_token_ttl: Option<Duration>) -> World {
    let mut config = SimConfig::new("acme", Url::parse("http://127.0.0.1:8080/").expect("url"));
    config.access_token_ttl = access_token_ttl;
    let sim = zendesk_sim::start(config).await.expect("simulator starts");
    sim.register_client(OAuthClient {
        identifier: "sealdrop".into(),
        secret: None,
        redirect_uris: vec![REDIRECT.into()],
    });
    let admin = sim
        .add_user(NewUser {
            role: Some("admin".into()),
            name: Some("Ada".into()),
            ..NewUser::default()
        })
        .id;
    let agent = sim
        .add_user(NewUser {
            role: Some("agent".into()),
            name: Some("Alan".into()),
            ..NewUser::default()
        })
        .id;
    let custom_agent = sim
        .add_user(NewUser {
            role: Some("agent".into()),
            custom_role_id: Some(7),
            ..NewUser::default()
        })
        .id;
    let customer = sim
        .add_user(NewUser {
            email: Some("carol@customer.example".into()),
            ..NewUser::default()
        })
        .id;
    let cc = sim
        .add_user(NewUser {
            email: Some("dave@customer.example".into()),
            ..NewUser::default()
        })
        .id;
    let ticket = sim
        .add_ticket(NewTicket {
            subject: Some("Logs".into()),
            description: "The logs, please".into(),
            requester_id: customer,
            collaborator_ids: vec![cc],
            ..NewTicket::default()
        })
        .expect("ticket")
        .id;
    World {
        sim,
        admin,
        agent,
        custom_agent,
        customer,
        cc,
        ticket,
    }
}

pub fn acme() -> Subdomain {
    Subdomain::parse("acme").expect("valid subdomain")
}

pub fn oauth_config(sim: &RunningSim) -> OAuthConfig {
    OAuthConfig {
        client_id: "sealdrop".into(),
        client_secret: None,
        redirect_uri: Url::parse(REDIRECT).expect("url"),
        scope: oauth::DEFAULT_SCOPE.into(),
        endpoints: ZendeskEndpoints::Fixed(sim.base_url().clone()),
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// Runs the whole grant flow over HTTP as `user_id` clicking "Allow" on the consent page.
pub async fn grant_as(w: &World, user_id: u64) -> Grant {
    grant_with_scope(w, user_id, oauth::DEFAULT_SCOPE).await
}

/// [`grant_as`] asking for `scope` (a grant made before sealdrop asked for more).
pub async fn grant_with_scope(w: &World, user_id: u64, scope: &str) -> Grant {
    let mut config = oauth_config(&w.sim);
    config.scope = scope.into();
    let pending = oauth::begin(&config, &acme());
    let http = http();
    let page = http
        .get(pending.authorize_url.clone())
        .send()
        .await
        .expect("authorize page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(r#"id="allow""#),
        "the consent page shows an Allow button"
    );
    let mut form: Vec<(String, String)> =
        pending.authorize_url.query_pairs().into_owned().collect();
    form.push(("as".into(), user_id.to_string()));
    form.push(("decision".into(), "allow".into()));
    let approved = http
        .post(w.sim.base_url().join("oauth/authorizations").expect("url"))
        .form(&form)
        .send()
        .await
        .expect("approve");
    assert!(
        approved.status().is_redirection(),
        "approval redirects, got {}",
        approved.status()
    );
    let location =
        Url::parse(approved.headers()["location"].to_str().expect("ascii")).expect("url");
    assert!(location.as_str().starts_with(REDIRECT));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(
        q["state"],
        pending.state.expose(),
        "state comes back unchanged"
    );
    oauth::exchange_code(&http, &config, &acme(), &q["code"], &pending.code_verifier)
        .await
        .expect("code exchange")
}

pub fn client(w: &World, token: &SecretString) -> ZendeskClient {
    ZendeskClient::new(
        reqwest::Client::new(),
        w.sim.base_url().clone(),
        token.clone(),
    )
}
