//! Sealing a package: [`seal_package`] makes everything a sender uploads, over the
//! [`PackageBuilder`] that writes a manifest step by step; [`seal_team_package`] does the same
//! for a team (docs/FORMAT.md §20), and [`rewrap_team_package`] gives a team-sealed package new
//! stanzas (§21.2).
//!
//! Every sender (the native client, the browser bindings) seals through [`seal_package`] or
//! [`seal_team_package`], so a package has the same shape whoever made it: one link stanza
//! first, then X25519 stanzas; or, team-sealed, one X25519 stanza per device and the recovery
//! key's last, and the link binding in the metadata.

use std::fmt;

use crate::error::Error;
use crate::format::manifest::{public_file_table, MAX_FILES, MAX_STANZAS};
use crate::format::payload_sizes::{ciphertext_size, MAX_PLAINTEXT_SIZE};
use crate::format::{FileEntry, Manifest, Metadata, PackageId, Stanza, StanzaKind};
use crate::keys::{LinkBinding, LinkSecret, PackageKey, ServerSecret, WrapKey};
use crate::open::OpenedPackage;
use crate::provider::{Aead, RandomSource};
use crate::sealed_metadata;
use crate::stream::FileKey;
use crate::team::TeamRecipients;
use crate::wrap::{self, link, x25519::X25519Recipient};

/// Everything a sender needs after sealing: the manifest to upload, the link secret `C` for the
/// link's fragment (in a team-sealed package it gives the link proof and binding, and opens
/// nothing) and each file's key `Kf` for its encryptor.
pub struct SealedPackage {
    /// The package id the package was sealed for.
    pub id: PackageId,
    /// The manifest bytes (`PUT /api/v1/packages/{id}/manifest`).
    pub manifest: Vec<u8>,
    /// The fresh link secret `C`: goes only into the link's fragment.
    pub link_secret: LinkSecret,
    /// `Kf` of each file, in file-table order (the order of the metadata's files).
    pub file_keys: Vec<FileKey>,
}

impl fmt::Debug for SealedPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedPackage")
            .field("id", &self.id)
            .field("manifest_len", &self.manifest.len())
            .field("files", &self.file_keys.len())
            .finish_non_exhaustive()
    }
}

/// Seals a new package for the server-made `id` and server secret `S`: a fresh package key `K`
/// and link secret `C`, a link stanza, one X25519 stanza per recipient, one file-table entry
/// per file of `metadata` (in order, sized by its `size`) and the sealed metadata.
///
/// Randomness is drawn in this order: `C` (32 bytes), `K` (32), an ephemeral secret `e` (32)
/// per X25519 recipient, a salt (16) per file; a deterministic `rng` gives the same bytes on
/// every platform.
pub fn seal_package(
    aead: &dyn Aead,
    rng: &dyn RandomSource,
    id: PackageId,
    server_secret: &ServerSecret,
    metadata: &Metadata,
    x25519_recipients: &[X25519Recipient],
) -> Result<SealedPackage, Error> {
    seal(
        aead,
        rng,
        id,
        metadata,
        Some(server_secret),
        x25519_recipients.iter(),
    )
}

/// Seals a new **team-sealed** package for the server-made `id` (docs/FORMAT.md §20): a fresh
/// package key `K` and link secret `C`, one X25519 stanza per recipient (the devices in order,
/// then the recovery key), **no link stanza**, and the link binding
/// `L = HKDF(C, package_id, "sealdrop/v1/link-binding")` in the sealed metadata. Neither `C`
/// nor the server secret opens the package; `C` still gives the link proof `A`.
///
/// `team` should be [`crate::team::VerifiedRoster::recipients`]. Randomness is drawn in this
/// order: `C` (32 bytes), `K` (32), an ephemeral secret `e` (32) per recipient, a salt (16) per
/// file.
pub fn seal_team_package(
    aead: &dyn Aead,
    rng: &dyn RandomSource,
    id: PackageId,
    metadata: &Metadata,
    team: &TeamRecipients,
) -> Result<SealedPackage, Error> {
    seal(aead, rng, id, metadata, None, team.iter())
}

/// The one sealing path: with `server_secret` a link stanza first, without it a team-sealed
/// package with the link binding.
fn seal<'r>(
    aead: &dyn Aead,
    rng: &dyn RandomSource,
    id: PackageId,
    metadata: &Metadata,
    server_secret: Option<&ServerSecret>,
    x25519_recipients: impl Iterator<Item = &'r X25519Recipient>,
) -> Result<SealedPackage, Error> {
    let link_secret = LinkSecret::generate(rng)?;
    let mut builder = PackageBuilder::new(id, rng)?;
    match server_secret {
        Some(server_secret) => {
            builder.link_stanza(&link_secret, server_secret);
        }
        None => {
            builder.link_binding(&link_secret)?;
        }
    }
    for recipient in x25519_recipients {
        builder.x25519_stanza(recipient)?;
    }
    let file_keys = metadata
        .files
        .iter()
        .map(|file| builder.add_file(file.size).map(|(_, key)| key))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = builder.build(aead, metadata)?;
    Ok(SealedPackage {
        id,
        manifest,
        link_secret,
        file_keys,
    })
}

/// Re-wraps a team-sealed package to `team` (docs/FORMAT.md §21.2): a new manifest with the same
/// package id, commitment, file table and metadata ciphertext, byte for byte, and new stanzas:
/// one X25519 stanza per recipient, each with a fresh ephemeral secret drawn from `rng`. The
/// metadata is not sealed again and the file ciphertexts do not change.
///
/// `opened` is the package opened from `manifest` (with the recovery identity or a device key);
/// [`Error::NotTeamSealed`] if `manifest` has a link stanza, [`Error::CommitmentMismatch`] if
/// `opened` is another package.
pub fn rewrap_team_package(
    aead: &dyn Aead,
    rng: &dyn RandomSource,
    manifest: &Manifest,
    opened: &OpenedPackage,
    team: &TeamRecipients,
) -> Result<Vec<u8>, Error> {
    if !manifest.is_team_sealed() {
        return Err(Error::NotTeamSealed);
    }
    let id = manifest.package_id();
    let key = opened.package_key();
    if opened.package_id() != id || !key.matches_commitment(&id, manifest.commitment()) {
        return Err(Error::CommitmentMismatch);
    }
    let stanzas = team
        .iter()
        .map(|recipient| {
            let pending = PendingStanza::x25519(recipient, rng)?;
            Ok(pending.seal(aead, &id, key))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(manifest.with_stanzas(stanzas).to_bytes())
}

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
    /// The link binding `L` the metadata carries (team-sealed packages only).
    link_binding: Option<LinkBinding>,
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

impl PendingStanza {
    /// An X25519 stanza for `recipient` with a fresh ephemeral secret from `rng`.
    fn x25519(recipient: &X25519Recipient, rng: &dyn RandomSource) -> Result<Self, Error> {
        let (share, wrap_key) = recipient.ephemeral(rng)?;
        Ok(PendingStanza {
            kind: StanzaKind::X25519,
            prefix: share.to_vec(),
            wrap_key,
        })
    }

    /// The stanza: its prefix and `K` wrapped under its wrap key.
    fn seal(&self, aead: &dyn Aead, id: &PackageId, key: &PackageKey) -> Stanza {
        let mut body = self.prefix.clone();
        body.extend_from_slice(&wrap::wrap(aead, &self.wrap_key, id, key));
        Stanza::new(self.kind, body)
    }
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
            link_binding: None,
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
        self.stanzas
            .push(PendingStanza::x25519(recipient, self.rng)?);
        Ok(self)
    }

    /// Puts the link binding `L = HKDF(C, package_id, "sealdrop/v1/link-binding")` into the
    /// metadata, as a team-sealed package needs (docs/FORMAT.md §20.2). Must come before the
    /// first `build` ([`Error::MetadataAlreadySealed`] after it).
    pub fn link_binding(&mut self, link_secret: &LinkSecret) -> Result<&mut Self, Error> {
        if self.sealed.is_some() {
            return Err(Error::MetadataAlreadySealed);
        }
        self.link_binding = Some(link_secret.binding(&self.id));
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
            .map(|pending| pending.seal(aead, &self.id, &self.key))
            .collect();
        let aad = public_file_table(&self.id, &self.files);
        let sealed = sealed_metadata::seal(
            aead,
            &self.key,
            &self.id,
            &aad,
            metadata,
            self.link_binding.as_ref(),
        )?;
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
