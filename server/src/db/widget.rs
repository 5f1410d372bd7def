//! The Help Center widget's lookups ([`crate::widget`] holds the rules): tenants by widget
//! key, by package and by Help Center origin, the bytes their widget packages hold, and
//! widget uploads left unfinished.

use sqlx::Row;

use super::settings::{self, SETTINGS_COLUMNS};
use super::tenants::TENANT_COLUMNS;
use super::{CreatedBy, Database, PackageState, Tenant, TenantSettings};

/// Columns of a tenant (0..5) followed by its settings (5..).
fn tenant_and_settings(row: &sqlx::any::AnyRow) -> sqlx::Result<(Tenant, TenantSettings)> {
    let tenant = Tenant {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        default_expiry_secs: row.try_get(2)?,
        max_expiry_secs: row.try_get(3)?,
        created_at: row.try_get(4)?,
    };
    Ok((tenant, settings::from_row(row, 5)?))
}

impl Database {
    /// The tenant whose current widget key this is, with its settings.
    pub async fn tenant_by_widget_key(
        &self,
        key: &str,
    ) -> sqlx::Result<Option<(Tenant, TenantSettings)>> {
        let row = sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS}, {SETTINGS_COLUMNS} FROM tenant_settings s \
             JOIN tenants t ON t.id = s.tenant_id WHERE s.widget_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(tenant_and_settings).transpose()
    }

    /// The tenant of a package, with its settings, and who created the package (none if the
    /// tenant has no settings row).
    pub async fn tenant_by_package(
        &self,
        package_id: &str,
    ) -> sqlx::Result<Option<(Tenant, TenantSettings, CreatedBy)>> {
        let row = sqlx::query(&format!(
            "SELECT {TENANT_COLUMNS}, {SETTINGS_COLUMNS}, p.created_by FROM packages p \
             JOIN tenants t ON t.id = p.tenant_id JOIN tenant_settings s ON s.tenant_id = t.id \
             WHERE p.id = $1"
        ))
        .bind(package_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (tenant, settings) = tenant_and_settings(&row)?;
        // Right after the tenant's and the settings' columns.
        let created_by =
            super::packages::parse_created_by(&row.try_get::<String, _>(row.len() - 1)?)?;
        Ok(Some((tenant, settings, created_by)))
    }

    /// Settings whose Help Center origins mention `origin` as text (at most 50): a cheap
    /// narrowing, for the caller to confirm by parsing.
    pub async fn settings_mentioning_origin(
        &self,
        origin: &str,
    ) -> sqlx::Result<Vec<TenantSettings>> {
        let pattern = format!("%{}%", origin.replace(['%', '_'], ""));
        let rows = sqlx::query(&format!(
            "SELECT {SETTINGS_COLUMNS} FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id \
             WHERE s.help_center_origins LIKE $1 LIMIT 50"
        ))
        .bind(pattern)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| settings::from_row(r, 0)).collect()
    }

    /// Ciphertext bytes a tenant's widget packages hold in the store, except package
    /// `except`: all of a finalized package, the parts received of one still uploading.
    /// Declared sizes that were never sent count for nothing, so an upload that stalls (or a
    /// manifest that only declares) takes nobody's share.
    pub async fn widget_bytes_stored(
        &self,
        tenant_id: &str,
        except: Option<&str>,
    ) -> sqlx::Result<u64> {
        let finalized: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(f.ciphertext_size), 0) AS BIGINT) FROM package_files f \
             JOIN packages p ON p.id = f.package_id \
             WHERE p.tenant_id = $1 AND p.created_by = $2 AND p.state = $3 AND p.id <> $4 \
             AND p.purged_at IS NULL",
        )
        .bind(tenant_id)
        .bind(CreatedBy::Widget.as_str())
        .bind(PackageState::Ready.as_str())
        .bind(except.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        let uploading: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(t.size), 0) AS BIGINT) FROM parts t \
             JOIN packages p ON p.id = t.package_id \
             WHERE p.tenant_id = $1 AND p.created_by = $2 AND p.state = $3 AND p.id <> $4",
        )
        .bind(tenant_id)
        .bind(CreatedBy::Widget.as_str())
        .bind(PackageState::Uploading.as_str())
        .bind(except.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(finalized.saturating_add(uploading)).unwrap_or(0))
    }

    /// `(id, tenant_id)` of widget packages still uploading that were created at or before
    /// `created_before`, oldest first (at most `limit`).
    pub async fn abandoned_widget_packages(
        &self,
        created_before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id FROM packages WHERE created_by = $1 AND state = $2 AND created_at <= $3 \
             ORDER BY created_at LIMIT $4",
        )
        .bind(CreatedBy::Widget.as_str())
        .bind(PackageState::Uploading.as_str())
        .bind(created_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}
