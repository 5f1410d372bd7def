//! Role restrictions: which Zendesk users a tenant lets use sealdrop, and a cache of roles.
//!
//! The admin lists allowed roles in the tenant settings ([`AllowedRole`]): `admin`,
//! `agent` (every agent, whatever custom role they have), or `custom:{id}` (agents with that
//! Zendesk custom role). A user is permitted when active, not suspended, and matched by one
//! entry; end users and any role Zendesk may add later are refused.
//!
//! Roles are read through the tenant's grant (`GET /api/v2/users/{id}`) and cached per
//! (tenant, user) for [`DEFAULT_LIFETIME`] (60 s): a role changed in Zendesk is seen by the
//! server at most that long afterwards. The cache is a per-process convenience, not shared
//! state: every instance converges within the same lifetime. Errors are never cached.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::api::{ApiError, User};
use super::session::ConfirmedRole;
use super::Subdomain;

/// How long a role read from Zendesk is trusted.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// Entries kept at most; the cache is cleared when it would grow past this.
const MAX_ENTRIES: usize = 100_000;

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

/// Why a user was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// The user's role is not in the tenant's allowed roles.
    #[error("your Zendesk role is not allowed to use sealdrop in this account")]
    NotAllowed,
    /// Zendesk could not be asked (the grant may be gone: see [`ApiError::GrantRevoked`]).
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Roles read from Zendesk, per (tenant, user), for a stated lifetime.
#[derive(Debug)]
pub struct RoleCache {
    lifetime: Duration,
    entries: Mutex<HashMap<(Subdomain, u64), (Instant, User)>>,
}

impl Default for RoleCache {
    fn default() -> Self {
        Self::new(DEFAULT_LIFETIME)
    }
}

impl RoleCache {
    /// A cache whose entries live `lifetime`.
    pub fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The stated lifetime.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The user as Zendesk last described them, fetching with `fetch` when the cached entry
    /// is missing or older than the lifetime.
    pub async fn user<F, Fut>(
        &self,
        tenant: &Subdomain,
        user_id: u64,
        fetch: F,
    ) -> Result<User, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<User, ApiError>>,
    {
        let key = (tenant.clone(), user_id);
        if let Some((at, user)) = self.lock().get(&key) {
            if at.elapsed() < self.lifetime {
                return Ok(user.clone());
            }
        }
        let user = fetch().await?;
        if user.id != user_id {
            return Err(ApiError::Decode("Zendesk answered for another user".into()));
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), user.clone()));
        Ok(user)
    }

    /// Checks `user_id` of `tenant` against `policy`; `fetch` reads the user from Zendesk
    /// (normally `|| client.user(user_id)`).
    pub async fn check<F, Fut>(
        &self,
        tenant: &Subdomain,
        user_id: u64,
        policy: &RolePolicy,
        fetch: F,
    ) -> Result<ConfirmedRole, RoleError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<User, ApiError>>,
    {
        let user = self.user(tenant, user_id, fetch).await?;
        policy.permits(&user).ok_or(RoleError::NotAllowed)
    }

    /// Forgets everything about a tenant (after its settings or grant change).
    pub fn forget_tenant(&self, tenant: &Subdomain) {
        self.lock().retain(|(t, _), _| t != tenant);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Subdomain, u64), (Instant, User)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

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

    #[tokio::test]
    async fn the_cache_answers_within_its_lifetime_and_asks_again_after() {
        let cache = RoleCache::new(Duration::from_millis(200));
        let acme = Subdomain::parse("acme").expect("valid");
        let calls = AtomicU32::new(0);
        let fetch = |role: &'static str| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { Ok(user(5, role, None)) }
        };
        let policy = RolePolicy::new(vec![AllowedRole::Admin]);
        assert_eq!(
            cache.check(&acme, 5, &policy, || fetch("admin")).await,
            Ok(ConfirmedRole::Admin)
        );
        // Zendesk now says "agent", but the cached answer stands within the lifetime.
        assert_eq!(
            cache.check(&acme, 5, &policy, || fetch("agent")).await,
            Ok(ConfirmedRole::Admin)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            cache.check(&acme, 5, &policy, || fetch("agent")).await,
            Err(RoleError::NotAllowed)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn tenants_never_share_entries_and_errors_are_not_cached() {
        let cache = RoleCache::new(Duration::from_secs(60));
        let acme = Subdomain::parse("acme").expect("valid");
        let globex = Subdomain::parse("globex").expect("valid");
        let policy = RolePolicy::default();
        assert!(cache
            .check(&acme, 5, &policy, || async { Ok(user(5, "admin", None)) })
            .await
            .is_ok());
        // Same user id in another tenant: not answered from acme's entry.
        assert_eq!(
            cache
                .check(&globex, 5, &policy, || async {
                    Err(ApiError::GrantRevoked { status: 401 })
                })
                .await,
            Err(RoleError::Api(ApiError::GrantRevoked { status: 401 }))
        );
        assert_eq!(
            cache
                .check(&globex, 5, &policy, || async {
                    Ok(user(5, "end-user", None))
                })
                .await,
            Err(RoleError::NotAllowed)
        );
        cache.forget_tenant(&acme);
        assert_eq!(
            cache
                .check(&acme, 5, &policy, || async {
                    Ok(user(5, "end-user", None))
                })
                .await,
            Err(RoleError::NotAllowed)
        );
    }
}
