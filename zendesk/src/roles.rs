//! Role restrictions: which Zendesk users a tenant lets use sealdrop.
//!
//! The admin lists allowed roles in the tenant settings ([`AllowedRole`]): `admin`,
//! `agent` (every agent, whatever custom role they have), or `custom:{id}` (agents with that
//! Zendesk custom role). A user is permitted when active, not suspended, and matched by one
//! entry; end users and any role Zendesk may add later are refused.
//!
//! Roles are read through the tenant's grant (`GET /api/v2/users/{id}`). The server keeps
//! what it read for [`DEFAULT_LIFETIME`] (60 s by default) in its database, shared by every
//! instance (`zendesk_role_cache`): a role changed in Zendesk is seen at most that long
//! afterwards.

use std::time::Duration;

use super::api::User;
use super::session::ConfirmedRole;

/// How long a role read from Zendesk is trusted.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// One entry of a tenant's allowed-roles setting.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AllowedRole {
    /// Zendesk admins.
    Admin,
    /// Every agent.
    Agent,
    /// Agents with this custom role id.
    Custom(u64),
}

impl AllowedRole {
    /// Parses `admin`, `agent` or `custom:{id}`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "admin" => Some(Self::Admin),
            "agent" => Some(Self::Agent),
            other => other
                .strip_prefix("custom:")
                .and_then(|id| id.parse().ok())
                .map(Self::Custom),
        }
    }

    /// The setting's text form.
    pub fn as_setting(&self) -> String {
        match self {
            Self::Admin => "admin".into(),
            Self::Agent => "agent".into(),
            Self::Custom(id) => format!("custom:{id}"),
        }
    }
}

/// A tenant's role policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicy {
    allowed: Vec<AllowedRole>,
}

impl Default for RolePolicy {
    /// Admins and agents, the default of a new tenant.
    fn default() -> Self {
        Self {
            allowed: vec![AllowedRole::Admin, AllowedRole::Agent],
        }
    }
}

impl RolePolicy {
    /// A policy allowing exactly these roles.
    pub fn new(allowed: Vec<AllowedRole>) -> Self {
        Self { allowed }
    }

    /// The allowed roles.
    pub fn allowed(&self) -> &[AllowedRole] {
        &self.allowed
    }

    /// The user's role if the policy allows it.
    pub fn permits(&self, user: &User) -> Option<ConfirmedRole> {
        let role = confirmed_role(user)?;
        let ok = self.allowed.iter().any(|a| match (a, &role) {
            (AllowedRole::Admin, ConfirmedRole::Admin) => true,
            (AllowedRole::Agent, ConfirmedRole::Agent | ConfirmedRole::CustomRole(_)) => true,
            (AllowedRole::Custom(want), ConfirmedRole::CustomRole(have)) => want == have,
            _ => false,
        });
        ok.then_some(role)
    }
}

/// The user's role as sealdrop understands it; `None` for end users, suspended or deleted
/// users and unknown roles.
pub fn confirmed_role(user: &User) -> Option<ConfirmedRole> {
    if !user.active || user.suspended {
        return None;
    }
    match user.role.as_str() {
        "admin" => Some(ConfirmedRole::Admin),
        "agent" => Some(match user.custom_role_id {
            Some(id) => ConfirmedRole::CustomRole(id),
            None => ConfirmedRole::Agent,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u64, role: &str, custom: Option<u64>) -> User {
        User {
            id,
            name: String::new(),
            email: None,
            role: role.into(),
            role_type: None,
            custom_role_id: custom,
            active: true,
            suspended: false,
        }
    }

    #[test]
    fn settings_parse_and_print() {
        for s in ["admin", "agent", "custom:42"] {
            assert_eq!(
                AllowedRole::parse(s).map(|r| r.as_setting()),
                Some(s.to_string())
            );
        }
        assert_eq!(AllowedRole::parse("end-user"), None);
        assert_eq!(AllowedRole::parse("custom:x"), None);
    }

    #[test]
    fn the_policy_admits_only_listed_roles() {
        let admins_and_role_7 = RolePolicy::new(vec![AllowedRole::Admin, AllowedRole::Custom(7)]);
        assert_eq!(
            admins_and_role_7.permits(&user(1, "admin", None)),
            Some(ConfirmedRole::Admin)
        );
        assert_eq!(
            admins_and_role_7.permits(&user(2, "agent", Some(7))),
            Some(ConfirmedRole::CustomRole(7))
        );
        assert_eq!(admins_and_role_7.permits(&user(3, "agent", Some(8))), None);
        assert_eq!(admins_and_role_7.permits(&user(4, "agent", None)), None);
        assert_eq!(admins_and_role_7.permits(&user(5, "end-user", None)), None);
        assert_eq!(
            admins_and_role_7.permits(&user(6, "owner", None)),
            None,
            "unknown roles are refused"
        );

        let agents = RolePolicy::new(vec![AllowedRole::Agent]);
        assert_eq!(
            agents.permits(&user(3, "agent", Some(8))),
            Some(ConfirmedRole::CustomRole(8))
        );
        assert_eq!(agents.permits(&user(1, "admin", None)), None);

        let mut suspended = user(9, "admin", None);
        suspended.suspended = true;
        assert_eq!(RolePolicy::default().permits(&suspended), None);
        assert_eq!(
            RolePolicy::new(vec![]).permits(&user(1, "admin", None)),
            None
        );
    }
}
