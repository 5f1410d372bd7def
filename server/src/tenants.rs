//! Tenants made by an operator (`sealdrop admin tenant create`) and their API tokens. Zendesk
//! tenants are made on the first sidebar sign-in ([`crate::agents`]).

use sealdrop_crypto::{OsRandom, PackageId};

use crate::db::{Database, Tenant};
use crate::internal::{internal_failures, Internal};
use crate::tokens::{NewToken, TokenHash, TokenKind};

/// Why a tenant was not created.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The name is empty, too long or holds control characters.
    #[error("a tenant name must be 1 to 200 printable characters")]
    InvalidName,
    /// Another tenant has this name.
    #[error("a tenant named {0:?} already exists")]
    NameTaken(String),
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(TenantError);

/// Creates a tenant named `name` (trimmed) with a first API token, shown only here.
pub async fn create(
    db: &Database,
    name: &str,
    now: i64,
) -> Result<(Tenant, NewToken), TenantError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(TenantError::InvalidName);
    }
    // The same 22-character b64u shape as package ids.
    let id = PackageId::generate(&OsRandom)
        .map_err(|e| TenantError::Internal(anyhow::anyhow!("randomness: {e}").into()))?
        .to_b64u();
    let token = NewToken::generate(TokenKind::Tenant);
    let tenant = db
        .create_tenant(&id, name, token.hash().as_bytes(), now)
        .await?
        .ok_or_else(|| TenantError::NameTaken(name.to_owned()))?;
    Ok((tenant, token))
}

/// The tenant of a presented API token (`sdt_…`), if it is well formed and not revoked.
pub async fn by_api_token(db: &Database, token: &str) -> Result<Option<Tenant>, Internal> {
    let Some(hash) = TokenHash::parse(TokenKind::Tenant, token) else {
        return Ok(None);
    };
    Ok(db.tenant_by_token_hash(hash.as_bytes()).await?)
}
