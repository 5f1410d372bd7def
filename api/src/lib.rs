//! sealdrop's HTTP wire contract, as the server reads it from requests: the pieces that are
//! pure parsing of untrusted text, kept apart from the server so they can be tested and
//! fuzzed (`fuzz/`) without a database, a store or a runtime.
//!
//! - [`json`]: request bodies, decoded with errors that name the field;
//! - [`settings`]: the body of `PUT /api/v1/settings`;
//! - [`range`]: the `Range` header of ciphertext downloads;
//! - [`forwarded`]: who the client is behind reverse proxies (`X-Forwarded-For`,
//!   `Forwarded`), and the bucket per-address caps count it in.
//!
//! The encrypted format itself (manifest, stanzas, STREAM) is `sealdrop-crypto`'s.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod forwarded;
pub mod json;
pub mod range;
pub mod settings;
