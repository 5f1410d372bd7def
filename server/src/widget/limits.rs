//! What keeps anonymous Help Center uploads in bounds: hourly caps on new packages per client
//! address and per tenant (fixed windows in the shared `rate_counters` table, so every server
//! instance counts together), and a storage quota per tenant over its live widget packages.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::CREATED_BY_WIDGET;
use crate::db::{state, Database};

/// Length of a rate-limit window.
const WINDOW_SECS: i64 = 3600;

/// Default of [`WidgetLimits::packages_per_ip_hour`] (`--widget-packages-per-ip-hour`).
pub const DEFAULT_PACKAGES_PER_IP_HOUR: u64 = 60;
/// Default of [`WidgetLimits::packages_per_tenant_hour`] (`--widget-packages-per-tenant-hour`).
pub const DEFAULT_PACKAGES_PER_TENANT_HOUR: u64 = 2000;
/// Default of [`WidgetLimits::default_quota_bytes`] (`--widget-quota-bytes`): 100 GiB.
pub const DEFAULT_QUOTA_BYTES: u64 = 100 << 30;
/// Default of [`WidgetLimits::abandoned_after`] (`--widget-abandoned-secs`): 6 hours.
pub const DEFAULT_ABANDONED_SECS: u64 = 6 * 3600;

/// The widget's limits, part of the server's [`Config`](crate::config::Config)
/// (`Config::widget`, from the `--widget-*` flags or their `SEALDROP_WIDGET_*` variables).
/// Each default suits one Help Center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WidgetLimits {
    /// New widget packages per client address per hour (`--widget-packages-per-ip-hour`).
    /// Every change of the attached files starts a new package, so this is not "tickets".
    pub packages_per_ip_hour: i64,
    /// New widget packages per tenant per hour (`--widget-packages-per-tenant-hour`).
    pub packages_per_tenant_hour: i64,
    /// Ciphertext bytes a tenant's live widget packages may hold when its settings name no
    /// quota (`--widget-quota-bytes`).
    pub default_quota_bytes: u64,
    /// How long a widget package may stay unfinalized before the purge task removes it
    /// (`--widget-abandoned-secs`). Shorter than for other uploads: a Help Center form left
    /// open without submitting should not hold storage for a day.
    pub abandoned_after: Duration,
}

impl Default for WidgetLimits {
    fn default() -> Self {
        Self::new(
            DEFAULT_PACKAGES_PER_IP_HOUR,
            DEFAULT_PACKAGES_PER_TENANT_HOUR,
            DEFAULT_QUOTA_BYTES,
            DEFAULT_ABANDONED_SECS,
        )
    }
}

impl WidgetLimits {
    /// The limits from the configured numbers (already checked to be positive by
    /// [`crate::config::ConfigArgs::into_config`]); hourly caps beyond `i64::MAX` are capped.
    pub fn new(
        packages_per_ip_hour: u64,
        packages_per_tenant_hour: u64,
        default_quota_bytes: u64,
        abandoned_secs: u64,
    ) -> Self {
        let cap = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            packages_per_ip_hour: cap(packages_per_ip_hour),
            packages_per_tenant_hour: cap(packages_per_tenant_hour),
            default_quota_bytes,
            abandoned_after: Duration::from_secs(abandoned_secs),
        }
    }
}

/// Which hourly cap refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateScope {
    /// The client address's cap.
    Address,
    /// The tenant's cap.
    Tenant,
}

impl RateScope {
    /// The `rate_counters.scope` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Address => "widget_package_per_ip",
            Self::Tenant => "widget_package_per_tenant",
        }
    }
}

/// The counter subject for a client address: a hash, so the table does not keep addresses.
pub fn address_subject(tenant_id: &str, ip: Option<IpAddr>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"sealdrop/widget/ip\0");
    h.update(tenant_id.as_bytes());
    h.update(b"\0");
    h.update(ip.map(|ip| ip.to_string()).unwrap_or_default().as_bytes());
    h.finalize().to_vec()
}

/// The start of the window `now` falls in.
pub fn window_start(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW_SECS)
}

/// Seconds until the current window ends (for `Retry-After`-style messages).
pub fn seconds_left_in_window(now: i64) -> i64 {
    window_start(now) + WINDOW_SECS - now
}

/// Takes one slot from the address's and the tenant's counters of the current hour, both or
/// neither. `Err(scope)` names the cap that is used up.
pub async fn take_package_slot(
    db: &Database,
    tenant_id: &str,
    ip: Option<IpAddr>,
    limits: &WidgetLimits,
    now: i64,
) -> sqlx::Result<Result<(), RateScope>> {
    let window = window_start(now);
    let address = address_subject(tenant_id, ip);
    let mut tx = db.begin_write().await?;
    // Address first, then tenant: every request locks in the same order.
    for (scope, subject, cap) in [
        (
            RateScope::Address,
            address.as_slice(),
            limits.packages_per_ip_hour,
        ),
        (
            RateScope::Tenant,
            tenant_id.as_bytes(),
            limits.packages_per_tenant_hour,
        ),
    ] {
        let done = sqlx::query(
            "INSERT INTO rate_counters (scope, subject, window_start, hits) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
             WHERE rate_counters.hits < $4",
        )
        .bind(scope.as_str())
        .bind(subject)
        .bind(window)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Err(scope));
        }
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Ciphertext bytes held by the tenant's widget packages that are not revoked, leaving out
/// `except` (a package whose manifest is being replaced).
pub async fn widget_bytes_in_use(
    db: &Database,
    tenant_id: &str,
    except: Option<&str>,
) -> sqlx::Result<u64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(f.ciphertext_size), 0) AS BIGINT) FROM package_files f \
         JOIN packages p ON p.id = f.package_id \
         WHERE p.tenant_id = $1 AND p.created_by = $2 AND p.state <> $3 AND p.id <> $4",
    )
    .bind(tenant_id)
    .bind(CREATED_BY_WIDGET)
    .bind(state::REVOKED)
    .bind(except.unwrap_or(""))
    .fetch_one(db.pool())
    .await?;
    Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_hours() {
        assert_eq!(window_start(7200), 7200);
        assert_eq!(window_start(7201), 7200);
        assert_eq!(window_start(10_799), 7200);
        assert_eq!(seconds_left_in_window(7201), 3599);
    }

    #[test]
    fn addresses_are_kept_only_as_hashes_per_tenant() {
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        let a = address_subject("tenant-a", Some(ip));
        assert_eq!(a.len(), 32);
        assert_ne!(a, address_subject("tenant-b", Some(ip)));
        assert!(!a.windows(4).any(|w| w == [203, 0, 113, 7]));
    }
}
