//! The format layer: format v1's bytes and the typed values they stand for, both ways, with no
//! key and no AEAD.
//!
//! - [`manifest`]: the manifest header, its file table and the limits a parser enforces;
//! - [`stanza`]: stanza type bytes and their fixed body sizes;
//! - [`metadata`]: the metadata JSON document and its agreement with the file table;
//! - [`payload_sizes`]: chunk, ciphertext and upload-part sizes of the `STREAM` payload;
//! - [`package_id`]: the public package identifier;
//! - [`roster`]: the team roster (device keys, recovery key, admin key; its signature bytes);
//! - [`admin_key_blob`]: the layout of the admin key wrapped by the recovery code;
//! - `base64url`: the `b64u` text form of identifiers and secrets.
//!
//! Layering: nothing here imports the protocol modules (`keys`, `wrap`, `sealed_metadata`,
//! `stream`, `seal`, `open`); they import from here. Below this layer are only [`crate::error`]
//! and [`crate::provider`] (for the tag size and `PackageId::generate`'s randomness).

pub mod admin_key_blob;
pub(crate) mod base64url;
pub mod manifest;
pub mod metadata;
pub mod package_id;
pub mod payload_sizes;
mod reader;
pub mod roster;
pub mod stanza;

pub use manifest::{FileEntry, Manifest, MAX_MANIFEST_SIZE};
pub use metadata::{FileInfo, Metadata, MAX_METADATA_SIZE};
pub use package_id::PackageId;
pub use roster::{Roster, RosterContent, RosterDevice, MAX_ROSTER_DEVICES, MAX_ROSTER_SIZE};
pub use stanza::{Stanza, StanzaKind};
