//! Which agent a packaged sidebar runs for (docs/ZENDESK.md "Who the packaged sidebar runs
//! for").
//!
//! The app JWT that Zendesk's proxy signs proves the account and the app's installation, not
//! the user: the proxy signs whatever claims the app's script asks for, so an agent scripting
//! the app frame could name another user, an admin included. The user is proven once per
//! browser through Zendesk's own OAuth consent, which Zendesk shows to whoever is signed in to
//! Zendesk in that browser:
//!
//! 1. The sidebar makes a random *claim* and sends it with its app JWT. The server records
//!    the claim's SHA-256 with the tenant and the user the JWT names, for
//!    [`CLAIM_LIFETIME`], and answers `identify` with a popup URL that carries the hash only.
//! 2. The popup (`GET /zendesk/app/identify?claim=<hash>`, [`start`]) sends the browser to
//!    Zendesk's consent page (authorization code with PKCE, scope [`IDENTITY_SCOPE`]).
//! 3. The callback ([`finish`]) exchanges the code, asks `GET /api/v2/users/me` who granted
//!    it, revokes the token at once (it was only needed for that answer) and marks the claim
//!    proven only if Zendesk names the user the JWT named.
//! 4. The sidebar's next sign-in with the same claim collects a random *credential* (once;
//!    stored here as its hash, for [`CREDENTIAL_LIFETIME`]) that it keeps and sends with each
//!    later app JWT. A credential is good only with a JWT naming its own user and tenant.
//!
//! What it does not stop: someone who gets an admin to open a popup URL they made and approve
//! Zendesk's consent within the claim's ten minutes collects a credential for that admin, as
//! with any sign-in link. The consent page names the app and the callback page says what was
//! signed in.

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{AgentError, Zendesk};
use crate::db::app_identity::ClaimState;
use crate::db::Database;
use crate::internal::{internal_failures, Internal};
use crate::zendesk::api::ZendeskClient;
use crate::zendesk::oauth;
use crate::zendesk::SecretString;

/// How long a claim waits for its consent and its collection.
pub const CLAIM_LIFETIME: i64 = 600;

/// How long a credential proves its user (a browser unused that long proves it again).
pub const CREDENTIAL_LIFETIME: i64 = 90 * 86_400;

/// The least Zendesk grants that answers `GET /api/v2/users/me`.
pub const IDENTITY_SCOPE: &str = "users:read";

/// Longest claim or credential accepted (they are 43 characters of base64url).
const MAX_SECRET_LEN: usize = 128;

/// What the sidebar sent beside its app JWT.
#[derive(Debug, Default)]
pub struct AppProof {
    /// The credential it kept from an earlier proof.
    pub credential: Option<String>,
    /// Its current claim (random, made by the sidebar).
    pub claim: Option<String>,
}

/// Whether the user the app JWT names is proven.
#[derive(Debug)]
pub enum Identity {
    /// Proven; `new_credential` is set when this sign-in collected it (the sidebar keeps it).
    Proven {
        /// The credential to keep, shown once.
        new_credential: Option<SecretString>,
    },
    /// Not proven: the sidebar opens `{server}{identify_path}` in a popup and signs in again
    /// with the same claim once the user approved. `None` when it sent no usable claim.
    Unproven {
        /// `/zendesk/app/identify?claim=<hash>`.
        identify_path: Option<String>,
    },
}

fn hash_hex(kind: &str, secret: &str) -> String {
    hex::encode(Sha256::digest(format!("{kind}:{secret}")))
}

fn usable(secret: Option<&String>) -> Option<&str> {
    secret
        .map(String::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_SECRET_LEN)
}

/// The popup's path for a claim hash.
fn identify_path(claim_hash: &str) -> String {
    format!("/zendesk/app/identify?claim={claim_hash}")
}

/// Checks the credential or the claim that came with a verified app JWT naming `user_id`.
pub async fn check(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
    proof: &AppProof,
    now: i64,
) -> Result<Identity, AgentError> {
    if let Some(credential) = usable(proof.credential.as_ref()) {
        if db
            .use_app_credential(&hash_hex("credential", credential), tenant_id, user_id, now)
            .await?
        {
            return Ok(Identity::Proven {
                new_credential: None,
            });
        }
    }
    let Some(claim) = usable(proof.claim.as_ref()) else {
        return Ok(Identity::Unproven {
            identify_path: None,
        });
    };
    let claim_hash = hash_hex("claim", claim);
    match db
        .identity_claim(&claim_hash, tenant_id, user_id, now)
        .await?
    {
        Some(ClaimState::Verified) => {
            let credential = random_secret();
            let collected = db
                .exchange_identity_claim(
                    &claim_hash,
                    tenant_id,
                    user_id,
                    &hash_hex("credential", credential.expose()),
                    now + CREDENTIAL_LIFETIME,
                    now,
                )
                .await?;
            if collected {
                tracing::info!(tenant = %tenant_id, user = user_id, "packaged sidebar proved its user");
                return Ok(Identity::Proven {
                    new_credential: Some(credential),
                });
            }
            // Collected by a concurrent sign-in with the same claim: that one has it.
            Ok(Identity::Unproven {
                identify_path: None,
            })
        }
        Some(ClaimState::Pending) => Ok(Identity::Unproven {
            identify_path: Some(identify_path(&claim_hash)),
        }),
        None => {
            // A claim of another user or tenant, or a used or expired one, is not recorded
            // again: the sidebar makes a new one.
            let fresh = db
                .insert_identity_claim(&claim_hash, tenant_id, user_id, now + CLAIM_LIFETIME, now)
                .await?;
            Ok(Identity::Unproven {
                identify_path: fresh.then(|| identify_path(&claim_hash)),
            })
        }
    }
}

fn random_secret() -> SecretString {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut *bytes);
    SecretString::new(URL_SAFE_NO_PAD.encode(*bytes))
}

/// Why proving the user failed; each message is for the person in the popup.
#[derive(Debug, thiserror::Error)]
pub enum IdentifyError {
    /// The popup's claim is unknown, proven already or expired.
    #[error("This sign-in request is unknown, already used or expired. Close this window and press Confirm in the sealdrop app again.")]
    UnknownClaim,
    /// The callback's `state` is not a claim's (it may be the admin's grant).
    #[error("not an identity claim")]
    NotAClaim,
    /// The user declined in Zendesk.
    #[error("Zendesk did not confirm who you are (access was declined). Close this window and press Confirm in the sealdrop app to retry.")]
    Declined,
    /// The callback had no code.
    #[error("This address is not an authorization answer from Zendesk. Close this window and start again from the sealdrop app.")]
    Malformed,
    /// Zendesk did not exchange the code or say who approved.
    #[error("Zendesk did not confirm who you are: {0}. Close this window and press Confirm in the sealdrop app again.")]
    Zendesk(String),
    /// Zendesk's signed-in user is not the user the sidebar runs for.
    #[error("You are signed in to Zendesk as another user than the one the sealdrop app asked for. Nothing was signed in. Sign in to Zendesk as yourself and press Confirm in the sealdrop app again.")]
    OtherUser,
    /// A failure on the server's side.
    #[error("Something went wrong on the sealdrop server; close this window and try again.")]
    Internal(Internal),
}

internal_failures!(IdentifyError);

impl From<AgentError> for IdentifyError {
    fn from(e: AgentError) -> Self {
        match e {
            AgentError::Internal(i) => Self::Internal(i),
            other => Self::Zendesk(other.to_string()),
        }
    }
}

/// `GET /zendesk/app/identify?claim=<hash>`: the URL of Zendesk's consent page for a pending
/// claim.
pub async fn start(
    db: &Database,
    zendesk: &Zendesk,
    claim_hash: &str,
    now: i64,
) -> Result<url::Url, IdentifyError> {
    let well_formed = claim_hash.len() == 64 && claim_hash.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(IdentifyError::UnknownClaim);
    }
    let tenant_id = db
        .pending_claim_tenant(claim_hash, now)
        .await?
        .ok_or(IdentifyError::UnknownClaim)?;
    let subdomain = db
        .subdomain_of(&tenant_id)
        .await?
        .ok_or(IdentifyError::UnknownClaim)?;
    let mut config = zendesk.oauth_config(&subdomain);
    config.scope = IDENTITY_SCOPE.into();
    let pending = oauth::begin(&config, &subdomain);
    let sealed = zendesk
        .cipher
        .seal_bytes(&subdomain, pending.code_verifier.expose().as_bytes());
    let state_hash = hex::encode(oauth::state_hash(pending.state.expose()));
    if !db
        .start_identity_claim(claim_hash, &state_hash, &sealed, now)
        .await?
    {
        return Err(IdentifyError::UnknownClaim);
    }
    Ok(pending.authorize_url)
}

/// The OAuth callback for a claim: proves it when Zendesk names the user the app JWT named.
/// [`IdentifyError::NotAClaim`] when `state` belongs to no claim (the caller tries the
/// admin's grant next). Returns the user's name for the page.
pub async fn finish(
    db: &Database,
    zendesk: &Zendesk,
    state: &str,
    code: Option<&str>,
    declined: bool,
    now: i64,
) -> Result<String, IdentifyError> {
    let state_hash = hex::encode(oauth::state_hash(state));
    let claim = db
        .take_started_claim(&state_hash, now)
        .await?
        .ok_or(IdentifyError::NotAClaim)?;
    if declined {
        return Err(IdentifyError::Declined);
    }
    let code = code
        .filter(|c| !c.is_empty() && c.len() <= 1024)
        .ok_or(IdentifyError::Malformed)?;
    let subdomain = db
        .subdomain_of(&claim.tenant_id)
        .await?
        .ok_or(IdentifyError::UnknownClaim)?;
    let verifier = zendesk
        .cipher
        .open_bytes(&subdomain, &claim.verifier_sealed)
        .map_err(|e| IdentifyError::Internal(anyhow::Error::new(e).into()))?;
    let verifier = SecretString::new(String::from_utf8_lossy(&verifier).into_owned());
    let mut config = zendesk.oauth_config(&subdomain);
    config.scope = IDENTITY_SCOPE.into();
    let grant = oauth::exchange_code(&zendesk.http, &config, &subdomain, code, &verifier)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %subdomain, "identity code exchange failed");
            IdentifyError::Zendesk(e.to_string())
        })?;
    let client = ZendeskClient::new(
        zendesk.http.clone(),
        zendesk.endpoints(&subdomain).base_url(&subdomain),
        grant.access_token.clone(),
    );
    let me = client.me().await;
    // The token only had to say who approved: it is not kept.
    if let Err(e) = client.revoke_current_token().await {
        tracing::warn!(error = %e, "revoking an identity token failed");
    }
    let me = me.map_err(|e| IdentifyError::Zendesk(e.to_string()))?;
    if me.id.to_string() != claim.user_id {
        tracing::warn!(tenant = %claim.tenant_id, claimed = %claim.user_id, approved = me.id, "identity claim approved by another user");
        return Err(IdentifyError::OtherUser);
    }
    db.verify_identity_claim(&claim.claim_hash, now).await?;
    Ok(me.name)
}
