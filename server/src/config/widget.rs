//! The Help Center widget's limits (`--widget-*` flags): hourly caps on new packages, the
//! default storage quota and how soon an unfinished upload is purged.

use std::time::Duration;

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
