//! `packages`, `package_files` and `parts`: a package's row, its manifest and file table, the
//! parts held, and the queries of its lifecycle (finalize, revoke, purge).

use std::fmt;

use sealdrop_crypto::{LinkVerifier, ServerSecret};
use sqlx::Row;
use zeroize::Zeroizing;

use super::{bad_column, signed, unsigned, Database};

/// Where a package is in its life. Expiry is a matter of time, not of state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageState {
    /// Created; manifest and parts may be sent.
    Uploading,
    /// Finalized; can be opened and downloaded until it expires.
    Ready,
    /// Revoked; blobs deleted, row kept until purged.
    Revoked,
}

impl PackageState {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Ready => "ready",
            Self::Revoked => "revoked",
        }
    }

    pub(super) fn parse(text: &str) -> sqlx::Result<Self> {
        match text {
            "uploading" => Ok(Self::Uploading),
            "ready" => Ok(Self::Ready),
            "revoked" => Ok(Self::Revoked),
            other => Err(bad_column("state", format!("unknown state {other:?}"))),
        }
    }
}

/// Who created a package (`packages.created_by`, and the audit log's `by`).
pub use sealdrop_api::data_requests::CreatedBy;

/// Reads `packages.created_by`.
pub(super) fn parse_created_by(text: &str) -> sqlx::Result<CreatedBy> {
    CreatedBy::parse(text)
        .ok_or_else(|| bad_column("created_by", format!("unknown creator {text:?}")))
}

/// A package without its manifest. `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct Package {
    /// b64u(package_id).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Where it is in its life.
    pub state: PackageState,
    /// Who created it.
    pub created_by: CreatedBy,
    /// The server secret `S`.
    pub server_secret: ServerSecret,
    /// SHA-256 of the upload token.
    pub upload_token_hash: [u8; 32],
    /// `SHA-256(A)`, once the manifest is set.
    pub link_verifier: Option<LinkVerifier>,
    /// Whether opening needs a recipient or agent session.
    pub require_auth: bool,
    /// Where to send download receipts, if asked for.
    pub notify_sender: Option<String>,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<u32>,
    /// Downloads started so far.
    pub downloads_used: u32,
    /// Unix seconds.
    pub created_at: i64,
}

impl fmt::Debug for Package {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Package")
            .field("id", &self.id)
            .field("tenant_id", &self.tenant_id)
            .field("state", &self.state)
            .field("expires_at", &self.expires_at)
            .field("max_downloads", &self.max_downloads)
            .field("downloads_used", &self.downloads_used)
            .finish_non_exhaustive()
    }
}

const PACKAGE_COLUMNS: &str =
    "id, tenant_id, state, created_by, server_secret, upload_token_hash, link_verifier, \
     require_auth, notify_sender, expires_at, max_downloads, downloads_used, created_at";

fn bytes32(column: &str, bytes: &[u8]) -> sqlx::Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| bad_column(column, "not 32 bytes"))
}

fn count(column: &str, value: i64) -> sqlx::Result<u32> {
    u32::try_from(value).map_err(|_| bad_column(column, format!("out of range: {value}")))
}

fn package_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<Package> {
    let secret: Zeroizing<Vec<u8>> = Zeroizing::new(row.try_get(4)?);
    let token_hash: Vec<u8> = row.try_get(5)?;
    let verifier: Option<Vec<u8>> = row.try_get(6)?;
    let max_downloads: Option<i64> = row.try_get(10)?;
    Ok(Package {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        state: PackageState::parse(&row.try_get::<String, _>(2)?)?,
        created_by: parse_created_by(&row.try_get::<String, _>(3)?)?,
        server_secret: ServerSecret::from_bytes(bytes32("server_secret", &secret)?),
        upload_token_hash: bytes32("upload_token_hash", &token_hash)?,
        link_verifier: verifier
            .map(|v| bytes32("link_verifier", &v).map(LinkVerifier::from_bytes))
            .transpose()?,
        require_auth: row.try_get::<i64, _>(7)? != 0,
        notify_sender: row.try_get(8)?,
        expires_at: row.try_get(9)?,
        max_downloads: max_downloads
            .map(|n| count("max_downloads", n))
            .transpose()?,
        downloads_used: count("downloads_used", row.try_get(11)?)?,
        created_at: row.try_get(12)?,
    })
}

/// A new package, as inserted by `POST /api/v1/packages`.
pub struct NewPackage<'a> {
    /// b64u(package_id).
    pub id: &'a str,
    /// Owning tenant.
    pub tenant_id: &'a str,
    /// Who created it.
    pub created_by: CreatedBy,
    /// The Zendesk user who created it, when an agent did.
    pub created_by_user: Option<u64>,
    /// `S`.
    pub server_secret: &'a ServerSecret,
    /// SHA-256 of the upload token.
    pub upload_token_hash: &'a [u8],
    /// Whether opening needs a session.
    pub require_auth: bool,
    /// Receipt address.
    pub notify_sender: Option<&'a str>,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<u32>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileEntry {
    /// 0-based file index.
    pub file: u64,
    /// Ciphertext size in bytes.
    pub ciphertext_size: u64,
    /// Number of upload parts.
    pub part_count: u64,
}

fn file_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<FileEntry> {
    Ok(FileEntry {
        file: unsigned("file", row.try_get(0)?)?,
        ciphertext_size: unsigned("ciphertext_size", row.try_get(1)?)?,
        part_count: unsigned("part_count", row.try_get(2)?)?,
    })
}

/// One held part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPart {
    /// File index.
    pub file: u64,
    /// Part index.
    pub part: u64,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the part.
    pub sha256: [u8; 32],
}

fn part_from_row(row: &sqlx::any::AnyRow) -> sqlx::Result<HeldPart> {
    let sha256: Vec<u8> = row.try_get(3)?;
    Ok(HeldPart {
        file: unsigned("file", row.try_get(0)?)?,
        part: unsigned("part", row.try_get(1)?)?,
        size: unsigned("size", row.try_get(2)?)?,
        sha256: bytes32("sha256", &sha256)?,
    })
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

/// A package an agent sent, as `GET /api/v1/packages?mine=1` lists it.
#[derive(Debug, Clone)]
pub struct SentPackage {
    /// Package id.
    pub id: String,
    /// Where it is in its life.
    pub state: PackageState,
    /// Whether opening needs a session.
    pub require_auth: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<u32>,
    /// Downloads started.
    pub downloads_used: u32,
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
    /// Every allowed download was used, and no download token is still live.
    DownloadedOut,
}

impl PurgeReason {
    /// Name used in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Abandoned => "abandoned",
            Self::DownloadedOut => "downloaded_out",
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

impl Database {
    /// Inserts a new package in state `uploading`.
    pub async fn insert_package(&self, p: &NewPackage<'_>) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO packages (id, tenant_id, state, created_by, created_by_user, server_secret, \
             upload_token_hash, require_auth, notify_sender, expires_at, max_downloads, downloads_used, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12)",
        )
        .bind(p.id)
        .bind(p.tenant_id)
        .bind(PackageState::Uploading.as_str())
        .bind(p.created_by.as_str())
        .bind(p.created_by_user.map(|u| u.to_string()))
        .bind(&p.server_secret.as_bytes()[..])
        .bind(p.upload_token_hash)
        .bind(i64::from(p.require_auth))
        .bind(p.notify_sender)
        .bind(p.expires_at)
        .bind(p.max_downloads.map(i64::from))
        .bind(p.created_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
    }

    /// A package by id (without the manifest).
    pub async fn package(&self, id: &str) -> sqlx::Result<Option<Package>> {
        let row = sqlx::query(&format!(
            "SELECT {PACKAGE_COLUMNS} FROM packages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(package_from_row).transpose()
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
        link_verifier: &LinkVerifier,
        files: &[FileEntry],
    ) -> sqlx::Result<ManifestOutcome> {
        let link_verifier = &link_verifier.as_bytes()[..];
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT state, manifest, link_verifier FROM packages WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(ManifestOutcome::NotUploading);
        };
        if PackageState::parse(&row.try_get::<String, _>(0)?)? != PackageState::Uploading {
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
            .bind(signed(f.file))
            .bind(signed(f.ciphertext_size))
            .bind(signed(f.part_count))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ManifestOutcome::Stored)
    }

    /// Replaces a finalized package's manifest `old` by `new` (a re-wrap: the same package
    /// with other key stanzas, checked by the caller) if `old` is still what is stored, and
    /// records `package_rewrapped` with `detail`, in one transaction. `false`: the stored
    /// manifest changed meanwhile, nothing was written.
    pub async fn replace_manifest(
        &self,
        id: &str,
        tenant_id: &str,
        old: &[u8],
        new: &[u8],
        detail: &serde_json::Value,
        now: i64,
    ) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE packages SET manifest = $1 WHERE id = $2 AND tenant_id = $3 AND manifest = $4",
        )
        .bind(new)
        .bind(id)
        .bind(tenant_id)
        .bind(old)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        super::audit::insert(
            &mut tx,
            tenant_id,
            Some(id),
            super::AuditKind::PackageRewrapped,
            Some(detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A tenant's finalized Help Center packages that have not expired, newest first (at most
    /// `limit`): id, manifest, creation and expiry. Team-sealed packages are among them.
    pub async fn live_widget_manifests(
        &self,
        tenant_id: &str,
        now: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<(String, Vec<u8>, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT id, manifest, created_at, expires_at FROM packages \
             WHERE tenant_id = $1 AND state = $2 AND created_by = $3 AND expires_at > $4 \
             AND manifest IS NOT NULL ORDER BY created_at DESC, id LIMIT $5",
        )
        .bind(tenant_id)
        .bind(PackageState::Ready.as_str())
        .bind(CreatedBy::Widget.as_str())
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// The file table stored with the manifest, in file order.
    pub async fn files(&self, id: &str) -> sqlx::Result<Vec<FileEntry>> {
        let rows = sqlx::query(
            "SELECT file, ciphertext_size, part_count FROM package_files WHERE package_id = $1 ORDER BY file",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(file_from_row).collect()
    }

    /// One file of the table.
    pub async fn file(&self, id: &str, file: u64) -> sqlx::Result<Option<FileEntry>> {
        let row = sqlx::query(
            "SELECT file, ciphertext_size, part_count FROM package_files WHERE package_id = $1 AND file = $2",
        )
        .bind(id)
        .bind(signed(file))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    /// A held part.
    pub async fn part(&self, id: &str, file: u64, part: u64) -> sqlx::Result<Option<HeldPart>> {
        let row = sqlx::query(
            "SELECT file, part, size, sha256 FROM parts WHERE package_id = $1 AND file = $2 AND part = $3",
        )
        .bind(id)
        .bind(signed(file))
        .bind(signed(part))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(part_from_row).transpose()
    }

    /// Records a part whose blob is stored. Returns `false` if it was already recorded.
    pub async fn insert_part(&self, id: &str, p: &HeldPart, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO parts (package_id, file, part, size, sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (package_id, file, part) DO NOTHING",
        )
        .bind(id)
        .bind(signed(p.file))
        .bind(signed(p.part))
        .bind(signed(p.size))
        .bind(&p.sha256[..])
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a part's claim made with these bytes (after its write failed); a claim with
    /// other bytes stays.
    pub async fn release_part(&self, id: &str, p: &HeldPart) -> sqlx::Result<()> {
        sqlx::query(
            "DELETE FROM parts WHERE package_id = $1 AND file = $2 AND part = $3 AND sha256 = $4",
        )
        .bind(id)
        .bind(signed(p.file))
        .bind(signed(p.part))
        .bind(&p.sha256[..])
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many parts of one file are held (one indexed count, whatever the package's size).
    pub async fn count_parts(&self, id: &str, file: u64) -> sqlx::Result<u64> {
        let held: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM parts WHERE package_id = $1 AND file = $2")
                .bind(id)
                .bind(signed(file))
                .fetch_one(&self.pool)
                .await?;
        unsigned("count", held)
    }

    /// All held parts, by file then part.
    pub async fn parts(&self, id: &str) -> sqlx::Result<Vec<HeldPart>> {
        let rows = sqlx::query(
            "SELECT file, part, size, sha256 FROM parts WHERE package_id = $1 ORDER BY file, part",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(part_from_row).collect()
    }

    /// Moves an `uploading` package to `ready`. Returns `false` if it was not uploading.
    pub async fn finalize(&self, id: &str, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE packages SET state = $1, finalized_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(PackageState::Ready.as_str())
        .bind(now)
        .bind(id)
        .bind(PackageState::Uploading.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a package revoked and forgets its parts and download tokens (the caller deletes
    /// the blobs). Returns `false` if it was already revoked.
    pub async fn revoke(&self, id: &str, now: i64) -> sqlx::Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE packages SET state = $1, revoked_at = $2 WHERE id = $3 AND state <> $1",
        )
        .bind(PackageState::Revoked.as_str())
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

    /// The tenant's packages created by Zendesk user `user_id`, newest first (at most `limit`).
    pub async fn packages_sent_by(
        &self,
        tenant_id: &str,
        user_id: u64,
        limit: i64,
    ) -> sqlx::Result<Vec<SentPackage>> {
        let rows = sqlx::query(
            "SELECT id, state, require_auth, created_at, expires_at, max_downloads, downloads_used FROM packages \
             WHERE tenant_id = $1 AND created_by_user = $2 ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(tenant_id)
        .bind(user_id.to_string())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let max_downloads: Option<i64> = r.try_get(5)?;
                Ok(SentPackage {
                    id: r.try_get(0)?,
                    state: PackageState::parse(&r.try_get::<String, _>(1)?)?,
                    require_auth: r.try_get::<i64, _>(2)? != 0,
                    created_at: r.try_get(3)?,
                    expires_at: r.try_get(4)?,
                    max_downloads: max_downloads
                        .map(|n| count("max_downloads", n))
                        .transpose()?,
                    downloads_used: count("downloads_used", r.try_get(6)?)?,
                })
            })
            .collect()
    }

    /// Packages to purge: expired, revoked, or unfinalized since before `abandoned_before`.
    pub async fn purge_candidates(
        &self,
        now: i64,
        abandoned_before: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<PurgeCandidate>> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, state, expires_at FROM packages p \
             WHERE purged_at IS NULL AND (expires_at <= $1 OR state = $2 \
                OR (state = $3 AND created_at <= $4) \
                OR (state = $6 AND max_downloads IS NOT NULL AND downloads_used >= max_downloads \
                    AND NOT EXISTS (SELECT 1 FROM download_tokens t \
                                    WHERE t.package_id = p.id AND t.expires_at > $1))) \
             ORDER BY created_at LIMIT $5",
        )
        .bind(now)
        .bind(PackageState::Revoked.as_str())
        .bind(PackageState::Uploading.as_str())
        .bind(abandoned_before)
        .bind(limit)
        .bind(PackageState::Ready.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let state = PackageState::parse(&r.try_get::<String, _>(2)?)?;
                let expires_at: i64 = r.try_get(3)?;
                let reason = if state == PackageState::Revoked {
                    PurgeReason::Revoked
                } else if expires_at <= now {
                    PurgeReason::Expired
                } else if state == PackageState::Uploading {
                    PurgeReason::Abandoned
                } else {
                    PurgeReason::DownloadedOut
                };
                Ok(PurgeCandidate {
                    id: r.try_get(0)?,
                    tenant_id: r.try_get(1)?,
                    reason,
                })
            })
            .collect()
    }

    /// Records that a package's blobs are gone; its row stays for the retention period.
    pub async fn mark_purged(&self, id: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE packages SET purged_at = $1 WHERE id = $2 AND purged_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ids of packages whose blobs were purged longer ago than their tenant's package
    /// retention (`default_days` where the tenant's settings name none), at most `limit`.
    pub async fn retained_past(
        &self,
        now: i64,
        default_days: u32,
        limit: i64,
    ) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar(
            "SELECT p.id FROM packages p LEFT JOIN tenant_settings s ON s.tenant_id = p.tenant_id \
             WHERE p.purged_at IS NOT NULL \
               AND p.purged_at <= $1 - COALESCE(s.package_retention_days, $2) * 86400 \
             ORDER BY p.purged_at LIMIT $3",
        )
        .bind(now)
        .bind(i64::from(default_days))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
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
}
