//! `rate_counters`: fixed one-hour windows of hits per (scope, subject), shared by every
//! server instance. Verification codes and Help Center uploads are capped with them.

use super::Database;

/// Length of a rate-limit window.
pub const WINDOW_SECS: i64 = 3600;

/// The start of the window `now` falls in.
pub fn window_start(now: i64) -> i64 {
    now - now.rem_euclid(WINDOW_SECS)
}

/// Seconds until the current window ends (for "try again in" messages).
pub fn seconds_left_in_window(now: i64) -> i64 {
    window_start(now) + WINDOW_SECS - now
}

/// One counter to take a slot from.
#[derive(Debug, Clone, Copy)]
pub struct Counter<'a> {
    /// What is counted (`code_per_address`, `widget_package_per_ip`, ...).
    pub scope: &'static str,
    /// Whom it is counted for (a hash or an id; never a plain address).
    pub subject: &'a [u8],
    /// Hits allowed per window.
    pub cap: i64,
}

impl Database {
    /// Takes one slot from each counter's current window, all or none, in the order given
    /// (callers list counters in one fixed order, so concurrent requests cannot deadlock).
    /// `Err(i)`: `counters[i]` is used up, and nothing was taken.
    pub async fn take_rate_slots(
        &self,
        counters: &[Counter<'_>],
        now: i64,
    ) -> sqlx::Result<Result<(), usize>> {
        let window = window_start(now);
        let mut tx = self.begin_write().await?;
        for (i, counter) in counters.iter().enumerate() {
            let done = sqlx::query(
                "INSERT INTO rate_counters (scope, subject, window_start, hits) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (scope, subject, window_start) DO UPDATE SET hits = rate_counters.hits + 1 \
                 WHERE rate_counters.hits < $4",
            )
            .bind(counter.scope)
            .bind(counter.subject)
            .bind(window)
            .bind(counter.cap)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(Err(i));
            }
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes the counters of windows that started before `before`; returns how many.
    pub async fn delete_rate_counters(&self, before: i64) -> sqlx::Result<u64> {
        Ok(
            sqlx::query("DELETE FROM rate_counters WHERE window_start <= $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_hours() {
        assert_eq!(window_start(7200), 7200);
        assert_eq!(window_start(7201), 7200);
        assert_eq!(window_start(10_799), 7200);
        assert_eq!(seconds_left_in_window(7201), 3599);
    }
}
