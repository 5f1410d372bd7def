//! HTTP routes, one module per area. Each exposes `fn router() -> Router<AppState>`, which
//! [`crate::app`] merges; each handler extracts (with [`crate::http`]), calls the domain and
//! turns the answer into a response. No route module uses another.

pub mod audit;
pub mod data_requests;
pub mod deletion;
pub mod downloads;
pub mod ops;
pub mod pages;
pub mod settings;
pub mod team;
pub mod uploads;
pub mod verification;
pub mod widget;
pub mod zendesk;
