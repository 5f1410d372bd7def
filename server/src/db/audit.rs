//! `audit_events`: the tenant's log of every event that matters. Details are small JSON
//! objects and never hold a secret.

use sqlx::{AnyConnection, Row};

use super::Database;

pub use sealdrop_api::audit::AuditKind;

/// One audit log entry.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Increasing id (use as a cursor).
    pub id: i64,
    /// Package concerned, if any.
    pub package_id: Option<String>,
    /// What happened (the stored name: a kind this version does not know reads as it is).
    pub event: String,
    /// Small JSON object with details (never a secret).
    pub detail: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Which events [`Database::audit_events`] returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    /// Only this package's.
    pub package_id: Option<&'a str>,
    /// Only this kind.
    pub kind: Option<AuditKind>,
    /// Only at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only with an id below this (the previous page's last id).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Appends an event on `conn` (inside the caller's transaction).
pub(super) async fn insert(
    conn: &mut AnyConnection,
    tenant_id: &str,
    package_id: Option<&str>,
    kind: AuditKind,
    detail: Option<&serde_json::Value>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, package_id, event, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tenant_id)
    .bind(package_id)
    .bind(kind.as_str())
    .bind(detail.map(|d| d.to_string()))
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

impl Database {
    /// Deletes audit events older than their tenant's audit retention (`default_days` where
    /// the tenant's settings name none); returns how many.
    pub async fn delete_old_audit_events(&self, now: i64, default_days: u32) -> sqlx::Result<u64> {
        let done = sqlx::query(
            "DELETE FROM audit_events WHERE created_at <= $1 - COALESCE( \
                (SELECT s.audit_retention_days FROM tenant_settings s \
                 WHERE s.tenant_id = audit_events.tenant_id), $2) * 86400",
        )
        .bind(now)
        .bind(i64::from(default_days))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Appends an audit event. `detail` is a small JSON object and never holds a secret.
    pub async fn audit(
        &self,
        tenant_id: &str,
        package_id: Option<&str>,
        kind: AuditKind,
        detail: Option<&serde_json::Value>,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert(&mut conn, tenant_id, package_id, kind, detail, now).await
    }

    /// A tenant's audit events, newest first.
    pub async fn audit_events(
        &self,
        tenant_id: &str,
        filter: &AuditFilter<'_>,
    ) -> sqlx::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, package_id, event, detail, created_at FROM audit_events \
             WHERE tenant_id = $1 AND ($2 IS NULL OR package_id = $2) AND ($3 IS NULL OR id < $3) \
             AND ($4 IS NULL OR event = $4) AND ($5 IS NULL OR created_at >= $5) \
             ORDER BY id DESC LIMIT $6",
        )
        .bind(tenant_id)
        .bind(filter.package_id)
        .bind(filter.before_id)
        .bind(filter.kind.map(AuditKind::as_str))
        .bind(filter.since)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_event).collect()
    }
}

/// An audit row selected as `id, package_id, event, detail, created_at`.
pub(super) fn audit_event(r: &sqlx::any::AnyRow) -> sqlx::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.try_get(0)?,
        package_id: r.try_get(1)?,
        event: r.try_get(2)?,
        detail: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}
