//! Zendesk agents on the server: tenants keyed by subdomain, the app's signing key, agent
//! sessions, roles confirmed through the admin's grant, and the grant itself.
//!
//! This is the glue between the self-contained [`crate::zendesk`] modules (which know no SQL
//! and no routing) and the database and routes:
//!
//! - **Tenants** are keyed by Zendesk subdomain (`tenants.zendesk_subdomain`). A tenant, its
//!   settings row and its installation are made on the first verified sidebar visit
//!   ([`create_tenant`]).
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
//!   `state`. A call answered `401/403` ([`ApiError::GrantRevoked`]) or a refused refresh marks
//!   the grant `needs_reauthorization`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sqlx::Row;
use url::Url;
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::db::{Database, Tenant};
use crate::error::HttpError;
use crate::settings;
use crate::zendesk::api::{ApiError, User, ZendeskClient};
use crate::zendesk::oauth::{self, OAuthConfig, OAuthError, TokenCipher};
use crate::zendesk::roles::{self, RolePolicy};
use crate::zendesk::session::{
    AgentSession, ConfirmedRole, SessionError, SessionIssuer, SessionKey,
};
use crate::zendesk::signed_url::AppPublicKey;
use crate::zendesk::{SecretString, Subdomain, ZendeskEndpoints};

/// The real Zendesk's base URL template.
pub const DEFAULT_BASE_URL: &str = "https://{subdomain}.zendesk.com/";

// ---- configuration -----------------------------------------------------------------------

/// Zendesk flags and environment variables (flattened into [`crate::config::ConfigArgs`]).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ZendeskArgs {
    /// Where each tenant's Zendesk answers: a URL template with `{subdomain}` (default
    /// `https://{subdomain}.zendesk.com/`), one URL for every tenant (a simulator), or
    /// `SUB=URL,SUB=URL` pairs (several simulators).
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_BASE_URL")]
    pub zendesk_base_url: Option<String>,
    /// PEM file with the Zendesk app's public key (RS256), shown by Zendesk for the app; it
    /// verifies the signed URLs of every installation.
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_APP_PUBLIC_KEY")]
    pub zendesk_app_public_key: Option<PathBuf>,
    /// The OAuth client identifier sealdrop is registered as in Zendesk. Default `sealdrop`.
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_CLIENT_ID")]
    pub zendesk_client_id: Option<String>,
    /// The OAuth client secret (confidential clients); PKCE is used either way.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub zendesk_client_secret: Option<String>,
    /// HMAC key of agent sessions: base64url of at least 32 random bytes. Set the same value
    /// on every instance. Default: `<data-dir>/zendesk-session.key`, made on first start.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_SESSION_KEY",
        hide_env_values = true
    )]
    pub zendesk_session_key: Option<String>,
    /// Key that encrypts Zendesk tokens at rest: base64url of 32 random bytes. Set the same
    /// value on every instance. Default: `<data-dir>/zendesk-token.key`, made on first start.
    #[arg(
        long,
        global = true,
        env = "SEALDROP_ZENDESK_TOKEN_KEY",
        hide_env_values = true
    )]
    pub zendesk_token_key: Option<String>,
    /// How long a role read from Zendesk is trusted, in seconds (default 60).
    #[arg(long, global = true, env = "SEALDROP_ZENDESK_ROLE_CACHE_SECS")]
    pub zendesk_role_cache_secs: Option<u64>,
    /// Folder of the agent app's static files (`sidebar.html` and its scripts), served at
    /// `/agent-app/`. Default: the source tree's `web/sidebar/`.
    #[arg(long, global = true, env = "SEALDROP_AGENT_APP_DIR")]
    pub agent_app_dir: Option<PathBuf>,
}

/// Where tenants' Zendesks answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZendeskBase {
    /// A template with `{subdomain}`; [`DEFAULT_BASE_URL`] is the real Zendesk.
    Template(String),
    /// One URL for every tenant.
    Fixed(Url),
    /// One URL per subdomain; others go to the real Zendesk.
    PerTenant(BTreeMap<String, Url>),
}

impl ZendeskBase {
    /// Parses the `SEALDROP_ZENDESK_BASE_URL` forms.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.contains("{subdomain}") {
            let probe = text.replace("{subdomain}", "probe");
            check_base(
                &Url::parse(&probe).context("SEALDROP_ZENDESK_BASE_URL is not a URL template")?,
            )?;
            return Ok(Self::Template(text.to_owned()));
        }
        if text.contains('=') {
            let mut map = BTreeMap::new();
            for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (sub, url) = pair.split_once('=').context("expected SUB=URL pairs")?;
                let sub = Subdomain::parse(sub.trim())
                    .map_err(|_| anyhow::anyhow!("{sub:?} is not a subdomain"))?;
                let url = Url::parse(url.trim())
                    .with_context(|| format!("the URL for {sub} is not a URL"))?;
                check_base(&url)?;
                map.insert(sub.to_string(), url);
            }
            return Ok(Self::PerTenant(map));
        }
        let url = Url::parse(text).context("SEALDROP_ZENDESK_BASE_URL is not a URL")?;
        check_base(&url)?;
        Ok(Self::Fixed(url))
    }

    /// The endpoints of `subdomain`'s Zendesk.
    pub fn endpoints(&self, subdomain: &Subdomain) -> ZendeskEndpoints {
        let fixed = |url: Url| ZendeskEndpoints::Fixed(url);
        match self {
            Self::Template(t) if t == DEFAULT_BASE_URL => ZendeskEndpoints::Zendesk,
            Self::Template(t) => Url::parse(&t.replace("{subdomain}", subdomain.as_str()))
                .map_or(ZendeskEndpoints::Zendesk, fixed),
            Self::Fixed(url) => fixed(url.clone()),
            Self::PerTenant(map) => map
                .get(subdomain.as_str())
                .cloned()
                .map_or(ZendeskEndpoints::Zendesk, fixed),
        }
    }
}

fn check_base(url: &Url) -> anyhow::Result<()> {
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("a Zendesk base URL must be http:// or https:// with a host");
    }
    Ok(())
}

/// Resolved Zendesk settings. `Debug` hides the keys and the client secret.
#[derive(Debug, Clone)]
pub struct ZendeskConfig {
    /// Where tenants' Zendesks answer.
    pub base: ZendeskBase,
    /// The app's public key file, if configured.
    pub app_public_key: Option<PathBuf>,
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// Configured session key (b64u).
    pub session_key: Option<SecretString>,
    /// Otherwise this file (made if missing).
    pub session_key_file: PathBuf,
    /// Configured token encryption key (b64u).
    pub token_key: Option<SecretString>,
    /// Otherwise this file (made if missing).
    pub token_key_file: PathBuf,
    /// Role cache lifetime.
    pub role_cache: Duration,
    /// The agent app's static files.
    pub agent_app_dir: PathBuf,
}

impl ZendeskArgs {
    /// Checks the flags and fills in defaults that depend on the data folder.
    pub fn into_config(self, data_dir: &Path) -> anyhow::Result<ZendeskConfig> {
        let base = match self
            .zendesk_base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => ZendeskBase::parse(text)?,
            None => ZendeskBase::Template(DEFAULT_BASE_URL.into()),
        };
        let role_cache = Duration::from_secs(
            self.zendesk_role_cache_secs
                .unwrap_or(roles::DEFAULT_LIFETIME.as_secs()),
        );
        Ok(ZendeskConfig {
            base,
            app_public_key: self.zendesk_app_public_key,
            client_id: self
                .zendesk_client_id
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "sealdrop".into()),
            client_secret: self
                .zendesk_client_secret
                .filter(|s| !s.is_empty())
                .map(SecretString::new),
            session_key: self.zendesk_session_key.map(SecretString::new),
            session_key_file: data_dir.join("zendesk-session.key"),
            token_key: self.zendesk_token_key.map(SecretString::new),
            token_key_file: data_dir.join("zendesk-token.key"),
            role_cache,
            agent_app_dir: self.agent_app_dir.unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/sidebar"))
            }),
        })
    }
}

// ---- runtime -----------------------------------------------------------------------------

/// The Zendesk side of the application state: keys, the HTTP client, the configuration.
pub struct Zendesk {
    /// The configuration.
    pub config: ZendeskConfig,
    sessions: SessionIssuer,
    cipher: TokenCipher,
    app_key: Option<(String, AppPublicKey)>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Zendesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Zendesk")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Zendesk {
    /// Loads (or makes) the keys and reads the app's public key.
    pub async fn load(config: ZendeskConfig) -> anyhow::Result<Self> {
        let session_key = load_key(
            config.session_key.as_ref(),
            &config.session_key_file,
            "SEALDROP_ZENDESK_SESSION_KEY",
        )
        .await?;
        let sessions = SessionIssuer::new(
            &SessionKey::from_bytes(&session_key)
                .context("SEALDROP_ZENDESK_SESSION_KEY must be at least 32 bytes")?,
        );
        let token_key = load_key(
            config.token_key.as_ref(),
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
        Ok(Self {
            config,
            sessions,
            cipher,
            app_key,
            http,
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
    pub fn oauth_config(&self, public_url: &Url, subdomain: &Subdomain) -> OAuthConfig {
        let mut redirect = public_url.clone();
        redirect.set_path("/zendesk/oauth/callback");
        redirect.set_query(None);
        OAuthConfig {
            client_id: self.config.client_id.clone(),
            client_secret: self.config.client_secret.clone(),
            redirect_uri: redirect,
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

/// A configured b64u key, or the one in `file` (made with 32 random bytes, mode 0600, if
/// missing).
async fn load_key(
    configured: Option<&SecretString>,
    file: &Path,
    name: &str,
) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let decode = |text: &str| {
        URL_SAFE_NO_PAD
            .decode(text.trim())
            .map(Zeroizing::new)
            .with_context(|| format!("{name} must be base64url without padding"))
    };
    if let Some(text) = configured {
        return decode(text.expose());
    }
    match tokio::fs::read_to_string(file).await {
        Ok(text) => {
            return decode(&Zeroizing::new(text))
                .with_context(|| format!("reading {}", file.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
    }
    use tokio::io::AsyncWriteExt;
    let mut bytes = Zeroizing::new(vec![0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = Zeroizing::new(format!("{}\n", URL_SAFE_NO_PAD.encode(&*bytes)));
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(file).await {
        Ok(mut out) => {
            out.write_all(text.as_bytes()).await?;
            out.sync_all().await?;
            tracing::info!(path = %file.display(), "made a new key ({name})");
            Ok(bytes)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = Zeroizing::new(tokio::fs::read_to_string(file).await?);
            decode(&text)
        }
        Err(e) => Err(e).with_context(|| format!("creating {}", file.display())),
    }
}

// ---- tenants and installations -----------------------------------------------------------

const TENANT_COLUMNS: &str = "id, name, default_expiry_secs, max_expiry_secs, created_at";

/// The tenant of a Zendesk subdomain.
pub async fn tenant_by_subdomain(
    db: &Database,
    subdomain: &Subdomain,
) -> sqlx::Result<Option<Tenant>> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE zendesk_subdomain = $1"
    ))
    .bind(subdomain.as_str())
    .fetch_optional(db.pool())
    .await
}

/// The subdomain of a tenant, if it came from Zendesk.
pub async fn subdomain_of(db: &Database, tenant_id: &str) -> sqlx::Result<Option<Subdomain>> {
    let row = sqlx::query("SELECT zendesk_subdomain FROM tenants WHERE id = $1")
        .bind(tenant_id)
        .fetch_optional(db.pool())
        .await?;
    let text: Option<String> = match row {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    Ok(text.and_then(|t| Subdomain::parse(&t).ok()))
}

/// Creates the tenant of a subdomain with its default settings and first installation, or
/// returns the existing one (two first visits racing make one tenant).
pub async fn create_tenant(
    db: &Database,
    subdomain: &Subdomain,
    installation_id: u64,
    app_public_key_pem: &str,
    now: i64,
) -> sqlx::Result<Tenant> {
    let mut id_bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id_bytes);
    let id = URL_SAFE_NO_PAD.encode(id_bytes);
    let mut name = format!("{subdomain}.zendesk.com");
    let mut tx = db.begin_write().await?;
    // `name` is unique too: a tenant made by hand may already carry it.
    let taken = sqlx::query("SELECT 1 FROM tenants WHERE name = $1")
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if taken {
        name = format!("{name} ({})", &id[..6]);
    }
    let inserted = sqlx::query(
        "INSERT INTO tenants (id, name, zendesk_subdomain, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(&name)
    .bind(subdomain.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        drop(tx);
        return tenant_by_subdomain(db, subdomain)
            .await?
            .ok_or(sqlx::Error::RowNotFound);
    }
    settings::insert_defaults(&mut tx, &id, now).await?;
    sqlx::query(
        "INSERT INTO zendesk_installations (tenant_id, installation_id, app_public_key, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(installation_id.to_string())
    .bind(app_public_key_pem)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO audit_events (tenant_id, package_id, event, detail, created_at) VALUES ($1, NULL, $2, $3, $4)")
        .bind(&id)
        .bind("tenant_created")
        .bind(serde_json::json!({ "zendesk": subdomain.as_str(), "installation": installation_id.to_string() }).to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(tenant = %id, %subdomain, "zendesk tenant created");
    Ok(Tenant {
        id,
        name,
        default_expiry_secs: None,
        max_expiry_secs: None,
        created_at: now,
    })
}

/// A recorded app installation.
#[derive(Debug, Clone)]
pub struct Installation {
    /// Zendesk's installation id.
    pub installation_id: u64,
    /// The PEM recorded with it.
    pub app_public_key: String,
}

/// The tenant's recorded installation (the oldest, if several).
pub async fn installation(db: &Database, tenant_id: &str) -> sqlx::Result<Option<Installation>> {
    let row = sqlx::query(
        "SELECT installation_id, app_public_key FROM zendesk_installations WHERE tenant_id = $1 \
         ORDER BY created_at, installation_id LIMIT 1",
    )
    .bind(tenant_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: String = row.try_get(0)?;
    Ok(id.parse().ok().map(|installation_id| Installation {
        installation_id,
        app_public_key: row.try_get(1).unwrap_or_default(),
    }))
}

/// Records an installation for a tenant that has none (no-op otherwise).
pub async fn record_installation(
    db: &Database,
    tenant_id: &str,
    installation_id: u64,
    pem: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO zendesk_installations (tenant_id, installation_id, app_public_key, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(installation_id.to_string())
    .bind(pem)
    .bind(now)
    .execute(db.pool())
    .await
    .map(|_| ())
}

// ---- the grant ---------------------------------------------------------------------------

/// The state of a tenant's API grant, as `GET /api/v1/settings` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantStatus {
    /// No admin granted access yet.
    Missing,
    /// Working (as far as the server knows).
    Active,
    /// Zendesk refused it: an admin must grant again.
    NeedsReauthorization,
}

impl GrantStatus {
    /// The JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Active => "active",
            Self::NeedsReauthorization => "needs_reauthorization",
        }
    }
}

/// The grant's status.
pub async fn grant_status(db: &Database, tenant_id: &str) -> sqlx::Result<GrantStatus> {
    let row = sqlx::query("SELECT status FROM zendesk_grants WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        None => GrantStatus::Missing,
        Some(row) if row.try_get::<String, _>(0)? == "active" => GrantStatus::Active,
        Some(_) => GrantStatus::NeedsReauthorization,
    })
}

/// Stores a working grant (sealed), replacing any previous one, and forgets cached roles.
pub async fn store_grant(
    state: &AppState,
    tenant_id: &str,
    subdomain: &Subdomain,
    grant: &oauth::Grant,
    granted_by: u64,
) -> sqlx::Result<()> {
    let now = state.clock.now();
    let sealed = state.zendesk.cipher.seal(subdomain, grant);
    let expires_at = grant
        .expires_at
        .map(|e| i64::try_from(e).unwrap_or(i64::MAX));
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO zendesk_grants (tenant_id, access_token_enc, refresh_token_enc, expires_at, granted_by, status, updated_at) \
         VALUES ($1, $2, NULL, $3, $4, 'active', $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET access_token_enc = excluded.access_token_enc, \
         refresh_token_enc = NULL, expires_at = excluded.expires_at, granted_by = excluded.granted_by, \
         status = 'active', updated_at = excluded.updated_at",
    )
    .bind(tenant_id)
    .bind(sealed)
    .bind(expires_at)
    .bind(granted_by.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM zendesk_role_cache WHERE tenant_id = $1")
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Replaces the sealed tokens after a refresh (keeps who granted it).
async fn update_grant_tokens(
    state: &AppState,
    tenant_id: &str,
    subdomain: &Subdomain,
    grant: &oauth::Grant,
) -> sqlx::Result<()> {
    let sealed = state.zendesk.cipher.seal(subdomain, grant);
    sqlx::query("UPDATE zendesk_grants SET access_token_enc = $1, expires_at = $2, updated_at = $3 WHERE tenant_id = $4")
        .bind(sealed)
        .bind(grant.expires_at.map(|e| i64::try_from(e).unwrap_or(i64::MAX)))
        .bind(state.clock.now())
        .bind(tenant_id)
        .execute(state.db.pool())
        .await
        .map(|_| ())
}

/// Marks the grant as needing a new authorization (Zendesk refused it).
pub async fn mark_needs_reauthorization(
    state: &AppState,
    tenant_id: &str,
    why: &str,
) -> sqlx::Result<()> {
    let done = sqlx::query(
        "UPDATE zendesk_grants SET status = 'needs_reauthorization', updated_at = $1 WHERE tenant_id = $2 AND status = 'active'",
    )
    .bind(state.clock.now())
    .bind(tenant_id)
    .execute(state.db.pool())
    .await?;
    if done.rows_affected() > 0 {
        tracing::warn!(tenant = %tenant_id, why, "zendesk grant needs re-authorization");
        state
            .db
            .audit(
                tenant_id,
                None,
                "zendesk_grant_lost",
                Some(&serde_json::json!({ "reason": why })),
                state.clock.now(),
            )
            .await?;
    }
    Ok(())
}

/// A Zendesk API client through the tenant's grant, refreshing the token first when due.
/// `Ok(Err(status))` when there is no working grant.
pub async fn api_client(
    state: &AppState,
    tenant_id: &str,
    subdomain: &Subdomain,
) -> Result<Result<ZendeskClient, GrantStatus>, HttpError> {
    let row =
        sqlx::query("SELECT access_token_enc, status FROM zendesk_grants WHERE tenant_id = $1")
            .bind(tenant_id)
            .fetch_optional(state.db.pool())
            .await?;
    let Some(row) = row else {
        return Ok(Err(GrantStatus::Missing));
    };
    if row.try_get::<String, _>(1)? != "active" {
        return Ok(Err(GrantStatus::NeedsReauthorization));
    }
    let blob: Vec<u8> = row.try_get(0)?;
    let zendesk = &state.zendesk;
    let mut grant = match zendesk.cipher.open(subdomain, &blob) {
        Ok(grant) => grant,
        Err(e) => {
            // The token key changed or the row was tampered with: only a new grant helps.
            tracing::error!(tenant = %tenant_id, error = %e, "stored zendesk grant does not open");
            mark_needs_reauthorization(state, tenant_id, "sealed_token_unreadable").await?;
            return Ok(Err(GrantStatus::NeedsReauthorization));
        }
    };
    if grant.needs_refresh(crate::zendesk::signed_url::unix_now()) {
        let config = zendesk.oauth_config(&state.config.public_url, subdomain);
        match oauth::refresh(&zendesk.http, &config, subdomain, &grant).await {
            Ok(fresh) => {
                update_grant_tokens(state, tenant_id, subdomain, &fresh).await?;
                grant = fresh;
            }
            Err(OAuthError::GrantRevoked(_)) => {
                mark_needs_reauthorization(state, tenant_id, "refresh_refused").await?;
                return Ok(Err(GrantStatus::NeedsReauthorization));
            }
            Err(e) => return Err(zendesk_unavailable(e.to_string())),
        }
    }
    Ok(Ok(ZendeskClient::new(
        zendesk.http.clone(),
        zendesk.endpoints(subdomain).base_url(subdomain),
        grant.access_token,
    )))
}

fn zendesk_unavailable(detail: String) -> HttpError {
    HttpError::Internal(anyhow::anyhow!("zendesk call failed: {detail}"))
}

/// An API error seen through the grant: a dead grant is marked, rate limits are passed on,
/// anything else is an internal error.
pub async fn api_error(state: &AppState, tenant_id: &str, err: ApiError) -> HttpError {
    match err {
        ApiError::GrantRevoked { status } => {
            if let Err(e) =
                mark_needs_reauthorization(state, tenant_id, &format!("http_{status}")).await
            {
                return e.into();
            }
            reauthorization_required()
        }
        ApiError::RateLimited { retry_after_secs } => HttpError::RateLimited(format!(
            "Zendesk is rate limiting sealdrop; try again in {} seconds.",
            retry_after_secs.unwrap_or(60)
        )),
        other => zendesk_unavailable(other.to_string()),
    }
}

fn reauthorization_required() -> HttpError {
    HttpError::Forbidden(
        "sealdrop's access to Zendesk stopped working: a Zendesk admin must open the sealdrop app and authorize it again."
            .into(),
    )
}

fn setup_required() -> HttpError {
    HttpError::Forbidden(
        "sealdrop is not set up for this Zendesk yet: ask your Zendesk admin to open the sealdrop app first.".into(),
    )
}

// ---- PKCE state --------------------------------------------------------------------------

/// Stores a pending authorization (state hashed, verifier sealed) for [`oauth::PENDING_LIFETIME`].
pub async fn insert_pending(
    state: &AppState,
    tenant_id: &str,
    subdomain: &Subdomain,
    pending: &oauth::PendingAuthorization,
    created_by: u64,
) -> sqlx::Result<()> {
    let now = state.clock.now();
    sqlx::query("DELETE FROM oauth_pending WHERE expires_at <= $1")
        .bind(now)
        .execute(state.db.pool())
        .await?;
    let sealed = state
        .zendesk
        .cipher
        .seal_bytes(subdomain, pending.code_verifier.expose().as_bytes());
    sqlx::query(
        "INSERT INTO oauth_pending (state, tenant_id, code_verifier_enc, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hex::encode(oauth::state_hash(pending.state.expose())))
    .bind(tenant_id)
    .bind(sealed)
    .bind(created_by.to_string())
    .bind(now + oauth::PENDING_LIFETIME.as_secs() as i64)
    .execute(state.db.pool())
    .await
    .map(|_| ())
}

/// A pending authorization taken (single use) by its `state`.
#[derive(Debug)]
pub struct TakenPending {
    /// The tenant.
    pub tenant_id: String,
    /// Sealed PKCE verifier.
    pub verifier_enc: Vec<u8>,
    /// Who started it.
    pub created_by: String,
}

/// Takes a pending authorization: found, unexpired and not taken before.
pub async fn take_pending(state: &AppState, raw_state: &str) -> sqlx::Result<Option<TakenPending>> {
    let key = hex::encode(oauth::state_hash(raw_state));
    let row = sqlx::query("SELECT tenant_id, code_verifier_enc, created_by, expires_at FROM oauth_pending WHERE state = $1")
        .bind(&key)
        .fetch_optional(state.db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let deleted = sqlx::query("DELETE FROM oauth_pending WHERE state = $1")
        .bind(&key)
        .execute(state.db.pool())
        .await?;
    let expires_at: i64 = row.try_get(3)?;
    if deleted.rows_affected() != 1 || expires_at <= state.clock.now() {
        return Ok(None);
    }
    Ok(Some(TakenPending {
        tenant_id: row.try_get(0)?,
        verifier_enc: row.try_get(1)?,
        created_by: row.try_get(2)?,
    }))
}

// ---- packages sent by agents --------------------------------------------------------------

/// Records which Zendesk user created a package (`packages.created_by_user`).
pub async fn record_sender(db: &Database, package_id: &str, user_id: u64) -> sqlx::Result<()> {
    sqlx::query("UPDATE packages SET created_by_user = $1 WHERE id = $2")
        .bind(user_id.to_string())
        .bind(package_id)
        .execute(db.pool())
        .await
        .map(|_| ())
}

/// A package an agent sent, as `GET /api/v1/packages?mine=1` lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SentByAgent {
    /// Package id.
    pub id: String,
    /// `uploading`, `ready` or `revoked`.
    pub state: String,
    /// 1 when opening needs a session.
    pub require_auth: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// `None`: unlimited.
    pub max_downloads: Option<i64>,
    /// Downloads started.
    pub downloads_used: i64,
}

/// The tenant's packages created by `user_id`, newest first (at most `limit`).
pub async fn packages_sent_by(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
    limit: i64,
) -> sqlx::Result<Vec<SentByAgent>> {
    sqlx::query_as(
        "SELECT id, state, require_auth, created_at, expires_at, max_downloads, downloads_used FROM packages \
         WHERE tenant_id = $1 AND created_by_user = $2 ORDER BY created_at DESC, id LIMIT $3",
    )
    .bind(tenant_id)
    .bind(user_id.to_string())
    .bind(limit)
    .fetch_all(db.pool())
    .await
}

// ---- roles -------------------------------------------------------------------------------

/// How a role is written in `zendesk_role_cache.role`: `admin`, `agent`, the custom role id,
/// or `end-user` for anyone sealdrop never admits (end users, suspended, deleted, unknown).
fn role_text(role: Option<&ConfirmedRole>) -> String {
    match role {
        Some(ConfirmedRole::Admin) => "admin".into(),
        Some(ConfirmedRole::Agent) => "agent".into(),
        Some(ConfirmedRole::CustomRole(id)) => id.to_string(),
        None => "end-user".into(),
    }
}

fn role_from_text(text: &str) -> Option<ConfirmedRole> {
    match text {
        "admin" => Some(ConfirmedRole::Admin),
        "agent" => Some(ConfirmedRole::Agent),
        other => other.parse().ok().map(ConfirmedRole::CustomRole),
    }
}

/// The setting-style name of a role (`admin`, `agent`, `custom:{id}`).
pub fn role_name(role: &ConfirmedRole) -> String {
    match role {
        ConfirmedRole::Admin => "admin".into(),
        ConfirmedRole::Agent => "agent".into(),
        ConfirmedRole::CustomRole(id) => format!("custom:{id}"),
    }
}

/// Whether `policy` admits `role` (by the roles module's own rule).
pub fn policy_allows(policy: &RolePolicy, role: &ConfirmedRole) -> bool {
    let (name, custom_role_id) = match role {
        ConfirmedRole::Admin => ("admin", None),
        ConfirmedRole::Agent => ("agent", None),
        ConfirmedRole::CustomRole(id) => ("agent", Some(*id)),
    };
    let user = User {
        id: 0,
        name: String::new(),
        email: None,
        role: name.into(),
        role_type: None,
        custom_role_id,
        active: true,
        suspended: false,
    };
    policy.permits(&user).is_some()
}

/// What the server knows about an agent's role right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCheck {
    /// Confirmed and allowed.
    Allowed(ConfirmedRole),
    /// Confirmed, not allowed by the tenant's settings (`None`: not an agent at all).
    NotAllowed(Option<ConfirmedRole>),
    /// Cannot be confirmed: no working grant.
    NoGrant(GrantStatus),
}

/// Confirms a user's role: from `zendesk_role_cache` while fresh, else from the Zendesk API
/// through the grant (and cached). Then applies the tenant's allowed roles.
pub async fn check_role(
    state: &AppState,
    tenant_id: &str,
    subdomain: &Subdomain,
    user_id: u64,
) -> Result<RoleCheck, HttpError> {
    let now = state.clock.now();
    let lifetime = state.zendesk.config.role_cache.as_secs() as i64;
    let settings = settings::load_or_create(&state.db, tenant_id, now).await?;
    // Without a working grant, nothing is confirmed: a cached answer would outlive the
    // admin's decision to revoke access.
    let status = grant_status(&state.db, tenant_id).await?;
    if status != GrantStatus::Active {
        return Ok(RoleCheck::NoGrant(status));
    }
    let cached = sqlx::query(
        "SELECT role, checked_at FROM zendesk_role_cache WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id.to_string())
    .fetch_optional(state.db.pool())
    .await?;
    let fresh = match cached {
        Some(row) => {
            let checked_at: i64 = row.try_get(1)?;
            let age = now - checked_at;
            (0..lifetime)
                .contains(&age)
                .then(|| row.try_get::<String, _>(0))
                .transpose()?
        }
        None => None,
    };
    let role = match fresh {
        Some(text) => role_from_text(&text),
        None => {
            let client = match api_client(state, tenant_id, subdomain).await? {
                Ok(client) => client,
                Err(status) => return Ok(RoleCheck::NoGrant(status)),
            };
            let role = match client.user(user_id).await {
                Ok(user) if user.id == user_id => roles::confirmed_role(&user),
                Ok(_) | Err(ApiError::NotFound) => None,
                Err(ApiError::GrantRevoked { status }) => {
                    mark_needs_reauthorization(state, tenant_id, &format!("http_{status}")).await?;
                    return Ok(RoleCheck::NoGrant(GrantStatus::NeedsReauthorization));
                }
                Err(e) => return Err(api_error(state, tenant_id, e).await),
            };
            sqlx::query(
                "INSERT INTO zendesk_role_cache (tenant_id, user_id, role, checked_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = excluded.role, checked_at = excluded.checked_at",
            )
            .bind(tenant_id)
            .bind(user_id.to_string())
            .bind(role_text(role.as_ref()))
            .bind(now)
            .execute(state.db.pool())
            .await?;
            role
        }
    };
    Ok(match role {
        Some(role) if policy_allows(&settings.policy(), &role) => RoleCheck::Allowed(role),
        other => RoleCheck::NotAllowed(other),
    })
}

// ---- sessions ----------------------------------------------------------------------------

/// An agent whose session checked out (role not yet confirmed).
#[derive(Debug, Clone)]
pub struct AgentContext {
    /// The tenant.
    pub tenant: Tenant,
    /// What the session says.
    pub session: AgentSession,
}

/// Checks an `sda_…` token and finds its tenant.
pub async fn session_context(state: &AppState, token: &str) -> Result<AgentContext, HttpError> {
    let session = state.zendesk.sessions.verify(token).map_err(|e| match e {
        SessionError::Expired => HttpError::Unauthorized(
            "The agent session has expired; reload the sealdrop app in Zendesk.".into(),
        ),
        _ => HttpError::Unauthorized("The agent session is not valid.".into()),
    })?;
    let tenant = tenant_by_subdomain(&state.db, &session.tenant)
        .await?
        .ok_or_else(|| HttpError::Unauthorized("The agent session is not valid.".into()))?;
    Ok(AgentContext { tenant, session })
}

/// Checks an `sda_…` token and confirms that the agent's role is allowed now.
pub async fn authorize(
    state: &AppState,
    token: &str,
) -> Result<(AgentContext, ConfirmedRole), HttpError> {
    let ctx = session_context(state, token).await?;
    let role = require_allowed(state, &ctx).await?;
    Ok((ctx, role))
}

/// The agent's role, if allowed now; otherwise the error that says why not.
pub async fn require_allowed(
    state: &AppState,
    ctx: &AgentContext,
) -> Result<ConfirmedRole, HttpError> {
    match check_role(state, &ctx.tenant.id, &ctx.session.tenant, ctx.session.user_id).await? {
        RoleCheck::Allowed(role) => Ok(role),
        RoleCheck::NotAllowed(_) => Err(HttpError::Forbidden(
            "Your Zendesk role is not allowed to use sealdrop in this account; ask your Zendesk admin.".into(),
        )),
        RoleCheck::NoGrant(GrantStatus::NeedsReauthorization) => Err(reauthorization_required()),
        RoleCheck::NoGrant(_) => Err(setup_required()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(s: &str) -> Subdomain {
        Subdomain::parse(s).expect("valid")
    }

    #[test]
    fn base_urls_parse_in_their_three_forms() {
        let t = ZendeskBase::parse("http://{subdomain}.localhost:9000/").expect("template");
        assert_eq!(
            t.endpoints(&sub("acme")).base_url(&sub("acme")).as_str(),
            "http://acme.localhost:9000/"
        );
        let fixed = ZendeskBase::parse("http://127.0.0.1:9000").expect("fixed");
        assert_eq!(
            fixed.endpoints(&sub("x")).base_url(&sub("x")).as_str(),
            "http://127.0.0.1:9000/"
        );
        let map = ZendeskBase::parse("acme=http://127.0.0.1:1/, globex=http://127.0.0.1:2/")
            .expect("pairs");
        assert_eq!(
            map.endpoints(&sub("globex"))
                .base_url(&sub("globex"))
                .as_str(),
            "http://127.0.0.1:2/"
        );
        assert_eq!(map.endpoints(&sub("other")), ZendeskEndpoints::Zendesk);
        assert_eq!(
            ZendeskBase::parse(DEFAULT_BASE_URL)
                .expect("default")
                .endpoints(&sub("a")),
            ZendeskEndpoints::Zendesk
        );
        assert!(ZendeskBase::parse("ftp://x").is_err());
        assert!(ZendeskBase::parse("a.b=http://x/").is_err());
    }

    #[test]
    fn cached_roles_round_trip() {
        for role in [
            Some(ConfirmedRole::Admin),
            Some(ConfirmedRole::Agent),
            Some(ConfirmedRole::CustomRole(7)),
            None,
        ] {
            assert_eq!(role_from_text(&role_text(role.as_ref())), role);
        }
    }

    #[test]
    fn the_policy_rule_is_the_roles_modules() {
        use crate::zendesk::roles::AllowedRole;
        let p = RolePolicy::new(vec![AllowedRole::Admin, AllowedRole::Custom(7)]);
        assert!(policy_allows(&p, &ConfirmedRole::Admin));
        assert!(policy_allows(&p, &ConfirmedRole::CustomRole(7)));
        assert!(!policy_allows(&p, &ConfirmedRole::CustomRole(8)));
        assert!(!policy_allows(&p, &ConfirmedRole::Agent));
    }
}
