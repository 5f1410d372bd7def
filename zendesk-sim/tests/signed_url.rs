//! The server's ZAF verifier against tokens made by the simulator's real signer.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{acme, world};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sealdrop_zendesk::signed_url::{
    self, AppPublicKey, Expectations, ExpectedAudience, SignedUrlError, ZafIdentity, LEEWAY_SECS,
};
use serde_json::{json, Value};
use zendesk_sim::ZafSigner;

fn check(
    sim: &zendesk_sim::Sim,
    token: &str,
    audience: ExpectedAudience,
) -> Result<ZafIdentity, SignedUrlError> {
    let key = AppPublicKey::from_pem(sim.public_key_pem()).expect("the simulator's key parses");
    let tenant = acme();
    signed_url::verify(
        token,
        &Expectations {
            key: &key,
            subdomain: &tenant,
            audience,
        },
    )
}

fn claims_json(sim: &zendesk_sim::Sim, user: u64) -> Value {
    serde_json::to_value(sim.zaf_claims(user)).expect("claims serialize")
}

#[tokio::test]
async fn a_token_signed_by_the_simulator_is_accepted() {
    let w = world(None).await;
    let token = w.sim.zaf_token(w.agent).expect("sign");
    assert_eq!(signed_url::peek_subdomain(&token), Ok(acme()));
    let id = check(&w.sim, &token, ExpectedAudience::AnyInstallation).expect("accepted");
    assert_eq!(id.user_id, w.agent);
    assert_eq!(id.installation_id, w.sim.installation_id());
    assert_eq!(id.subdomain, acme());
    // Pinned to the recorded installation, too.
    let pinned = check(
        &w.sim,
        &token,
        ExpectedAudience::Installation(w.sim.installation_id()),
    );
    assert_eq!(pinned, Ok(id));
}

#[tokio::test]
async fn forged_algorithms_are_refused() {
    let w = world(None).await;
    let claims = claims_json(&w.sim, w.admin);

    // alg: none, no signature.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    assert_eq!(
        check(&w.sim, &none, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Algorithm)
    );

    // HS256 keyed with the public key PEM (the classic key-confusion forgery).
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(w.sim.public_key_pem().as_bytes()),
    )
    .expect("sign");
    assert_eq!(
        check(&w.sim, &hs, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Algorithm)
    );

    // RS256 by another RSA key.
    let other = tokio::task::spawn_blocking(ZafSigner::generate)
        .await
        .expect("join")
        .expect("key");
    let forged = other.sign_json(&claims).expect("sign");
    assert_eq!(
        check(&w.sim, &forged, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Signature)
    );

    // A genuine token whose claims were edited afterwards.
    let genuine = w.sim.zaf_token(w.agent).expect("sign");
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut edited = claims_json(&w.sim, w.agent);
    edited["sub"] = json!(w.admin.to_string());
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(edited.to_string()),
        parts[2]
    );
    assert_eq!(
        check(&w.sim, &tampered, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Signature)
    );

    // Garbage.
    assert_eq!(
        check(&w.sim, "not.a.jwt", ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Malformed)
    );
}

#[tokio::test]
async fn time_claims_are_enforced_with_a_small_leeway() {
    let w = world(None).await;
    let now = w.sim.zaf_claims(w.agent).iat;
    let signer = w.sim.signer();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims_json(&w.sim, w.agent);
        f(&mut c);
        signer.sign_json(&c).expect("sign")
    };
    let expired = with(&|c| {
        c["iat"] = json!(now - 1000);
        c["nbf"] = json!(now - 1000);
        c["exp"] = json!(now - LEEWAY_SECS - 5);
    });
    assert_eq!(
        check(&w.sim, &expired, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::Expired)
    );
    let just_expired_within_leeway = with(&|c| c["exp"] = json!(now - 5));
    assert!(check(
        &w.sim,
        &just_expired_within_leeway,
        ExpectedAudience::AnyInstallation
    )
    .is_ok());
    let not_yet = with(&|c| c["nbf"] = json!(now + 600));
    assert_eq!(
        check(&w.sim, &not_yet, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::NotYetValid)
    );
    let issued_in_future = with(&|c| {
        c["iat"] = json!(now + 600);
        c["exp"] = json!(now + 900);
    });
    assert_eq!(
        check(&w.sim, &issued_in_future, ExpectedAudience::AnyInstallation),
        Err(SignedUrlError::NotYetValid)
    );
}

#[tokio::test]
async fn issuer_audience_and_context_must_be_this_tenants_ticket_sidebar() {
    let w = world(None).await;
    let signer = w.sim.signer();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims_json(&w.sim, w.agent);
        f(&mut c);
        signer.sign_json(&c).expect("sign")
    };
    let any = ExpectedAudience::AnyInstallation;
    let other_issuer = with(&|c| c["iss"] = json!("globex.zendesk.com"));
    assert_eq!(
        check(&w.sim, &other_issuer, any.clone()),
        Err(SignedUrlError::Issuer)
    );
    let lookalike = with(&|c| c["iss"] = json!("acme.zendesk.com.evil.example"));
    assert_eq!(
        check(&w.sim, &lookalike, any.clone()),
        Err(SignedUrlError::Issuer)
    );

    let other_tenant_aud = with(&|c| {
        c["aud"] = json!("https://globex.zendesk.com/api/v2/apps/installations/360001234.json")
    });
    assert_eq!(
        check(&w.sim, &other_tenant_aud, any.clone()),
        Err(SignedUrlError::Audience)
    );
    let not_an_installation = with(&|c| c["aud"] = json!("https://acme.zendesk.com/"));
    assert_eq!(
        check(&w.sim, &not_an_installation, any.clone()),
        Err(SignedUrlError::Audience)
    );
    let genuine = w.sim.zaf_token(w.agent).expect("sign");
    assert_eq!(
        check(
            &w.sim,
            &genuine,
            ExpectedAudience::Installation(w.sim.installation_id() + 1)
        ),
        Err(SignedUrlError::Audience),
        "another installation of the same account"
    );

    let chat = with(&|c| c["context"]["product"] = json!("chat"));
    assert_eq!(
        check(&w.sim, &chat, any.clone()),
        Err(SignedUrlError::Context)
    );
    let nav_bar = with(&|c| c["context"]["location"] = json!("nav_bar"));
    assert_eq!(
        check(&w.sim, &nav_bar, any.clone()),
        Err(SignedUrlError::Context)
    );
    let end_user = with(&|c| c["sub"] = json!("not-a-user"));
    assert_eq!(check(&w.sim, &end_user, any), Err(SignedUrlError::Subject));
}

#[tokio::test]
async fn tokens_missing_a_claim_are_refused() {
    let w = world(None).await;
    for claim in ["iss", "aud", "sub", "exp", "iat", "context"] {
        let mut c = claims_json(&w.sim, w.agent);
        c.as_object_mut().expect("object").remove(claim);
        let token = w.sim.signer().sign_json(&c).expect("sign");
        let got = check(&w.sim, &token, ExpectedAudience::AnyInstallation);
        assert_eq!(
            got,
            Err(SignedUrlError::MissingClaim(claim)),
            "without {claim}"
        );
    }
}

#[tokio::test]
async fn the_agent_page_posts_a_verifiable_token_into_the_sidebar_iframe() {
    let w = world(None).await;
    let url = w
        .sim
        .base_url()
        .join(&format!("agent/tickets/{}?as={}", w.ticket, w.agent))
        .expect("url");
    let html = reqwest::get(url)
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    let frame = format!("app_sidebar_{}", w.sim.installation_id());
    assert!(html.contains(&format!(r#"<iframe name="{frame}""#)));
    assert!(html.contains(&format!(r#"target="{frame}""#)));
    assert!(html.contains(r#"method="post" action="http://127.0.0.1:8080/zendesk/sidebar?origin="#));
    assert!(html.contains("&amp;app_guid="));
    let token = html
        .split(r#"name="token" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token field");
    let id = check(
        &w.sim,
        token,
        ExpectedAudience::Installation(w.sim.installation_id()),
    )
    .expect("valid");
    assert_eq!(id.user_id, w.agent);

    // End users never get an agent page, so never a token.
    let url = w
        .sim
        .base_url()
        .join(&format!("agent/tickets/{}?as={}", w.ticket, w.customer))
        .expect("url");
    assert_eq!(reqwest::get(url).await.expect("page").status(), 403);
}
