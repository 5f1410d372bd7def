//! A small hand-rolled set of Prometheus counters, rendered as text at `GET /metrics`.
//! Process-local by nature (Prometheus scrapes every instance and sums).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one server process.
#[derive(Debug, Default)]
pub struct Metrics {
    requests_2xx: AtomicU64,
    requests_3xx: AtomicU64,
    requests_4xx: AtomicU64,
    requests_5xx: AtomicU64,
    /// Packages created.
    pub packages_created: AtomicU64,
    /// Packages finalized.
    pub packages_finalized: AtomicU64,
    /// Packages revoked.
    pub packages_revoked: AtomicU64,
    /// Packages removed by the purge task.
    pub packages_purged: AtomicU64,
    /// Parts newly stored.
    pub parts_stored: AtomicU64,
    /// Ciphertext bytes newly stored.
    pub bytes_uploaded: AtomicU64,
    /// Downloads started (`POST …/download`).
    pub downloads_started: AtomicU64,
    /// Ciphertext bytes sent by `GET …/files/{file}`.
    pub bytes_downloaded: AtomicU64,
}

impl Metrics {
    /// Counts one answered request by status class.
    pub fn record_status(&self, status: u16) {
        let counter = match status {
            200..=299 => &self.requests_2xx,
            300..=399 => &self.requests_3xx,
            400..=499 => &self.requests_4xx,
            _ => &self.requests_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str(
            "# HELP sealdrop_http_requests_total HTTP requests answered, by status class.\n",
        );
        out.push_str("# TYPE sealdrop_http_requests_total counter\n");
        for (class, counter) in [
            ("2xx", &self.requests_2xx),
            ("3xx", &self.requests_3xx),
            ("4xx", &self.requests_4xx),
            ("5xx", &self.requests_5xx),
        ] {
            let _ = writeln!(
                out,
                "sealdrop_http_requests_total{{class=\"{class}\"}} {}",
                get(counter)
            );
        }
        for (name, help, counter) in [
            (
                "sealdrop_packages_created_total",
                "Packages created.",
                &self.packages_created,
            ),
            (
                "sealdrop_packages_finalized_total",
                "Packages finalized.",
                &self.packages_finalized,
            ),
            (
                "sealdrop_packages_revoked_total",
                "Packages revoked.",
                &self.packages_revoked,
            ),
            (
                "sealdrop_packages_purged_total",
                "Packages removed by the purge task.",
                &self.packages_purged,
            ),
            (
                "sealdrop_parts_stored_total",
                "Upload parts newly stored.",
                &self.parts_stored,
            ),
            (
                "sealdrop_upload_bytes_total",
                "Ciphertext bytes newly stored.",
                &self.bytes_uploaded,
            ),
            (
                "sealdrop_downloads_started_total",
                "Downloads started.",
                &self.downloads_started,
            ),
            (
                "sealdrop_download_bytes_total",
                "Ciphertext bytes served.",
                &self.bytes_downloaded,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                get(counter)
            );
        }
        out
    }
}
