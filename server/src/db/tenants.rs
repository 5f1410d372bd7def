//! `tenants` and `api_tokens`: who creates packages. A tenant is made by an operator
//! (`sealdrop admin tenant create`, with a first API token) or on the first verified sidebar
//! visit of a Zendesk account ([`Database::create_zendesk_tenant`]).

use sealdrop_zendesk::Subdomain;
use serde_json::json;
use sqlx::Row;

use super::{audit, settings, AuditKind, Database};

/// A tenant: one Zendesk account or one automation customer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tenant {
    /// Random identifier (b64u).
    pub id: String,
    /// Display name, also shown to recipients as the sender.
    pub name: String,
    /// Tenant override of the default expiry, seconds.
    pub default_expiry_secs: Option<i64>,
    /// Tenant override of the maximum expiry, seconds.
    pub max_expiry_secs: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

pub(super) const TENANT_COLUMNS: &str =
    "t.id, t.name, t.default_expiry_secs, t.max_expiry_secs, t.created_at";

impl Database {
    /// Creates a tenant with its first API token (given as a hash) and records
    /// `tenant_created`. Returns `None` when the name is taken.
    pub async fn create_tenant(
        &self,
        id: &str,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<Option<Tenant>> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, created_at, last_active_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, tenant_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        audit::insert(&mut tx, id, None, AuditKind::TenantCreated, None, now).await?;
        tx.commit().await?;
        Ok(Some(Tenant {
            id: id.to_owned(),
            name: name.to_owned(),
            default_expiry_secs: None,
            max_expiry_secs: None,
            created_at: now,
        }))
    }

    /// All tenants, oldest first.
    pub async fn tenants(&self) -> sqlx::Result<Vec<Tenant>> {
        sqlx::query_as(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t ORDER BY t.created_at, t.name"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// The tenant holding an unrevoked API token with this hash.
    pub async fn tenant_by_token_hash(&self, token_hash: &[u8]) -> sqlx::Result<Option<Tenant>> {
        sqlx::query_as(&format!(
            "SELECT {TENANT_COLUMNS} FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: &str) -> sqlx::Result<Option<Tenant>> {
        sqlx::query_as(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The tenant of a Zendesk subdomain.
    pub async fn tenant_by_subdomain(&self, subdomain: &Subdomain) -> sqlx::Result<Option<Tenant>> {
        sqlx::query_as(&format!(
            "SELECT {TENANT_COLUMNS} FROM tenants t WHERE t.zendesk_subdomain = $1"
        ))
        .bind(subdomain.as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// The Zendesk subdomain of a tenant, if it came from Zendesk.
    pub async fn subdomain_of(&self, tenant_id: &str) -> sqlx::Result<Option<Subdomain>> {
        let row = sqlx::query("SELECT zendesk_subdomain FROM tenants WHERE id = $1")
            .bind(tenant_id)
            .fetch_optional(&self.pool)
            .await?;
        let text: Option<String> = match row {
            Some(row) => row.try_get(0)?,
            None => None,
        };
        Ok(text.and_then(|t| Subdomain::parse(&t).ok()))
    }

    /// Creates the tenant of a Zendesk subdomain named `name` (or, when a tenant made by hand
    /// already carries that name, `name (xxxxxx)`), with its default settings (a fresh widget
    /// key), its first installation and a `tenant_created` event, in one transaction. Returns
    /// the existing tenant when the subdomain has one (two first visits racing make one).
    pub async fn create_zendesk_tenant(
        &self,
        id: &str,
        subdomain: &Subdomain,
        installation_id: u64,
        app_public_key_pem: &str,
        widget_key: &str,
        now: i64,
    ) -> sqlx::Result<Tenant> {
        self.create_zendesk_tenant_with(
            id,
            subdomain,
            Some((installation_id, app_public_key_pem)),
            widget_key,
            now,
        )
        .await
    }

    /// As [`Self::create_zendesk_tenant`], with no installation pinned yet (the operator makes
    /// the app's shared secret before the packaged sidebar's first sign-in, which pins it).
    pub async fn create_zendesk_tenant_with(
        &self,
        id: &str,
        subdomain: &Subdomain,
        installation: Option<(u64, &str)>,
        widget_key: &str,
        now: i64,
    ) -> sqlx::Result<Tenant> {
        let mut name = format!("{subdomain}.zendesk.com");
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query("SELECT 1 FROM tenants WHERE name = $1")
            .bind(&name)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if taken {
            name = format!("{name} ({})", &id[..6.min(id.len())]);
        }
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, zendesk_subdomain, created_at, last_active_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&name)
        .bind(subdomain.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            drop(tx);
            return self
                .tenant_by_subdomain(subdomain)
                .await?
                .ok_or(sqlx::Error::RowNotFound);
        }
        settings::insert_defaults(&mut tx, id, widget_key, now).await?;
        if let Some((installation_id, app_public_key_pem)) = installation {
            sqlx::query(
                "INSERT INTO zendesk_installations (tenant_id, installation_id, app_public_key, created_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(installation_id.to_string())
            .bind(app_public_key_pem)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let detail = json!({
            "zendesk": subdomain.as_str(),
            "installation": installation.map(|(i, _)| i.to_string()),
        });
        audit::insert(
            &mut tx,
            id,
            None,
            AuditKind::TenantCreated,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Tenant {
            id: id.to_owned(),
            name,
            default_expiry_secs: None,
            max_expiry_secs: None,
            created_at: now,
        })
    }
}
