//! The package metadata document: file names, sizes, media types, the sender's message.
//!
//! ```text
//! UTF-8 JSON {"files":[{"name","size","type"}],"message","sender"}      (at most 1 MiB)
//! ```
//!
//! A team-sealed package's document has one more member, `"link_binding"` (`b64u(L)`), after
//! `sender`; every other document lacks it, so its bytes are what they always were.
//!
//! Only ever stored encrypted (sealed under `K` by the protocol layer); this module is the
//! document and its agreement with the manifest's file table.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::format::base64url::{b64u_decode, b64u_encode};
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

    /// The document's bytes: compact UTF-8 JSON, at most [`MAX_METADATA_SIZE`], with the
    /// `link_binding` member (`b64u`) after `sender` when one is given (team-sealed packages).
    pub(crate) fn to_json(&self, link_binding: Option<&[u8; 32]>) -> Result<Vec<u8>, Error> {
        let document = DocumentOut {
            files: &self.files,
            message: &self.message,
            sender: &self.sender,
            link_binding: link_binding.map(|l| b64u_encode(l)),
        };
        let json =
            serde_json::to_vec(&document).map_err(|_| Error::InvalidEncoding("metadata JSON"))?;
        if json.len() > MAX_METADATA_SIZE {
            return Err(Error::InvalidMetadata("larger than 1 MiB"));
        }
        Ok(json)
    }

    /// Parses the document's bytes: the metadata and the link binding, if the document has one.
    pub(crate) fn from_json(json: &[u8]) -> Result<(Self, Option<[u8; 32]>), Error> {
        let document: DocumentIn = serde_json::from_slice(json)
            .map_err(|_| Error::InvalidMetadata("not the metadata JSON document"))?;
        let link_binding = document
            .link_binding
            .map(|text| {
                b64u_decode::<32>(&text, "link binding")
                    .map_err(|_| Error::InvalidMetadata("the link binding is not 32 bytes of b64u"))
            })
            .transpose()?;
        let metadata = Metadata {
            files: document.files,
            message: document.message,
            sender: document.sender,
        };
        Ok((metadata, link_binding))
    }
}

/// The document as written: [`Metadata`]'s members in order, then `link_binding` if any.
#[derive(Serialize)]
struct DocumentOut<'a> {
    files: &'a [FileInfo],
    message: &'a Option<String>,
    sender: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_binding: Option<String>,
}

/// The document as read: unknown members are ignored.
#[derive(Deserialize)]
struct DocumentIn {
    files: Vec<FileInfo>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    sender: Option<String>,
    #[serde(default)]
    link_binding: Option<String>,
}
