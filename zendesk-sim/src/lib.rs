//! A Zendesk simulator for sealdrop's tests and local demo.
//!
//! Tests and the demo cannot reach Zendesk, so this crate plays its part for one Zendesk
//! account (one subdomain) per running instance:
//!
//! - **ZAF signed URLs** ([`zaf`]): it signs the RS256 JWT that Zendesk POSTs to an app's
//!   iframe URL with its own RSA key, and serves the public key (`GET /sim/public_key.pem`).
//! - **Agent ticket page** `GET /agent/tickets/{id}?as={user_id}`: embeds the sidebar app the
//!   way Zendesk does, a hidden form POSTing `token` to the app URL into the sidebar iframe;
//!   or, with an app folder whose manifest points the sidebar at `assets/…`, the package's
//!   page from the apps origin.
//! - **The app package** ([`app_package`]): its assets on an origin of their own, the
//!   installation's settings (secure ones kept from the page), and the app proxy behind ZAF's
//!   `client.request` (`POST /api/v2/apps/proxy`: settings, scopes, `domainWhitelist`, the
//!   HS256 JWT, text only).
//! - **OAuth** (authorization code with PKCE S256): `GET /oauth/authorizations/new` (a consent
//!   page with an Allow button, or an immediate redirect when auto-approve is on),
//!   `POST /oauth/tokens` (authorization_code and refresh_token grants),
//!   `DELETE /api/v2/oauth/tokens/current.json` (revocation).
//! - **REST API subset**: `users/{id}`, `users/me`, `users/show_many?ids=`, `tickets/{id}`,
//!   `tickets/{id}/comments` with cursor pagination (`page[size]`, `page[after]`,
//!   `meta.has_more`, `links.next`), `apps/installations` and `apps/installations/{id}` (`404`
//!   once that installation is uninstalled; the token needs the `read` or `apps:read` scope,
//!   else `403`). Calls need a live OAuth access token: revoked, expired or unknown tokens get
//!   `401`; a token whose granting user is no longer an agent or admin gets `403`.
//! - **The app's installations**: the account starts with the app installed once
//!   ([`SimConfig::installation_id`]). An admin may uninstall it ([`Sim::uninstall_app`]),
//!   install it again ([`Sim::install_app`], [`Sim::reinstall_app`]): every installation gets
//!   a new id, and the agent page and ZAF tokens use the newest live one (its id in `aud`).
//!   With the app uninstalled the agent page shows no sidebar and no ZAF token is signed.
//!   Uninstalling does not revoke OAuth grants (in Zendesk those belong to the OAuth client,
//!   not to the app).
//! - **Help Center** (`help_center`): "Submit a request" in Zendesk's real default theme,
//!   Copenhagen (its vendored built bundles, templates and `style.css`; React form, CKEditor 5
//!   description), and `?markup=classic` in the older template markup (`form#new_request`,
//!   `textarea#request_description`, `#upload-dropzone`). Both carry the sealdrop widget
//!   loader tag; submitting needs the CSRF token the theme fetches and creates a ticket;
//!   the upload endpoints a protected form must not reach are recorded.
//! - **Control API** under `/sim/...` for tests and the demo: create users and tickets, change a
//!   role, revoke grants, uninstall, install and reinstall the app, throttle (`429` with `Retry-After`) or fail (`5xx`) the next N API
//!   calls, mint a ZAF token, read the API call log. [`Sim`] offers the same in Rust.
//!
//! The simulator keeps everything in memory and is not meant to be exposed to a network.

#![forbid(unsafe_code)]

mod api;
pub mod app_package;
mod control;
mod help_center;
mod oauth;
mod pages;
pub mod state;
pub mod zaf;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use url::Url;

pub use state::{
    AppInstallation, Comment, NewTicket, NewUser, OAuthClient, Ticket, TicketForm, User, UserChange,
};
pub use zaf::{ZafClaims, ZafContext, ZafSigner};

/// One opening of the ticket sidebar: the app instance, where its form posts, and the
/// token it posts.
#[derive(Debug, Clone)]
pub struct ZafLaunch {
    /// The instance's `app_guid` (a random UUID, as Zendesk gives each app instance).
    pub app_guid: String,
    /// The app URL with `origin` and `app_guid`.
    pub app_url: Url,
    /// The signed-URL JWT, its `qsh` over `app_url`.
    pub token: String,
}

/// How a simulator starts.
#[derive(Debug)]
pub struct SimConfig {
    /// The account's subdomain (`acme` for `acme.zendesk.com`): the ZAF issuer and audience.
    pub subdomain: String,
    /// The id of the app's first installation (part of the ZAF audience). Later installations
    /// ([`Sim::install_app`]) count up from it.
    pub installation_id: u64,
    /// The sidebar app URL the agent page POSTs the signed token to,
    /// e.g. `http://127.0.0.1:8080/zendesk/sidebar`.
    pub app_url: Url,
    /// The sealdrop server's base URL, for the Help Center widget loader tag.
    pub sealdrop_url: Url,
    /// The tenant's public widget key for the loader tag.
    pub widget_key: String,
    /// Access token lifetime. `Some` makes the token endpoint return `expires_in` and a
    /// `refresh_token`; `None` issues non-expiring tokens without one.
    pub access_token_ttl: Option<Duration>,
    /// Approve OAuth authorization requests without showing the consent page.
    pub auto_approve: bool,
    /// The ZAF signing key; a fresh one is generated when `None`.
    pub signer: Option<ZafSigner>,
    /// Where to listen; `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// The app folder as `cargo xtask package-app` assembles it (manifest and `assets/`):
    /// its assets are served on an origin of their own, and a sidebar whose manifest URL is
    /// `assets/…` is framed from there ([`app_package`]).
    pub app_dir: Option<PathBuf>,
    /// Where the apps origin listens (default: a free port beside `bind`).
    pub apps_bind: Option<SocketAddr>,
}

impl SimConfig {
    /// A config for `subdomain` with demo defaults: the sealdrop server on `sealdrop_url`,
    /// sidebar at `{sealdrop_url}/zendesk/sidebar`, a free local port, the consent page shown.
    pub fn new(subdomain: &str, sealdrop_url: Url) -> Self {
        let app_url = sealdrop_url
            .join("/zendesk/sidebar")
            .expect("a fixed absolute path joins onto any base URL");
        Self {
            subdomain: subdomain.to_string(),
            installation_id: 360_001_234,
            app_url,
            sealdrop_url,
            widget_key: "sdw_demo".into(),
            access_token_ttl: None,
            auto_approve: false,
            signer: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            app_dir: None,
            apps_bind: None,
        }
    }
}

/// Settings that tests may change while the simulator runs.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub app_url: Url,
    pub sealdrop_url: Url,
    pub widget_key: String,
    /// The snippet an admin pasted into `document_head.hbs`, verbatim; `None`: the plain
    /// loader tag with `widget_key`.
    pub loader_tag: Option<String>,
    pub auto_approve: bool,
    /// The app installation's settings, secure ones included.
    pub app_settings: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub subdomain: String,
    pub base_url: Url,
    pub signer: ZafSigner,
    /// The apps origin's base URL (stands for `https://{app id}.apps.zdusercontent.com/`).
    pub apps_base_url: Option<Url>,
    pub app_dir: Option<PathBuf>,
    pub settings: RwLock<Settings>,
    pub state: Mutex<state::State>,
}

/// A handle on a running simulator (cheap to clone).
#[derive(Clone, Debug)]
pub struct Sim {
    shared: Arc<Shared>,
}

/// A simulator serving on a local port until dropped.
#[derive(Debug)]
pub struct RunningSim {
    /// Control handle.
    pub sim: Sim,
    task: tokio::task::JoinHandle<()>,
    apps_task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    /// The simulator's base URL, e.g. `http://127.0.0.1:41234/` (stands for
    /// `https://{subdomain}.zendesk.com/`).
    pub fn base_url(&self) -> &Url {
        self.sim.base_url()
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(task) = &self.apps_task {
            task.abort();
        }
    }
}

impl std::ops::Deref for RunningSim {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.sim
    }
}

/// Starts a simulator on `config.bind` and serves it on a background task.
pub async fn start(config: SimConfig) -> anyhow::Result<RunningSim> {
    let listener = TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let base_url = Url::parse(&format!("http://{addr}/"))?;
    let signer = match config.signer {
        Some(s) => s,
        None => tokio::task::spawn_blocking(ZafSigner::generate).await??,
    };
    // The app's assets get an origin of their own, as on Zendesk.
    let apps_listener = match &config.app_dir {
        Some(_) => Some(
            TcpListener::bind(
                config
                    .apps_bind
                    .unwrap_or_else(|| SocketAddr::new(config.bind.ip(), 0)),
            )
            .await?,
        ),
        None => None,
    };
    let apps_base_url = match &apps_listener {
        Some(l) => Some(Url::parse(&format!("http://{}/", l.local_addr()?))?),
        None => None,
    };
    let mut app_settings = serde_json::Map::new();
    app_settings.insert(
        "sealdrop_url".into(),
        config.sealdrop_url.as_str().trim_end_matches('/').into(),
    );
    let shared = Arc::new(Shared {
        subdomain: config.subdomain,
        base_url,
        signer,
        apps_base_url,
        app_dir: config.app_dir,
        settings: RwLock::new(Settings {
            app_url: config.app_url,
            sealdrop_url: config.sealdrop_url,
            widget_key: config.widget_key,
            loader_tag: None,
            auto_approve: config.auto_approve,
            app_settings,
        }),
        state: Mutex::new(state::State::new(
            config.access_token_ttl,
            config.installation_id,
        )),
    });
    let sim = Sim { shared };
    let app = router(sim.clone());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "zendesk-sim stopped");
        }
    });
    let apps_task = apps_listener.map(|listener| {
        let assets = app_package::assets_router(sim.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, assets).await {
                tracing::error!(error = %e, "zendesk-sim's apps origin stopped");
            }
        })
    });
    Ok(RunningSim {
        sim,
        task,
        apps_task,
    })
}

/// All the simulator's routes.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(api::router())
        .merge(oauth::router())
        .merge(control::router())
        .merge(pages::router())
        .merge(help_center::router())
        .merge(app_package::router())
        .with_state(sim)
}

impl Sim {
    pub(crate) fn state(&self) -> MutexGuard<'_, state::State> {
        // A panic while holding the lock only happens in a simulator bug; keep serving.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn settings(&self) -> Settings {
        self.shared
            .settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn update_settings(&self, f: impl FnOnce(&mut Settings)) {
        let mut guard = self
            .shared
            .settings
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard);
    }

    /// The apps origin's base URL, when an app folder is configured.
    pub fn apps_base_url(&self) -> Option<&Url> {
        self.shared.apps_base_url.as_ref()
    }

    /// The app folder, when configured.
    pub fn app_dir(&self) -> Option<PathBuf> {
        self.shared.app_dir.clone()
    }

    /// The app folder's manifest, read now (the folder may be rebuilt while the simulator runs).
    pub fn app_manifest(&self) -> Option<app_package::AppManifest> {
        let dir = self.shared.app_dir.as_ref()?;
        match app_package::AppManifest::read(dir) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot read the app's manifest");
                None
            }
        }
    }

    /// The installation's settings, secure ones included.
    pub fn app_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        self.settings().app_settings
    }

    /// The settings the app's page is given: every setting but the secure ones.
    pub fn public_app_settings(&self) -> serde_json::Map<String, serde_json::Value> {
        let secure = self.app_manifest().map(|m| m.secure).unwrap_or_default();
        self.app_settings()
            .into_iter()
            .filter(|(name, _)| !secure.contains(name))
            .collect()
    }

    /// Sets installation settings (as the Zendesk admin does in the app's settings page);
    /// `null` removes one.
    pub fn set_app_settings(&self, values: serde_json::Map<String, serde_json::Value>) {
        self.update_settings(|s| {
            for (name, value) in values {
                if value.is_null() {
                    s.app_settings.remove(&name);
                } else {
                    s.app_settings.insert(name, value);
                }
            }
        });
    }

    /// The simulator's base URL (stands for `https://{subdomain}.zendesk.com/`).
    pub fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    /// The account's subdomain.
    pub fn subdomain(&self) -> &str {
        &self.shared.subdomain
    }

    /// The installation the agent page opens: the newest live one, or, with the app
    /// uninstalled, the last there was.
    pub fn installation_id(&self) -> u64 {
        let st = self.state();
        st.current_installation().unwrap_or(st.last_installation_id)
    }

    /// The app's live installations, oldest first.
    pub fn installations(&self) -> Vec<AppInstallation> {
        self.state().installations.clone()
    }

    /// Whether the app is installed at all.
    pub fn is_installed(&self) -> bool {
        !self.state().installations.is_empty()
    }

    /// Uninstalls the app, every installation of it (as an admin removing it in Zendesk's
    /// admin centre). Returns the ids that were live. Grants stay.
    pub fn uninstall_app(&self) -> Vec<u64> {
        let mut st = self.state();
        st.installations.drain(..).map(|i| i.id).collect()
    }

    /// Uninstalls one installation; `false` when it was not live.
    pub fn uninstall_installation(&self, id: u64) -> bool {
        let mut st = self.state();
        let before = st.installations.len();
        st.installations.retain(|i| i.id != id);
        st.installations.len() != before
    }

    /// Installs the app once more, beside any live installation (Zendesk lets an admin install
    /// an app twice, e.g. for another group): a new id, which the agent page opens from now on.
    pub fn install_app(&self) -> u64 {
        self.state().install_app()
    }

    /// Uninstalls the app and installs it again: returns the new installation's id.
    pub fn reinstall_app(&self) -> u64 {
        let mut st = self.state();
        st.installations.clear();
        st.install_app()
    }

    /// The ZAF issuer, `{subdomain}.zendesk.com`.
    pub fn zaf_issuer(&self) -> String {
        zaf::issuer(&self.shared.subdomain)
    }

    /// The ZAF audience of the installation the agent page opens.
    pub fn zaf_audience(&self) -> String {
        zaf::audience(&self.shared.subdomain, self.installation_id())
    }

    /// The app's public key (PEM) that verifies this simulator's ZAF tokens.
    pub fn public_key_pem(&self) -> &str {
        self.shared.signer.public_key_pem()
    }

    /// The signer, for tests that craft claims of their own.
    pub fn signer(&self) -> &ZafSigner {
        &self.shared.signer
    }

    /// The claims Zendesk would sign for `user_id` opening the ticket sidebar now (for a
    /// fresh app instance, so two calls never sign the same claims), naming
    /// [`Sim::installation_id`] (even with the app uninstalled: tests craft tokens with it).
    pub fn zaf_claims(&self, user_id: u64) -> ZafClaims {
        self.zaf_claims_for(user_id, &self.signed_app_url())
    }

    fn zaf_claims_for(&self, user_id: u64, app_url: &Url) -> ZafClaims {
        ZafClaims::ticket_sidebar(
            &self.shared.subdomain,
            self.installation_id(),
            user_id,
            app_url,
        )
    }

    /// A signed ZAF token for `user_id` (what the agent page POSTs).
    pub fn zaf_token(&self, user_id: u64) -> anyhow::Result<String> {
        Ok(self.zaf_launch(user_id)?.token)
    }

    /// What Zendesk does to open the sidebar for `user_id`: a new app instance (its own
    /// `app_guid`), the app URL with ZAF's query parameters, and the token signed for it.
    /// Fails when the app is not installed (Zendesk then has no sidebar to open).
    pub fn zaf_launch(&self, user_id: u64) -> anyhow::Result<ZafLaunch> {
        if !self.is_installed() {
            anyhow::bail!("the app is not installed in this account");
        }
        let app_guid = zaf::new_app_guid();
        let app_url = self.app_url_for(&app_guid);
        let token = self
            .shared
            .signer
            .sign(&self.zaf_claims_for(user_id, &app_url))?;
        Ok(ZafLaunch {
            app_guid,
            app_url,
            token,
        })
    }

    /// The app URL with the `origin` and `app_guid` query parameters ZAF appends, for a new
    /// app instance.
    pub fn signed_app_url(&self) -> Url {
        self.app_url_for(&zaf::new_app_guid())
    }

    fn app_url_for(&self, app_guid: &str) -> Url {
        let mut url = self.settings().app_url;
        let origin = self
            .shared
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string();
        url.query_pairs_mut()
            .append_pair("origin", &origin)
            .append_pair("app_guid", app_guid);
        url
    }

    /// Points the agent page at another sidebar URL.
    pub fn set_app_url(&self, url: Url) {
        self.update_settings(|s| s.app_url = url);
    }

    /// Points the Help Center loader tag at another sealdrop server.
    pub fn set_sealdrop_url(&self, url: Url) {
        self.update_settings(|s| s.sealdrop_url = url);
    }

    /// Changes the widget key in the loader tag.
    pub fn set_widget_key(&self, key: &str) {
        let key = key.to_string();
        self.update_settings(|s| s.widget_key = key);
    }

    /// Puts `tag` into the Help Center pages' head verbatim, as an admin pastes the snippet
    /// sealdrop shows (with `integrity` and `data-admin-key`); `None` goes back to the plain
    /// loader tag.
    pub fn set_loader_tag(&self, tag: Option<String>) {
        self.update_settings(|s| s.loader_tag = tag);
    }

    /// Turns the OAuth consent page's auto-approval on or off.
    pub fn set_auto_approve(&self, on: bool) {
        self.update_settings(|s| s.auto_approve = on);
    }

    /// Registers an OAuth client (replacing one with the same identifier).
    pub fn register_client(&self, client: OAuthClient) {
        let mut st = self.state();
        st.clients.retain(|c| c.identifier != client.identifier);
        st.clients.push(client);
    }

    /// Creates a user.
    pub fn add_user(&self, new: NewUser) -> User {
        self.state().add_user(new)
    }

    /// Changes a user's role, custom role, suspension, existence or email.
    pub fn change_user(&self, id: u64, change: UserChange) -> Option<User> {
        let mut st = self.state();
        let user = st.users.get_mut(&id)?;
        if let Some(role) = change.role {
            user.role_type = match role.as_str() {
                "admin" => Some(4),
                _ => None,
            };
            user.role = role;
            if user.role != "agent" {
                user.custom_role_id = None;
            }
        }
        if change.clear_custom_role {
            user.custom_role_id = None;
            user.role_type = None;
        }
        if let Some(rt) = change.role_type {
            user.role_type = Some(rt);
        }
        if let Some(cr) = change.custom_role_id {
            user.custom_role_id = Some(cr);
            user.role_type = Some(0);
        }
        if let Some(s) = change.suspended {
            user.suspended = s;
        }
        if let Some(a) = change.active {
            user.active = a;
        }
        if let Some(email) = change.email {
            user.email = email;
        }
        Some(user.clone())
    }

    /// Creates a ticket with its first comment.
    pub fn add_ticket(&self, new: NewTicket) -> anyhow::Result<Ticket> {
        self.state().add_ticket(new)
    }

    /// Adds a comment to a ticket.
    pub fn add_comment(&self, ticket_id: u64, author_id: u64, body: &str) -> Option<Comment> {
        let mut st = self.state();
        if !st.tickets.contains_key(&ticket_id) {
            return None;
        }
        let id = st.next_id();
        let comment = Comment {
            id,
            author_id,
            body: body.to_string(),
            public: true,
        };
        st.comments
            .entry(ticket_id)
            .or_default()
            .push(comment.clone());
        Some(comment)
    }

    /// All tickets, oldest first.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.state().tickets.values().cloned().collect()
    }

    /// One ticket.
    pub fn ticket(&self, id: u64) -> Option<Ticket> {
        self.state().tickets.get(&id).cloned()
    }

    /// One user.
    pub fn user(&self, id: u64) -> Option<User> {
        self.state().users.get(&id).cloned()
    }

    /// Revokes every OAuth grant (as an admin removing the app's access in Zendesk would).
    pub fn revoke_all_grants(&self) -> usize {
        let mut st = self.state();
        let mut n = 0;
        for g in st.grants.iter_mut().filter(|g| !g.revoked) {
            g.revoked = true;
            n += 1;
        }
        n
    }

    /// Makes every live access token expire now (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let now = std::time::Instant::now();
        for g in self.state().grants.iter_mut() {
            g.access_expires = Some(now);
        }
    }

    /// The next `count` API calls answer `429` with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, count: u32, retry_after_secs: u64) {
        self.state().throttle = (count, retry_after_secs);
    }

    /// The next `count` API calls answer `status` (a 5xx).
    pub fn fail(&self, count: u32, status: u16) {
        self.state().failures = (count, status);
    }

    /// The API calls seen so far, as `METHOD /path?query -> status`.
    pub fn api_log(&self) -> Vec<String> {
        self.state().api_log.clone()
    }

    /// The ticket forms offered in the Help Center.
    pub fn ticket_forms(&self) -> Vec<TicketForm> {
        self.state().forms.clone()
    }
}
