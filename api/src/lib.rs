//! sealdrop's HTTP wire contract, shared by the server (which answers with these types and
//! reads requests into them), the native client and the tests (which read the answers with
//! them), and the OpenAPI document (generated from them):
//!
//! - [`bodies`]: every request and response body, one module per concept;
//! - [`error`]: the error body and its codes;
//! - [`text`]: ids, credentials and times as newtypes over their text;
//! - [`headers`]: the API's header names;
//! - [`openapi`]: the OpenAPI 3.1 document, generated from the bodies and the operations table;
//! - [`json`]: request bodies decoded with errors that name the field;
//! - [`range`]: the `Range` header of ciphertext downloads;
//! - [`forwarded`]: who the client is behind reverse proxies (`X-Forwarded-For`,
//!   `Forwarded`), and the bucket per-address caps count it in.
//!
//! The parsers are pure functions of untrusted text, fuzzed under `fuzz/` without a database,
//! a store or a runtime. The encrypted format itself (manifest, stanzas, STREAM) is
//! `sealdrop-crypto`'s.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bodies;
pub mod error;
pub mod forwarded;
pub mod headers;
pub mod json;
pub mod openapi;
pub mod range;
pub mod text;

pub use bodies::{
    audit, data_requests, deletion, packages, settings, team, verification, widget, zendesk,
};
