//! Who may get a package's server secret `S` (and its ciphertext): docs/API.md "open".
//!
//! | package | besides the link proof `A` |
//! |---|---|
//! | `require_auth` off | nothing |
//! | `require_auth` on (an agent's, or any Help Center upload) | a recipient session for this package, or an agent session of the package's tenant whose role is allowed now |
//!
//! This is the one place that decides; `open` and `download` both ask it.

use crate::agents::{self, Zendesk};
use crate::db::{Database, Package};
use crate::packages::PackageError;
use crate::verification;

/// The sessions a caller presented besides the link proof.
#[derive(Debug, Default, Clone)]
pub struct ReleaseCredentials {
    /// An `sdr_…` recipient session (from an email code).
    pub recipient_session: Option<String>,
    /// An `sda_…` agent session.
    pub agent_session: Option<String>,
}

/// Whether the caller may have `package`'s secret: `Ok` when the package does not require
/// authentication, or the caller holds a recipient session for it, or an agent session of
/// its tenant whose role is allowed now; otherwise [`PackageError::VerificationRequired`]
/// (also for another tenant's agent).
pub async fn may_release(
    db: &Database,
    zendesk: &Zendesk,
    package: &Package,
    credentials: &ReleaseCredentials,
    now: i64,
) -> Result<(), PackageError> {
    if !package.require_auth {
        return Ok(());
    }
    if let Some(session) = &credentials.recipient_session {
        if verification::session_for(db, session, &package.id, now)
            .await?
            .is_some()
        {
            return Ok(());
        }
    }
    if let Some(token) = &credentials.agent_session {
        let (ctx, _role) = agents::authorize(db, zendesk, token, now).await?;
        if ctx.tenant.id == package.tenant_id {
            return Ok(());
        }
    }
    Err(PackageError::VerificationRequired)
}
