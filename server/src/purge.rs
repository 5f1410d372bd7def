//! The purge task: removes expired packages, revoked packages, and uploads never finalized
//! within [`ABANDONED_UPLOAD_AGE`] - blobs first, then rows - and records a `purged` audit
//! event for each. Runs every `purge_interval` in `sealdrop serve`, and on demand with
//! `sealdrop admin purge`. Safe to run on many instances at once (deletes are idempotent).

use std::sync::Arc;

use serde_json::json;

use crate::config::{WidgetLimits, ABANDONED_UPLOAD_AGE};
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
    /// Expired download tokens removed.
    pub download_tokens: u64,
    /// Packages that could not be removed this time (their blobs would not delete).
    pub failed: u64,
}

impl PurgeReport {
    /// Packages removed, for every reason.
    pub fn packages(&self) -> u64 {
        self.expired + self.revoked + self.abandoned
    }
}

/// Runs one purge pass to completion.
pub async fn run_once(
    db: &Database,
    storage: &Arc<dyn Storage>,
    widget_limits: &WidgetLimits,
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
            db.delete_package(&candidate.id).await?;
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
            }
        }
    }
    report.download_tokens = db.delete_expired_download_tokens(now).await?;
    crate::verification::purge_expired(db, now).await?;
    if report != PurgeReport::default() {
        tracing::info!(?report, "purge finished");
    }
    Ok(report)
}
