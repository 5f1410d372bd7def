//! The SQL behind verification: recipients, codes, hourly counters and recipient sessions.
//! Every rule that must hold across server instances is one atomic statement here.

use sqlx::Row;

use super::{EmailAddress, CODES_PER_ADDRESS_PER_HOUR, CODES_PER_PACKAGE_PER_HOUR, MAX_ATTEMPTS};
use crate::db::Database;
use crate::tokens::TokenHash;

/// Length of a rate-limit window.
const WINDOW_SECS: i64 = 3600;

pub(super) async fn insert_recipients(
    db: &Database,
    package_id: &str,
    emails: &[EmailAddress],
) -> sqlx::Result<()> {
    if emails.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for email in emails {
        sqlx::query("INSERT INTO package_recipients (package_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(package_id)
            .bind(email.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

pub(super) async fn is_recipient(
    db: &Database,
    package_id: &str,
    email: &EmailAddress,
) -> sqlx::Result<bool> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM package_recipients WHERE package_id = $1 AND email = $2")
            .bind(package_id)
            .bind(email.as_str())
            .fetch_one(db.pool())
            .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Takes one slot from the address's and the package's counters of the current hour, both or
/// neither. `false` when either is used up.
pub(super) async fn take_rate_slots(
    db: &Database,
    email_hash: &[u8],
    package_id: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let window = now - now.rem_euclid(WINDOW_SECS);
    let mut tx = db.begin_write().await?;
    // Address first, then package: every request locks in the same order (no deadlock).
    for (scope, subject, cap) in [
        ("code_per_address", email_hash, CODES_PER_ADDRESS_PER_HOUR),
        (
            "code_per_package",
            package_id.as_bytes(),
            CODES_PER_PACKAGE_PER_HOUR,
        ),
    ] {
        let done = sqlx::query(
            "INSERT INTO rate_counters (scope, subject, window_start, hits) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
             WHERE rate_counters.hits < $4",
        )
        .bind(scope)
        .bind(subject)
        .bind(window)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Retires every live code of this package and address, and stores the new one.
pub(super) async fn replace_code(
    db: &Database,
    package_id: &str,
    email_hash: &[u8],
    code_hash: &[u8],
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE verification_codes SET used_at = $1 WHERE package_id = $2 AND email_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(package_id)
    .bind(email_hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO verification_codes (package_id, email_hash, code_hash, attempts, expires_at, created_at) \
         VALUES ($1, $2, $3, 0, $4, $5)",
    )
    .bind(package_id)
    .bind(email_hash)
    .bind(code_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Counts one try against the live code of this package and address, if there is one with
/// tries left, and returns its id and stored hash. The conditions are repeated in the outer
/// `WHERE`, which the database re-checks on the row it updates, so concurrent tries can never
/// push a code past [`MAX_ATTEMPTS`].
pub(super) async fn count_attempt(
    db: &Database,
    package_id: &str,
    email_hash: &[u8],
    now: i64,
) -> sqlx::Result<Option<(i64, Vec<u8>)>> {
    let row = sqlx::query(
        "UPDATE verification_codes SET attempts = attempts + 1 \
         WHERE id = (SELECT id FROM verification_codes \
                     WHERE package_id = $1 AND email_hash = $2 AND used_at IS NULL \
                     AND expires_at > $3 AND attempts < $4 ORDER BY id DESC LIMIT 1) \
         AND used_at IS NULL AND expires_at > $3 AND attempts < $4 \
         RETURNING id, code_hash",
    )
    .bind(package_id)
    .bind(email_hash)
    .bind(now)
    .bind(MAX_ATTEMPTS)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// Marks a code used; `false` if it already was (single use under concurrency).
pub(super) async fn mark_used(db: &Database, id: i64, now: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE verification_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn insert_session(
    db: &Database,
    token_hash: &TokenHash,
    package_id: &str,
    email: &EmailAddress,
    expires_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO recipient_sessions (token_hash, package_id, email, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash.as_bytes())
    .bind(package_id)
    .bind(email.as_str())
    .bind(expires_at)
    .bind(now)
    .execute(db.pool())
    .await
    .map(|_| ())
}

/// `(package id, address, expires_at)` of a session.
pub(super) async fn session(
    db: &Database,
    token_hash: &TokenHash,
) -> sqlx::Result<Option<(String, String, i64)>> {
    let row = sqlx::query(
        "SELECT package_id, email, expires_at FROM recipient_sessions WHERE token_hash = $1",
    )
    .bind(token_hash.as_bytes())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .transpose()
}

/// Deletes codes expired for a day, sessions that have expired and counters of past windows.
/// Returns how many rows went. Run by the purge task.
pub async fn purge_expired(db: &Database, now: i64) -> sqlx::Result<u64> {
    let mut removed = 0;
    for (sql, limit) in [
        (
            "DELETE FROM verification_codes WHERE expires_at <= $1",
            now - 24 * 3600,
        ),
        ("DELETE FROM recipient_sessions WHERE expires_at <= $1", now),
        (
            "DELETE FROM rate_counters WHERE window_start <= $1",
            now - 2 * WINDOW_SECS,
        ),
    ] {
        removed += sqlx::query(sql)
            .bind(limit)
            .execute(db.pool())
            .await?
            .rows_affected();
    }
    Ok(removed)
}
