//! The metadata database: one [`Database`] over sqlx's `Any` driver, serving SQLite (the
//! embedded default) and Postgres (for scale) with the same queries.
//!
//! The schema lives in `migrations/sqlite/` and `migrations/postgres/` (same version numbers,
//! same meaning) and is applied at start-up. To keep one set of queries valid on both
//! backends, columns use portable types only (see `migrations/README.md`): times are Unix
//! seconds in `BIGINT`, flags are 0/1 integers, and parameters are written `$1, $2...`
//! (SQLite accepts numbered `$N` parameters too).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

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

/// A tenant: one Zendesk account or one automation customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Tenant {
    /// Random identifier (b64u).
    pub id: String,
    /// Display name, also shown to recipients as the sender.
    pub name: String,
    /// Tenant override of the default expiry, seconds.
    pub default_expiry_secs: Option<i64>,
    /// Tenant override of the maximum expiry, seconds.
    pub max_expiry_secs: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A package row without its manifest. `Debug` leaves the secrets out.
#[derive(Clone, sqlx::FromRow)]
pub struct PackageRow {
    /// b64u(package_id).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// `uploading`, `ready` or `revoked` (expiry is a matter of time, not of state).
    pub state: String,
    /// Who created it (`tenant_token`; later agent sessions and widgets).
    pub created_by: String,
    /// The server secret S (32 bytes).
    pub server_secret: Vec<u8>,
    /// SHA-256 of the upload token.
    pub upload_token_hash: Vec<u8>,
    /// SHA-256(A), once the manifest is set.
    pub link_verifier: Option<Vec<u8>>,
    /// 1 when opening needs a recipient or agent session.
    pub require_auth: i64,
    /// Where to send download receipts, if asked for.
    pub notify_sender: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<i64>,
    /// Downloads started so far.
    pub downloads_used: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub finalized_at: Option<i64>,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
}

impl fmt::Debug for PackageRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageRow")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("state", &self.state)
            .field("expires_at", &self.expires_at)
            .field("max_downloads", &self.max_downloads)
            .field("downloads_used", &self.downloads_used)
            .finish_non_exhaustive()
    }
}

/// The states a package row can be in.
pub mod state {
    /// Created; manifest and parts may be sent.
    pub const UPLOADING: &str = "uploading";
    /// Finalized; can be opened and downloaded until it expires.
    pub const READY: &str = "ready";
    /// Revoked; blobs deleted, row kept until purged.
    pub const REVOKED: &str = "revoked";
}

/// A new package, as inserted by `POST /api/v1/packages`.
#[derive(Clone)]
pub struct NewPackage<'a> {
    /// b64u(package_id).
    pub id: &'a str,
    /// Owning tenant.
    pub tenant_id: &'a str,
    /// Who created it.
    pub created_by: &'a str,
    /// S, 32 bytes.
    pub server_secret: &'a [u8],
    /// SHA-256 of the upload token.
    pub upload_token_hash: &'a [u8],
    /// Whether opening needs a session.
    pub require_auth: bool,
    /// Receipt address.
    pub notify_sender: Option<&'a str>,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for NewPackage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewPackage")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// One file of a package's manifest, as the server needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct FileRow {
    /// 0-based file index.
    pub file: i64,
    /// Ciphertext size in bytes.
    pub ciphertext_size: i64,
    /// Number of upload parts.
    pub part_count: i64,
}

/// One held part.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PartRow {
    /// File index.
    pub file: i64,
    /// Part index.
    pub part: i64,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the part.
    pub sha256: Vec<u8>,
}

/// One audit log entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    /// Increasing id (use as a cursor).
    pub id: i64,
    /// Tenant the event belongs to.
    pub tenant_id: String,
    /// Package concerned, if any.
    pub package_id: Option<String>,
    /// Event name.
    pub event: String,
    /// Small JSON object with details (never a secret).
    pub detail: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Why the purge task removes a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReason {
    /// Its expiry time has passed.
    Expired,
    /// It was revoked.
    Revoked,
    /// It was never finalized and is older than the abandon age.
    Abandoned,
}

impl PurgeReason {
    /// Name used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Abandoned => "abandoned",
        }
    }
}

/// A package the purge task should remove.
#[derive(Debug, Clone)]
pub struct PurgeCandidate {
    /// b64u(package_id).
    pub id: String,
    /// Owning tenant (for the audit event).
    pub tenant_id: String,
    /// Why.
    pub reason: PurgeReason,
}

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

/// The outcome of storing a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestOutcome {
    /// Stored (first time, or replacing one while no part was held).
    Stored,
    /// The same manifest and verifier were already stored.
    Unchanged,
    /// A different manifest is stored and parts are already held.
    ConflictPartsHeld,
    /// The package is no longer accepting uploads.
    NotUploading,
}

const PACKAGE_COLUMNS: &str =
    "id, tenant_id, state, created_by, server_secret, upload_token_hash, \
     link_verifier, require_auth, notify_sender, expires_at, max_downloads, downloads_used, \
     created_at, finalized_at, revoked_at";

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
    pub async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// The connection pool, for modules that keep their own queries (`verification`).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
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

    // ---- tenants -------------------------------------------------------------------------

    /// Creates a tenant with its first API token (given as a hash). Returns `None` when the
    /// name is taken.
    pub async fn create_tenant(
        &self,
        id: &str,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<Option<Tenant>> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, tenant_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(token_hash)
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Tenant {
            id: id.to_owned(),
            name: name.to_owned(),
            default_expiry_secs: None,
            max_expiry_secs: None,
            created_at: now,
        }))
    }

    /// All tenants, oldest first.
    pub async fn tenants(&self) -> sqlx::Result<Vec<Tenant>> {
        sqlx::query_as(
            "SELECT id, name, default_expiry_secs, max_expiry_secs, created_at FROM tenants ORDER BY created_at, name",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// The tenant holding an unrevoked API token with this hash.
    pub async fn tenant_by_token_hash(&self, token_hash: &[u8]) -> sqlx::Result<Option<Tenant>> {
        sqlx::query_as(
            "SELECT t.id, t.name, t.default_expiry_secs, t.max_expiry_secs, t.created_at \
             FROM api_tokens k JOIN tenants t ON t.id = k.tenant_id \
             WHERE k.token_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
    }

    /// A tenant by id.
    pub async fn tenant(&self, id: &str) -> sqlx::Result<Option<Tenant>> {
        sqlx::query_as(
            "SELECT id, name, default_expiry_secs, max_expiry_secs, created_at FROM tenants WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    // ---- packages ------------------------------------------------------------------------

    /// Inserts a new package in state `uploading`.
    pub async fn insert_package(&self, p: &NewPackage<'_>) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO packages (id, tenant_id, state, created_by, server_secret, upload_token_hash, \
             require_auth, notify_sender, expires_at, max_downloads, downloads_used, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)",
        )
        .bind(p.id)
        .bind(p.tenant_id)
        .bind(state::UPLOADING)
        .bind(p.created_by)
        .bind(p.server_secret)
        .bind(p.upload_token_hash)
        .bind(i64::from(p.require_auth))
        .bind(p.notify_sender)
        .bind(p.expires_at)
        .bind(p.max_downloads)
        .bind(p.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A package by id (without the manifest).
    pub async fn package(&self, id: &str) -> sqlx::Result<Option<PackageRow>> {
        sqlx::query_as(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The stored manifest bytes, if any.
    pub async fn manifest(&self, id: &str) -> sqlx::Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT manifest FROM packages WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => row.try_get::<Option<Vec<u8>>, _>(0),
            None => Ok(None),
        }
    }

    /// Stores the manifest, its link verifier and the file table, following the rules of
    /// `PUT /manifest`: identical bytes are a no-op; different bytes replace the old ones
    /// only while no part is held.
    pub async fn set_manifest(
        &self,
        id: &str,
        manifest: &[u8],
        link_verifier: &[u8],
        files: &[FileRow],
    ) -> sqlx::Result<ManifestOutcome> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT state, manifest, link_verifier FROM packages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(ManifestOutcome::NotUploading);
        };
        let current_state: String = row.try_get(0)?;
        if current_state != state::UPLOADING {
            return Ok(ManifestOutcome::NotUploading);
        }
        let old_manifest: Option<Vec<u8>> = row.try_get(1)?;
        let old_verifier: Option<Vec<u8>> = row.try_get(2)?;
        if old_manifest.as_deref() == Some(manifest)
            && old_verifier.as_deref() == Some(link_verifier)
        {
            return Ok(ManifestOutcome::Unchanged);
        }
        if old_manifest.is_some() {
            let held: i64 = sqlx::query("SELECT COUNT(*) FROM parts WHERE package_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            if held > 0 {
                return Ok(ManifestOutcome::ConflictPartsHeld);
            }
        }
        sqlx::query("UPDATE packages SET manifest = $1, link_verifier = $2 WHERE id = $3")
            .bind(manifest)
            .bind(link_verifier)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM package_files WHERE package_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for f in files {
            sqlx::query(
                "INSERT INTO package_files (package_id, file, ciphertext_size, part_count) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(f.file)
            .bind(f.ciphertext_size)
            .bind(f.part_count)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ManifestOutcome::Stored)
    }

    /// The file table stored with the manifest, in file order.
    pub async fn files(&self, id: &str) -> sqlx::Result<Vec<FileRow>> {
        sqlx::query_as(
            "SELECT file, ciphertext_size, part_count FROM package_files WHERE package_id = $1 ORDER BY file",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
    }

    /// One file of the table.
    pub async fn file(&self, id: &str, file: i64) -> sqlx::Result<Option<FileRow>> {
        sqlx::query_as(
            "SELECT file, ciphertext_size, part_count FROM package_files WHERE package_id = $1 AND file = $2",
        )
        .bind(id)
        .bind(file)
        .fetch_optional(&self.pool)
        .await
    }

    /// A held part.
    pub async fn part(&self, id: &str, file: i64, part: i64) -> sqlx::Result<Option<PartRow>> {
        sqlx::query_as(
            "SELECT file, part, size, sha256 FROM parts WHERE package_id = $1 AND file = $2 AND part = $3",
        )
        .bind(id)
        .bind(file)
        .bind(part)
        .fetch_optional(&self.pool)
        .await
    }

    /// Records a part whose blob is stored. Returns `false` if it was already recorded.
    pub async fn insert_part(&self, id: &str, p: &PartRow, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO parts (package_id, file, part, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (package_id, file, part) DO NOTHING",
        )
        .bind(id)
        .bind(p.file)
        .bind(p.part)
        .bind(p.size)
        .bind(&p.sha256)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// All held parts, by file then part.
    pub async fn parts(&self, id: &str) -> sqlx::Result<Vec<PartRow>> {
        sqlx::query_as(
            "SELECT file, part, size, sha256 FROM parts WHERE package_id = $1 ORDER BY file, part",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
    }

    /// Moves an `uploading` package to `ready`. Returns `false` if it was not uploading.
    pub async fn finalize(&self, id: &str, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE packages SET state = $1, finalized_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(state::READY)
        .bind(now)
        .bind(id)
        .bind(state::UPLOADING)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

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
        key_hash: Option<&[u8]>,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<DownloadStart> {
        let mut tx = self.begin_write().await?;
        if let Some(key_hash) = key_hash {
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
        .bind(state::READY)
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
        key_hash: &[u8],
        now: i64,
    ) -> sqlx::Result<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM download_keys WHERE package_id = $1 AND key_hash = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(key_hash)
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

    /// Marks a package revoked and forgets its parts (the caller deletes the blobs).
    /// Returns `false` if it was already revoked.
    pub async fn revoke(&self, id: &str, now: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE packages SET state = $1, revoked_at = $2 WHERE id = $3 AND state <> $1",
        )
        .bind(state::REVOKED)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM parts WHERE package_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM download_tokens WHERE package_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- purge ---------------------------------------------------------------------------

    /// Packages to purge: expired, revoked, or unfinalized since before `abandoned_before`.
    pub async fn purge_candidates(
        &self,
        now: i64,
        abandoned_before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<PurgeCandidate>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, state, expires_at FROM packages \
             WHERE expires_at <= $1 OR state = $2 OR (state = $3 AND created_at <= $4) \
             ORDER BY created_at LIMIT $5",
        )
        .bind(now)
        .bind(state::REVOKED)
        .bind(state::UPLOADING)
        .bind(abandoned_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let st: String = r.try_get(2)?;
                let expires_at: i64 = r.try_get(3)?;
                let reason = if st == state::REVOKED {
                    PurgeReason::Revoked
                } else if expires_at <= now {
                    PurgeReason::Expired
                } else {
                    PurgeReason::Abandoned
                };
                Ok(PurgeCandidate {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    reason,
                })
            })
            .collect()
    }

    /// Deletes a package row and everything that hangs off it.
    pub async fn delete_package(&self, id: &str) -> sqlx::Result<()> {
        let mut tx = self.begin_write().await?;
        for table in ["download_tokens", "download_keys", "parts", "package_files"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE package_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM packages WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
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

    // ---- audit ---------------------------------------------------------------------------

    /// Appends an audit event. `detail` is a small JSON object and never holds a secret.
    pub async fn audit(
        &self,
        tenant_id: &str,
        package_id: Option<&str>,
        event: &str,
        detail: Option<&serde_json::Value>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, package_id, event, detail, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id)
        .bind(package_id)
        .bind(event)
        .bind(detail.map(|d| d.to_string()))
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A tenant's audit events, newest first, optionally for one package and before an id.
    pub async fn audit_events(
        &self,
        tenant_id: &str,
        package_id: Option<&str>,
        before_id: Option<i64>,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditEvent>> {
        sqlx::query_as(
            "SELECT id, tenant_id, package_id, event, detail, created_at FROM audit_events \
             WHERE tenant_id = $1 AND ($2 IS NULL OR package_id = $2) AND ($3 IS NULL OR id < $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(tenant_id)
        .bind(package_id)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
