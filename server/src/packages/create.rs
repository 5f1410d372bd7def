//! `POST /api/v1/packages`: a new package, its server secret and its upload token.

use sealdrop_crypto::{OsRandom, PackageId, ServerSecret};
use serde::Deserialize;
use serde_json::json;

use super::PackageError;
use crate::clock::rfc3339;
use crate::config::Limits;
use crate::db::{AuditKind, Database, NewPackage};
use crate::principal::Principal;
use crate::tokens::{NewToken, TokenKind};
use crate::verification::{self, EmailAddress};

/// Most recipients one package may name.
const MAX_RECIPIENTS: usize = 50;
/// Highest download limit one may set.
const MAX_DOWNLOAD_LIMIT: u32 = 100_000;

/// What the creator asks for; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Recipient addresses (with `require_auth`, only they can get a code).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Whether opening needs a recipient or agent session.
    #[serde(default)]
    pub require_auth: bool,
    /// Seconds until expiry (clamped to the tenant's maximum).
    pub expires_in_secs: Option<u64>,
    /// Downloads allowed.
    pub max_downloads: Option<u32>,
    /// Where to send a receipt for each download.
    pub notify_sender: Option<String>,
}

/// A package just created: what its creator is told, once.
#[derive(Debug)]
pub struct CreatedPackage {
    /// b64u(package_id).
    pub id: String,
    /// `S`.
    pub server_secret: ServerSecret,
    /// The upload token (`sdu_…`).
    pub upload_token: NewToken,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Creates a package for `creator`, records `created`.
pub async fn create(
    db: &Database,
    limits: &Limits,
    creator: &Principal,
    mut request: CreateRequest,
    now: i64,
) -> Result<CreatedPackage, PackageError> {
    let tenant = creator.tenant();
    if let Principal::Widget { .. } = creator {
        // Anonymous Help Center upload (crate::widget): no mail to anyone, and only the
        // tenant's allowed agents may open it.
        if !request.recipients.is_empty()
            || request.notify_sender.is_some()
            || request.max_downloads.is_some()
        {
            return Err(PackageError::invalid(
                "A Help Center upload cannot name recipients, a sender to notify or a download limit.",
            ));
        }
        request.require_auth = true;
    }
    if request.recipients.len() > MAX_RECIPIENTS {
        return Err(PackageError::invalid(format!(
            "At most {MAX_RECIPIENTS} recipients per package."
        )));
    }
    for address in request
        .recipients
        .iter()
        .chain(request.notify_sender.iter())
    {
        check_email(address)?;
    }
    if request
        .recipients
        .iter()
        .any(|r| EmailAddress::parse(r).is_none())
    {
        return Err(PackageError::invalid("A recipient address is not valid."));
    }
    let max_expiry = tenant
        .max_expiry_secs
        .map_or(limits.max_expiry.as_secs(), |s| s.max(1) as u64);
    let default_expiry = tenant
        .default_expiry_secs
        .map_or(limits.default_expiry.as_secs(), |s| s.max(1) as u64);
    let expires_in = match request.expires_in_secs {
        Some(0) => return Err(PackageError::invalid("expires_in_secs must be at least 1.")),
        Some(secs) => secs.min(max_expiry),
        None => default_expiry.min(max_expiry),
    };
    let max_downloads = match request.max_downloads {
        Some(0) => {
            return Err(PackageError::invalid(
                "max_downloads must be at least 1 (omit it for no limit).",
            ))
        }
        Some(n) if n > MAX_DOWNLOAD_LIMIT => {
            return Err(PackageError::invalid(format!(
                "max_downloads must be at most {MAX_DOWNLOAD_LIMIT}."
            )))
        }
        other => other,
    };

    let randomness = |e| PackageError::Internal(anyhow::anyhow!("randomness: {e}").into());
    let id = PackageId::generate(&OsRandom)
        .map_err(randomness)?
        .to_b64u();
    let server_secret = ServerSecret::generate(&OsRandom).map_err(randomness)?;
    let upload_token = NewToken::generate(TokenKind::Upload);
    let expires_at = now.saturating_add(i64::try_from(expires_in).unwrap_or(i64::MAX));
    let created_by_user = match creator {
        Principal::Agent { user_id, .. } => Some(*user_id),
        _ => None,
    };
    db.insert_package(&NewPackage {
        id: &id,
        tenant_id: &tenant.id,
        created_by: creator.created_by(),
        created_by_user,
        server_secret: &server_secret,
        upload_token_hash: upload_token.hash().as_bytes(),
        require_auth: request.require_auth,
        notify_sender: request.notify_sender.as_deref(),
        expires_at,
        max_downloads,
        created_at: now,
    })
    .await?;
    verification::store_recipients(db, &id, &request.recipients).await?;
    if !matches!(creator, Principal::Widget { .. }) {
        // The tenant's own people sent something: it is in use (crate::lifecycle). A customer's
        // Help Center upload is not the tenant using sealdrop.
        db.record_activity(&tenant.id, now).await?;
    }
    let detail = json!({
        "by": creator.created_by().as_str(),
        "require_auth": request.require_auth,
        "max_downloads": max_downloads,
        "expires_at": rfc3339(expires_at),
        "recipients": request.recipients.len(),
    });
    db.audit(
        &tenant.id,
        Some(&id),
        AuditKind::Created,
        Some(&detail),
        now,
    )
    .await?;
    tracing::info!(package = %id, tenant = %tenant.id, "package created");
    Ok(CreatedPackage {
        id,
        server_secret,
        upload_token,
        expires_at,
    })
}

/// A light sanity check of an email address (full validation comes with verification).
fn check_email(address: &str) -> Result<(), PackageError> {
    let ok = address.len() <= 254
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err(PackageError::invalid(
            "An email address in the request is not valid.",
        ))
    }
}
