//! What one server process counts and times, on the `prometheus-client` crate, served at
//! `GET /metrics` in the OpenMetrics text format ([`CONTENT_TYPE`]), the format Prometheus
//! asks for first and parses by that content type. Process-local by nature: Prometheus
//! scrapes every instance and sums.
//!
//! The names and labels are an interface: docs/OPERATIONS.md ("Metrics and alerts") lists
//! them with alert rules, and the cluster test stage (`xtask/src/cluster.rs`) reads some.
//! Every label takes a few values only, so that no client can grow the number of series:
//! a request is labelled with the route's template from the router (`/api/v1/packages/{id}`,
//! never the path it asked for; `unmatched` when no route matched), its method (`other`
//! beyond the standard ones) and its status class.
//!
//! The database pool is read when Prometheus scrapes (`PoolCollector`, over
//! [`Database::pool_figures`]); everything else is recorded where it happens: requests in
//! `app.rs`'s middleware, packages, parts and bytes in the routes, the purge in
//! [`crate::state::AppState::purge`].

use std::sync::atomic::AtomicU64;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::db::Database;
use crate::purge::PurgeReport;

/// The content type of [`Metrics::render`]: OpenMetrics 1.0.0 text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bounds (seconds) of the request latency buckets: from a cached page to an 8 MiB part
/// over a slow line.
const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];
/// Bounds (seconds) of the part duration buckets: an 8 MiB part to or from the store.
const PART_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The route label of a request that no route matched (the fallback's `404`).
pub const UNMATCHED: &str = "unmatched";

/// Which way ciphertext went between the server and its blob store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// A part written to the store (`PUT …/parts/{part}`).
    Upload,
    /// Ciphertext read from the store and sent (`GET …/files/{file}`).
    Download,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Download => "download",
        }
    }
}

/// Labels of `sealdrop_http_request_duration_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status_class: &'static str,
}

/// Labels of the transfer figures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TransferLabels {
    direction: &'static str,
    backend: &'static str,
}

/// Labels of `sealdrop_purge_runs_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Labels of `sealdrop_purge_rows_deleted_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TableLabels {
    table: &'static str,
}

/// Labels of the pool gauges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BackendLabels {
    backend: &'static str,
}

/// One ciphertext direction's figures for this process's blob store.
#[derive(Debug, Clone)]
struct Transfer {
    bytes: Counter,
    part_seconds: Histogram,
}

/// Every metric of one server process, and the registry that renders them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram>,
    packages_created: Counter,
    packages_finalized: Counter,
    packages_revoked: Counter,
    packages_purged: Counter,
    parts_stored: Counter,
    downloads_started: Counter,
    upload: Transfer,
    download: Transfer,
    purge_ok: Counter,
    purge_error: Counter,
    purge_failed_packages: Counter,
    /// By table, in [`PURGED_TABLES`]' order.
    purge_rows_deleted: [Counter; 3],
    purge_last_duration: Gauge<f64, AtomicU64>,
    purge_last_success: Gauge,
}

impl Metrics {
    /// Registers every metric. `storage_backend` (`folder` or `s3`) labels the transfer
    /// figures; the pool gauges read `db` at each scrape and carry its backend.
    pub fn new(db: Database, storage_backend: &'static str) -> Self {
        let mut registry = Registry::with_prefix("sealdrop");
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> _,
        );
        registry.register_with_unit(
            "http_request_duration",
            "Time from a request's arrival to its response head, by route template, method and status class",
            Unit::Seconds,
            requests.clone(),
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let counter = Counter::default();
            registry.register(name, help, counter.clone());
            counter
        };
        let packages_created = counter(&mut registry, "packages_created", "Packages created");
        let packages_finalized = counter(&mut registry, "packages_finalized", "Packages finalized");
        let packages_revoked = counter(&mut registry, "packages_revoked", "Packages revoked");
        let packages_purged = counter(
            &mut registry,
            "packages_purged",
            "Packages whose blobs the purge removed (expired, revoked, abandoned, downloaded out)",
        );
        let parts_stored = counter(&mut registry, "parts_stored", "Upload parts newly held");
        let downloads_started = counter(
            &mut registry,
            "downloads_started",
            "Downloads started (POST .../download that counted against the limit)",
        );

        let bytes = Family::<TransferLabels, Counter>::default();
        registry.register_with_unit(
            "transfer",
            "Ciphertext bytes written to the blob store (upload) or read from it and sent (download)",
            Unit::Bytes,
            bytes.clone(),
        );
        let part_seconds =
            Family::<TransferLabels, Histogram>::new_with_constructor(part_histogram as fn() -> _);
        registry.register_with_unit(
            "transfer_part_duration",
            "Time one part took: upload from the checked spool file to the part held, download from asking the store to the part's last byte read",
            Unit::Seconds,
            part_seconds.clone(),
        );
        // Both series exist from the start, so that rate() sees the first bytes.
        let transfer = |direction: Direction| {
            let labels = TransferLabels {
                direction: direction.as_str(),
                backend: storage_backend,
            };
            Transfer {
                bytes: bytes.get_or_create_owned(&labels),
                part_seconds: part_seconds.get_or_create_owned(&labels),
            }
        };
        let upload = transfer(Direction::Upload);
        let download = transfer(Direction::Download);

        let purge_runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "purge_runs",
            "Purge runs, by outcome (ok; error: the run stopped on an error)",
            purge_runs.clone(),
        );
        let purge_ok = purge_runs.get_or_create_owned(&OutcomeLabels { outcome: "ok" });
        let purge_error = purge_runs.get_or_create_owned(&OutcomeLabels { outcome: "error" });
        let purge_failed_packages = counter(
            &mut registry,
            "purge_failed_packages",
            "Packages a purge run could not remove because their blobs would not delete (retried on the next run)",
        );
        let purge_rows_deleted = Family::<TableLabels, Counter>::default();
        registry.register(
            "purge_rows_deleted",
            "Rows the purge deleted at the end of their retention, by table (packages, audit_events, download_tokens)",
            purge_rows_deleted.clone(),
        );
        let purge_rows_deleted = PURGED_TABLES
            .map(|table| purge_rows_deleted.get_or_create_owned(&TableLabels { table }));
        let purge_last_duration = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "purge_last_duration",
            "How long the last purge run took, whatever its outcome",
            Unit::Seconds,
            purge_last_duration.clone(),
        );
        let purge_last_success = Gauge::default();
        registry.register_with_unit(
            "purge_last_success_timestamp",
            "Unix time at which the last successful purge run ended (0: none yet)",
            Unit::Seconds,
            purge_last_success.clone(),
        );
        registry.register_collector(Box::new(PoolCollector { db }));

        Self {
            registry,
            requests,
            packages_created,
            packages_finalized,
            packages_revoked,
            packages_purged,
            parts_stored,
            downloads_started,
            upload,
            download,
            purge_ok,
            purge_error,
            purge_failed_packages,
            purge_rows_deleted,
            purge_last_duration,
            purge_last_success,
        }
    }

    /// Times one answered request. `route` is the matched route's template, [`UNMATCHED`]
    /// when there is none; `status` is the answer's status code.
    pub fn request(&self, route: &str, method: &http::Method, status: u16, took: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method_label(method),
            status_class: status_class(status),
        };
        self.requests
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// A package was created.
    pub fn package_created(&self) {
        self.packages_created.inc();
    }

    /// A package was finalized (counted once, not on a repeated finalize).
    pub fn package_finalized(&self) {
        self.packages_finalized.inc();
    }

    /// A package was revoked (counted once).
    pub fn package_revoked(&self) {
        self.packages_revoked.inc();
    }

    /// A download started and counted against the package's limit.
    pub fn download_started(&self) {
        self.downloads_started.inc();
    }

    /// A part of `bytes` bytes was written to the store in `took`; `newly_held` when no
    /// earlier request held it already.
    pub fn part_uploaded(&self, bytes: u64, took: Duration, newly_held: bool) {
        self.upload.bytes.inc_by(bytes);
        self.upload.part_seconds.observe(took.as_secs_f64());
        if newly_held {
            self.parts_stored.inc();
        }
    }

    /// `bytes` bytes of ciphertext were read from the store and handed to a response.
    pub fn bytes_downloaded(&self, bytes: u64) {
        self.download.bytes.inc_by(bytes);
    }

    /// One part's range was read from the store for a download in `took`.
    pub fn part_downloaded(&self, took: Duration) {
        self.download.part_seconds.observe(took.as_secs_f64());
    }

    /// A purge run stopped on an error after `took`.
    pub fn purge_failed(&self, took: Duration) {
        self.purge_last_duration.set(took.as_secs_f64());
        self.purge_error.inc();
    }

    /// A purge run did what `report` says in `took`.
    pub fn purge_succeeded(&self, report: &PurgeReport, took: Duration) {
        self.purge_last_duration.set(took.as_secs_f64());
        self.purge_ok.inc();
        self.packages_purged.inc_by(report.packages());
        self.purge_failed_packages.inc_by(report.failed);
        let rows = [
            report.rows_deleted,
            report.audit_events,
            report.download_tokens,
        ];
        for (counter, rows) in self.purge_rows_deleted.iter().zip(rows) {
            counter.inc_by(rows);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.purge_last_success
            .set(i64::try_from(now).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text of every metric, ending in `# EOF` ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail, and every metric encodes");
        out
    }
}

/// The `table` label values of `sealdrop_purge_rows_deleted_total`, in [`PurgeReport`]'s
/// order: `rows_deleted`, `audit_events`, `download_tokens`.
const PURGED_TABLES: [&str; 3] = ["packages", "audit_events", "download_tokens"];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

fn part_histogram() -> Histogram {
    Histogram::new(PART_BUCKETS)
}

/// The method as a label: the standard ones by name, anything else `other` (a client can
/// send any token as a method).
fn method_label(method: &http::Method) -> &'static str {
    use http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Reads the database pool when Prometheus scrapes: open connections, idle ones and the
/// maximum, labelled with the backend (`sqlite` or `postgres`).
#[derive(Debug)]
struct PoolCollector {
    db: Database,
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let pool = self.db.pool_figures();
        let labels = BackendLabels {
            backend: self.db.backend().name(),
        };
        for (name, help, value) in [
            (
                "db_pool_connections",
                "Connections the database pool holds open, in use or idle.",
                u64::from(pool.size),
            ),
            (
                "db_pool_idle_connections",
                "Open connections of the database pool that no request uses.",
                pool.idle as u64,
            ),
            (
                "db_pool_max_connections",
                "The most connections the database pool opens.",
                u64::from(pool.max),
            ),
        ] {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_within_a_few_values() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        let custom = http::Method::from_bytes(b"BREW").expect("a valid token");
        assert_eq!(method_label(&custom), "other");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
        assert_eq!(status_class(999), "5xx");
    }
}
