//! Roles: confirmed through the admin's grant (`GET /api/v2/users/{id}`), cached per (tenant,
//! user) in the database for the configured lifetime, then checked against the tenant's
//! allowed roles.

use super::{grant, AgentError, Zendesk};
use crate::db::{Database, GrantStatus};
use crate::settings;
use crate::zendesk::api::{ApiError, User};
use crate::zendesk::roles::{self, RolePolicy};
use crate::zendesk::session::ConfirmedRole;
use crate::zendesk::Subdomain;

/// How a role is cached: `admin`, `agent`, the custom role id, or `end-user` for anyone
/// sealdrop never admits (end users, suspended, deleted, unknown).
fn role_text(role: Option<&ConfirmedRole>) -> String {
    match role {
        Some(ConfirmedRole::Admin) => "admin".into(),
        Some(ConfirmedRole::Agent) => "agent".into(),
        Some(ConfirmedRole::CustomRole(id)) => id.to_string(),
        None => "end-user".into(),
    }
}

fn role_from_text(text: &str) -> Option<ConfirmedRole> {
    match text {
        "admin" => Some(ConfirmedRole::Admin),
        "agent" => Some(ConfirmedRole::Agent),
        other => other.parse().ok().map(ConfirmedRole::CustomRole),
    }
}

/// The setting-style name of a role (`admin`, `agent`, `custom:{id}`).
pub fn role_name(role: &ConfirmedRole) -> String {
    match role {
        ConfirmedRole::Admin => "admin".into(),
        ConfirmedRole::Agent => "agent".into(),
        ConfirmedRole::CustomRole(id) => format!("custom:{id}"),
    }
}

/// Whether `policy` admits `role` (by the roles module's own rule).
fn policy_allows(policy: &RolePolicy, role: &ConfirmedRole) -> bool {
    let (name, custom_role_id) = match role {
        ConfirmedRole::Admin => ("admin", None),
        ConfirmedRole::Agent => ("agent", None),
        ConfirmedRole::CustomRole(id) => ("agent", Some(*id)),
    };
    let user = User {
        id: 0,
        name: String::new(),
        email: None,
        role: name.into(),
        role_type: None,
        custom_role_id,
        active: true,
        suspended: false,
    };
    policy.permits(&user).is_some()
}

/// What the server knows about an agent's role right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCheck {
    /// Confirmed and allowed.
    Allowed(ConfirmedRole),
    /// Confirmed, not allowed by the tenant's settings (`None`: not an agent at all).
    NotAllowed(Option<ConfirmedRole>),
    /// Cannot be confirmed: no working grant.
    NoGrant(GrantStatus),
}

/// Confirms a user's role: from the role cache while fresh, else from the Zendesk API through
/// the grant (and cached). Then applies the tenant's allowed roles.
pub async fn check_role(
    db: &Database,
    zendesk: &Zendesk,
    tenant_id: &str,
    subdomain: &Subdomain,
    user_id: u64,
    now: i64,
) -> Result<RoleCheck, AgentError> {
    let lifetime = zendesk.config.role_cache.as_secs() as i64;
    let settings = settings::load_or_create(db, tenant_id, now).await?;
    // Without a working grant, nothing is confirmed: a cached answer would outlive the
    // admin's decision to revoke access.
    let status = db.grant_status(tenant_id).await?;
    if status != GrantStatus::Active {
        return Ok(RoleCheck::NoGrant(status));
    }
    let fresh = db
        .cached_role(tenant_id, user_id)
        .await?
        .filter(|(_, checked_at)| (0..lifetime).contains(&(now - checked_at)))
        .map(|(text, _)| text);
    let role = match fresh {
        Some(text) => role_from_text(&text),
        None => {
            let client = match grant::api_client(db, zendesk, tenant_id, subdomain, now).await? {
                Ok(client) => client,
                Err(status) => return Ok(RoleCheck::NoGrant(status)),
            };
            let role = match client.user(user_id).await {
                Ok(user) if user.id == user_id => roles::confirmed_role(&user),
                Ok(_) | Err(ApiError::NotFound) => None,
                Err(ApiError::GrantRevoked { status }) => {
                    grant::mark_lost(db, tenant_id, &format!("http_{status}"), now).await?;
                    return Ok(RoleCheck::NoGrant(GrantStatus::NeedsReauthorization));
                }
                Err(e) => return Err(grant::api_error(db, tenant_id, e, now).await),
            };
            db.cache_role(tenant_id, user_id, &role_text(role.as_ref()), now)
                .await?;
            role
        }
    };
    Ok(match role {
        Some(role) if policy_allows(&settings.policy(), &role) => RoleCheck::Allowed(role),
        other => RoleCheck::NotAllowed(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_roles_round_trip() {
        for role in [
            Some(ConfirmedRole::Admin),
            Some(ConfirmedRole::Agent),
            Some(ConfirmedRole::CustomRole(7)),
            None,
        ] {
            assert_eq!(role_from_text(&role_text(role.as_ref())), role);
        }
    }

    #[test]
    fn the_policy_rule_is_the_roles_modules() {
        use crate::zendesk::roles::AllowedRole;
        let p = RolePolicy::new(vec![AllowedRole::Admin, AllowedRole::Custom(7)]);
        assert!(policy_allows(&p, &ConfirmedRole::Admin));
        assert!(policy_allows(&p, &ConfirmedRole::CustomRole(7)));
        assert!(!policy_allows(&p, &ConfirmedRole::CustomRole(8)));
        assert!(!policy_allows(&p, &ConfirmedRole::Agent));
    }
}
