//! The metadata database: one [`Database`] over sqlx's `Any` driver, serving SQLite (the
//! embedded default) and Postgres (for scale) with the same queries. **All of the server's SQL
//! is here**, one file per group of tables; each turns rows into typed values (`bool` flags,
//! [`PackageState`], [`ServerSecret`](sealdrop_crypto::ServerSecret)...) so that nothing
//! above this module sees a column.
//!
//! - [`tenants`] holds `tenants`, `api_tokens` (and making a Zendesk tenant in one transaction);
//! - [`settings`] holds `tenant_settings`;
//! - [`packages`] holds `packages`, `package_files`, `parts`;
//! - [`downloads`] holds `download_tokens`, `download_keys`;
//! - [`verification`] holds `package_recipients`, `verification_codes`, `recipient_sessions`;
//! - [`rate`] holds `rate_counters`, the hourly caps every instance shares;
//! - [`zendesk`] holds `zendesk_installations`, `zendesk_grants`, `oauth_pending`,
//!   `zendesk_role_cache`, `signin_tokens_used`, `zendesk_app_secrets` (and re-pinning a reinstalled app);
//! - [`app_identity`] holds `app_identity_claims`, `app_credentials` (which agent a packaged
//!   sidebar runs for);
//! - [`widget`] is the Help Center widget's lookups across those tables;
//! - [`team`] holds `team_devices` and `team_keys` (team keys: device keys, the wrapped admin
//!   key, the roster);
//! - [`audit`] holds `audit_events`;
//! - [`deletions`] holds `tenant_deletions` (and counts and deletes what a tenant holds);
//! - [`lifecycle`] holds `scheduled_deletions` and the tenants' last activity;
//! - [`data_requests`] reads a tenant's export and one address's rows across those tables,
//!   and erases the address in one transaction.
//!
//! The schema lives in `migrations/sqlite/` and `migrations/postgres/` (same version numbers,
//! same meaning) and is applied at start-up. To keep one set of queries valid on both
//! backends, columns use portable types only (see `migrations/README.md`): times are Unix
//! seconds in `BIGINT`, flags are 0/1 integers, and parameters are written `$1, $2...`
//! (SQLite accepts numbered `$N` parameters too).

pub mod app_identity;
pub mod audit;
pub mod data_requests;
pub mod deletions;
pub mod downloads;
pub mod lifecycle;
pub mod packages;
pub mod rate;
pub mod settings;
pub mod team;
pub mod tenants;
pub mod verification;
pub mod widget;
pub mod zendesk;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

pub use audit::{AuditEvent, AuditFilter, AuditKind};
pub use downloads::DownloadStart;
pub use lifecycle::{DeletionReason, LifecycleTenant, ScheduledDeletion};
pub use packages::{
    CreatedBy, FileEntry, HeldPart, ManifestOutcome, NewPackage, Package, PackageState,
    PurgeCandidate, PurgeReason, SentPackage,
};
pub use settings::{ReplyLinkStyle, TenantSettings};
pub use tenants::Tenant;
pub use zendesk::{GrantStatus, Installation, PendingGrant};

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which SQL engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded default).
    Sqlite,
    /// Postgres server.
    Postgres,
}

impl Backend {
    /// The engine's name in metrics labels: `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How full the connection pool is at one moment ([`Database::pool_figures`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    /// Connections open, in use or idle.
    pub size: u32,
    /// Open connections no one uses.
    pub idle: usize,
    /// The most connections the pool opens.
    pub max: u32,
}

/// A pool of connections to the metadata database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects, creating the SQLite file if needed, and applies pending migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL scheme (use sqlite: or postgres:)");
        };
        let options = AnyConnectOptions::from_str(url).context("parsing DATABASE_URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; wait instead of failing
                        // on a busy database; enforce foreign keys (cascading deletes).
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to the {backend:?} database"))?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator
            .run(&pool)
            .await
            .context("applying database migrations")?;
        Ok(Self { pool, backend })
    }

    /// Begins a transaction that writes. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads first and writes later fails at once with
    /// "database is locked" when another connection wrote in between (WAL mode refuses that lock
    /// upgrade without waiting for the busy timeout). On Postgres it is a plain `BEGIN`.
    async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The connection pool, for tests that look at or change rows directly. The server's
    /// own code goes through the typed methods of this module.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's connections now, for the metrics: when `size - idle` stays at `max`, requests
    /// queue for a connection (and fail after the 10 s acquire timeout).
    pub fn pool_figures(&self) -> PoolFigures {
        PoolFigures {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A trivial query, for `/readyz`.
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// A column whose stored value this version cannot read.
fn bad_column(column: &str, why: impl fmt::Display) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.into(),
        source: why.to_string().into(),
    }
}

/// A stored count or size (never negative) as the unsigned number it is.
fn unsigned(column: &str, value: i64) -> sqlx::Result<u64> {
    u64::try_from(value).map_err(|_| bad_column(column, format!("negative value {value}")))
}

/// An unsigned number as the `BIGINT` it is stored in (saturating at `i64::MAX`).
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
