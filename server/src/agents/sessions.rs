//! Agent sessions (`sda_…`): issued at sign-in, checked on every call, and the agent's role
//! confirmed again each time ([`authorize`]): the role written into a session is informative
//! only.

use super::{check_role, AgentError, RoleCheck, Zendesk};
use crate::db::{Database, GrantStatus, Tenant};
use crate::zendesk::session::{AgentSession, ConfirmedRole, SessionError};

/// An agent whose session checked out (role not yet confirmed).
#[derive(Debug, Clone)]
pub struct AgentContext {
    /// The tenant.
    pub tenant: Tenant,
    /// What the session says.
    pub session: AgentSession,
}

/// Checks an `sda_…` token and finds its tenant.
pub async fn session_context(
    db: &Database,
    zendesk: &Zendesk,
    token: &str,
) -> Result<AgentContext, AgentError> {
    let session = zendesk.sessions.verify(token).map_err(|e| match e {
        SessionError::Expired => AgentError::ExpiredSession,
        _ => AgentError::InvalidSession,
    })?;
    let tenant = db
        .tenant_by_subdomain(&session.tenant)
        .await?
        .ok_or(AgentError::InvalidSession)?;
    Ok(AgentContext { tenant, session })
}

/// Checks an `sda_…` token and confirms that the agent's role is allowed now.
pub async fn authorize(
    db: &Database,
    zendesk: &Zendesk,
    token: &str,
    now: i64,
) -> Result<(AgentContext, ConfirmedRole), AgentError> {
    let ctx = session_context(db, zendesk, token).await?;
    let role = require_allowed(db, zendesk, &ctx, now).await?;
    Ok((ctx, role))
}

/// The agent's role, if allowed now; otherwise the error that says why not.
pub async fn require_allowed(
    db: &Database,
    zendesk: &Zendesk,
    ctx: &AgentContext,
    now: i64,
) -> Result<ConfirmedRole, AgentError> {
    let check = check_role(
        db,
        zendesk,
        &ctx.tenant.id,
        &ctx.session.tenant,
        ctx.session.user_id,
        now,
    )
    .await?;
    match check {
        RoleCheck::Allowed(role) => Ok(role),
        RoleCheck::NotAllowed(_) => Err(AgentError::RoleNotAllowed),
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => {
            Err(AgentError::ReauthorizationRequired)
        }
        RoleCheck::NoGrant(_) => Err(AgentError::SetupRequired),
    }
}
