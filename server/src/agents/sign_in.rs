//! The sidebar's sign-in: Zendesk POSTs a signed URL (a ZAF JWT) to the sidebar page; the
//! server verifies it against the app's public key, makes the tenant on its first visit, and
//! issues an agent session (a *setup session*, good for nothing but the grant, while no grant
//! works).
//!
//! The token must name the tenant's pinned installation, with one exception: a reinstalled
//! app. Zendesk gives it a new installation id, so its first token names another installation
//! of the same account. That token is accepted, and its id pinned in place of the old one,
//! only when the pinned installation is gone: the lifecycle check saw it uninstalled, or
//! Zendesk answers `404` for it now. While it still exists (a second installation of the app
//! in the same account), the token is refused, as before. When nothing can tell (no working
//! grant, or one made before sealdrop asked for `apps:read`), the token gets a setup session
//! and nothing is pinned: an admin of the account can then authorize sealdrop again, after
//! which the next sign-in from the new installation is checked and pinned.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::app_identity::{self, AppProof, Identity};
use super::{check_role, installation_status, AgentError, InstallationStatus, RoleCheck, Zendesk};
use crate::db::{Database, GrantStatus, Installation};
use crate::internal::Internal;
use crate::settings;
use crate::zendesk::app_jwt::{self, AppJwtError, AppSecret};
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::signed_url::{self, Expectations, ExpectedAudience, SignedUrlError};
use crate::zendesk::{SecretString, Subdomain};

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

/// A packaged sidebar's sign-in ([`sign_in_app`]).
#[derive(Debug)]
pub enum AppSignIn {
    /// Signed in, as [`sign_in`] does; `new_credential` is what the sidebar keeps, when this
    /// sign-in collected it.
    SignedIn {
        /// The sign-in.
        signed_in: SignedIn,
        /// Shown once.
        new_credential: Option<SecretString>,
    },
    /// The user is not proven yet: the sidebar opens the popup at `identify_path` (on this
    /// server) and signs in again with the same claim.
    Unproven {
        /// `None` when it sent no usable claim (it makes a new one).
        identify_path: Option<String>,
    },
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
    /// The app JWT (the packaged sidebar's sign-in through Zendesk's proxy) does not verify.
    AppToken(Option<Subdomain>, AppJwtError),
    /// The tenant has no app shared secret (or does not exist): the operator makes one with
    /// `sealdrop admin tenant app-secret`.
    NoAppSecret(Subdomain),
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
    // Any installation of the tenant's own Zendesk verifies here; one other than the pinned
    // installation is then accepted only as a reinstall (below).
    let expectations = Expectations {
        key: &key,
        subdomain: &claimed,
        audience: ExpectedAudience::AnyInstallation,
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
    let (tenant, unconfirmed) = match tenant {
        Some(t) => {
            let unconfirmed = pin_installation(
                db,
                zendesk,
                &t.id,
                &subdomain,
                installation.as_ref(),
                &pem,
                &identity,
                now,
            )
            .await?;
            (t, unconfirmed)
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
            (tenant, None)
        }
    };
    finish(
        db,
        zendesk,
        tenant.id,
        subdomain,
        &identity,
        unconfirmed,
        now,
    )
    .await
}

/// Verifies the app JWT that Zendesk's proxy signed with the tenant's shared secret (the
/// sidebar served from the app package, docs/ZENDESK.md "Sidebar from the app package") and
/// signs the agent in, as [`sign_in`] does for a signed URL. The tenant must exist already:
/// its shared secret is made for it (`sealdrop admin tenant app-secret`).
///
/// The JWT names the user only as the app's script asked (the proxy signs any claims), so the
/// user must be proven as well ([`app_identity`](super::app_identity)): by a credential kept
/// from an earlier proof, or by a claim the user approved in Zendesk.
pub async fn sign_in_app(
    db: &Database,
    zendesk: &Zendesk,
    token: &str,
    proof: &AppProof,
    now: i64,
) -> Result<AppSignIn, SignInError> {
    // Only chooses which tenant's secret to verify with; trusted after `verify`.
    let claimed = app_jwt::peek_subdomain(token).map_err(|e| SignInError::AppToken(None, e))?;
    let Some(tenant) = db.tenant_by_subdomain(&claimed).await? else {
        return Err(SignInError::NoAppSecret(claimed));
    };
    let Some(secret) = app_secret(db, zendesk, &tenant.id, &claimed)
        .await
        .map_err(|e| SignInError::Agent(Some(claimed.clone()), e))?
    else {
        return Err(SignInError::NoAppSecret(claimed));
    };
    let verified = app_jwt::verify(token, &claimed, &secret)
        .map_err(|e| SignInError::AppToken(Some(claimed.clone()), e))?;
    let subdomain = verified.subdomain.clone();
    // Accepted once, by its jti (the app makes a new one per sign-in) and its bytes alike.
    let jti_hash: [u8; 32] =
        Sha256::digest(format!("app-jwt:{}:{}", subdomain, verified.token_id)).into();
    let forget_after = i64::try_from(verified.expires_at.saturating_add(signed_url::LEEWAY_SECS))
        .unwrap_or(i64::MAX);
    if !db.claim_signin_token(&jti_hash, forget_after).await? {
        return Err(SignInError::Replayed(subdomain));
    }
    let new_credential = match app_identity::check(db, &tenant.id, verified.user_id, proof, now)
        .await
        .map_err(|e| SignInError::Agent(Some(subdomain.clone()), e))?
    {
        Identity::Proven { new_credential } => new_credential,
        Identity::Unproven { identify_path } => return Ok(AppSignIn::Unproven { identify_path }),
    };
    let identity = signed_url::ZafIdentity {
        subdomain: subdomain.clone(),
        user_id: verified.user_id,
        installation_id: verified.installation_id,
        expires_at: verified.expires_at,
    };
    let installation = db.installation(&tenant.id).await?;
    let pem = match (zendesk.app_key(), &installation) {
        (_, Some(inst)) => inst.app_public_key.clone(),
        (Some((pem, _)), None) => pem.clone(),
        (None, None) => String::new(),
    };
    let unconfirmed = pin_installation(
        db,
        zendesk,
        &tenant.id,
        &subdomain,
        installation.as_ref(),
        &pem,
        &identity,
        now,
    )
    .await?;
    let signed_in = finish(
        db,
        zendesk,
        tenant.id,
        subdomain,
        &identity,
        unconfirmed,
        now,
    )
    .await?;
    Ok(AppSignIn::SignedIn {
        signed_in,
        new_credential,
    })
}

/// The tenant's app shared secret, opened, if one was made.
pub async fn app_secret(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
) -> Result<Option<AppSecret>, AgentError> {
    let Some(sealed) = db.app_secret(tenant_id).await? else {
        return Ok(None);
    };
    let opened = zendesk.cipher.open_bytes(subdomain, &sealed).map_err(|e| {
        AgentError::Internal(Internal(anyhow::anyhow!(
            "the app secret does not open: {e}"
        )))
    })?;
    let text = opened
        .strip_prefix(APP_SECRET_PREFIX)
        .and_then(|t| std::str::from_utf8(t).ok())
        .ok_or_else(|| {
            AgentError::Internal(Internal(anyhow::anyhow!(
                "the sealed app secret is not one"
            )))
        })?;
    AppSecret::parse(text)
        .map(Some)
        .map_err(|e| AgentError::Internal(Internal(anyhow::anyhow!("{e}"))))
}

/// Makes the tenant's app shared secret, or (with `rotate`) replaces it; without `rotate` an
/// existing one is answered unchanged. The Zendesk admin pastes it into the app's
/// `shared_secret` setting.
pub async fn make_app_secret(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    rotate: bool,
    now: i64,
) -> Result<AppSecret, AgentError> {
    if !rotate {
        if let Some(secret) = app_secret(db, zendesk, tenant_id, subdomain).await? {
            return Ok(secret);
        }
    }
    let secret = AppSecret::generate();
    let mut plain = zeroize::Zeroizing::new(APP_SECRET_PREFIX.to_vec());
    plain.extend_from_slice(secret.expose().as_bytes());
    let sealed = zendesk.cipher.seal_bytes(subdomain, &plain);
    db.set_app_secret(tenant_id, &sealed, now).await?;
    tracing::info!(tenant = %tenant_id, rotate, "zendesk app secret made");
    Ok(secret)
}

/// [`make_app_secret`] for a Zendesk subdomain, making its tenant first when the account has
/// none yet (its installation is pinned by the first sign-in). Answers the tenant id too.
pub async fn make_app_secret_for(
    db: &Database,
    zendesk: &Zendesk,
    subdomain: &Subdomain,
    rotate: bool,
    now: i64,
) -> Result<(String, AppSecret), AgentError> {
    let tenant = match db.tenant_by_subdomain(subdomain).await? {
        Some(t) => t,
        None => {
            let mut id_bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut id_bytes);
            let id =
                base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id_bytes);
            db.create_zendesk_tenant_with(&id, subdomain, None, &settings::new_widget_key(), now)
                .await?
        }
    };
    let secret = make_app_secret(db, zendesk, &tenant.id, subdomain, rotate, now).await?;
    Ok((tenant.id, secret))
}

/// Sealed beside the grant's tokens under the same key and tenant; the prefix keeps one
/// from being read as the other.
const APP_SECRET_PREFIX: &[u8] = b"sealdrop-app-secret:";

/// Pins the installation a verified token names (the first one, or a reinstalled app's);
/// `Some(status)`: a reinstall that nothing can confirm yet, for which the caller gets a setup
/// session.
#[allow(clippy::too_many_arguments)]
async fn pin_installation(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    installation: Option<&Installation>,
    pem: &str,
    identity: &signed_url::ZafIdentity,
    now: i64,
) -> Result<Option<GrantStatus>, SignInError> {
    match installation {
        None => {
            db.record_installation(tenant_id, identity.installation_id, pem, now)
                .await?;
            Ok(None)
        }
        Some(pinned) if pinned.installation_id != identity.installation_id => {
            match reinstall(db, zendesk, tenant_id, subdomain, pinned, identity, now)
                .await
                .map_err(|e| SignInError::Agent(Some(subdomain.clone()), e))?
            {
                Reinstall::Pinned => Ok(None),
                Reinstall::Unconfirmed(status) => Ok(Some(status)),
                Reinstall::PinnedStillInstalled => Err(SignInError::Token(
                    Some(subdomain.clone()),
                    SignedUrlError::Audience,
                )),
            }
        }
        Some(_) => Ok(None),
    }
}

/// Records the activity, checks the role and issues the session.
async fn finish(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: String,
    subdomain: Subdomain,
    identity: &signed_url::ZafIdentity,
    unconfirmed: Option<GrantStatus>,
    now: i64,
) -> Result<SignedIn, SignInError> {
    // Someone of the tenant opened the app: it is in use (crate::lifecycle).
    db.record_activity(&tenant_id, now).await?;
    let check = match unconfirmed {
        Some(status) => RoleCheck::NoGrant(status),
        None => check_role(db, zendesk, &tenant_id, &subdomain, identity.user_id, now)
            .await
            .map_err(|e| SignInError::Agent(Some(subdomain.clone()), e))?,
    };
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
        tenant_id,
        user_id: identity.user_id,
        check,
        session,
    })
}

/// What a token from another installation than the pinned one comes to.
enum Reinstall {
    /// The pinned installation is gone: the new one is pinned in its place.
    Pinned,
    /// The pinned installation still exists (a second installation): refused.
    PinnedStillInstalled,
    /// Nothing can tell (no working grant, or no `apps:read` in it): a setup session, so an
    /// admin can authorize again; nothing pinned. The grant status the page reports.
    Unconfirmed(GrantStatus),
}

/// A token naming another installation than the pinned one: the app reinstalled (the pinned
/// installation is recorded as uninstalled, or Zendesk answers `404` for it now) has its new
/// installation pinned; a second installation beside a live one is refused.
async fn reinstall(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    pinned: &Installation,
    identity: &signed_url::ZafIdentity,
    now: i64,
) -> Result<Reinstall, AgentError> {
    if pinned.uninstalled_at.is_none() {
        let status = installation_status(
            db,
            zendesk,
            tenant_id,
            subdomain,
            pinned.installation_id,
            now,
        )
        .await?;
        match status {
            InstallationStatus::Uninstalled => {}
            InstallationStatus::Installed => {
                tracing::warn!(
                    tenant = %tenant_id,
                    pinned = pinned.installation_id,
                    offered = identity.installation_id,
                    "sign-in from another installation while the pinned one exists: refused"
                );
                return Ok(Reinstall::PinnedStillInstalled);
            }
            InstallationStatus::NoAppsScope => {
                return Ok(Reinstall::Unconfirmed(GrantStatus::NeedsReauthorization))
            }
            InstallationStatus::NoGrant => {
                let status = match db.grant_status(tenant_id).await? {
                    GrantStatus::Active => GrantStatus::NeedsReauthorization,
                    other => other,
                };
                return Ok(Reinstall::Unconfirmed(status));
            }
        }
    }
    match db
        .repin_installation(
            tenant_id,
            pinned.installation_id,
            identity.installation_id,
            now,
        )
        .await?
    {
        Some(cancelled) => {
            tracing::info!(
                tenant = %tenant_id,
                from = pinned.installation_id,
                to = identity.installation_id,
                deletion_cancelled = cancelled,
                "app reinstalled: new installation pinned"
            );
            Ok(Reinstall::Pinned)
        }
        // Another instance re-pinned meanwhile: fine if it pinned this same installation.
        None => {
            let now_pinned = db.installation(tenant_id).await?;
            Ok(
                if now_pinned.is_some_and(|i| i.installation_id == identity.installation_id) {
                    Reinstall::Pinned
                } else {
                    Reinstall::PinnedStillInstalled
                },
            )
        }
    }
}
