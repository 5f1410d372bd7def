//! The sealdrop server: an axum application over a metadata database (SQLite or Postgres,
//! [`db`]) and a blob store (local folder or S3, [`storage`]). The `sealdrop` command
//! (crate `sealdrop-cli`) runs it.
//!
//! The server never sees plaintext or package keys. It stores ciphertext parts, the manifest
//! (whose file names and message are encrypted), and the server secret `S` of each package,
//! which it releases only to a caller who proves the link (`A`) and, when the package requires
//! it, a recipient or agent session ([`policy`]). The HTTP contract is `docs/API.md`.
//!
//! Layers, each importing only the ones below it:
//!
//! - [`app`] wires the [`routes`] (one module per area) into a router and serves it;
//! - [`http`]: what routes share: the one error type, credential extractors, JSON bodies,
//!   static files, CORS;
//! - the domain: [`packages`] (lifecycle, uploads, access), [`policy`] (who may get `S`),
//!   [`verification`], [`tenants`], [`settings`], [`agents`] (Zendesk sign-in, grant,
//!   roles), [`widget`] (Help Center limits), [`audit`], [`purge`], [`deletion`] (a
//!   tenant's deletion and its signed certificate), [`lifecycle`] (Zendesk tenants whose app
//!   was uninstalled, deleted after a grace period), [`data_requests`] (a tenant's export,
//!   one address's export and erasure), [`team`] (team keys: device keys, the wrapped admin
//!   key, the roster, re-wrapped manifests); plain Rust types in,
//!   domain errors out, no HTTP;
//! - [`db`] (all SQL) and [`storage`] (blobs), with [`state`] holding one of each.
//!
//! Beside them: [`config`] (flags and environment), [`mail`], [`keys`], [`tokens`],
//! [`metrics`], [`telemetry`], [`clock`]. What is parsed from requests without I/O (bodies,
//! `Range`, forwarded addresses) is the `sealdrop-api` crate's, so it can be fuzzed alone.
#![forbid(unsafe_code)]

pub mod agents;
pub mod app;
pub mod audit;
pub mod clock;
pub mod config;
pub mod data_requests;
pub mod db;
pub mod deletion;
pub mod html;
pub mod http;
pub mod internal;
pub mod keys;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod packages;
pub mod policy;
pub mod principal;
pub mod purge;
pub mod routes;
pub mod settings;
pub mod state;
pub mod storage;
pub mod team;
pub mod telemetry;
pub mod tenants;
pub mod tokens;
pub mod verification;
pub mod widget;

pub use app::Application;
pub use config::{Config, ConfigArgs};
/// The Zendesk integration (signed URLs, agent sessions, the OAuth grant, the REST client,
/// roles): the `sealdrop-zendesk` crate, under the path the server has always used.
pub use sealdrop_zendesk as zendesk;
pub use state::AppState;
