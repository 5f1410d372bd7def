//! The reads and the one write behind data requests ([`crate::data_requests`]): a tenant's
//! package metadata and audit log for its export, what one address left in one tenant's rows,
//! and its erasure in one transaction. They span `packages`, `package_files`,
//! `package_recipients`, `verification_codes`, `recipient_sessions` and `audit_events`.
//!
//! Nothing here reads a column that holds a secret or ciphertext (`server_secret`,
//! `upload_token_hash`, `link_verifier`, `manifest`, token and code hashes): the export cannot
//! leak what its queries never select.
//!
//! Every query is scoped to one tenant: rows of a package belong to the tenant of that package
//! (`package_id IN (SELECT id FROM packages WHERE tenant_id = $1)`), so another tenant's
//! recipients, codes and sessions for the same address are never read or touched.

use sqlx::Row;

use super::audit::{audit_event, insert, AuditKind};
use super::{unsigned, AuditEvent, Database, PackageState};

/// What an export says about one package: its lifecycle and sizes, never its secrets.
#[derive(Debug, Clone)]
pub struct PackageMetadata {
    /// Package id (b64u).
    pub id: String,
    /// Where it is in its life.
    pub state: PackageState,
    /// `tenant_token`, `agent` or `widget`.
    pub created_by: String,
    /// Zendesk user id of the sending agent.
    pub created_by_user: Option<String>,
    /// Zendesk ticket id of an agent send.
    pub ticket_id: Option<String>,
    /// Whether opening needs an email code or an agent session.
    pub require_auth: bool,
    /// The address told of downloads.
    pub notify_sender: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub finalized_at: Option<i64>,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
    /// Unix seconds: when the purge deleted its blobs.
    pub purged_at: Option<i64>,
    /// `None`: unlimited.
    pub max_downloads: Option<u64>,
    /// Downloads started.
    pub downloads_used: u64,
    /// Files in its manifest.
    pub files: u64,
    /// Bytes of ciphertext of those files.
    pub ciphertext_bytes: u64,
}

/// A package one address is named in (as recipient or as the sender's notification address).
#[derive(Debug, Clone)]
pub struct SubjectPackage {
    /// Package id.
    pub id: String,
    /// Where it is in its life.
    pub state: PackageState,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A "send me a code" request for one address, without its hashes.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    /// The package.
    pub package_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Unix seconds: confirmed, or retired by another code's confirmation.
    pub used_at: Option<i64>,
    /// Tries so far.
    pub attempts: u64,
}

/// A recipient session of one address, without its token hash.
#[derive(Debug, Clone)]
pub struct RecipientSessionRow {
    /// The package.
    pub package_id: String,
    /// Unix seconds: when the address was verified.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// One address in one tenant, as [`Database::erase_subject`] looks for it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The tenant.
    pub tenant_id: &'a str,
    /// The normalised address.
    pub email: &'a str,
    /// Its HMAC under the verification key (how `verification_codes` holds it).
    pub email_hash: &'a [u8],
}

/// What [`Database::erase_subject`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErasedCounts {
    /// `package_recipients` rows deleted.
    pub recipient_entries: u64,
    /// Packages whose `notify_sender` was this address, now cleared.
    pub notify_sender_cleared: u64,
    /// `verification_codes` rows deleted.
    pub verification_codes: u64,
    /// `recipient_sessions` rows deleted.
    pub recipient_sessions: u64,
    /// `audit_events` whose detail named the address, rewritten.
    pub audit_events_rewritten: u64,
    /// The Zendesk grant's contact address (`zendesk_grants.granted_by_email`), cleared when
    /// it was this address (0 or 1).
    pub grant_contact_cleared: u64,
}

/// Rows of one tenant's packages: the condition every per-package table is scoped by.
const OF_TENANT: &str = "package_id IN (SELECT id FROM packages WHERE tenant_id = $1)";

/// A `LIKE` pattern matching any text that contains `needle` (`\` escapes `%`, `_`, `\`).
fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn subject_package(r: &sqlx::any::AnyRow) -> sqlx::Result<SubjectPackage> {
    Ok(SubjectPackage {
        id: r.try_get(0)?,
        state: PackageState::parse(&r.try_get::<String, _>(1)?)?,
        created_at: r.try_get(2)?,
        expires_at: r.try_get(3)?,
    })
}

impl Database {
    /// Every package of the tenant, oldest first, with its file count and ciphertext size.
    pub async fn package_metadata(&self, tenant_id: &str) -> sqlx::Result<Vec<PackageMetadata>> {
        let rows = sqlx::query(
            "SELECT p.id, p.state, p.created_by, p.created_by_user, p.ticket_id, p.require_auth, \
             p.notify_sender, p.created_at, p.finalized_at, p.expires_at, p.revoked_at, \
             p.purged_at, p.max_downloads, p.downloads_used, \
             (SELECT COUNT(*) FROM package_files f WHERE f.package_id = p.id), \
             (SELECT CAST(COALESCE(SUM(f.ciphertext_size), 0) AS BIGINT) FROM package_files f \
              WHERE f.package_id = p.id) \
             FROM packages p WHERE p.tenant_id = $1 ORDER BY p.created_at, p.id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let max_downloads: Option<i64> = r.try_get(12)?;
                Ok(PackageMetadata {
                    id: r.try_get(0)?,
                    state: PackageState::parse(&r.try_get::<String, _>(1)?)?,
                    created_by: r.try_get(2)?,
                    created_by_user: r.try_get(3)?,
                    ticket_id: r.try_get(4)?,
                    require_auth: r.try_get::<i64, _>(5)? != 0,
                    notify_sender: r.try_get(6)?,
                    created_at: r.try_get(7)?,
                    finalized_at: r.try_get(8)?,
                    expires_at: r.try_get(9)?,
                    revoked_at: r.try_get(10)?,
                    purged_at: r.try_get(11)?,
                    max_downloads: max_downloads
                        .map(|n| unsigned("max_downloads", n))
                        .transpose()?,
                    downloads_used: unsigned("downloads_used", r.try_get(13)?)?,
                    files: unsigned("files", r.try_get(14)?)?,
                    ciphertext_bytes: unsigned("ciphertext_size", r.try_get(15)?)?,
                })
            })
            .collect()
    }

    /// `(package id, address)` of every recipient of the tenant's packages.
    pub async fn tenant_recipients(&self, tenant_id: &str) -> sqlx::Result<Vec<(String, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT package_id, email FROM package_recipients WHERE {OF_TENANT} \
             ORDER BY package_id, email"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Every audit event of the tenant, oldest first.
    pub async fn all_audit_events(&self, tenant_id: &str) -> sqlx::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, package_id, event, detail, created_at FROM audit_events \
             WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_event).collect()
    }

    /// The tenant's audit events whose detail contains `needle` as text, oldest first (a
    /// superset: the caller decides which really name what it looks for).
    pub async fn audit_events_containing(
        &self,
        tenant_id: &str,
        needle: &str,
    ) -> sqlx::Result<Vec<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, package_id, event, detail, created_at FROM audit_events \
             WHERE tenant_id = $1 AND detail LIKE $2 ESCAPE '\\' ORDER BY id",
        )
        .bind(tenant_id)
        .bind(contains_pattern(needle))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_event).collect()
    }

    /// The tenant's packages that list `email` (normalised) as a recipient, oldest first.
    pub async fn packages_with_recipient(
        &self,
        tenant_id: &str,
        email: &str,
    ) -> sqlx::Result<Vec<SubjectPackage>> {
        let rows = sqlx::query(
            "SELECT p.id, p.state, p.created_at, p.expires_at FROM packages p \
             JOIN package_recipients r ON r.package_id = p.id \
             WHERE p.tenant_id = $1 AND r.email = $2 ORDER BY p.created_at, p.id",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subject_package).collect()
    }

    /// The tenant's packages whose download receipts go to `email` (normalised; the stored
    /// address is compared without regard to case), oldest first.
    pub async fn packages_notifying(
        &self,
        tenant_id: &str,
        email: &str,
    ) -> sqlx::Result<Vec<SubjectPackage>> {
        let rows = sqlx::query(
            "SELECT id, state, created_at, expires_at FROM packages \
             WHERE tenant_id = $1 AND LOWER(notify_sender) = $2 ORDER BY created_at, id",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subject_package).collect()
    }

    /// The Zendesk user id of the admin who granted the tenant's API access, when `email`
    /// (normalised) is the address stored for them.
    pub async fn grant_contact(
        &self,
        tenant_id: &str,
        email: &str,
    ) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar(
            "SELECT granted_by FROM zendesk_grants \
             WHERE tenant_id = $1 AND LOWER(granted_by_email) = $2",
        )
        .bind(tenant_id)
        .bind(email)
        .fetch_optional(&self.pool)
        .await
    }

    /// Code requests for the address of `email_hash` on the tenant's packages, oldest first.
    pub async fn code_requests(
        &self,
        tenant_id: &str,
        email_hash: &[u8],
    ) -> sqlx::Result<Vec<CodeRequest>> {
        let rows = sqlx::query(&format!(
            "SELECT package_id, created_at, expires_at, used_at, attempts FROM verification_codes \
             WHERE {OF_TENANT} AND email_hash = $2 ORDER BY id"
        ))
        .bind(tenant_id)
        .bind(email_hash)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CodeRequest {
                    package_id: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    expires_at: r.try_get(2)?,
                    used_at: r.try_get(3)?,
                    attempts: unsigned("attempts", r.try_get(4)?)?,
                })
            })
            .collect()
    }

    /// Recipient sessions of `email` (normalised) on the tenant's packages, oldest first.
    pub async fn recipient_sessions_of(
        &self,
        tenant_id: &str,
        email: &str,
    ) -> sqlx::Result<Vec<RecipientSessionRow>> {
        let rows = sqlx::query(&format!(
            "SELECT package_id, created_at, expires_at FROM recipient_sessions \
             WHERE {OF_TENANT} AND email = $2 ORDER BY created_at, package_id"
        ))
        .bind(tenant_id)
        .bind(email)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecipientSessionRow {
                    package_id: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    expires_at: r.try_get(2)?,
                })
            })
            .collect()
    }

    /// Erases one address from one tenant's rows in one transaction: deletes its recipient
    /// entries, code requests and recipient sessions, clears it as a notification address,
    /// gives every audit event whose detail contains `needle` to `rewrite` (which answers the
    /// new detail, or `None` to leave it), and appends `subject_erased` with the detail
    /// `record` makes of the counts. Returns the counts.
    pub async fn erase_subject(
        &self,
        subject: Subject<'_>,
        needle: &str,
        rewrite: &(dyn Fn(&str) -> Option<String> + Send + Sync),
        record: &(dyn Fn(&ErasedCounts) -> serde_json::Value + Send + Sync),
        now: i64,
    ) -> sqlx::Result<ErasedCounts> {
        let mut tx = self.begin_write().await?;
        let mut counts = ErasedCounts {
            recipient_entries: sqlx::query(&format!(
                "DELETE FROM package_recipients WHERE {OF_TENANT} AND email = $2"
            ))
            .bind(subject.tenant_id)
            .bind(subject.email)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            notify_sender_cleared: sqlx::query(
                "UPDATE packages SET notify_sender = NULL \
                 WHERE tenant_id = $1 AND LOWER(notify_sender) = $2",
            )
            .bind(subject.tenant_id)
            .bind(subject.email)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            verification_codes: sqlx::query(&format!(
                "DELETE FROM verification_codes WHERE {OF_TENANT} AND email_hash = $2"
            ))
            .bind(subject.tenant_id)
            .bind(subject.email_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            recipient_sessions: sqlx::query(&format!(
                "DELETE FROM recipient_sessions WHERE {OF_TENANT} AND email = $2"
            ))
            .bind(subject.tenant_id)
            .bind(subject.email)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            audit_events_rewritten: 0,
            grant_contact_cleared: sqlx::query(
                "UPDATE zendesk_grants SET granted_by_email = NULL \
                 WHERE tenant_id = $1 AND LOWER(granted_by_email) = $2",
            )
            .bind(subject.tenant_id)
            .bind(subject.email)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        let events = sqlx::query(
            "SELECT id, detail FROM audit_events \
             WHERE tenant_id = $1 AND detail LIKE $2 ESCAPE '\\' ORDER BY id",
        )
        .bind(subject.tenant_id)
        .bind(contains_pattern(needle))
        .fetch_all(&mut *tx)
        .await?;
        for row in &events {
            let id: i64 = row.try_get(0)?;
            let detail: String = row.try_get(1)?;
            if let Some(new) = rewrite(&detail) {
                sqlx::query("UPDATE audit_events SET detail = $1 WHERE id = $2")
                    .bind(new)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                counts.audit_events_rewritten += 1;
            }
        }
        insert(
            &mut tx,
            subject.tenant_id,
            None,
            AuditKind::SubjectErased,
            Some(&record(&counts)),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_the_needle_literally() {
        assert_eq!(
            contains_pattern(r#""a_b%c\d@example.com""#),
            r#"%"a\_b\%c\\d@example.com"%"#
        );
    }
}
