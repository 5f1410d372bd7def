//! The Help Center widget's side of the server: who may upload anonymously, from where, and
//! how much (docs/ZENDESK.md "Help Center widget").
//!
//! A widget request carries the tenant's public widget key (`X-Sealdrop-Widget-Key: sdw_…`,
//! from the `data-key` of the `<script>` tag in the Help Center theme). The key names the
//! tenant; it is public, so it proves nothing alone. What keeps it from being used elsewhere:
//!
//! - the browser's `Origin` must be one of the tenant's `help_center_origins` (and the CORS
//!   answers of [`crate::routes::widget`] allow only those origins to read the answers);
//! - new packages are capped per client address and per tenant per hour
//!   ([`limits::take_package_slot`], counters shared by every instance);
//! - the tenant's live widget packages may hold at most a quota of ciphertext, and each file at
//!   most the tenant's `max_file_size` ([`check_manifest`]);
//! - a widget package always requires authentication: only the tenant's allowed agents open
//!   it (the server secret is never released on the link alone);
//! - a widget package that is not finalized within [`WidgetLimits::abandoned_after`] is purged
//!   ([`purge_abandoned`]).
//!
//! Tenant settings are read straight from `tenant_settings` here (one small query), so this
//! module does not wait on the settings API.

pub mod limits;
pub mod origin;

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::json;
use sqlx::Row;

pub use limits::WidgetLimits;
pub use origin::WebOrigin;

use crate::app::AppState;
use crate::db::{state, FileRow, PackageRow, Tenant};
use crate::error::HttpError;
use crate::metrics::Metrics;
use crate::storage::BlobKey;

/// Header carrying the widget key.
pub const WIDGET_KEY_HEADER: &str = "x-sealdrop-widget-key";
/// `packages.created_by` (and the audit `by`) of a Help Center upload.
pub const CREATED_BY_WIDGET: &str = "widget";
/// The prefix of every widget key.
pub const WIDGET_KEY_PREFIX: &str = "sdw_";

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
}

impl WidgetTenant {
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

const TENANT_COLUMNS: &str =
    "t.id, t.name, t.default_expiry_secs, t.max_expiry_secs, t.created_at, \
     s.help_center_origins, s.widget_forms, s.max_file_size, s.widget_quota_bytes";

fn widget_tenant(row: &sqlx::any::AnyRow) -> sqlx::Result<WidgetTenant> {
    let origins: String = row.try_get(5)?;
    let forms: String = row.try_get(6)?;
    let max_file_size: Option<i64> = row.try_get(7)?;
    let quota: Option<i64> = row.try_get(8)?;
    Ok(WidgetTenant {
        tenant: Tenant {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            default_expiry_secs: row.try_get(2)?,
            max_expiry_secs: row.try_get(3)?,
            created_at: row.try_get(4)?,
        },
        origins: origin::parse_origin_list(&origins),
        forms: parse_form_ids(&forms),
        max_file_size: max_file_size.and_then(|n| u64::try_from(n).ok()),
        quota_bytes: quota.and_then(|n| u64::try_from(n).ok()),
    })
}

/// Parses `tenant_settings.widget_forms`: a JSON array of ticket form ids (numbers or numeric
/// strings). Entries that are neither are skipped.
pub fn parse_form_ids(json: &str) -> Vec<u64> {
    let values: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    values
        .iter()
        .filter_map(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .collect()
}

/// The tenant whose settings hold this widget key.
pub async fn tenant_by_key(
    state: &AppState,
    key: &WidgetKey,
) -> sqlx::Result<Option<WidgetTenant>> {
    let sql = format!(
        "SELECT {TENANT_COLUMNS} FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id WHERE s.widget_key = $1"
    );
    let row = sqlx::query(&sql)
        .bind(key.as_str())
        .fetch_optional(state.db.pool())
        .await?;
    row.as_ref().map(widget_tenant).transpose()
}

/// The tenant of a package, with its widget settings (none if the tenant has no settings).
pub async fn tenant_by_package(
    state: &AppState,
    package_id: &str,
) -> sqlx::Result<Option<(WidgetTenant, String)>> {
    let sql = format!(
        "SELECT {TENANT_COLUMNS}, p.created_by FROM packages p JOIN tenants t ON t.id = p.tenant_id \
         JOIN tenant_settings s ON s.tenant_id = t.id WHERE p.id = $1"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(package_id)
        .fetch_optional(state.db.pool())
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((widget_tenant(&row)?, row.try_get(9)?)))
}

/// Whether any tenant lists `origin` among its Help Center origins (for CORS preflights,
/// which carry no widget key). The `LIKE` narrows by text; the parse confirms.
pub async fn any_tenant_allows(state: &AppState, origin: &WebOrigin) -> sqlx::Result<bool> {
    let pattern = format!("%{}%", origin.as_str().replace(['%', '_'], ""));
    let rows = sqlx::query("SELECT help_center_origins FROM tenant_settings WHERE help_center_origins LIKE $1 LIMIT 50")
        .bind(pattern)
        .fetch_all(state.db.pool())
        .await?;
    for row in rows {
        let list: String = row.try_get(0)?;
        if origin::parse_origin_list(&list).iter().any(|o| o == origin) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The `Origin` header, if it is a web origin.
pub fn request_origin(headers: &HeaderMap) -> Option<WebOrigin> {
    headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(WebOrigin::parse)
}

/// The client's address: the TCP peer, or with `trust_forwarded_for`
/// (`--trust-forwarded-for`, behind a reverse proxy that sets it) the last address in
/// `X-Forwarded-For`.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Reads and checks the widget key of a request; the answer names what is wrong.
pub async fn tenant_for_request(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<WidgetTenant, HttpError> {
    let Some(value) = headers.get(WIDGET_KEY_HEADER) else {
        return Err(HttpError::Unauthorized(
            "This endpoint needs the Help Center widget key in `X-Sealdrop-Widget-Key`.".into(),
        ));
    };
    let invalid = || {
        HttpError::Unauthorized(
            "The widget key is not valid. Check the data-key attribute of the sealdrop <script> tag in the \
             Help Center theme; a key stops working when an admin rotates it."
                .into(),
        )
    };
    let key = value
        .to_str()
        .ok()
        .and_then(WidgetKey::parse)
        .ok_or_else(invalid)?;
    tenant_by_key(state, &key).await?.ok_or_else(invalid)
}

/// Checks that the request comes from one of the tenant's Help Center origins.
pub fn check_origin(tenant: &WidgetTenant, headers: &HeaderMap) -> Result<WebOrigin, HttpError> {
    let Some(origin) = request_origin(headers) else {
        return Err(HttpError::Forbidden(
            "Help Center uploads must come from a page on one of the account's Help Center origins \
             (the request has no Origin header)."
                .into(),
        ));
    };
    if !tenant.allows(&origin) {
        return Err(HttpError::Forbidden(format!(
            "This site ({origin}) is not one of this account's Help Center origins; an admin can add it in \
             the sealdrop app settings."
        )));
    }
    Ok(origin)
}

/// Authenticates a widget request that is about to create a package: key, origin, the hourly
/// caps and the quota. Takes a rate slot (the caps count attempts, not successes).
pub async fn admit_new_package(
    state: &AppState,
    parts: &Parts,
) -> Result<(WidgetTenant, WebOrigin), HttpError> {
    let tenant = tenant_for_request(state, &parts.headers).await?;
    let origin = check_origin(&tenant, &parts.headers)?;
    let limits = state.config.widget;
    let now = state.clock.now();
    let in_use = limits::widget_bytes_in_use(&state.db, &tenant.tenant.id, None).await?;
    if in_use >= tenant.quota(&limits) {
        tracing::warn!(tenant = %tenant.tenant.id, in_use, "widget storage quota is used up");
        return Err(HttpError::PayloadTooLarge(
            "The storage quota for Help Center uploads is used up; please try again later or contact support another way."
                .into(),
        ));
    }
    let ip = client_ip(parts, state.config.trust_forwarded_for);
    if let Err(scope) =
        limits::take_package_slot(&state.db, &tenant.tenant.id, ip, &limits, now).await?
    {
        let wait = (limits::seconds_left_in_window(now) + 59) / 60;
        tracing::warn!(tenant = %tenant.tenant.id, scope = scope.as_str(), "widget rate limit reached");
        let who = match scope {
            limits::RateScope::Address => "from your network",
            limits::RateScope::Tenant => "for this Help Center",
        };
        return Err(HttpError::RateLimited(format!(
            "Too many secure uploads {who} this hour; please try again in {wait} minutes."
        )));
    }
    Ok((tenant, origin))
}

/// Checks a widget package's file table against the tenant's limits: each file within
/// `max_file_size`, and the package within what is left of the quota. No-op for packages
/// the widget did not create.
pub async fn check_manifest(
    state: &AppState,
    row: &PackageRow,
    files: &[FileRow],
) -> Result<(), HttpError> {
    if row.created_by != CREATED_BY_WIDGET {
        return Ok(());
    }
    let Some((tenant, _)) = tenant_by_package(state, &row.id).await? else {
        return Ok(());
    };
    let max = tenant.max_file_size(state.config.limits.max_file_size);
    for f in files {
        let size = u64::try_from(f.ciphertext_size).unwrap_or(u64::MAX);
        let plaintext = sealdrop_crypto::stream::plaintext_size(size).unwrap_or(size);
        if plaintext > max {
            return Err(HttpError::PayloadTooLarge(format!(
                "File {} is {plaintext} bytes; this Help Center accepts files of at most {max} bytes.",
                f.file
            )));
        }
    }
    let limits = state.config.widget;
    let wanted: u64 = files
        .iter()
        .map(|f| u64::try_from(f.ciphertext_size).unwrap_or(u64::MAX))
        .fold(0, u64::saturating_add);
    let in_use = limits::widget_bytes_in_use(&state.db, &tenant.tenant.id, Some(&row.id)).await?;
    if in_use.saturating_add(wanted) > tenant.quota(&limits) {
        tracing::warn!(tenant = %tenant.tenant.id, in_use, wanted, "widget storage quota would be exceeded");
        return Err(HttpError::PayloadTooLarge(
            "These files do not fit in the storage quota for Help Center uploads; please try fewer or smaller files."
                .into(),
        ));
    }
    Ok(())
}

/// `GET /widget/v1/config`'s answer for a tenant.
pub fn config_answer(state: &AppState, tenant: &WidgetTenant) -> serde_json::Value {
    json!({
        "forms": tenant.forms,
        "max_file_size": tenant.max_file_size(state.config.limits.max_file_size),
        "part_chunks": crate::routes::packages::PART_CHUNKS,
    })
}

/// Removes widget packages left unfinalized for longer than
/// [`WidgetLimits::abandoned_after`] (blobs, then rows, with a `purged` audit event), ahead of
/// the general purge's 24 hours. Returns how many were removed.
pub async fn purge_abandoned(state: &AppState, now: i64) -> anyhow::Result<u64> {
    let limits = state.config.widget;
    let before = now - i64::try_from(limits.abandoned_after.as_secs()).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "SELECT id, tenant_id FROM packages WHERE created_by = $1 AND state = $2 AND created_at <= $3 \
         ORDER BY created_at LIMIT 1000",
    )
    .bind(CREATED_BY_WIDGET)
    .bind(state::UPLOADING)
    .bind(before)
    .fetch_all(state.db.pool())
    .await?;
    let mut purged = 0;
    for row in rows {
        let id: String = row.try_get(0)?;
        let tenant_id: String = row.try_get(1)?;
        if let Err(e) = state.storage.delete_prefix(&BlobKey::package(&id)?).await {
            tracing::warn!(package = %id, error = %e, "purge: could not delete an abandoned widget upload; will retry");
            continue;
        }
        state.db.delete_package(&id).await?;
        state
            .db
            .audit(
                &tenant_id,
                Some(&id),
                "purged",
                Some(&json!({ "reason": "abandoned", "by": CREATED_BY_WIDGET })),
                now,
            )
            .await?;
        Metrics::add(&state.metrics.packages_purged, 1);
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
    fn form_ids_accept_numbers_and_numeric_strings() {
        assert_eq!(
            parse_form_ids(r#"[360000001, "360000002", "x", null]"#),
            vec![360_000_001, 360_000_002]
        );
        assert!(parse_form_ids("[]").is_empty());
        assert!(parse_form_ids("nonsense").is_empty());
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
        };
        let server = 10 * (1u64 << 30);
        assert!(tenant(None).max_file_size(server) < server);
        assert_eq!(tenant(Some(1000)).max_file_size(server), 1000);
        assert!(tenant(Some(u64::MAX)).max_file_size(server) < server);
    }
}
