//! The Help Center widget's side of the server: who may upload anonymously, from where, and
//! how much (docs/ZENDESK.md "Help Center widget").
//!
//! A widget request carries the tenant's public widget key (`X-Sealdrop-Widget-Key: sdw_…`,
//! from the `data-key` of the `<script>` tag in the Help Center theme). The key names the
//! tenant; it is public, so it proves nothing alone. What keeps it from being used elsewhere:
//!
//! - the browser's `Origin` must be one of the tenant's `help_center_origins` (and the CORS
//!   answers of [`crate::http::cors`] allow only those origins to read the answers);
//! - new packages are capped per client address and per tenant per hour
//!   ([`limits::take_package_slot`], counters shared by every instance);
//! - the tenant's live widget packages may hold at most a quota of ciphertext, and each file at
//!   most the tenant's `max_file_size` ([`check_manifest`]);
//! - a widget package always requires authentication: only the tenant's allowed agents open
//!   it (the server secret is never released on the link alone);
//! - a widget package that is not finalized within
//!   [`WidgetLimits::abandoned_after`](crate::config::WidgetLimits::abandoned_after) is purged
//!   ([`purge_abandoned`]).
//!
//! The widget's code is a release built by `cargo xtask wasm` and served byte for byte
//! ([`release`]), because the theme pins it with Subresource Integrity.

pub mod limits;
pub mod origin;
pub mod release;

use sealdrop_api::widget::WidgetConfig;
use std::sync::Arc;

use serde_json::json;

pub use origin::WebOrigin;

use crate::config::{Limits, WidgetLimits};
use crate::db::rate::seconds_left_in_window;
use crate::db::{AuditKind, CreatedBy, Database, FileEntry, Package, Tenant, TenantSettings};
use crate::internal::{internal_failures, Internal};
use crate::storage::{BlobKey, Storage, PART_CHUNKS};

/// The prefix of every widget key.
pub const WIDGET_KEY_PREFIX: &str = "sdw_";

/// Why a widget request was refused; each message is for the customer or the admin.
#[derive(Debug, thiserror::Error)]
pub enum WidgetError {
    /// The request has no widget key.
    #[error("This endpoint needs the Help Center widget key in `X-Sealdrop-Widget-Key`.")]
    MissingKey,
    /// The key is malformed, unknown, or was rotated away.
    #[error("The widget key is not valid. Check the data-key attribute of the sealdrop <script> tag in the Help Center theme; a key stops working when an admin rotates it.")]
    InvalidKey,
    /// The request has no `Origin`.
    #[error("Help Center uploads must come from a page on one of the account's Help Center origins (the request has no Origin header).")]
    MissingOrigin,
    /// The origin is not one of the tenant's Help Center origins.
    #[error("This site ({0}) is not one of this account's Help Center origins; an admin can add it in the sealdrop app settings.")]
    OriginNotAllowed(WebOrigin),
    /// The tenant's widget packages hold their whole quota already.
    #[error("The storage quota for Help Center uploads is used up; please try again later or contact support another way.")]
    QuotaUsedUp,
    /// These files would not fit in what is left of the quota.
    #[error("These files do not fit in the storage quota for Help Center uploads; please try fewer or smaller files.")]
    QuotaExceeded,
    /// A file is over the tenant's limit.
    #[error("File {file} is {size} bytes; this Help Center accepts files of at most {max} bytes.")]
    FileTooLarge {
        /// File index.
        file: u64,
        /// Its plaintext size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// An hourly cap is reached.
    #[error("Too many secure uploads {who} this hour; please try again in {minutes} minutes.")]
    RateLimited {
        /// `from your network` or `for this Help Center`.
        who: &'static str,
        /// Minutes until the window ends.
        minutes: i64,
    },
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(WidgetError);

/// A syntactically valid widget key (`sdw_` and 1 to 200 base64url characters). Public by
/// design: it sits in the Help Center's HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetKey(String);

impl WidgetKey {
    /// Parses a key; `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let rest = text.strip_prefix(WIDGET_KEY_PREFIX)?;
        let ok = !rest.is_empty()
            && rest.len() <= 200
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(text.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tenant as its widget sees it: the tenant and the settings that bound the widget.
#[derive(Debug, Clone)]
pub struct WidgetTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Origins allowed to use the widget.
    pub origins: Vec<WebOrigin>,
    /// Ticket form ids the widget protects; empty = every form.
    pub forms: Vec<u64>,
    /// Largest plaintext file the tenant accepts through the widget, if it sets one.
    pub max_file_size: Option<u64>,
    /// The tenant's quota for widget packages, if it sets one.
    pub quota_bytes: Option<u64>,
    /// Whether uploads must be team-sealed.
    pub team_keys: bool,
}

impl WidgetTenant {
    fn new(tenant: Tenant, settings: &TenantSettings) -> Self {
        Self {
            tenant,
            origins: origin::parse_origin_list(&settings.help_center_origins),
            forms: settings.widget_forms.clone(),
            max_file_size: settings.max_file_size.and_then(|n| u64::try_from(n).ok()),
            quota_bytes: settings
                .widget_quota_bytes
                .and_then(|n| u64::try_from(n).ok()),
            team_keys: settings.team_keys,
        }
    }

    /// Whether `origin` may use this tenant's widget.
    pub fn allows(&self, origin: &WebOrigin) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// The largest plaintext file the widget accepts: the tenant's limit, capped by what
    /// the server accepts for any package.
    pub fn max_file_size(&self, server_max_ciphertext: u64) -> u64 {
        let server = sealdrop_crypto::stream::plaintext_size(server_max_ciphertext)
            .unwrap_or(server_max_ciphertext);
        self.max_file_size.map_or(server, |t| t.min(server))
    }

    /// The ciphertext quota for the tenant's live widget packages.
    pub fn quota(&self, limits: &WidgetLimits) -> u64 {
        self.quota_bytes.unwrap_or(limits.default_quota_bytes)
    }
}

/// `GET /widget/v1/config`'s answer for `tenant`.
pub async fn config_answer(
    db: &Database,
    tenant: &WidgetTenant,
    limits: &Limits,
) -> Result<WidgetConfig, WidgetError> {
    Ok(WidgetConfig {
        forms: tenant.forms.clone(),
        max_file_size: tenant.max_file_size(limits.max_file_size),
        part_chunks: PART_CHUNKS,
        team_keys: tenant.team_keys,
        tenant: db
            .subdomain_of(&tenant.tenant.id)
            .await?
            .map(|s| s.to_string()),
    })
}

/// The tenant whose widget key a request presents (`key`: the header's value, if any).
pub async fn tenant_for_key(db: &Database, key: Option<&str>) -> Result<WidgetTenant, WidgetError> {
    let key = key.ok_or(WidgetError::MissingKey)?;
    let key = WidgetKey::parse(key).ok_or(WidgetError::InvalidKey)?;
    let (tenant, settings) = db
        .tenant_by_widget_key(key.as_str())
        .await?
        .ok_or(WidgetError::InvalidKey)?;
    Ok(WidgetTenant::new(tenant, &settings))
}

/// The tenant of a package with its widget settings, and who created the package.
pub async fn tenant_by_package(
    db: &Database,
    package_id: &str,
) -> Result<Option<(WidgetTenant, CreatedBy)>, Internal> {
    Ok(db
        .tenant_by_package(package_id)
        .await?
        .map(|(tenant, settings, by)| (WidgetTenant::new(tenant, &settings), by)))
}

/// Whether any tenant lists `origin` among its Help Center origins (for CORS preflights,
/// which carry no widget key).
pub async fn any_tenant_allows(db: &Database, origin: &WebOrigin) -> Result<bool, Internal> {
    let candidates = db.settings_mentioning_origin(origin.as_str()).await?;
    Ok(candidates.iter().any(|settings| {
        origin::parse_origin_list(&settings.help_center_origins)
            .iter()
            .any(|o| o == origin)
    }))
}

/// Checks that a request from `origin` may use the tenant's widget.
fn check_origin(
    tenant: &WidgetTenant,
    origin: Option<WebOrigin>,
) -> Result<WebOrigin, WidgetError> {
    let origin = origin.ok_or(WidgetError::MissingOrigin)?;
    if !tenant.allows(&origin) {
        return Err(WidgetError::OriginNotAllowed(origin));
    }
    Ok(origin)
}

/// The tenant whose widget key a request presents, if the request comes from an origin the
/// tenant allows (every widget request: config, roster, new packages); the origin with it.
pub async fn admit_request(
    db: &Database,
    key: Option<&str>,
    origin: Option<WebOrigin>,
) -> Result<(WidgetTenant, WebOrigin), WidgetError> {
    let tenant = tenant_for_key(db, key).await?;
    let origin = check_origin(&tenant, origin)?;
    Ok((tenant, origin))
}

/// Admits a widget request that is about to create a package: key, origin, the quota and
/// the hourly caps (which count attempts, not successes: a slot is taken here).
pub async fn admit_new_package(
    db: &Database,
    limits: &WidgetLimits,
    key: Option<&str>,
    origin: Option<WebOrigin>,
    client: Option<String>,
    now: i64,
) -> Result<(WidgetTenant, WebOrigin), WidgetError> {
    let (tenant, origin) = admit_request(db, key, origin).await?;
    let in_use = db.widget_bytes_stored(&tenant.tenant.id, None).await?;
    if in_use >= tenant.quota(limits) {
        tracing::warn!(tenant = %tenant.tenant.id, in_use, "widget storage quota is used up");
        return Err(WidgetError::QuotaUsedUp);
    }
    if let Err(scope) =
        limits::take_package_slot(db, &tenant.tenant.id, client.as_deref(), limits, now).await?
    {
        let minutes = (seconds_left_in_window(now) + 59) / 60;
        tracing::warn!(tenant = %tenant.tenant.id, scope = scope.as_str(), "widget rate limit reached");
        let who = match scope {
            limits::RateScope::Address => "from your network",
            limits::RateScope::Tenant => "for this Help Center",
        };
        return Err(WidgetError::RateLimited { who, minutes });
    }
    Ok((tenant, origin))
}

/// Checks a widget package's file table against the tenant's limits: each file within
/// `max_file_size`, and the package within what is left of the quota. No-op for packages
/// the widget did not create.
pub async fn check_manifest(
    db: &Database,
    limits: &Limits,
    widget_limits: &WidgetLimits,
    package: &Package,
    files: &[FileEntry],
) -> Result<(), WidgetError> {
    if package.created_by != CreatedBy::Widget {
        return Ok(());
    }
    let Some((tenant, _)) = tenant_by_package(db, &package.id).await? else {
        return Ok(());
    };
    let max = tenant.max_file_size(limits.max_file_size);
    for f in files {
        let size = f.ciphertext_size;
        let plaintext = sealdrop_crypto::stream::plaintext_size(size).unwrap_or(size);
        if plaintext > max {
            return Err(WidgetError::FileTooLarge {
                file: f.file,
                size: plaintext,
                max,
            });
        }
    }
    let wanted: u64 = files
        .iter()
        .map(|f| f.ciphertext_size)
        .fold(0, u64::saturating_add);
    // Others' stored bytes, not their declarations: a manifest that declares much and sends
    // nothing blocks no one ([`check_part`] charges what actually arrives).
    let in_use = db
        .widget_bytes_stored(&tenant.tenant.id, Some(&package.id))
        .await?;
    if in_use.saturating_add(wanted) > tenant.quota(widget_limits) {
        tracing::warn!(tenant = %tenant.tenant.id, in_use, wanted, "widget storage quota would be exceeded");
        return Err(WidgetError::QuotaExceeded);
    }
    Ok(())
}

/// Checks that a part of `len` bytes for a widget package fits in what is left of its
/// tenant's quota, counting every stored byte (this package's received parts included). No-op
/// for packages the widget did not create. Concurrent parts of one tenant may overshoot by
/// the parts in flight (at most a few times 8 MiB).
pub async fn check_part(
    db: &Database,
    widget_limits: &WidgetLimits,
    package: &Package,
    len: u64,
) -> Result<(), WidgetError> {
    if package.created_by != CreatedBy::Widget {
        return Ok(());
    }
    let Some((tenant, _)) = tenant_by_package(db, &package.id).await? else {
        return Ok(());
    };
    let stored = db.widget_bytes_stored(&tenant.tenant.id, None).await?;
    if stored.saturating_add(len) > tenant.quota(widget_limits) {
        tracing::warn!(tenant = %tenant.tenant.id, stored, len, "widget storage quota reached by a part");
        return Err(WidgetError::QuotaExceeded);
    }
    Ok(())
}

/// Removes widget packages left unfinalized for longer than
/// [`WidgetLimits::abandoned_after`] (blobs, then rows, with a `purged` audit event), ahead of
/// the general purge's 24 hours. Returns how many were removed.
pub async fn purge_abandoned(
    db: &Database,
    storage: &Arc<dyn Storage>,
    limits: &WidgetLimits,
    now: i64,
) -> anyhow::Result<u64> {
    let before = now - i64::try_from(limits.abandoned_after.as_secs()).unwrap_or(i64::MAX);
    let mut purged = 0;
    for (id, tenant_id) in db.abandoned_widget_packages(before, 1000).await? {
        if let Err(e) = storage.delete_prefix(&BlobKey::package(&id)?).await {
            tracing::warn!(package = %id, error = %e, "purge: could not delete an abandoned widget upload; will retry");
            continue;
        }
        db.delete_package(&id).await?;
        let detail = json!({ "reason": "abandoned", "by": CreatedBy::Widget.as_str() });
        db.audit(&tenant_id, Some(&id), AuditKind::Purged, Some(&detail), now)
            .await?;
        purged += 1;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widget_keys_parse() {
        assert!(WidgetKey::parse("sdw_demo").is_some());
        assert!(WidgetKey::parse(" sdw_AbC-12_x ").is_some());
        for bad in [
            "",
            "sdw_",
            "sdt_abc",
            "sdw_a b",
            "sdw_<script>",
            &format!("sdw_{}", "a".repeat(201)),
        ] {
            assert!(WidgetKey::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn tenant_file_limit_never_exceeds_the_server_limit() {
        let tenant = |max| WidgetTenant {
            tenant: Tenant {
                id: "t".into(),
                name: "T".into(),
                default_expiry_secs: None,
                max_expiry_secs: None,
                created_at: 0,
            },
            origins: vec![],
            forms: vec![],
            max_file_size: max,
            quota_bytes: None,
            team_keys: false,
        };
        let server = 10 * (1u64 << 30);
        assert!(tenant(None).max_file_size(server) < server);
        assert_eq!(tenant(Some(1000)).max_file_size(server), 1000);
        assert!(tenant(Some(u64::MAX)).max_file_size(server) < server);
    }
}
