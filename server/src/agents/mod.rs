//! Zendesk agents on the server: tenants keyed by subdomain, the app's signing key, agent
//! sessions, roles confirmed through the admin's grant, and the grant itself.
//!
//! This is the glue between the self-contained [`crate::zendesk`] crate (which knows no SQL
//! and no routing) and the database ([`crate::db::zendesk`]):
//!
//! - **Tenants** are keyed by Zendesk subdomain (`tenants.zendesk_subdomain`). A tenant, its
//!   settings row and its installation are made on the first verified sidebar visit
//!   ([`sign_in`]).
//! - **The app's public key** that verifies signed URLs is the server's configuration
//!   (`SEALDROP_ZENDESK_APP_PUBLIC_KEY`, a PEM file): Zendesk signs every installation of one
//!   app with that app's key pair, so one key serves every tenant. The PEM is recorded with each
//!   installation; a server without a configured key falls back to the recorded one.
//! - **Roles.** The signed URL names the user but not their role, so roles come from the
//!   Zendesk API through the admin's grant (`GET /api/v2/users/{id}`), cached per (tenant,
//!   user) in `zendesk_role_cache` for the configured lifetime (60 s by default): a role
//!   removed in Zendesk stops working within that lifetime, on every instance. Every call with
//!   an agent session checks the role again ([`authorize`]); the role written into the session
//!   is informative only.
//! - **Before a grant** (a new tenant), or when the grant stopped working, nobody's role can be
//!   confirmed. The sidebar then gets a *setup session*: it can read `GET /api/v1/me` and start
//!   the grant, nothing else. The grant callback accepts only a grant made by a Zendesk admin
//!   (checked with `GET /api/v2/users/me` through the new token), so only an admin can set a
//!   tenant up.
//! - **The grant**: tokens sealed with [`TokenCipher`] (tenant-bound AES-256-GCM) in
//!   `zendesk_grants.access_token_enc` (the sealed blob holds the refresh token too;
//!   `refresh_token_enc` stays empty), PKCE state in `oauth_pending` keyed by SHA-256 of the
//!   `state`. A call answered `401/403`
//!   ([`ApiError::GrantRevoked`](crate::zendesk::api::ApiError::GrantRevoked)) or a refused
//!   refresh marks the grant `needs_reauthorization`. The granting admin's email is kept with
//!   it, for the lifecycle notices.
//! - **Installations**: the first verified sign-in pins the installation its token names
//!   (`zendesk_installations`); later tokens must name it. A token naming another
//!   installation of the same account is accepted only once the pinned one is gone (the
//!   lifecycle check saw it uninstalled, or Zendesk answers `404` for it now): the app was
//!   reinstalled, and the new id is pinned in its place ([`sign_in`],
//!   [`installation_status`]).

pub mod app_identity;
mod grant;
mod installation;
mod roles;
mod sessions;
mod sign_in;

use std::time::Duration;

use anyhow::Context;
use url::Url;

pub use grant::{finish_grant, start_grant, GrantError, GrantRequest};
pub use installation::{granting_admin_email, installation_status, InstallationStatus};
pub use roles::{check_role, role_name, RoleCheck};
pub use sessions::{authorize, require_allowed, session_context, AgentContext};
pub use sign_in::{
    app_secret, make_app_secret, make_app_secret_for, sign_in, sign_in_app, AppSignIn, SignInError,
    SignedIn,
};

use crate::config::ZendeskConfig;
use crate::internal::{internal_failures, Internal};
use crate::zendesk::oauth::{self, OAuthConfig, TokenCipher};
use crate::zendesk::session::{SessionIssuer, SessionKey};
use crate::zendesk::signed_url::AppPublicKey;
use crate::zendesk::{Subdomain, ZendeskEndpoints};

/// Why an agent's request cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The agent session is not one this server issued, or it was tampered with.
    #[error("The agent session is not valid.")]
    InvalidSession,
    /// The agent session has expired.
    #[error("The agent session has expired; reload the sealdrop app in Zendesk.")]
    ExpiredSession,
    /// The agent's role is not among the tenant's allowed roles.
    #[error(
        "Your Zendesk role is not allowed to use sealdrop in this account; ask your Zendesk admin."
    )]
    RoleNotAllowed,
    /// Only a Zendesk admin may do this (message says what).
    #[error("{0}")]
    AdminOnly(&'static str),
    /// Zendesk stopped accepting the admin's grant.
    #[error("sealdrop's access to Zendesk stopped working: a Zendesk admin must open the sealdrop app and authorize it again.")]
    ReauthorizationRequired,
    /// No admin has granted access yet.
    #[error("sealdrop is not set up for this Zendesk yet: ask your Zendesk admin to open the sealdrop app first.")]
    SetupRequired,
    /// Zendesk is rate limiting sealdrop.
    #[error("Zendesk is rate limiting sealdrop; try again in {0} seconds.")]
    ZendeskRateLimited(u64),
    /// A failure on the server's side, a Zendesk call that failed included.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(AgentError);

fn zendesk_unavailable(detail: impl std::fmt::Display) -> AgentError {
    AgentError::Internal(anyhow::anyhow!("zendesk call failed: {detail}").into())
}

/// The Zendesk side of the application state: keys, the HTTP client, the configuration.
pub struct Zendesk {
    /// The configuration.
    pub config: ZendeskConfig,
    sessions: SessionIssuer,
    cipher: TokenCipher,
    app_key: Option<(String, AppPublicKey)>,
    http: reqwest::Client,
    callback: Url,
}

impl std::fmt::Debug for Zendesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zendesk")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Zendesk {
    /// Loads (or makes) the keys and reads the app's public key. `public_url` is the
    /// server's own URL, for the OAuth callback.
    pub async fn load(config: ZendeskConfig, public_url: &Url) -> anyhow::Result<Self> {
        let session_key = crate::keys::load_or_create(
            config.session_key.as_ref().map(|k| k.expose()),
            &config.session_key_file,
            "SEALDROP_ZENDESK_SESSION_KEY",
        )
        .await?;
        let sessions = SessionIssuer::new(
            &SessionKey::from_bytes(&session_key)
                .context("SEALDROP_ZENDESK_SESSION_KEY must be at least 32 bytes")?,
        );
        let token_key = crate::keys::load_or_create(
            config.token_key.as_ref().map(|k| k.expose()),
            &config.token_key_file,
            "SEALDROP_ZENDESK_TOKEN_KEY",
        )
        .await?;
        let cipher = TokenCipher::new(&token_key)
            .context("SEALDROP_ZENDESK_TOKEN_KEY must be exactly 32 bytes")?;
        let app_key = match &config.app_public_key {
            Some(path) => {
                let pem = tokio::fs::read_to_string(path).await.with_context(|| {
                    format!("reading the Zendesk app public key {}", path.display())
                })?;
                let key = AppPublicKey::from_pem(&pem)
                    .with_context(|| format!("{} is not an RSA public key PEM", path.display()))?;
                Some((pem.trim().to_owned(), key))
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .context("building the Zendesk HTTP client")?;
        let mut callback = public_url.clone();
        callback.set_path("/zendesk/oauth/callback");
        callback.set_query(None);
        Ok(Self {
            config,
            sessions,
            cipher,
            app_key,
            http,
            callback,
        })
    }

    /// The endpoints of a tenant's Zendesk.
    pub fn endpoints(&self, subdomain: &Subdomain) -> ZendeskEndpoints {
        self.config.base.endpoints(subdomain)
    }

    /// The configured app public key (PEM and parsed).
    pub fn app_key(&self) -> Option<&(String, AppPublicKey)> {
        self.app_key.as_ref()
    }

    /// The session issuer.
    pub fn sessions(&self) -> &SessionIssuer {
        &self.sessions
    }

    /// The token cipher.
    pub fn cipher(&self) -> &TokenCipher {
        &self.cipher
    }

    /// The HTTP client for Zendesk calls (no redirects, 20 s timeout).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The OAuth client for a tenant, with `{public_url}/zendesk/oauth/callback`.
    pub fn oauth_config(&self, subdomain: &Subdomain) -> OAuthConfig {
        OAuthConfig {
            client_id: self.config.client_id.clone(),
            client_secret: self.config.client_secret.clone(),
            redirect_uri: self.callback.clone(),
            scope: oauth::DEFAULT_SCOPE.into(),
            endpoints: self.endpoints(subdomain),
        }
    }

    /// `frame-ancestors` sources for a tenant's sidebar: its Zendesk, plus the configured
    /// stand-in (simulator) origin.
    pub fn frame_ancestors(&self, subdomain: &Subdomain) -> String {
        let mut sources = vec![format!("https://{subdomain}.zendesk.com")];
        if let ZendeskEndpoints::Fixed(url) = self.endpoints(subdomain) {
            let origin = url.origin().ascii_serialization();
            if !sources.contains(&origin) {
                sources.push(origin);
            }
        }
        sources.join(" ")
    }
}
