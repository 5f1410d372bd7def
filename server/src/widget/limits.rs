//! Hourly caps on new Help Center packages, per client address and per tenant (fixed windows
//! in the shared `rate_counters` table, so every server instance counts together).

use sha2::{Digest, Sha256};

use crate::config::WidgetLimits;
use crate::db::rate::Counter;
use crate::db::Database;

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

/// The counter subject for a client address bucket ([`sealdrop_api::forwarded::rate_bucket`]): a
/// hash, so the table does not keep addresses.
pub fn address_subject(tenant_id: &str, bucket: Option<&str>) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"sealdrop/widget/ip\0");
    h.update(tenant_id.as_bytes());
    h.update(b"\0");
    h.update(bucket.unwrap_or_default().as_bytes());
    h.finalize().to_vec()
}

/// Takes one slot from the address's and the tenant's counters of the current hour, both or
/// neither. `Err(scope)` names the cap that is used up.
pub async fn take_package_slot(
    db: &Database,
    tenant_id: &str,
    bucket: Option<&str>,
    limits: &WidgetLimits,
    now: i64,
) -> sqlx::Result<Result<(), RateScope>> {
    let address = address_subject(tenant_id, bucket);
    // Address first, then tenant: every request takes its slots in the same order.
    let counters = [
        Counter {
            scope: RateScope::Address.as_str(),
            subject: &address,
            cap: limits.packages_per_ip_hour,
        },
        Counter {
            scope: RateScope::Tenant.as_str(),
            subject: tenant_id.as_bytes(),
            cap: limits.packages_per_tenant_hour,
        },
    ];
    Ok(db
        .take_rate_slots(&counters, now)
        .await?
        .map_err(|refused| {
            if refused == 0 {
                RateScope::Address
            } else {
                RateScope::Tenant
            }
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_kept_only_as_hashes_per_tenant() {
        let a = address_subject("tenant-a", Some("203.0.113.7"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, address_subject("tenant-b", Some("203.0.113.7")));
        assert!(!a.windows(11).any(|w| w == b"203.0.113.7"));
        assert!(!a.windows(4).any(|w| w == [203, 0, 113, 7]));
    }
}
