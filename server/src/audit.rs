//! The audit log as a tenant reads it (`GET /api/v1/audit`): its events, newest first, one
//! page at a time. Events are written where they happen, through [`Database::audit`].

use crate::db::{AuditEvent, AuditFilter, Database};
use crate::internal::Internal;

/// One page of a tenant's events, newest first.
#[derive(Debug)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditEvent>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// The tenant's events that `filter` selects.
pub async fn page(
    db: &Database,
    tenant_id: &str,
    filter: &AuditFilter<'_>,
) -> Result<AuditPage, Internal> {
    let events = db.audit_events(tenant_id, filter).await?;
    let next_before = (events.len() as i64 == filter.limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(AuditPage {
        events,
        next_before,
    })
}
