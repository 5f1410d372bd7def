//! `tenant_settings`, plus the expiry overrides that live on `tenants`. Every tenant has a
//! row: made with defaults with a Zendesk tenant, or on first use for tenants made by hand
//! ([`Database::settings_or_defaults`]).
//!
//! The list columns hold JSON arrays. They are read one way everywhere ([`TenantSettings`]):
//! an entry this version cannot read is dropped and logged, so one typo does not lock out the
//! rest and an unreadable role never admits anyone.

use sealdrop_zendesk::roles::AllowedRole;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Row};

use super::{bad_column, Database};

pub use sealdrop_api::settings::ReplyLinkStyle;

/// A tenant's settings, as stored. The rules that read them (effective limits, role policy)
/// are in [`crate::settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    /// The tenant.
    pub tenant_id: String,
    /// Who may use the agent app.
    pub allowed_roles: Vec<AllowedRole>,
    /// "Require authentication" preset for outgoing files.
    pub require_auth_default: bool,
    /// Tenant default expiry, seconds (`None`: the server's).
    pub default_expiry_secs: Option<i64>,
    /// Tenant maximum expiry, seconds (`None`: the server's).
    pub max_expiry_secs: Option<i64>,
    /// Largest file, bytes (`None`: the server's).
    pub max_file_size: Option<i64>,
    /// Origins allowed to use the widget, as stored (`https://help.acme.com`).
    pub help_center_origins: Vec<String>,
    /// Ticket forms the widget protects; empty means every form.
    pub widget_forms: Vec<u64>,
    /// How links go into replies.
    pub reply_link_style: ReplyLinkStyle,
    /// The public widget key, `sdw_…`.
    pub widget_key: String,
    /// Widget storage quota, bytes (`None`: the server's).
    pub widget_quota_bytes: Option<i64>,
    /// Days a purged package's row is kept (`None`: the server's).
    pub package_retention_days: Option<i64>,
    /// Days audit events are kept (`None`: the server's).
    pub audit_retention_days: Option<i64>,
    /// Whether Help Center uploads must be team-sealed.
    pub team_keys: bool,
    /// Unix seconds of the last change.
    pub updated_at: i64,
}

/// The settings columns, `s` being `tenant_settings` and `t` its tenant; [`from_row`] reads
/// them from `offset` on.
pub(super) const SETTINGS_COLUMNS: &str =
    "s.tenant_id, s.allowed_roles, s.require_auth_default, s.max_file_size, \
     s.help_center_origins, s.widget_forms, s.reply_link_style, s.widget_key, \
     s.widget_quota_bytes, s.updated_at, t.default_expiry_secs, t.max_expiry_secs, \
     s.package_retention_days, s.audit_retention_days, s.team_keys";

/// Reads [`SETTINGS_COLUMNS`] starting at column `offset`.
pub(super) fn from_row(row: &sqlx::any::AnyRow, offset: usize) -> sqlx::Result<TenantSettings> {
    let at = |i: usize| offset + i;
    let roles: String = row.try_get(at(1))?;
    let origins: String = row.try_get(at(4))?;
    let forms: String = row.try_get(at(5))?;
    let style: String = row.try_get(at(6))?;
    Ok(TenantSettings {
        tenant_id: row.try_get(at(0))?,
        allowed_roles: json_list(&roles, "allowed_roles")
            .iter()
            .filter_map(|v| {
                let role = v.as_str().and_then(AllowedRole::parse);
                if role.is_none() {
                    tracing::warn!(value = %v, "ignoring an allowed role this version cannot read");
                }
                role
            })
            .collect(),
        require_auth_default: row.try_get::<i64, _>(at(2))? != 0,
        max_file_size: row.try_get(at(3))?,
        help_center_origins: json_list(&origins, "help_center_origins")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        widget_forms: form_ids(&json_list(&forms, "widget_forms")),
        reply_link_style: ReplyLinkStyle::parse(&style)
            .ok_or_else(|| bad_column("reply_link_style", format!("unknown style {style:?}")))?,
        widget_key: row.try_get(at(7))?,
        widget_quota_bytes: row.try_get(at(8))?,
        updated_at: row.try_get(at(9))?,
        default_expiry_secs: row.try_get(at(10))?,
        max_expiry_secs: row.try_get(at(11))?,
        package_retention_days: row.try_get(at(12))?,
        audit_retention_days: row.try_get(at(13))?,
        team_keys: row.try_get::<i64, _>(at(14))? != 0,
    })
}

/// Ticket form ids: numbers or numeric strings; other entries are skipped.
fn form_ids(values: &[Value]) -> Vec<u64> {
    values
        .iter()
        .filter_map(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
        .collect()
}

/// A JSON array column; anything else reads as empty (and is logged).
fn json_list(text: &str, column: &str) -> Vec<Value> {
    serde_json::from_str(text).unwrap_or_else(|_| {
        tracing::warn!(
            column,
            "tenant_settings column is not a JSON array; read as empty"
        );
        Vec::new()
    })
}

/// Inserts the default settings row of a tenant (no-op if it exists).
pub(super) async fn insert_defaults(
    conn: &mut AnyConnection,
    tenant_id: &str,
    widget_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tenant_settings (tenant_id, widget_key, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(widget_key)
    .bind(now)
    .execute(conn)
    .await
    .map(|_| ())
}

impl Database {
    /// The tenant's settings, if its row exists.
    pub async fn settings(&self, tenant_id: &str) -> sqlx::Result<Option<TenantSettings>> {
        let row = sqlx::query(&format!(
            "SELECT {SETTINGS_COLUMNS} FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id \
             WHERE s.tenant_id = $1"
        ))
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| from_row(r, 0)).transpose()
    }

    /// The tenant's settings, made with defaults (and `widget_key`) first if it has none yet.
    pub async fn settings_or_defaults(
        &self,
        tenant_id: &str,
        widget_key: &str,
        now: i64,
    ) -> sqlx::Result<TenantSettings> {
        if let Some(settings) = self.settings(tenant_id).await? {
            return Ok(settings);
        }
        let mut conn = self.pool.acquire().await?;
        insert_defaults(&mut conn, tenant_id, widget_key, now).await?;
        drop(conn);
        self.settings(tenant_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    /// Writes every setting but the widget key (see [`Database::set_widget_key`]).
    pub async fn store_settings(&self, settings: &TenantSettings, now: i64) -> sqlx::Result<()> {
        let roles: Vec<String> = settings
            .allowed_roles
            .iter()
            .map(AllowedRole::as_setting)
            .collect();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE tenant_settings SET allowed_roles = $1, require_auth_default = $2, max_file_size = $3, \
             help_center_origins = $4, widget_forms = $5, reply_link_style = $6, updated_at = $7, \
             package_retention_days = $9, audit_retention_days = $10, team_keys = $11 WHERE tenant_id = $8",
        )
        .bind(json!(roles).to_string())
        .bind(i64::from(settings.require_auth_default))
        .bind(settings.max_file_size)
        .bind(json!(settings.help_center_origins).to_string())
        .bind(json!(settings.widget_forms).to_string())
        .bind(settings.reply_link_style.as_str())
        .bind(now)
        .bind(&settings.tenant_id)
        .bind(settings.package_retention_days)
        .bind(settings.audit_retention_days)
        .bind(i64::from(settings.team_keys))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE tenants SET default_expiry_secs = $1, max_expiry_secs = $2 WHERE id = $3",
        )
        .bind(settings.default_expiry_secs)
        .bind(settings.max_expiry_secs)
        .bind(&settings.tenant_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Replaces the tenant's widget key.
    pub async fn set_widget_key(&self, tenant_id: &str, key: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE tenant_settings SET widget_key = $1, updated_at = $2 WHERE tenant_id = $3",
        )
        .bind(key)
        .bind(now)
        .bind(tenant_id)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_ids_accept_numbers_and_numeric_strings() {
        let stored = json_list(r#"[360000001, "360000002", "x", null]"#, "widget_forms");
        assert_eq!(form_ids(&stored), vec![360_000_001, 360_000_002]);
        assert!(json_list("nonsense", "widget_forms").is_empty());
    }
}
