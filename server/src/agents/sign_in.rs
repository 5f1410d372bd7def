//! The sidebar's sign-in: Zendesk POSTs a signed URL (a ZAF JWT) to the sidebar page; the
//! server verifies it against the app's public key, makes the tenant on its first visit, and
//! issues an agent session (a *setup session*, good for nothing but the grant, while no grant
//! works).

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{check_role, AgentError, RoleCheck, Zendesk};
use crate::db::Database;
use crate::settings;
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::signed_url::{self, Expectations, ExpectedAudience, SignedUrlError};
use crate::zendesk::Subdomain;

/// A verified sign-in.
#[derive(Debug)]
pub struct SignedIn {
    /// The agent's Zendesk.
    pub subdomain: Subdomain,
    /// The tenant.
    pub tenant_id: String,
    /// The Zendesk user.
    pub user_id: u64,
    /// What the server knows about the agent's role.
    pub check: RoleCheck,
    /// The `sda_…` session, unless the role is refused (a setup session without a grant).
    pub session: Option<String>,
}

/// Why a sign-in failed; the subdomain, when known, lets the page be framed by its Zendesk.
#[derive(Debug)]
pub enum SignInError {
    /// The signed URL does not verify.
    Token(Option<Subdomain>, SignedUrlError),
    /// This server has no app public key to verify with.
    NoKey(Subdomain),
    /// The token verified but was already exchanged for a session (a replay, or the frame
    /// reloaded on its own, which resends the same form).
    Replayed(Subdomain),
    /// Checking the agent failed.
    Agent(Option<Subdomain>, AgentError),
}

impl From<sqlx::Error> for SignInError {
    fn from(e: sqlx::Error) -> Self {
        Self::Agent(None, e.into())
    }
}

/// Verifies a sidebar sign-in token and signs the agent in.
pub async fn sign_in(
    db: &Database,
    zendesk: &Zendesk,
    token: &str,
    now: i64,
) -> Result<SignedIn, SignInError> {
    // Only chooses which tenant's expectations to verify against; trusted after `verify`.
    let claimed = signed_url::peek_subdomain(token).map_err(|e| SignInError::Token(None, e))?;
    let tenant = db.tenant_by_subdomain(&claimed).await?;
    let installation = match &tenant {
        Some(t) => db.installation(&t.id).await?,
        None => None,
    };
    let (pem, key) = match (zendesk.app_key(), &installation) {
        (Some((pem, key)), _) => (pem.clone(), key.clone()),
        (None, Some(inst)) => match signed_url::AppPublicKey::from_pem(&inst.app_public_key) {
            Ok(key) => (inst.app_public_key.clone(), key),
            Err(_) => return Err(SignInError::NoKey(claimed)),
        },
        (None, None) => return Err(SignInError::NoKey(claimed)),
    };
    let audience = match &installation {
        Some(inst) => ExpectedAudience::Installation(inst.installation_id),
        None => ExpectedAudience::AnyInstallation,
    };
    let expectations = Expectations {
        key: &key,
        subdomain: &claimed,
        audience,
    };
    let identity = signed_url::verify(token, &expectations)
        .map_err(|e| SignInError::Token(Some(claimed.clone()), e))?;
    let subdomain = identity.subdomain.clone();
    // Accepted once: Zendesk signs a fresh token (with a fresh app_guid in its qsh) for every
    // sidebar it opens, so a second use is a copy.
    let token_hash: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let forget_after = identity.expires_at.saturating_add(signed_url::LEEWAY_SECS);
    if !db
        .claim_signin_token(&token_hash, i64::try_from(forget_after).unwrap_or(i64::MAX))
        .await?
    {
        return Err(SignInError::Replayed(subdomain));
    }
    let tenant = match tenant {
        Some(t) => {
            if installation.is_none() {
                db.record_installation(&t.id, identity.installation_id, &pem, now)
                    .await?;
            }
            t
        }
        None => {
            let mut id_bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut id_bytes);
            let id =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id_bytes);
            let tenant = db
                .create_zendesk_tenant(
                    &id,
                    &subdomain,
                    identity.installation_id,
                    &pem,
                    &settings::new_widget_key(),
                    now,
                )
                .await?;
            tracing::info!(tenant = %tenant.id, %subdomain, "zendesk tenant created");
            tenant
        }
    };
    let check = check_role(db, zendesk, &tenant.id, &subdomain, identity.user_id, now)
        .await
        .map_err(|e| SignInError::Agent(Some(subdomain.clone()), e))?;
    let issue = |role: Option<ConfirmedRole>| {
        zendesk
            .sessions
            .issue(&subdomain, identity.user_id, identity.installation_id, role)
            .0
    };
    let session = match &check {
        RoleCheck::Allowed(role) => Some(issue(Some(role.clone()))),
        RoleCheck::NotAllowed(_) => None,
        RoleCheck::NoGrant(_) => Some(issue(None)),
    };
    Ok(SignedIn {
        subdomain,
        tenant_id: tenant.id,
        user_id: identity.user_id,
        check,
        session,
    })
}
