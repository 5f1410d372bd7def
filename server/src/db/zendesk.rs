//! `zendesk_installations`, `zendesk_grants`, `oauth_pending`, `zendesk_role_cache` and
//! `signin_tokens_used`: what the server keeps about each tenant's Zendesk ([`crate::agents`]
//! holds the rules).

use serde_json::json;
use sqlx::Row;

use super::{audit, AuditKind, Database};

/// A recorded app installation.
#[derive(Debug, Clone)]
pub struct Installation {
    /// Zendesk's installation id.
    pub installation_id: u64,
    /// The app's public key (PEM) recorded with it.
    pub app_public_key: String,
    /// When the lifecycle check found it uninstalled (Zendesk answered 404), if it did.
    pub uninstalled_at: Option<i64>,
}

/// The state of a tenant's API grant, as `GET /api/v1/settings` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// No admin granted access yet.
    Missing,
    /// Working (as far as the server knows).
    Active,
    /// Zendesk refused it: an admin must grant again.
    NeedsReauthorization,
}

impl GrantStatus {
    /// The JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Active => "active",
            Self::NeedsReauthorization => "needs_reauthorization",
        }
    }
}

/// A pending authorization taken (single use) by its `state`.
#[derive(Debug)]
pub struct PendingGrant {
    /// The tenant.
    pub tenant_id: String,
    /// Sealed PKCE verifier.
    pub verifier_sealed: Vec<u8>,
    /// The Zendesk user who started it.
    pub created_by: String,
}

impl Database {
    /// The tenant's recorded installation (the oldest, if several).
    pub async fn installation(&self, tenant_id: &str) -> sqlx::Result<Option<Installation>> {
        let row = sqlx::query(
            "SELECT installation_id, app_public_key, uninstalled_at FROM zendesk_installations \
             WHERE tenant_id = $1 ORDER BY created_at, installation_id LIMIT 1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0)?;
        let uninstalled_at: Option<i64> = row.try_get(2)?;
        Ok(id.parse().ok().map(|installation_id| Installation {
            installation_id,
            app_public_key: row.try_get(1).unwrap_or_default(),
            uninstalled_at,
        }))
    }

    /// Records that Zendesk no longer knows the installation (once; `false` when it was
    /// recorded already or the installation is not the tenant's).
    pub async fn mark_uninstalled(
        &self,
        tenant_id: &str,
        installation_id: u64,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE zendesk_installations SET uninstalled_at = $1 \
             WHERE tenant_id = $2 AND installation_id = $3 AND uninstalled_at IS NULL",
        )
        .bind(now)
        .bind(tenant_id)
        .bind(installation_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Pins a reinstalled app's new installation `to` in place of `from`, in one transaction:
    /// the installation row takes the new id (its uninstall time cleared), a scheduled
    /// deletion is cancelled, and `reinstalled` is recorded. `None` when `from` is no longer
    /// the tenant's installation (another instance re-pinned first); otherwise whether a
    /// scheduled deletion was cancelled.
    pub async fn repin_installation(
        &self,
        tenant_id: &str,
        from: u64,
        to: u64,
        now: i64,
    ) -> sqlx::Result<Option<bool>> {
        let mut tx = self.begin_write().await?;
        // Only the pinned row counts; drop any other (none is ever made, but be sure).
        sqlx::query(
            "DELETE FROM zendesk_installations WHERE tenant_id = $1 AND installation_id <> $2",
        )
        .bind(tenant_id)
        .bind(from.to_string())
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE zendesk_installations SET installation_id = $1, uninstalled_at = NULL, created_at = $2 \
             WHERE tenant_id = $3 AND installation_id = $4",
        )
        .bind(to.to_string())
        .bind(now)
        .bind(tenant_id)
        .bind(from.to_string())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(None);
        }
        let cancelled = sqlx::query("DELETE FROM scheduled_deletions WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let detail = json!({
            "from": from.to_string(),
            "to": to.to_string(),
            "deletion_cancelled": cancelled,
        });
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::Reinstalled,
            Some(&detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(cancelled))
    }

    /// Records an installation for a tenant (no-op when recorded already).
    pub async fn record_installation(
        &self,
        tenant_id: &str,
        installation_id: u64,
        pem: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO zendesk_installations (tenant_id, installation_id, app_public_key, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(tenant_id)
        .bind(installation_id.to_string())
        .bind(pem)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The grant's status.
    pub async fn grant_status(&self, tenant_id: &str) -> sqlx::Result<GrantStatus> {
        Ok(match self.sealed_grant(tenant_id).await? {
            None => GrantStatus::Missing,
            Some((_, status)) => status,
        })
    }

    /// The sealed grant and its status.
    pub async fn sealed_grant(
        &self,
        tenant_id: &str,
    ) -> sqlx::Result<Option<(Vec<u8>, GrantStatus)>> {
        let row =
            sqlx::query("SELECT access_token_enc, status FROM zendesk_grants WHERE tenant_id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let status = if row.try_get::<String, _>(1)? == "active" {
            GrantStatus::Active
        } else {
            GrantStatus::NeedsReauthorization
        };
        Ok(Some((row.try_get(0)?, status)))
    }

    /// Stores a working grant (sealed) made by admin `granted_by` (with their email, if
    /// Zendesk gave one), replacing any previous one, and forgets the tenant's cached roles.
    pub async fn store_grant(
        &self,
        tenant_id: &str,
        sealed: &[u8],
        expires_at: Option<i64>,
        granted_by: u64,
        granted_by_email: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO zendesk_grants (tenant_id, access_token_enc, refresh_token_enc, expires_at, granted_by, granted_by_email, status, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, 'active', $6) \
             ON CONFLICT (tenant_id) DO UPDATE SET access_token_enc = excluded.access_token_enc, \
             refresh_token_enc = NULL, expires_at = excluded.expires_at, granted_by = excluded.granted_by, \
             granted_by_email = excluded.granted_by_email, status = 'active', updated_at = excluded.updated_at",
        )
        .bind(tenant_id)
        .bind(sealed)
        .bind(expires_at)
        .bind(granted_by.to_string())
        .bind(granted_by_email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM zendesk_role_cache WHERE tenant_id = $1")
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Who granted the tenant's grant (working or not): the admin's Zendesk user id and the
    /// email recorded for them.
    pub async fn grant_admin(
        &self,
        tenant_id: &str,
    ) -> sqlx::Result<Option<(u64, Option<String>)>> {
        let row = sqlx::query(
            "SELECT granted_by, granted_by_email FROM zendesk_grants WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0)?;
        Ok(id
            .parse()
            .ok()
            .map(|id| (id, row.try_get(1).ok().flatten())))
    }

    /// Records the granting admin's email as Zendesk now gives it.
    pub async fn set_grant_admin_email(&self, tenant_id: &str, email: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE zendesk_grants SET granted_by_email = $1 WHERE tenant_id = $2")
            .bind(email)
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Replaces the sealed tokens after a refresh (keeps who granted it).
    pub async fn update_grant_tokens(
        &self,
        tenant_id: &str,
        sealed: &[u8],
        expires_at: Option<i64>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("UPDATE zendesk_grants SET access_token_enc = $1, expires_at = $2, updated_at = $3 WHERE tenant_id = $4")
            .bind(sealed)
            .bind(expires_at)
            .bind(now)
            .bind(tenant_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Marks an active grant as needing a new authorization and records
    /// `zendesk_grant_lost` with `why`. Returns `false` when it was not active.
    pub async fn mark_grant_lost(
        &self,
        tenant_id: &str,
        why: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE zendesk_grants SET status = 'needs_reauthorization', updated_at = $1 WHERE tenant_id = $2 AND status = 'active'",
        )
        .bind(now)
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        audit::insert(
            &mut tx,
            tenant_id,
            None,
            AuditKind::ZendeskGrantLost,
            Some(&json!({ "reason": why })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a pending authorization under the hash of its `state` (dropping expired ones).
    pub async fn insert_pending_grant(
        &self,
        state_hash: &str,
        tenant_id: &str,
        verifier_sealed: &[u8],
        created_by: u64,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM oauth_pending WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO oauth_pending (state, tenant_id, code_verifier_enc, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash)
        .bind(tenant_id)
        .bind(verifier_sealed)
        .bind(created_by.to_string())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Takes a pending authorization by the hash of its `state`: found, unexpired and not
    /// taken before.
    pub async fn take_pending_grant(
        &self,
        state_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<PendingGrant>> {
        let row = sqlx::query("SELECT tenant_id, code_verifier_enc, created_by, expires_at FROM oauth_pending WHERE state = $1")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let deleted = sqlx::query("DELETE FROM oauth_pending WHERE state = $1")
            .bind(state_hash)
            .execute(&self.pool)
            .await?;
        let expires_at: i64 = row.try_get(3)?;
        if deleted.rows_affected() != 1 || expires_at <= now {
            return Ok(None);
        }
        Ok(Some(PendingGrant {
            tenant_id: row.try_get(0)?,
            verifier_sealed: row.try_get(1)?,
            created_by: row.try_get(2)?,
        }))
    }

    /// A user's cached role text and when it was read from Zendesk.
    pub async fn cached_role(
        &self,
        tenant_id: &str,
        user_id: u64,
    ) -> sqlx::Result<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT role, checked_at FROM zendesk_role_cache WHERE tenant_id = $1 AND user_id = $2",
        )
        .bind(tenant_id)
        .bind(user_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Caches a user's role text, read from Zendesk at `now`.
    pub async fn cache_role(
        &self,
        tenant_id: &str,
        user_id: u64,
        role: &str,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO zendesk_role_cache (tenant_id, user_id, role, checked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role, checked_at = excluded.checked_at",
        )
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(role)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// Records a verified sign-in token as used; `false` when it already was (a replay).
    /// Atomic on both databases: of two instances racing with one token, one wins.
    pub async fn claim_signin_token(
        &self,
        token_hash: &[u8; 32],
        expires_at: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO signin_tokens_used (token_hash, expires_at) VALUES ($1, $2) \
             ON CONFLICT (token_hash) DO NOTHING",
        )
        .bind(&token_hash[..])
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets used sign-in tokens that have expired (they would be refused anyway).
    pub async fn delete_expired_signin_tokens(&self, now: i64) -> sqlx::Result<u64> {
        let done = sqlx::query("DELETE FROM signin_tokens_used WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// The tenant's app shared secret, sealed (`zendesk_app_secrets`), if one was made.
    pub async fn app_secret(&self, tenant_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
        sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT secret_enc FROM zendesk_app_secrets WHERE tenant_id = $1",
        )
        .bind(tenant_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// Stores (or replaces) the tenant's sealed app shared secret.
    pub async fn set_app_secret(
        &self,
        tenant_id: &str,
        secret_enc: &[u8],
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO zendesk_app_secrets (tenant_id, secret_enc, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO UPDATE SET secret_enc = excluded.secret_enc, \
             created_at = excluded.created_at",
        )
        .bind(tenant_id)
        .bind(secret_enc)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
