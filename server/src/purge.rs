//! The purge task: removes expired packages, revoked packages, and uploads never finalized
//! within [`ABANDONED_UPLOAD_AGE`] - blobs first, then rows - and records a `purged` audit
//! event for each. Runs every `purge_interval` in `sealdrop serve`, and on demand with
//! `sealdrop admin purge`. Safe to run on many instances at once (deletes are idempotent).

use serde_json::json;

use crate::app::AppState;
use crate::config::ABANDONED_UPLOAD_AGE;
use crate::metrics::Metrics;
use crate::storage::BlobKey;

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

/// Runs one purge pass to completion.
pub async fn run_once(state: &AppState) -> anyhow::Result<PurgeReport> {
    let mut report = PurgeReport::default();
    let now = state.clock.now();
    let abandoned_before = now - ABANDONED_UPLOAD_AGE.as_secs() as i64;
    let mut skipped = std::collections::HashSet::new();
    // Help Center uploads left unfinalized go sooner than the others (crate::widget).
    report.abandoned += crate::widget::purge_abandoned(state, now).await?;
    loop {
        let candidates = state
            .db
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
                Ok(prefix) => state
                    .storage
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
            state.db.delete_package(&candidate.id).await?;
            state
                .db
                .audit(
                    &candidate.tenant_id,
                    Some(&candidate.id),
                    "purged",
                    Some(&json!({ "reason": candidate.reason.as_str() })),
                    now,
                )
                .await?;
            match candidate.reason {
                crate::db::PurgeReason::Expired => report.expired += 1,
                crate::db::PurgeReason::Revoked => report.revoked += 1,
                crate::db::PurgeReason::Abandoned => report.abandoned += 1,
            }
            Metrics::add(&state.metrics.packages_purged, 1);
        }
    }
    report.download_tokens = state.db.delete_expired_download_tokens(now).await?;
    crate::verification::purge_expired(&state.db, now).await?;
    if report != PurgeReport::default() {
        tracing::info!(?report, "purge finished");
    }
    Ok(report)
}
