//! `package_recipients`, `verification_codes` and `recipient_sessions`: the SQL behind email
//! verification ([`crate::verification`]). Every rule that must hold across server instances
//! is one atomic statement here.

use sqlx::Row;

use super::Database;

impl Database {
    /// Records a new package's recipients (already normalised).
    pub async fn insert_recipients(&self, package_id: &str, emails: &[&str]) -> sqlx::Result<()> {
        if emails.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for email in emails {
            sqlx::query("INSERT INTO package_recipients (package_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(package_id)
                .bind(*email)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Whether `email` (normalised) is one of the package's recipients.
    pub async fn is_recipient(&self, package_id: &str, email: &str) -> sqlx::Result<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM package_recipients WHERE package_id = $1 AND email = $2",
        )
        .bind(package_id)
        .bind(email)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Stores a new code for this package and address; earlier live codes stay live.
    pub async fn insert_code(
        &self,
        package_id: &str,
        email_hash: &[u8],
        code_hash: &[u8],
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO verification_codes (package_id, email_hash, code_hash, attempts, expires_at, created_at) \
             VALUES ($1, $2, $3, 0, $4, $5)",
        )
        .bind(package_id)
        .bind(email_hash)
        .bind(code_hash)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts one try against every live code of this package and address (unused,
    /// unexpired, fewer than `max_attempts` tries) and returns their ids and stored hashes.
    /// One atomic `UPDATE`: the database re-checks its `WHERE` on each row it updates, so
    /// concurrent tries can never push a code past `max_attempts`.
    pub async fn count_code_attempts(
        &self,
        package_id: &str,
        email_hash: &[u8],
        max_attempts: i64,
        now: i64,
    ) -> sqlx::Result<Vec<(i64, Vec<u8>)>> {
        let rows = sqlx::query(
            "UPDATE verification_codes SET attempts = attempts + 1 \
             WHERE package_id = $1 AND email_hash = $2 AND used_at IS NULL \
             AND expires_at > $3 AND attempts < $4 \
             RETURNING id, code_hash",
        )
        .bind(package_id)
        .bind(email_hash)
        .bind(now)
        .bind(max_attempts)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Marks code `id` used and retires the other live codes of its package and address;
    /// `false` if it was already used (single use under concurrency).
    pub async fn use_code(
        &self,
        id: i64,
        package_id: &str,
        email_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE verification_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE verification_codes SET used_at = $1 \
             WHERE package_id = $2 AND email_hash = $3 AND used_at IS NULL",
        )
        .bind(now)
        .bind(package_id)
        .bind(email_hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Stores a recipient session (as a hash) for a package and a verified address.
    pub async fn insert_recipient_session(
        &self,
        token_hash: &[u8],
        package_id: &str,
        email: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO recipient_sessions (token_hash, package_id, email, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(package_id)
        .bind(email)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// `(package id, address, expires_at)` of a recipient session.
    pub async fn recipient_session(
        &self,
        token_hash: &[u8],
    ) -> sqlx::Result<Option<(String, String, i64)>> {
        let row = sqlx::query(
            "SELECT package_id, email, expires_at FROM recipient_sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .transpose()
    }

    /// Deletes codes that expired before `codes_before` and sessions expired by `now`.
    /// Returns how many rows went.
    pub async fn delete_expired_verification(
        &self,
        codes_before: i64,
        now: i64,
    ) -> sqlx::Result<u64> {
        let codes = sqlx::query("DELETE FROM verification_codes WHERE expires_at <= $1")
            .bind(codes_before)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let sessions = sqlx::query("DELETE FROM recipient_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(codes + sessions)
    }
}
