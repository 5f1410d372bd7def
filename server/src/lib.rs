//! The sealdrop server: an axum application over a metadata database (SQLite or Postgres,
//! [`db`]) and a blob store (local folder or S3, [`storage`]). The `sealdrop` command
//! (crate `sealdrop-cli`) runs it.
//!
//! The server never sees plaintext or package keys. It stores ciphertext parts, the manifest
//! (whose file names and message are encrypted), and the server secret `S` of each package,
//! which it releases only to a caller who proves the link (`A`) and, when the package requires
//! it, a recipient or agent session. The HTTP contract is `docs/API.md`.
//!
//! Code map: [`config`] (flags and environment), [`app`] (state, router, serving),
//! [`routes`] (one module per area), [`auth`] (credential extractors), [`error`] (the one
//! HTTP error type), [`purge`] (expiry and clean-up), [`mail`] (outgoing mail seam),
//! [`metrics`], [`telemetry`], [`tokens`], [`clock`].
#![forbid(unsafe_code)]

pub mod agents;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod mail;
pub mod metrics;
pub mod purge;
pub mod routes;
pub mod settings;
pub mod storage;
pub mod telemetry;
pub mod tokens;
pub mod verification;
pub mod widget;

pub use app::{AppState, Application};
pub use config::{Config, ConfigArgs};
/// The Zendesk integration (signed URLs, agent sessions, the OAuth grant, the REST client,
/// roles): the `sealdrop-zendesk` crate, under the path the server has always used.
pub use sealdrop_zendesk as zendesk;
