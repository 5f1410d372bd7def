//! `scheduled_deletions` and `tenants.last_active_at`: what the lifecycle check
//! ([`crate::lifecycle`]) keeps about Zendesk tenants whose app is gone or whose grant no longer
//! works.

use serde_json::json;
use sqlx::Row;

use super::{audit, bad_column, AuditKind, Database};

/// Why a tenant is scheduled for deletion (`scheduled_deletions.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletionReason {
    /// Zendesk answered `404` for the pinned installation: the app was uninstalled.
    Uninstalled,
    /// The server has no working grant (none was made, Zendesk refused it, or an admin must
    /// authorize again), so nothing can confirm the app is still there.
    NoGrant,
}

impl DeletionReason {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uninstalled => "uninstalled",
            Self::NoGrant => "no_grant",
        }
    }

    fn parse(text: &str) -> sqlx::Result<Self> {
        match text {
            "uninstalled" => Ok(Self::Uninstalled),
            "no_grant" => Ok(Self::NoGrant),
            other => Err(bad_column("reason", format!("unknown reason {other:?}"))),
        }
    }
}

/// A tenant's scheduled deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDeletion {
    /// Why.
    pub reason: DeletionReason,
    /// The first check that saw the reason (Unix seconds).
    pub detected_at: i64,
    /// When the tenant is deleted, unless the reason goes away first.
    pub delete_at: i64,
    /// When its admin was mailed about it, if they were.
    pub notified_at: Option<i64>,
}

/// A Zendesk tenant as the lifecycle check reads it.
#[derive(Debug, Clone)]
pub struct LifecycleTenant {
    /// The tenant.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its Zendesk subdomain (text; the caller parses it).
    pub subdomain: String,
    /// When its people last used sealdrop (its creation when never).
    pub last_active_at: i64,
    /// Its scheduled deletion, if any.
    pub schedule: Option<ScheduledDeletion>,
}

impl Database {
    /// Records that the tenant's people used sealdrop at `now` (a sign-in, a package).
    pub async fn record_activity(&self, tenant_id: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE tenants SET last_active_at = $1 \
             WHERE id = $2 AND (last_active_at IS NULL OR last_active_at < $1)",
        )
        .bind(now)
        .bind(tenant_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Every tenant that came from Zendesk, oldest first, with its scheduled deletion.
    pub async fn lifecycle_tenants(&self) -> sqlx::Result<Vec<LifecycleTenant>> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.zendesk_subdomain, COALESCE(t.last_active_at, t.created_at), \
             s.reason, s.detected_at, s.delete_at, s.notified_at \
             FROM tenants t LEFT JOIN scheduled_deletions s ON s.tenant_id = t.id \
             WHERE t.zendesk_subdomain IS NOT NULL ORDER BY t.created_at, t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reason: Option<String> = r.try_get(4)?;
                let schedule = match reason {
                    Some(reason) => Some(ScheduledDeletion {
                        reason: DeletionReason::parse(&reason)?,
                        detected_at: r.try_get(5)?,
                        delete_at: r.try_get(6)?,
                        notified_at: r.try_get(7)?,
                    }),
                    None => None,
                };
                Ok(LifecycleTenant {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    subdomain: r.try_get(2)?,
                    last_active_at: r.try_get(3)?,
                    schedule,
                })
            })
            .collect()
    }

    /// Schedules the tenant's deletion and records `deletion_scheduled`, in one transaction.
    /// `false` when it was scheduled already (by another instance, say): then nothing changes.
    pub async fn schedule_deletion(
        &self,
        tenant_id: &str,
        reason: DeletionReason,
        detected_at: i64,
        delete_at: i64,
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO scheduled_deletions (tenant_id, reason, detected_at, delete_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(reason.as_str())
        .bind(detected_at)
        .bind(delete_at)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        let detail = json!({
            "reason": reason.as_str(),
            "delete_at": crate::clock::rfc3339(delete_at),
        });
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::DeletionScheduled,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Moves a scheduled deletion's date (later activity postpones it).
    pub async fn reschedule_deletion(&self, tenant_id: &str, delete_at: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE scheduled_deletions SET delete_at = $1 WHERE tenant_id = $2")
            .bind(delete_at)
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Takes the right to mail the admin about the scheduled deletion: `true` for the one
    /// caller that marks it notified. [`Database::release_deletion_notice`] undoes it when
    /// the mail could not be sent.
    pub async fn claim_deletion_notice(&self, tenant_id: &str, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE scheduled_deletions SET notified_at = $1 \
             WHERE tenant_id = $2 AND notified_at IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the scheduled deletion's notice as not sent (the mail failed; the next check
    /// tries again).
    pub async fn release_deletion_notice(&self, tenant_id: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE scheduled_deletions SET notified_at = NULL WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Takes the right to carry out a due deletion: `true` for the one caller that marks it
    /// started, or when the last start is older than `stale_before` (that instance died).
    pub async fn claim_scheduled_deletion(
        &self,
        tenant_id: &str,
        now: i64,
        stale_before: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE scheduled_deletions SET deleting_at = $1 \
             WHERE tenant_id = $2 AND delete_at <= $1 AND (deleting_at IS NULL OR deleting_at < $3)",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(stale_before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels a scheduled deletion (the app is installed and the grant works) and forgets
    /// that the installation was uninstalled; records `deletion_cancelled` when there was one.
    /// Returns whether a deletion was scheduled.
    pub async fn cancel_scheduled_deletion(&self, tenant_id: &str, now: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE zendesk_installations SET uninstalled_at = NULL WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT reason FROM scheduled_deletions WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            tx.commit().await?;
            return Ok(false);
        };
        let reason: String = row.try_get(0)?;
        sqlx::query("DELETE FROM scheduled_deletions WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::DeletionCancelled,
            Some(&json!({ "reason": reason })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
