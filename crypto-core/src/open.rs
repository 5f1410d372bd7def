//! Opening a package: a parsed [`Manifest`] and a way in (the link's `C` and the server's
//! `S`, an X25519 identity, or `K` itself) give an [`OpenedPackage`] whose files can be
//! decrypted. A team-sealed package opened from its link ([`Manifest::open_team`]) also has its
//! link binding checked.
//!
//! The order is fixed: unwrap `K` from a stanza, check it against the key commitment (in
//! constant time), open and check the metadata; no file is decrypted before all of that held.

use std::fmt;

use crate::error::Error;
use crate::format::{FileEntry, Manifest, Metadata, PackageId, StanzaKind};
use crate::keys::{LinkBinding, LinkSecret, PackageKey, ServerSecret};
use crate::provider::Aead;
use crate::sealed_metadata;
use crate::stream::{FileKey, StreamDecryptor};
use crate::wrap::x25519::{self, X25519Identity, X25519Recipient, X25519SharedSecret};
use crate::wrap::{self, link};

impl Manifest {
    /// Opens the package with the secure link's secret `C` and the server secret `S`.
    ///
    /// Tries every link stanza; then checks the key commitment (in constant time), then opens
    /// and checks the metadata. Nothing else is decrypted before the commitment matched.
    pub fn open_with_link(
        &self,
        aead: &dyn Aead,
        link_secret: &LinkSecret,
        server_secret: &ServerSecret,
    ) -> Result<OpenedPackage, Error> {
        let id = self.package_id();
        let mut links = self
            .stanzas()
            .iter()
            .filter(|s| s.kind() == StanzaKind::Link)
            .peekable();
        if links.peek().is_none() {
            return Err(Error::NoUsableStanza);
        }
        let wrap_key = link::wrap_key(link_secret, server_secret, &id);
        let key = links
            .find_map(|s| wrap::unwrap(aead, &wrap_key, &id, s.body()))
            .ok_or(Error::WrongLinkOrServerSecret)?;
        self.open_with_key(aead, key)
    }

    /// Opens the package with an X25519 identity; [`Error::NoUsableStanza`] if no X25519
    /// stanza is addressed to it, [`Error::LowOrderPoint`] if a stanza's share `E` is low order.
    pub fn open_with_x25519(
        &self,
        aead: &dyn Aead,
        identity: &X25519Identity,
    ) -> Result<OpenedPackage, Error> {
        self.open_with_x25519_agreement(aead, &identity.recipient(), &mut |share| {
            identity.agree(share)
        })
    }

    /// The ephemeral share `E` of every X25519 stanza, in stanza order: what a key held outside
    /// the core (a non-extractable WebCrypto X25519 key) must agree with to open the package
    /// (docs/FORMAT.md §20.5). Public values.
    pub fn x25519_shares(&self) -> Vec<[u8; 32]> {
        self.stanzas()
            .iter()
            .filter(|s| s.kind() == StanzaKind::X25519)
            .map(|s| x25519::share_of(s.body()))
            .collect()
    }

    /// Opens the package as the holder of the X25519 key `recipient` whose secret part is kept
    /// elsewhere: `agree(E)` gives `X25519(r, E)` for a stanza's share `E` (one of
    /// [`Manifest::x25519_shares`]), or `None` if the key agreement refused it (an all-zero
    /// result). Stanzas are tried in order, exactly as [`Manifest::open_with_x25519`] does (which
    /// is this with [`X25519Identity::agree`]): a refused or all-zero agreement is
    /// [`Error::LowOrderPoint`], no stanza for `recipient` is [`Error::NoUsableStanza`].
    pub fn open_with_x25519_agreement(
        &self,
        aead: &dyn Aead,
        recipient: &X25519Recipient,
        agree: &mut dyn FnMut(&[u8; 32]) -> Option<X25519SharedSecret>,
    ) -> Result<OpenedPackage, Error> {
        let id = self.package_id();
        for stanza in self
            .stanzas()
            .iter()
            .filter(|s| s.kind() == StanzaKind::X25519)
        {
            let shared = agree(&x25519::share_of(stanza.body()));
            if let Some(key) = x25519::unwrap_with(aead, &id, stanza.body(), recipient, shared)? {
                return self.open_with_key(aead, key);
            }
        }
        Err(Error::NoUsableStanza)
    }

    /// Opens a team-sealed package from its link with a device identity (docs/FORMAT.md §20.3):
    /// [`Error::NotTeamSealed`] if the manifest has a link stanza (open it with the link),
    /// then as [`Manifest::open_with_x25519`], then the metadata's link binding must be the one
    /// `link_secret` gives ([`Error::LinkBindingMismatch`]): the package was made by the holder
    /// of this link, not by whoever else knows the roster's public keys.
    pub fn open_team(
        &self,
        aead: &dyn Aead,
        identity: &X25519Identity,
        link_secret: &LinkSecret,
    ) -> Result<OpenedPackage, Error> {
        self.open_team_with_agreement(
            aead,
            &identity.recipient(),
            &mut |share| identity.agree(share),
            link_secret,
        )
    }

    /// [`Manifest::open_team`] for a device key held outside the core (docs/FORMAT.md §20.5):
    /// `recipient` is its public key and `agree` its key agreement, as in
    /// [`Manifest::open_with_x25519_agreement`].
    pub fn open_team_with_agreement(
        &self,
        aead: &dyn Aead,
        recipient: &X25519Recipient,
        agree: &mut dyn FnMut(&[u8; 32]) -> Option<X25519SharedSecret>,
        link_secret: &LinkSecret,
    ) -> Result<OpenedPackage, Error> {
        if !self.is_team_sealed() {
            return Err(Error::NotTeamSealed);
        }
        let opened = self.open_with_x25519_agreement(aead, recipient, agree)?;
        opened.check_link_binding(link_secret)?;
        Ok(opened)
    }

    /// Checks `K` against the commitment, then opens the metadata.
    pub fn open_with_key(&self, aead: &dyn Aead, key: PackageKey) -> Result<OpenedPackage, Error> {
        let id = self.package_id();
        if !key.matches_commitment(&id, self.commitment()) {
            return Err(Error::CommitmentMismatch);
        }
        let (metadata, link_binding) = sealed_metadata::open(
            aead,
            &key,
            &id,
            &self.public_file_table(),
            self.metadata_ciphertext(),
        )?;
        metadata.check_against(self.files())?;
        Ok(OpenedPackage {
            id,
            files: self.files().to_vec(),
            key,
            metadata,
            link_binding,
        })
    }
}

/// A package whose key commitment and metadata checked out: the files can be decrypted.
pub struct OpenedPackage {
    id: PackageId,
    files: Vec<FileEntry>,
    key: PackageKey,
    metadata: Metadata,
    link_binding: Option<LinkBinding>,
}

impl OpenedPackage {
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

    /// The link binding `L` the metadata carries (team-sealed packages), if any.
    pub fn link_binding(&self) -> Option<&LinkBinding> {
        self.link_binding.as_ref()
    }

    /// Checks that the metadata carries the link binding `link_secret` gives for this package,
    /// in constant time; [`Error::LinkBindingMismatch`] if it is absent or another.
    pub fn check_link_binding(&self, link_secret: &LinkSecret) -> Result<(), Error> {
        match &self.link_binding {
            Some(binding) if *binding == link_secret.binding(&self.id) => Ok(()),
            _ => Err(Error::LinkBindingMismatch),
        }
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
