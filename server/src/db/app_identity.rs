//! `app_identity_claims` and `app_credentials`: which agent a packaged sidebar runs for
//! (crate::agents::app_identity). Every secret is stored as its hex SHA-256 only.

use sqlx::Row;

use super::Database;

/// A claim whose OAuth consent has started, found by the hash of its `state`.
#[derive(Debug)]
pub struct StartedClaim {
    /// The claim's hash (its key).
    pub claim_hash: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user the app JWT named (text, as stored).
    pub user_id: String,
    /// The PKCE verifier, sealed.
    pub verifier_sealed: Vec<u8>,
}

/// Where a claim stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    /// Recorded for this user, not proven yet.
    Pending,
    /// Zendesk named the same user: the sidebar may collect its credential (once).
    Verified,
}

impl Database {
    /// Records a new claim for `(tenant, user)`; `false` if its hash exists already (for
    /// anyone: a claim is random, so that is a replay or a collision, and is not reused).
    pub async fn insert_identity_claim(
        &self,
        claim_hash: &str,
        tenant_id: &str,
        user_id: u64,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<bool> {
        sqlx::query("DELETE FROM app_identity_claims WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query(
            "INSERT INTO app_identity_claims (claim_hash, tenant_id, user_id, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (claim_hash) DO NOTHING",
        )
        .bind(claim_hash)
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// An unexpired claim of `(tenant, user)`: where it stands.
    pub async fn identity_claim(
        &self,
        claim_hash: &str,
        tenant_id: &str,
        user_id: u64,
        now: i64,
    ) -> sqlx::Result<Option<ClaimState>> {
        let row = sqlx::query(
            "SELECT verified_at FROM app_identity_claims \
             WHERE claim_hash = $1 AND tenant_id = $2 AND user_id = $3 AND expires_at > $4",
        )
        .bind(claim_hash)
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let verified: Option<i64> = row.try_get(0)?;
        Ok(Some(if verified.is_some() {
            ClaimState::Verified
        } else {
            ClaimState::Pending
        }))
    }

    /// The tenant of an unexpired, unproven claim (the popup's URL carries only its hash).
    pub async fn pending_claim_tenant(
        &self,
        claim_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar::<_, String>(
            "SELECT tenant_id FROM app_identity_claims \
             WHERE claim_hash = $1 AND expires_at > $2 AND verified_at IS NULL",
        )
        .bind(claim_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
    }

    /// Starts the consent of an unexpired, unproven claim: stores the OAuth state's hash and
    /// the sealed verifier. Starting again replaces them (a closed popup, opened again).
    pub async fn start_identity_claim(
        &self,
        claim_hash: &str,
        state_hash: &str,
        verifier_sealed: &[u8],
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE app_identity_claims SET state = $1, code_verifier_enc = $2 \
             WHERE claim_hash = $3 AND expires_at > $4 AND verified_at IS NULL",
        )
        .bind(state_hash)
        .bind(verifier_sealed)
        .bind(claim_hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes a started claim by the hash of its OAuth `state` (single use: the state is
    /// cleared), if unexpired and unproven.
    pub async fn take_started_claim(
        &self,
        state_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<StartedClaim>> {
        let row = sqlx::query(
            "SELECT claim_hash, tenant_id, user_id, code_verifier_enc FROM app_identity_claims \
             WHERE state = $1 AND expires_at > $2 AND verified_at IS NULL",
        )
        .bind(state_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let cleared = sqlx::query(
            "UPDATE app_identity_claims SET state = NULL, code_verifier_enc = NULL WHERE state = $1",
        )
        .bind(state_hash)
        .execute(&self.pool)
        .await?;
        if cleared.rows_affected() != 1 {
            return Ok(None);
        }
        Ok(Some(StartedClaim {
            claim_hash: row.try_get(0)?,
            tenant_id: row.try_get(1)?,
            user_id: row.try_get(2)?,
            verifier_sealed: row.try_get(3)?,
        }))
    }

    /// Marks a claim proven.
    pub async fn verify_identity_claim(&self, claim_hash: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE app_identity_claims SET verified_at = $1 WHERE claim_hash = $2")
            .bind(now)
            .bind(claim_hash)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// Exchanges a proven claim of `(tenant, user)` for a credential, in one transaction:
    /// the claim is deleted (collected once) and the credential's hash stored. `false` when
    /// the claim is not (or no longer) proven for them.
    pub async fn exchange_identity_claim(
        &self,
        claim_hash: &str,
        tenant_id: &str,
        user_id: u64,
        credential_hash: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(
            "DELETE FROM app_identity_claims WHERE claim_hash = $1 AND tenant_id = $2 \
             AND user_id = $3 AND verified_at IS NOT NULL AND expires_at > $4",
        )
        .bind(claim_hash)
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO app_credentials (credential_hash, tenant_id, user_id, created_at, last_used_at, expires_at) \
             VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(credential_hash)
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether an unexpired credential belongs to `(tenant, user)`; records its use.
    pub async fn use_app_credential(
        &self,
        credential_hash: &str,
        tenant_id: &str,
        user_id: u64,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE app_credentials SET last_used_at = $1 WHERE credential_hash = $2 \
             AND tenant_id = $3 AND user_id = $4 AND expires_at > $1",
        )
        .bind(now)
        .bind(credential_hash)
        .bind(tenant_id)
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Forgets expired claims and credentials.
    pub async fn delete_expired_app_identity(&self, now: i64) -> sqlx::Result<u64> {
        let a = sqlx::query("DELETE FROM app_identity_claims WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let b = sqlx::query("DELETE FROM app_credentials WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }
}
