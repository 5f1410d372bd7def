//! Making and opening packages: [`PackageBuilder`] writes a manifest, [`OpenedPackage`] is what
//! a successful `Manifest::open_with_*` yields.

use std::fmt;

use crate::error::Error;
use crate::keys::{LinkSecret, PackageId, PackageKey, ServerSecret, WrapKey};
use crate::manifest::{public_file_table, FileEntry, Manifest, MAX_FILES, MAX_STANZAS};
use crate::metadata::Metadata;
use crate::provider::{Aead, RandomSource};
use crate::stanza::x25519::X25519Recipient;
use crate::stanza::{link, Stanza, StanzaKind};
use crate::stream::{ciphertext_size, FileKey, StreamDecryptor, MAX_PLAINTEXT_SIZE};

/// Builds one package's manifest.
///
/// Randomness is drawn in a fixed order, which the test vectors rely on: `K` (32 bytes) in
/// [`PackageBuilder::new`], a salt (16 bytes) per [`PackageBuilder::add_file`], an ephemeral
/// secret `e` (32 bytes) per [`PackageBuilder::x25519_stanza`].
pub struct PackageBuilder<'a> {
    id: PackageId,
    key: PackageKey,
    rng: &'a dyn RandomSource,
    files: Vec<FileEntry>,
    stanzas: Vec<PendingStanza>,
    /// The metadata sealed by the first successful `build`: `K_meta` and the zero nonce may
    /// encrypt only that one document.
    sealed: Option<Metadata>,
}

/// A stanza whose wrap key is known; sealed in `build`.
struct PendingStanza {
    kind: StanzaKind,
    /// `E` for X25519 stanzas, empty for link stanzas.
    prefix: Vec<u8>,
    wrap_key: WrapKey,
}

impl<'a> PackageBuilder<'a> {
    /// Starts a package with a fresh package key `K`.
    pub fn new(id: PackageId, rng: &'a dyn RandomSource) -> Result<Self, Error> {
        let key = PackageKey::generate(rng)?;
        Ok(PackageBuilder {
            id,
            key,
            rng,
            files: Vec::new(),
            stanzas: Vec::new(),
            sealed: None,
        })
    }

    /// The package id.
    pub fn id(&self) -> PackageId {
        self.id
    }

    /// The package key `K`. Only for test vectors and key escrow; never log it.
    pub fn package_key(&self) -> &PackageKey {
        &self.key
    }

    /// Adds a file of `plaintext_size` bytes with a fresh random salt; returns its index in
    /// the file table and its key `Kf` for a [`crate::stream::StreamEncryptor`].
    pub fn add_file(&mut self, plaintext_size: u64) -> Result<(usize, FileKey), Error> {
        if self.sealed.is_some() {
            return Err(Error::MetadataAlreadySealed);
        }
        if self.files.len() >= MAX_FILES {
            return Err(Error::InvalidManifest("more than 1000 files"));
        }
        if plaintext_size > MAX_PLAINTEXT_SIZE {
            return Err(Error::CounterOverflow);
        }
        let mut salt = [0u8; 16];
        self.rng.fill(&mut salt)?;
        if self.files.iter().any(|f| f.salt == salt) {
            // Two equal 128-bit random salts mean the random source is broken.
            return Err(Error::Random);
        }
        self.files.push(FileEntry {
            salt,
            ciphertext_size: ciphertext_size(plaintext_size),
        });
        Ok((self.files.len() - 1, FileKey::derive(&self.key, &salt)))
    }

    /// The key of file `index` (the same one `add_file` returned).
    pub fn file_key(&self, index: usize) -> Result<FileKey, Error> {
        let file = self.files.get(index).ok_or(Error::NoSuchFile { index })?;
        Ok(FileKey::derive(&self.key, &file.salt))
    }

    /// Adds a link stanza: `K` wrapped under `HKDF(C || S, package_id, "sealdrop/v1/link")`.
    ///
    /// The wrap key seals with the all-zero nonce, so a `(C, S, package_id)` must never wrap
    /// two different package keys: make a fresh `C` for every package key.
    pub fn link_stanza(
        &mut self,
        link_secret: &LinkSecret,
        server_secret: &ServerSecret,
    ) -> &mut Self {
        let wrap_key = link::wrap_key(link_secret, server_secret, &self.id);
        self.stanzas.push(PendingStanza {
            kind: StanzaKind::Link,
            prefix: Vec::new(),
            wrap_key,
        });
        self
    }

    /// Adds an X25519 stanza for `recipient`; [`Error::LowOrderPoint`] if it is a low-order
    /// point.
    pub fn x25519_stanza(&mut self, recipient: &X25519Recipient) -> Result<&mut Self, Error> {
        let (share, wrap_key) = recipient.ephemeral(self.rng)?;
        self.stanzas.push(PendingStanza {
            kind: StanzaKind::X25519,
            prefix: share.to_vec(),
            wrap_key,
        });
        Ok(self)
    }

    /// Writes the manifest. `metadata` must list the added files in order, with their
    /// plaintext sizes; there must be 1 to 16 stanzas.
    ///
    /// The metadata is sealed under a key used with the all-zero nonce, so once a build has
    /// succeeded, building again is allowed only with the same metadata (which gives the same
    /// bytes); other metadata is [`Error::MetadataAlreadySealed`]. Invalid input leaves the
    /// builder usable.
    pub fn build(&mut self, aead: &dyn Aead, metadata: &Metadata) -> Result<Vec<u8>, Error> {
        if !(1..=MAX_STANZAS).contains(&self.stanzas.len()) {
            return Err(Error::InvalidManifest("stanza count must be 1 to 16"));
        }
        metadata.check_against(&self.files)?;
        if self
            .sealed
            .as_ref()
            .is_some_and(|sealed| sealed != metadata)
        {
            return Err(Error::MetadataAlreadySealed);
        }
        let stanzas = self
            .stanzas
            .iter()
            .map(|pending| {
                let mut body = pending.prefix.clone();
                body.extend_from_slice(&crate::stanza::wrap(
                    aead,
                    &pending.wrap_key,
                    &self.id,
                    &self.key,
                ));
                Stanza::new(pending.kind, body)
            })
            .collect();
        let aad = public_file_table(&self.id, &self.files);
        let sealed = metadata.seal(aead, &self.key, &self.id, &aad)?;
        self.sealed = Some(metadata.clone());
        let commitment = self.key.commitment(&self.id);
        Ok(
            Manifest::from_parts(self.id, commitment, stanzas, self.files.clone(), sealed)
                .to_bytes(),
        )
    }
}

impl fmt::Debug for PackageBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageBuilder")
            .field("id", &self.id)
            .field("files", &self.files.len())
            .field(
                "stanzas",
                &self.stanzas.iter().map(|s| s.kind).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A package whose key commitment and metadata checked out: the files can be decrypted.
pub struct OpenedPackage {
    id: PackageId,
    files: Vec<FileEntry>,
    key: PackageKey,
    metadata: Metadata,
}

impl OpenedPackage {
    pub(crate) fn new(
        id: PackageId,
        files: Vec<FileEntry>,
        key: PackageKey,
        metadata: Metadata,
    ) -> Self {
        OpenedPackage {
            id,
            files,
            key,
            metadata,
        }
    }

    /// The package id.
    pub fn package_id(&self) -> PackageId {
        self.id
    }

    /// The decrypted, checked metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The public file table.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The package key `K`. Only for test vectors and key escrow; never log it.
    pub fn package_key(&self) -> &PackageKey {
        &self.key
    }

    /// `Kf` of file `index`.
    pub fn file_key(&self, index: usize) -> Result<FileKey, Error> {
        let file = self.files.get(index).ok_or(Error::NoSuchFile { index })?;
        Ok(FileKey::derive(&self.key, &file.salt))
    }

    /// A decryptor for file `index`, sized by the manifest.
    pub fn file_decryptor(&self, index: usize) -> Result<StreamDecryptor, Error> {
        let file = self.files.get(index).ok_or(Error::NoSuchFile { index })?;
        StreamDecryptor::new(FileKey::derive(&self.key, &file.salt), file.ciphertext_size)
    }

    /// Decrypts the whole of file `index`. A ciphertext shorter than the manifest says is
    /// [`Error::TruncatedFile`], a longer one [`Error::TrailingData`].
    pub fn decrypt_file(
        &self,
        aead: &dyn Aead,
        index: usize,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        self.file_decryptor(index)?.decrypt_all(aead, ciphertext)
    }
}

impl fmt::Debug for OpenedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedPackage")
            .field("id", &self.id)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}
