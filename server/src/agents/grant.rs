//! The admin's API grant: started from the sidebar with PKCE ([`start_grant`]), finished on
//! the OAuth callback ([`finish_grant`], an admin's grant only), used through
//! [`api_client`] (refreshed when due) and marked lost when Zendesk refuses it.
//!
//! Tokens are sealed with the tenant-bound [`TokenCipher`](crate::zendesk::oauth::TokenCipher)
//! before they reach the database; the PKCE state is kept as a hash, its verifier sealed.

use serde_json::json;

use super::{zendesk_unavailable, AgentContext, AgentError, RoleCheck, Zendesk};
use crate::db::{AuditKind, Database, GrantStatus};
use crate::internal::{internal_failures, Internal};
use crate::zendesk::api::{ApiError, ZendeskClient};
use crate::zendesk::oauth::{self, OAuthError};
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::{roles, SecretString, Subdomain};

/// A Zendesk API client through the tenant's grant, refreshing the token first when due.
/// `Ok(Err(status))` when there is no working grant.
pub(super) async fn api_client(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    now: i64,
) -> Result<Result<ZendeskClient, GrantStatus>, AgentError> {
    let Some((sealed, status)) = db.sealed_grant(tenant_id).await? else {
        return Ok(Err(GrantStatus::Missing));
    };
    if status != GrantStatus::Active {
        return Ok(Err(status));
    }
    let mut grant = match zendesk.cipher.open(subdomain, &sealed) {
        Ok(grant) => grant,
        Err(e) => {
            // The token key changed or the row was tampered with: only a new grant helps.
            tracing::error!(tenant = %tenant_id, error = %e, "stored zendesk grant does not open");
            mark_lost(db, tenant_id, "sealed_token_unreadable", now).await?;
            return Ok(Err(GrantStatus::NeedsReauthorization));
        }
    };
    if grant.needs_refresh(crate::zendesk::signed_url::unix_now()) {
        let config = zendesk.oauth_config(subdomain);
        match oauth::refresh(&zendesk.http, &config, subdomain, &grant).await {
            Ok(fresh) => {
                let sealed = zendesk.cipher.seal(subdomain, &fresh);
                db.update_grant_tokens(tenant_id, &sealed, expiry(&fresh), now)
                    .await?;
                grant = fresh;
            }
            Err(OAuthError::GrantRevoked(_)) => {
                mark_lost(db, tenant_id, "refresh_refused", now).await?;
                return Ok(Err(GrantStatus::NeedsReauthorization));
            }
            Err(e) => return Err(zendesk_unavailable(e)),
        }
    }
    Ok(Ok(ZendeskClient::new(
        zendesk.http.clone(),
        zendesk.endpoints(subdomain).base_url(subdomain),
        grant.access_token,
    )))
}

fn expiry(grant: &oauth::Grant) -> Option<i64> {
    grant
        .expires_at
        .map(|e| i64::try_from(e).unwrap_or(i64::MAX))
}

/// Marks the grant as needing a new authorization (Zendesk refused it), once.
pub(super) async fn mark_lost(
    db: &Database,
    tenant_id: &str,
    why: &str,
    now: i64,
) -> Result<(), Internal> {
    if db.mark_grant_lost(tenant_id, why, now).await? {
        tracing::warn!(tenant = %tenant_id, why, "zendesk grant needs re-authorization");
    }
    Ok(())
}

/// An API error seen through the grant: a dead grant is marked, rate limits are passed on,
/// anything else is an internal error.
pub(super) async fn api_error(
    db: &Database,
    tenant_id: &str,
    err: ApiError,
    now: i64,
) -> AgentError {
    match err {
        ApiError::GrantRevoked { status } => {
            if let Err(e) = mark_lost(db, tenant_id, &format!("http_{status}"), now).await {
                return AgentError::Internal(e);
            }
            AgentError::ReauthorizationRequired
        }
        ApiError::RateLimited { retry_after_secs } => {
            AgentError::ZendeskRateLimited(retry_after_secs.unwrap_or(60))
        }
        other => zendesk_unavailable(other),
    }
}

/// Begins the grant for the agent of `ctx` and returns the URL of Zendesk's consent page.
///
/// With a working grant only a confirmed admin may start a new one; without one (setup or
/// re-authorization) any signed-in user may start, and [`finish_grant`] accepts the grant only
/// if Zendesk says it was made by an admin.
pub async fn start_grant(
    db: &Database,
    zendesk: &Zendesk,
    ctx: &AgentContext,
    now: i64,
) -> Result<url::Url, AgentError> {
    let subdomain = &ctx.session.tenant;
    let check = super::check_role(
        db,
        zendesk,
        &ctx.tenant.id,
        subdomain,
        ctx.session.user_id,
        now,
    )
    .await?;
    match check {
        RoleCheck::NoGrant(_) | RoleCheck::Allowed(ConfirmedRole::Admin) => {}
        _ => {
            return Err(AgentError::AdminOnly(
                "Only a Zendesk admin can authorize sealdrop's access to Zendesk.",
            ))
        }
    }
    let pending = oauth::begin(&zendesk.oauth_config(subdomain), subdomain);
    let sealed = zendesk
        .cipher
        .seal_bytes(subdomain, pending.code_verifier.expose().as_bytes());
    db.insert_pending_grant(
        &hex::encode(oauth::state_hash(pending.state.expose())),
        &ctx.tenant.id,
        &sealed,
        ctx.session.user_id,
        now + oauth::PENDING_LIFETIME.as_secs() as i64,
        now,
    )
    .await?;
    Ok(pending.authorize_url)
}

/// What Zendesk's OAuth callback brought back.
#[derive(Debug, Default)]
pub struct GrantRequest {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` made by [`start_grant`].
    pub state: Option<String>,
    /// Set when the user declined.
    pub error: Option<String>,
}

/// Why a grant was not stored; each message is for the person in the browser.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// No `state`, or (for a pending one) neither a code nor an error: not a callback Zendesk
    /// makes.
    #[error("This address is not an authorization answer from Zendesk. Start again from the sealdrop app.")]
    Malformed,
    /// Unknown, used or expired `state`.
    #[error("This authorization is unknown, already used or expired. Start again from the sealdrop app.")]
    Unknown,
    /// The user did not grant access in Zendesk.
    #[error("Access was not granted in Zendesk. Start again from the app to retry.")]
    Declined,
    /// Zendesk did not exchange the code.
    #[error("Zendesk did not complete the authorization: {0}. Start again from the app.")]
    Exchange(String),
    /// Zendesk did not say who granted access.
    #[error("Zendesk did not say who granted access; start again from the app.")]
    WhoGranted,
    /// The grant was made by someone who is not a Zendesk admin (its token is revoked).
    #[error("Only a Zendesk admin can authorize sealdrop. Ask your Zendesk admin to open the app and authorize it.")]
    NotAdmin,
    /// A failure on the server's side.
    #[error("Something went wrong on the sealdrop server; start again from the app.")]
    Internal(Internal),
}

internal_failures!(GrantError);

/// Finishes a grant: takes the pending authorization (single use), exchanges the code,
/// accepts only an admin's grant (checked with `GET /api/v2/users/me` through the new token),
/// stores it sealed and records `zendesk_granted`.
pub async fn finish_grant(
    db: &Database,
    zendesk: &Zendesk,
    request: GrantRequest,
    now: i64,
) -> Result<(), GrantError> {
    let raw_state = request
        .state
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or(GrantError::Malformed)?;
    let pending = db
        .take_pending_grant(&hex::encode(oauth::state_hash(&raw_state)), now)
        .await?
        .ok_or(GrantError::Unknown)?;
    if request.error.is_some() {
        return Err(GrantError::Declined);
    }
    let code = request
        .code
        .filter(|c| !c.is_empty() && c.len() <= 1024)
        .ok_or(GrantError::Malformed)?;
    let subdomain = db
        .subdomain_of(&pending.tenant_id)
        .await?
        .ok_or(GrantError::Unknown)?;
    let verifier = zendesk
        .cipher
        .open_bytes(&subdomain, &pending.verifier_sealed)
        .map_err(|e| GrantError::Internal(anyhow::Error::new(e).into()))?;
    let verifier = SecretString::new(String::from_utf8_lossy(&verifier).into_owned());
    let config = zendesk.oauth_config(&subdomain);
    let grant = oauth::exchange_code(&zendesk.http, &config, &subdomain, &code, &verifier)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %subdomain, "zendesk code exchange failed");
            GrantError::Exchange(e.to_string())
        })?;
    // Only an admin's grant is accepted: that is what makes a first visit an admin's set-up.
    let client = ZendeskClient::new(
        zendesk.http.clone(),
        zendesk.endpoints(&subdomain).base_url(&subdomain),
        grant.access_token.clone(),
    );
    let me = client.me().await.map_err(|e| {
        tracing::warn!(error = %e, %subdomain, "reading the granting user failed");
        GrantError::WhoGranted
    })?;
    if roles::confirmed_role(&me) != Some(ConfirmedRole::Admin) {
        if let Err(e) = client.revoke_current_token().await {
            tracing::warn!(error = %e, "revoking a non-admin's token failed");
        }
        return Err(GrantError::NotAdmin);
    }
    let sealed = zendesk.cipher.seal(&subdomain, &grant);
    let email = me.email.as_deref().filter(|e| !e.trim().is_empty());
    db.store_grant(
        &pending.tenant_id,
        &sealed,
        expiry(&grant),
        me.id,
        email,
        now,
    )
    .await?;
    let detail = json!({ "granted_by": me.id.to_string(), "started_by": pending.created_by });
    db.audit(
        &pending.tenant_id,
        None,
        AuditKind::ZendeskGranted,
        Some(&detail),
        now,
    )
    .await?;
    tracing::info!(tenant = %pending.tenant_id, %subdomain, "zendesk grant stored");
    Ok(())
}
