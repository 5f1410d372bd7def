//! Revoking a package: its blobs go at once; the row stays, marked revoked, until the purge
//! task removes it.

use std::sync::Arc;

use serde_json::json;

use super::{parse_id, PackageError};
use crate::db::{AuditKind, Database, PackageState};
use crate::principal::Principal;
use crate::storage::{BlobKey, Storage};
use crate::tokens::TokenHash;

/// Who asks to revoke.
#[derive(Debug)]
pub enum Revoker<'a> {
    /// A tenant API token or agent session; only the package's tenant may.
    Principal(&'a Principal),
    /// The package's upload token; only before finalize.
    UploadToken(&'a TokenHash),
}

/// Revokes a package. Returns `true` when this call revoked it (`false`: it already was).
pub async fn revoke(
    db: &Database,
    storage: &Arc<dyn Storage>,
    raw_id: &str,
    by: Revoker<'_>,
    now: i64,
) -> Result<bool, PackageError> {
    let id = parse_id(raw_id).ok_or(PackageError::Unknown)?;
    let package = db.package(&id).await?.ok_or(PackageError::Unknown)?;
    let by = match by {
        Revoker::Principal(principal) => {
            if principal.tenant().id != package.tenant_id {
                return Err(PackageError::Unknown); // another tenant's package does not exist for you
            }
            principal.created_by().as_str()
        }
        Revoker::UploadToken(hash) => {
            if !hash.matches(&package.upload_token_hash) {
                return Err(PackageError::UnknownForUploadToken);
            }
            if package.state == PackageState::Ready {
                return Err(PackageError::UploadTokenSpent);
            }
            "upload_token"
        }
    };
    if package.state == PackageState::Revoked {
        return Ok(false);
    }
    db.revoke(&id, now).await?;
    storage.delete_prefix(&BlobKey::package(&id)?).await?;
    db.audit(
        &package.tenant_id,
        Some(&id),
        AuditKind::Revoked,
        Some(&json!({ "by": by })),
        now,
    )
    .await?;
    tracing::info!(package = %id, by, "package revoked");
    Ok(true)
}
