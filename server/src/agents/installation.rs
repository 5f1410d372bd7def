//! Asking Zendesk, through the tenant's grant, whether the app installation is still there
//! (`GET /api/v2/apps/installations/{id}`) and who the granting admin is: what the lifecycle
//! check ([`crate::lifecycle`]) and the re-pinning of a reinstalled app
//! ([`super::sign_in`]) need to know.

use super::grant::{api_client, mark_lost};
use super::{zendesk_unavailable, AgentError, Zendesk};
use crate::db::Database;
use crate::zendesk::api::ApiError;
use crate::zendesk::Subdomain;

/// What Zendesk says about an installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallationStatus {
    /// Zendesk shows it.
    Installed,
    /// Zendesk answered `404`: it was uninstalled (a reinstalled app gets a new id).
    Uninstalled,
    /// There is no working grant to ask with: none was made, an admin must authorize again,
    /// or Zendesk refused it just now (`401`, or `403` on a grant that cannot even read its
    /// own admin, which is then marked as needing re-authorization).
    NoGrant,
    /// The grant works but may not read app installations: it was made before sealdrop
    /// asked for the `apps:read` scope. Nothing can be concluded until an admin authorizes
    /// again.
    NoAppsScope,
}

/// Asks Zendesk about installation `installation_id` of the tenant's account.
pub async fn installation_status(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    installation_id: u64,
    now: i64,
) -> Result<InstallationStatus, AgentError> {
    let client = match api_client(db, zendesk, tenant_id, subdomain, now).await? {
        Ok(client) => client,
        Err(_) => return Ok(InstallationStatus::NoGrant),
    };
    let refused = match client.app_installation(installation_id).await {
        Ok(Some(_)) => return Ok(InstallationStatus::Installed),
        Ok(None) => return Ok(InstallationStatus::Uninstalled),
        Err(ApiError::GrantRevoked { status: 403 }) => {
            // A grant without the apps scope gets 403 too: tell it from a dead grant by asking
            // for what every grant may read.
            match client.me().await {
                Ok(_) => return Ok(InstallationStatus::NoAppsScope),
                Err(ApiError::GrantRevoked { status }) => status,
                Err(e) => return Err(zendesk_unavailable(e)),
            }
        }
        Err(ApiError::GrantRevoked { status }) => status,
        Err(ApiError::RateLimited { retry_after_secs }) => {
            return Err(AgentError::ZendeskRateLimited(
                retry_after_secs.unwrap_or(60),
            ))
        }
        Err(e) => return Err(zendesk_unavailable(e)),
    };
    mark_lost(db, tenant_id, &format!("http_{refused}"), now).await?;
    Ok(InstallationStatus::NoGrant)
}

/// The granting admin's email as Zendesk gives it now (`GET /api/v2/users/{id}` through the
/// grant); `None` without a working grant or when Zendesk has no address for them.
pub async fn granting_admin_email(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    admin_id: u64,
    now: i64,
) -> Result<Option<String>, AgentError> {
    let client = match api_client(db, zendesk, tenant_id, subdomain, now).await? {
        Ok(client) => client,
        Err(_) => return Ok(None),
    };
    match client.user(admin_id).await {
        Ok(user) => Ok(user.email.filter(|e| !e.trim().is_empty())),
        Err(ApiError::NotFound | ApiError::GrantRevoked { .. }) => Ok(None),
        Err(e) => Err(zendesk_unavailable(e)),
    }
}
