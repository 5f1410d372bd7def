//! Re-wrapping team-sealed packages (docs/FORMAT.md §21.2): the admin's browser lists the
//! team-sealed packages ([`team_packages`]), fetches a manifest ([`manifest`]), opens `K` with the recovery identity or its
//! own device key, seals `K` to the current roster and uploads the new manifest ([`rewrap`]).
//! The server checks that the new manifest is the stored one with other key stanzas (same
//! package id, commitment, file table and metadata ciphertext), and swaps it in one statement
//! that also checks the stored bytes did not change meanwhile. The file ciphertexts stay.

use sealdrop_api::team::{Rewrapped, TeamPackage, TeamPackages, MAX_TEAM_PACKAGES};
use sealdrop_api::text::{PackageId as PackageIdText, Timestamp};
use sealdrop_crypto::{Manifest, PackageId};
use serde_json::json;

use super::TeamError;
use crate::db::{Database, Package, PackageState};
use crate::internal::Internal;
use crate::principal::Principal;

/// A re-wrap asked for: the package and the new manifest's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Rewrap<'a> {
    /// The tenant whose admin asks.
    pub tenant_id: &'a str,
    /// The package id as the path gave it.
    pub raw_id: &'a str,
    /// The new manifest.
    pub bytes: &'a [u8],
}

/// A finalized, live package of the tenant and its stored manifest, which must be
/// team-sealed.
async fn team_sealed(
    db: &Database,
    tenant_id: &str,
    raw_id: &str,
    now: i64,
) -> Result<(Package, Vec<u8>, Manifest), TeamError> {
    let id = PackageId::parse_b64u(raw_id)
        .map(|id| id.to_b64u())
        .map_err(|_| TeamError::UnknownPackage)?;
    let package = db
        .package(&id)
        .await?
        .filter(|p| p.tenant_id == tenant_id)
        .ok_or(TeamError::UnknownPackage)?;
    match package.state {
        PackageState::Revoked => return Err(TeamError::Revoked),
        PackageState::Uploading => {
            return Err(TeamError::Conflict(
                "This package is not finalized yet; only finalized packages are re-wrapped.".into(),
            ))
        }
        PackageState::Ready if package.expires_at <= now => return Err(TeamError::Expired),
        PackageState::Ready => {}
    }
    let bytes = db.manifest(&id).await?.ok_or_else(|| {
        TeamError::Internal(anyhow::anyhow!("finalized package {id} has no manifest").into())
    })?;
    let manifest = Manifest::parse(&bytes).map_err(|e| {
        TeamError::Internal(
            anyhow::anyhow!("the stored manifest of {id} does not parse: {e}").into(),
        )
    })?;
    if !manifest.is_team_sealed() {
        return Err(TeamError::NotTeamSealed);
    }
    Ok((package, bytes, manifest))
}

/// The tenant's finalized, live, team-sealed packages, newest first: what the admin's browser
/// re-wraps after a device left the roster.
pub async fn team_packages(
    db: &Database,
    tenant_id: &str,
    now: i64,
) -> Result<TeamPackages, Internal> {
    let limit = i64::try_from(MAX_TEAM_PACKAGES).unwrap_or(i64::MAX);
    let packages = db
        .live_widget_manifests(tenant_id, now, limit)
        .await?
        .into_iter()
        .filter_map(|(id, bytes, created_at, expires_at)| {
            let manifest = Manifest::parse(&bytes).ok()?;
            manifest.is_team_sealed().then(|| TeamPackage {
                id: PackageIdText::new(id),
                created_at: Timestamp::from_unix(created_at),
                expires_at: Timestamp::from_unix(expires_at),
                stanzas: manifest.stanzas().len() as u64,
            })
        })
        .collect();
    Ok(TeamPackages { packages })
}

/// The stored manifest of a team-sealed package of the tenant, for its admin to re-wrap.
/// Only team-sealed packages: their manifests open with a device key or the recovery code, not
/// with anything the link or the server holds.
pub async fn manifest(
    db: &Database,
    tenant_id: &str,
    raw_id: &str,
    now: i64,
) -> Result<Vec<u8>, TeamError> {
    team_sealed(db, tenant_id, raw_id, now)
        .await
        .map(|(_, bytes, _)| bytes)
}

/// Replaces a team-sealed package's manifest with `request.bytes` for `by`, if it is the
/// stored one with other key stanzas; records `package_rewrapped`. The same bytes again
/// change nothing (`replaced: false`).
pub async fn rewrap(
    db: &Database,
    by: &Principal,
    request: Rewrap<'_>,
    now: i64,
) -> Result<Rewrapped, TeamError> {
    let (package, stored_bytes, stored) =
        team_sealed(db, request.tenant_id, request.raw_id, now).await?;
    let new =
        Manifest::parse(request.bytes).map_err(|e| TeamError::InvalidManifest(e.to_string()))?;
    if !new.is_team_sealed() {
        return Err(TeamError::RewrapMismatch("it has a link stanza"));
    }
    if !new.differs_only_in_stanzas(&stored) {
        return Err(TeamError::RewrapMismatch(
            "its package id, key commitment, file table or metadata differ from the stored manifest's",
        ));
    }
    let answer = |replaced| Rewrapped {
        id: PackageIdText::new(package.id.clone()),
        stanzas: new.stanzas().len() as u64,
        replaced,
    };
    if request.bytes == stored_bytes.as_slice() {
        return Ok(answer(false));
    }
    let detail = json!({
        "by": by.audit_name(),
        "stanzas_before": stored.stanzas().len(),
        "stanzas_after": new.stanzas().len(),
    });
    let swapped = db
        .replace_manifest(
            &package.id,
            &package.tenant_id,
            &stored_bytes,
            request.bytes,
            &detail,
            now,
        )
        .await?;
    if !swapped {
        return Err(TeamError::Conflict(
            "The package's manifest changed while this one was checked (another re-wrap?); fetch it again."
                .into(),
        ));
    }
    tracing::info!(package = %package.id, stanzas = new.stanzas().len(), "package re-wrapped");
    Ok(answer(true))
}
