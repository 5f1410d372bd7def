//! The purge task, which keeps data no longer than docs/DATA.md says:
//!
//! - the blobs of expired, revoked and downloaded-out packages (once no download token is
//!   live) are deleted and a `purged` event recorded; the row stays, marked `purged_at`, so the
//!   link says why it no longer opens, for the package retention (7 days by default, per
//!   tenant in its settings), then goes with every row that hangs off it;
//! - uploads never finalized within [`ABANDONED_UPLOAD_AGE`] go entirely (blobs, then rows);
//! - audit events older than the audit retention (365 days by default, per tenant);
//! - expired download tokens and idempotency keys, verification codes, recipient sessions and
//!   old rate-limit windows, and used ZAF sign-in tokens past their expiry.
//!
//! Runs every `purge_interval` in `sealdrop serve`, and on demand with `sealdrop admin
//! purge`. Safe to run on many instances at once (deletes are idempotent).

use std::sync::Arc;

use serde_json::json;

use crate::config::{Retention, WidgetLimits, ABANDONED_UPLOAD_AGE};
use crate::db::{AuditKind, Database, PurgeReason};
use crate::storage::{BlobKey, Storage};

/// Packages handled per database round.
const BATCH: i64 = 500;

/// What one purge run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Expired packages removed.
    pub expired: u64,
    /// Revoked packages removed.
    pub revoked: u64,
    /// Abandoned uploads removed.
    pub abandoned: u64,
    /// Packages whose every allowed download was used, their blobs removed.
    pub downloaded_out: u64,
    /// Package rows deleted at the end of their retention (their blobs went earlier).
    pub rows_deleted: u64,
    /// Audit events deleted at the end of their retention.
    pub audit_events: u64,
    /// Expired download tokens removed.
    pub download_tokens: u64,
    /// Packages that could not be removed this time (their blobs would not delete).
    pub failed: u64,
}

impl PurgeReport {
    /// Packages removed, for every reason.
    pub fn packages(&self) -> u64 {
        self.expired + self.revoked + self.abandoned + self.downloaded_out
    }
}

/// Runs one purge pass to completion.
pub async fn run_once(
    db: &Database,
    storage: &Arc<dyn Storage>,
    widget_limits: &WidgetLimits,
    retention: &Retention,
    now: i64,
) -> anyhow::Result<PurgeReport> {
    let mut report = PurgeReport::default();
    let abandoned_before = now - ABANDONED_UPLOAD_AGE.as_secs() as i64;
    let mut skipped = std::collections::HashSet::new();
    // Help Center uploads left unfinalized go sooner than the others (crate::widget).
    report.abandoned += crate::widget::purge_abandoned(db, storage, widget_limits, now).await?;
    loop {
        let candidates = db
            .purge_candidates(now, abandoned_before, BATCH + skipped.len() as i64)
            .await?;
        let fresh: Vec<_> = candidates
            .into_iter()
            .filter(|c| !skipped.contains(&c.id))
            .collect();
        if fresh.is_empty() {
            break;
        }
        for candidate in fresh {
            let deleted = match BlobKey::package(&candidate.id) {
                Ok(prefix) => storage
                    .delete_prefix(&prefix)
                    .await
                    .map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = deleted {
                tracing::warn!(package = %candidate.id, error = %e, "purge: could not delete blobs; will retry");
                report.failed += 1;
                skipped.insert(candidate.id);
                continue;
            }
            if candidate.reason == PurgeReason::Abandoned {
                db.delete_package(&candidate.id).await?;
            } else {
                db.mark_purged(&candidate.id, now).await?;
            }
            db.audit(
                &candidate.tenant_id,
                Some(&candidate.id),
                AuditKind::Purged,
                Some(&json!({ "reason": candidate.reason.as_str() })),
                now,
            )
            .await?;
            match candidate.reason {
                PurgeReason::Expired => report.expired += 1,
                PurgeReason::Revoked => report.revoked += 1,
                PurgeReason::Abandoned => report.abandoned += 1,
                PurgeReason::DownloadedOut => report.downloaded_out += 1,
            }
        }
    }
    loop {
        let past = db.retained_past(now, retention.package_days, BATCH).await?;
        if past.is_empty() {
            break;
        }
        for id in past {
            db.delete_package(&id).await?;
            report.rows_deleted += 1;
        }
    }
    report.audit_events = db
        .delete_old_audit_events(now, retention.audit_days)
        .await?;
    report.download_tokens = db.delete_expired_download_tokens(now).await?;
    crate::verification::purge_expired(db, now).await?;
    db.delete_expired_signin_tokens(now).await?;
    db.delete_expired_app_identity(now).await?;
    if report != PurgeReport::default() {
        tracing::info!(?report, "purge finished");
    }
    Ok(report)
}
