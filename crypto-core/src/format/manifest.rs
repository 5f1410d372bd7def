//! The manifest: the header of a package, parsed without any key.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "SEALDROP"
//!      8     1  version = 0x01
//!      9    16  package_id
//!     25    32  commitment = HKDF(ikm = K, salt = package_id, info = "sealdrop/v1/commit")
//!     57     1  stanza_count (1..=16)
//!     58     *  stanza_count x (type u8 || body), body 48 bytes (0x01) or 80 bytes (0x02)
//!      .     2  file_count u16 (0..=1000)
//!      .     *  file_count x (salt [16] || ciphertext_size u64)
//!      .     4  metadata_len u32 (16..=1 MiB + 16)
//!      .     *  metadata ciphertext
//! ```
//!
//! All integers are big-endian; nothing may follow the metadata. The *public file-table bytes*
//! (the metadata's associated data) are `version || package_id || file_count || entries`.
//!
//! Parsing and writing need no key; opening a parsed manifest is [`crate::open`]'s business.

use super::reader::Reader;
use std::collections::HashSet;

use crate::error::Error;
use crate::format::metadata::MAX_METADATA_SIZE;
use crate::format::package_id::PackageId;
use crate::format::payload_sizes::{plaintext_size, TAG_SIZE};
use crate::format::stanza::{Stanza, StanzaKind, X25519_BODY_SIZE};

/// `"SEALDROP"`.
pub const MAGIC: &[u8; 8] = b"SEALDROP";
/// The format version this library writes and reads.
pub const VERSION: u8 = 0x01;
/// Most stanzas a manifest may hold.
pub const MAX_STANZAS: usize = 16;
/// Most files a package may hold.
pub const MAX_FILES: usize = 1000;
/// Bytes of one file-table entry: salt (16) and ciphertext size (8).
pub const FILE_ENTRY_SIZE: usize = 24;
/// Offset of `stanza_count`: magic, version, package id and commitment come first.
pub const STANZAS_OFFSET: usize = 8 + 1 + 16 + 32;
/// Largest possible manifest: 16 X25519 stanzas, 1000 files and 1 MiB of metadata
/// (1 073 952 bytes).
pub const MAX_MANIFEST_SIZE: usize = STANZAS_OFFSET
    + 1
    + MAX_STANZAS * (1 + X25519_BODY_SIZE)
    + 2
    + MAX_FILES * FILE_ENTRY_SIZE
    + 4
    + MAX_METADATA_SIZE
    + TAG_SIZE;

/// One file in the public file table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileEntry {
    /// The file's random salt; `Kf = HKDF(ikm = K, salt, info = "sealdrop/v1/file")`.
    pub salt: [u8; 16],
    /// Size of the file's STREAM ciphertext in bytes (always a valid STREAM size).
    pub ciphertext_size: u64,
}

/// A parsed manifest. Parsing needs no key and checks every structural rule, so the server can
/// trust the package id, the stanza kinds and the file table it reads here (it cannot check the
/// commitment or the metadata, which need `K`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    package_id: PackageId,
    commitment: [u8; 32],
    stanzas: Vec<Stanza>,
    files: Vec<FileEntry>,
    metadata: Vec<u8>,
}

impl Manifest {
    /// Parses manifest bytes; the error names the first rule broken.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(Error::InvalidManifest(
                "larger than the largest possible manifest",
            ));
        }
        let mut r = Reader::new(bytes, Error::InvalidManifest("truncated"));
        if r.take(8).ok() != Some(MAGIC.as_slice()) {
            return Err(Error::InvalidManifest(
                "not a sealdrop manifest (bad magic)",
            ));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let package_id = PackageId::from_bytes(r.array()?);
        let commitment = r.array()?;
        let stanza_count = usize::from(r.u8()?);
        if !(1..=MAX_STANZAS).contains(&stanza_count) {
            return Err(Error::InvalidManifest("stanza count must be 1 to 16"));
        }
        let mut stanzas = Vec::with_capacity(stanza_count);
        for _ in 0..stanza_count {
            let kind = StanzaKind::from_type_byte(r.u8()?)
                .ok_or(Error::InvalidManifest("unknown stanza type"))?;
            stanzas.push(Stanza::new(kind, r.take(kind.body_len())?.to_vec()));
        }
        let file_count = usize::from(u16::from_be_bytes(r.array()?));
        if file_count > MAX_FILES {
            return Err(Error::InvalidManifest("more than 1000 files"));
        }
        let mut files = Vec::with_capacity(file_count);
        let mut salts = HashSet::with_capacity(file_count);
        for _ in 0..file_count {
            let salt = r.array()?;
            let ciphertext_size = u64::from_be_bytes(r.array()?);
            if plaintext_size(ciphertext_size).is_err() {
                return Err(Error::InvalidManifest(
                    "a file has an impossible ciphertext size",
                ));
            }
            if !salts.insert(salt) {
                return Err(Error::InvalidManifest("two files share a salt"));
            }
            files.push(FileEntry {
                salt,
                ciphertext_size,
            });
        }
        let metadata_len = u32::from_be_bytes(r.array()?) as usize;
        if !(TAG_SIZE..=MAX_METADATA_SIZE + TAG_SIZE).contains(&metadata_len) {
            return Err(Error::InvalidManifest("metadata length out of range"));
        }
        let metadata = r.take(metadata_len)?.to_vec();
        if !r.is_done() {
            return Err(Error::InvalidManifest("bytes after the metadata"));
        }
        Ok(Manifest {
            package_id,
            commitment,
            stanzas,
            files,
            metadata,
        })
    }

    /// Assembles a manifest (the builder has checked every limit).
    pub(crate) fn from_parts(
        package_id: PackageId,
        commitment: [u8; 32],
        stanzas: Vec<Stanza>,
        files: Vec<FileEntry>,
        metadata: Vec<u8>,
    ) -> Self {
        Manifest {
            package_id,
            commitment,
            stanzas,
            files,
            metadata,
        }
    }

    /// The package id.
    pub fn package_id(&self) -> PackageId {
        self.package_id
    }

    /// The public file table.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The kind of each stanza, in order.
    pub fn stanza_kinds(&self) -> Vec<StanzaKind> {
        self.stanzas.iter().map(Stanza::kind).collect()
    }

    /// The stanzas, in order.
    pub fn stanzas(&self) -> &[Stanza] {
        &self.stanzas
    }

    /// Whether the package is team-sealed: it has no link stanza, only X25519 stanzas
    /// (docs/FORMAT.md §20.1). Neither the link's `C` nor the server's `S` opens such a package.
    pub fn is_team_sealed(&self) -> bool {
        self.stanzas.iter().all(|s| s.kind() != StanzaKind::Link)
    }

    /// Whether `self` is `other` with other stanzas: the same package id, commitment, file
    /// table and metadata ciphertext. A re-wrapped manifest must be one of the stored manifest
    /// (docs/FORMAT.md §21.2); the server checks it with this before replacing the manifest.
    pub fn differs_only_in_stanzas(&self, other: &Manifest) -> bool {
        self.package_id == other.package_id
            && self.commitment == other.commitment
            && self.files == other.files
            && self.metadata == other.metadata
    }

    /// The same manifest with `stanzas` instead of its own (1 to 16, checked by the caller).
    pub(crate) fn with_stanzas(&self, stanzas: Vec<Stanza>) -> Manifest {
        Manifest {
            stanzas,
            ..self.clone()
        }
    }

    /// The key commitment.
    pub fn commitment(&self) -> &[u8; 32] {
        &self.commitment
    }

    /// The metadata ciphertext.
    pub fn metadata_ciphertext(&self) -> &[u8] {
        &self.metadata
    }

    /// The canonical encoding; `Manifest::parse(b)?.to_bytes() == b` for every valid `b`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(self.package_id.as_bytes());
        out.extend_from_slice(&self.commitment);
        out.push(u8::try_from(self.stanzas.len()).expect("at most MAX_STANZAS (16) stanzas"));
        for stanza in &self.stanzas {
            out.push(stanza.kind().type_byte());
            out.extend_from_slice(stanza.body());
        }
        self.write_file_table(&mut out);
        let metadata_len =
            u32::try_from(self.metadata.len()).expect("metadata is at most 1 MiB + 16");
        out.extend_from_slice(&metadata_len.to_be_bytes());
        out.extend_from_slice(&self.metadata);
        out
    }

    /// The public file-table bytes, `version || package_id || file_count || entries`: the
    /// metadata's associated data.
    pub fn public_file_table(&self) -> Vec<u8> {
        public_file_table(&self.package_id, &self.files)
    }

    fn write_file_table(&self, out: &mut Vec<u8>) {
        write_file_table(&self.files, out);
    }

    fn encoded_len(&self) -> usize {
        STANZAS_OFFSET
            + 1
            + self
                .stanzas
                .iter()
                .map(|s| 1 + s.body().len())
                .sum::<usize>()
            + 2
            + self.files.len() * FILE_ENTRY_SIZE
            + 4
            + self.metadata.len()
    }
}

/// `version || package_id || file_count || entries`.
pub(crate) fn public_file_table(id: &PackageId, files: &[FileEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 16 + 2 + files.len() * FILE_ENTRY_SIZE);
    out.push(VERSION);
    out.extend_from_slice(id.as_bytes());
    write_file_table(files, &mut out);
    out
}

/// `file_count u16 || (salt || ciphertext_size u64)*`.
fn write_file_table(files: &[FileEntry], out: &mut Vec<u8>) {
    let count = u16::try_from(files.len()).expect("at most MAX_FILES (1000) files");
    out.extend_from_slice(&count.to_be_bytes());
    for file in files {
        out.extend_from_slice(&file.salt);
        out.extend_from_slice(&file.ciphertext_size.to_be_bytes());
    }
}
