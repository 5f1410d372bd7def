//! Encrypted package metadata: file names, sizes, media types, the sender's message.
//!
//! ```text
//! metadata_key = HKDF(ikm = K, salt = package_id, info = "sealdrop/v1/metadata")
//! metadata_ct  = AES-256-GCM-Seal(metadata_key, nonce = 0^96, aad = public file-table bytes,
//!                                 UTF-8 JSON {"files":[{"name","size","type"}],"message","sender"})
//! ```
//!
//! The key is used for exactly one message per package, so the all-zero nonce is safe. The
//! associated data binds the file table (salts and ciphertext sizes) to the metadata, so files
//! cannot be swapped, moved between packages or resized without detection.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::keys::{PackageId, PackageKey};
use crate::manifest::FileEntry;
use crate::provider::Aead;
use crate::stream::ciphertext_size;

/// Largest metadata plaintext (the JSON document): 1 MiB.
pub const MAX_METADATA_SIZE: usize = 1 << 20;

const ZERO_NONCE: [u8; 12] = [0; 12];

/// One file as the sender described it. JSON: `{"name": .., "size": .., "type": ..}`.
///
/// `name` is untrusted input from the sender: display it, never use it as a path unchecked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// File name as the sender gave it.
    pub name: String,
    /// Plaintext size in bytes; must match the file table's ciphertext size.
    pub size: u64,
    /// Media type, for example `application/pdf` (JSON key `type`).
    #[serde(rename = "type")]
    pub media_type: String,
}

/// The package's metadata document, in file-table order. JSON:
/// `{"files": [..], "message": "..." | null, "sender": "..." | null}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// One entry per file, in the order of the manifest's file table.
    pub files: Vec<FileInfo>,
    /// The sender's message, if any.
    #[serde(default)]
    pub message: Option<String>,
    /// Who sent the package (a name or address, as the sender's client put it), if known.
    #[serde(default)]
    pub sender: Option<String>,
}

impl Metadata {
    /// Checks the document describes `files` (same count, each size maps to its ciphertext
    /// size).
    pub(crate) fn check_against(&self, files: &[FileEntry]) -> Result<(), Error> {
        if self.files.len() != files.len() {
            return Err(Error::InvalidMetadata(
                "file count differs from the file table",
            ));
        }
        for (info, entry) in self.files.iter().zip(files) {
            if ciphertext_size(info.size) != entry.ciphertext_size {
                return Err(Error::InvalidMetadata(
                    "a file size does not match its ciphertext size",
                ));
            }
        }
        Ok(())
    }

    /// Serializes and seals; `aad` is the manifest's public file-table bytes.
    pub(crate) fn seal(
        &self,
        aead: &dyn Aead,
        key: &PackageKey,
        id: &PackageId,
        aad: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let json = serde_json::to_vec(self).map_err(|_| Error::InvalidEncoding("metadata JSON"))?;
        if json.len() > MAX_METADATA_SIZE {
            return Err(Error::InvalidMetadata("larger than 1 MiB"));
        }
        Ok(aead.seal(&key.metadata_key(id).0, &ZERO_NONCE, aad, &json))
    }

    /// Opens and parses; any authentication failure is [`Error::MetadataTampered`].
    pub(crate) fn open(
        aead: &dyn Aead,
        key: &PackageKey,
        id: &PackageId,
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Self, Error> {
        let json = aead
            .open(&key.metadata_key(id).0, &ZERO_NONCE, aad, ciphertext)
            .map_err(|_| Error::MetadataTampered)?;
        serde_json::from_slice(&json)
            .map_err(|_| Error::InvalidMetadata("not the metadata JSON document"))
    }
}
