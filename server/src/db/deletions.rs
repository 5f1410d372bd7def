//! `tenant_deletions`, and the counting and deleting a tenant's deletion needs
//! ([`crate::deletion`]).

use sqlx::Row;

use super::Database;

/// What a tenant holds, counted before its deletion starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TenantTotals {
    /// Packages, in every state.
    pub packages: u64,
    /// Upload parts (stored objects).
    pub parts: u64,
    /// Ciphertext bytes of those parts.
    pub bytes: u64,
    /// Audit events.
    pub audit_events: u64,
    /// Recipient sessions.
    pub recipient_sessions: u64,
    /// API tokens.
    pub api_tokens: u64,
}

/// A deletion, started or finished.
#[derive(Debug, Clone)]
pub struct DeletionRow {
    /// The tenant (gone once finished).
    pub tenant_id: String,
    /// Its name, as it was.
    pub tenant_name: String,
    /// What it held at the start.
    pub totals: TenantTotals,
    /// Unix seconds.
    pub started_at: i64,
    /// Unix seconds, once finished.
    pub finished_at: Option<i64>,
    /// The signed certificate, once finished.
    pub certificate: Option<String>,
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Database {
    /// Counts what `tenant_id` holds.
    pub async fn tenant_totals(&self, tenant_id: &str) -> sqlx::Result<TenantTotals> {
        let scalar = |sql: &'static str| {
            let pool = self.pool.clone();
            let tenant = tenant_id.to_owned();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .bind(tenant)
                    .fetch_one(&pool)
                    .await
            }
        };
        Ok(TenantTotals {
            packages: count(scalar("SELECT COUNT(*) FROM packages WHERE tenant_id = $1").await?),
            parts: count(
                scalar("SELECT COUNT(*) FROM parts t JOIN packages p ON p.id = t.package_id WHERE p.tenant_id = $1")
                    .await?,
            ),
            bytes: count(
                scalar("SELECT CAST(COALESCE(SUM(t.size), 0) AS BIGINT) FROM parts t JOIN packages p ON p.id = t.package_id WHERE p.tenant_id = $1")
                    .await?,
            ),
            audit_events: count(
                scalar("SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1").await?,
            ),
            recipient_sessions: count(
                scalar("SELECT COUNT(*) FROM recipient_sessions s JOIN packages p ON p.id = s.package_id WHERE p.tenant_id = $1")
                    .await?,
            ),
            api_tokens: count(
                scalar("SELECT COUNT(*) FROM api_tokens WHERE tenant_id = $1").await?,
            ),
        })
    }

    /// The deletion of `tenant_id`, if one was started.
    pub async fn deletion(&self, tenant_id: &str) -> sqlx::Result<Option<DeletionRow>> {
        let row = sqlx::query(
            "SELECT tenant_id, tenant_name, totals, started_at, finished_at, certificate \
             FROM tenant_deletions WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let totals: String = r.try_get(2)?;
            Ok(DeletionRow {
                tenant_id: r.try_get(0)?,
                tenant_name: r.try_get(1)?,
                totals: serde_json::from_str(&totals)
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
                started_at: r.try_get(3)?,
                finished_at: r.try_get(4)?,
                certificate: r.try_get(5)?,
            })
        })
        .transpose()
    }

    /// Records that the deletion of a tenant starts, with what it holds. A second start
    /// (a deletion run again) keeps the first row.
    pub async fn start_deletion(
        &self,
        tenant_id: &str,
        tenant_name: &str,
        totals: &TenantTotals,
        now: i64,
    ) -> sqlx::Result<()> {
        let totals = serde_json::to_string(totals).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO tenant_deletions (tenant_id, tenant_name, totals, started_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant_id)
        .bind(tenant_name)
        .bind(totals)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Up to `limit` package ids of a tenant.
    pub async fn tenant_package_ids(
        &self,
        tenant_id: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar("SELECT id FROM packages WHERE tenant_id = $1 ORDER BY id LIMIT $2")
            .bind(tenant_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Deletes a tenant's audit events and then the tenant itself (its API tokens, settings,
    /// team keys and Zendesk rows follow by cascade, and are deleted by name all the same). Its packages must be gone already.
    pub async fn delete_tenant_rows(&self, tenant_id: &str) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        for sql in [
            "DELETE FROM audit_events WHERE tenant_id = $1",
            "DELETE FROM api_tokens WHERE tenant_id = $1",
            "DELETE FROM scheduled_deletions WHERE tenant_id = $1",
            "DELETE FROM tenant_settings WHERE tenant_id = $1",
            "DELETE FROM team_devices WHERE tenant_id = $1",
            "DELETE FROM team_keys WHERE tenant_id = $1",
            "DELETE FROM zendesk_role_cache WHERE tenant_id = $1",
            "DELETE FROM oauth_pending WHERE tenant_id = $1",
            "DELETE FROM zendesk_grants WHERE tenant_id = $1",
            "DELETE FROM zendesk_app_secrets WHERE tenant_id = $1",
            "DELETE FROM app_identity_claims WHERE tenant_id = $1",
            "DELETE FROM app_credentials WHERE tenant_id = $1",
            "DELETE FROM zendesk_installations WHERE tenant_id = $1",
            "DELETE FROM tenants WHERE id = $1",
        ] {
            sqlx::query(sql).bind(tenant_id).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// Records the finished deletion and its certificate.
    pub async fn finish_deletion(
        &self,
        tenant_id: &str,
        certificate: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE tenant_deletions SET finished_at = $1, certificate = $2 WHERE tenant_id = $3",
        )
        .bind(now)
        .bind(certificate)
        .bind(tenant_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
