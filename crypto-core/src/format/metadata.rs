//! The package metadata document: file names, sizes, media types, the sender's message.
//!
//! ```text
//! UTF-8 JSON {"files":[{"name","size","type"}],"message","sender"}      (at most 1 MiB)
//! ```
//!
//! Only ever stored encrypted (sealed under `K` by the protocol layer); this module is the
//! document and its agreement with the manifest's file table.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::format::manifest::FileEntry;
use crate::format::payload_sizes::ciphertext_size;

/// Largest metadata plaintext (the JSON document): 1 MiB.
pub const MAX_METADATA_SIZE: usize = 1 << 20;

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

    /// The document's bytes: compact UTF-8 JSON, at most [`MAX_METADATA_SIZE`].
    pub(crate) fn to_json(&self) -> Result<Vec<u8>, Error> {
        let json = serde_json::to_vec(self).map_err(|_| Error::InvalidEncoding("metadata JSON"))?;
        if json.len() > MAX_METADATA_SIZE {
            return Err(Error::InvalidMetadata("larger than 1 MiB"));
        }
        Ok(json)
    }

    /// Parses the document's bytes.
    pub(crate) fn from_json(json: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(json)
            .map_err(|_| Error::InvalidMetadata("not the metadata JSON document"))
    }
}
