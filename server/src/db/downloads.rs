//! `download_tokens` and `download_keys`: the tokens a downloader fetches ciphertext with, and
//! the idempotency keys that make a retried download start count once.

use sqlx::Row;

use super::{Database, PackageState};

/// The outcome of [`Database::take_download`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadStart {
    /// One download was taken from the package's limit.
    Counted,
    /// The idempotency key already started a download of this package: nothing was taken.
    /// `expires_at` is when that first download's token expires (and the key is forgotten).
    Repeated {
        /// Unix seconds.
        expires_at: i64,
    },
    /// The package is not ready, expired, or its limit is used up.
    Refused,
}

impl Database {
    /// Atomically takes one download from a ready, unexpired package whose limit is not used
    /// up, remembering the SHA-256 of its idempotency key (if any) until `expires_at`, the
    /// expiry of the download token the caller is about to issue.
    ///
    /// A key already remembered for this package (and not expired) takes nothing: the answer is
    /// [`DownloadStart::Repeated`] with the expiry recorded the first time. Key and download are
    /// taken in one transaction, so two requests racing with the same key count once, and a
    /// refused download (limit used up) leaves no key behind.
    pub async fn take_download(
        &self,
        id: &str,
        key_hash: Option<&[u8; 32]>,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<DownloadStart> {
        let mut tx = self.begin_write().await?;
        if let Some(key_hash) = key_hash {
            let key_hash = &key_hash[..];
            // Keys outlive their download token by no more than until the next start.
            sqlx::query("DELETE FROM download_keys WHERE package_id = $1 AND expires_at <= $2")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let inserted = sqlx::query(
                "INSERT INTO download_keys (package_id, key_hash, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (package_id, key_hash) DO NOTHING",
            )
            .bind(id)
            .bind(key_hash)
            .bind(expires_at)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 0 {
                let first: i64 = sqlx::query_scalar(
                    "SELECT expires_at FROM download_keys WHERE package_id = $1 AND key_hash = $2",
                )
                .bind(id)
                .bind(key_hash)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                return Ok(DownloadStart::Repeated {
                    expires_at: first.min(expires_at),
                });
            }
        }
        let taken = sqlx::query(
            "UPDATE packages SET downloads_used = downloads_used + 1 \
             WHERE id = $1 AND state = $2 AND expires_at > $3 \
             AND (max_downloads IS NULL OR downloads_used < max_downloads)",
        )
        .bind(id)
        .bind(PackageState::Ready.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if taken.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(DownloadStart::Refused);
        }
        tx.commit().await?;
        Ok(DownloadStart::Counted)
    }

    /// Whether this package remembers idempotency key `key_hash` (not yet expired).
    pub async fn download_key_known(
        &self,
        id: &str,
        key_hash: &[u8; 32],
        now: i64,
    ) -> sqlx::Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM download_keys WHERE package_id = $1 AND key_hash = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(&key_hash[..])
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Stores a download token (as a hash) bound to a package.
    pub async fn insert_download_token(
        &self,
        token_hash: &[u8],
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO download_tokens (token_hash, package_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// The package id and expiry of a download token.
    pub async fn download_token(&self, token_hash: &[u8]) -> sqlx::Result<Option<(String, i64)>> {
        let row =
            sqlx::query("SELECT package_id, expires_at FROM download_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Deletes expired download tokens, and the idempotency keys of downloads whose token
    /// lifetime is over; returns how many tokens.
    pub async fn delete_expired_download_tokens(&self, now: i64) -> sqlx::Result<u64> {
        sqlx::query("DELETE FROM download_keys WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query("DELETE FROM download_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
