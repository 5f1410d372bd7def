//! # sealdrop format v1
//!
//! The cryptographic core of sealdrop: the key schedule, key stanzas, key commitment, encrypted
//! metadata and the chunked `STREAM` payload, exactly as specified in `docs/FORMAT.md`.
//!
//! This crate does no I/O and knows nothing of HTTP, SQL or wasm-bindgen. It builds natively
//! (AES-256-GCM from `ring`, feature `ring`, default) and for `wasm32-unknown-unknown` with
//! `--no-default-features` (AES-256-GCM from RustCrypto; the widget adds WebCrypto on top via
//! [`ChunkPlan`]s).
//!
//! References: HKDF is RFC 5869 (HKDF-SHA256 throughout); X25519 is RFC 7748; the payload is
//! the `STREAM` construction of Hoang, Reyhanitabar, Rogaway and Vizár, "Online
//! Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance" (CRYPTO 2015).
//!
//! Two layers, the lower knowing nothing of the upper:
//!
//! - [`format`](mod@format): bytes <-> typed values (the manifest, stanza types, the metadata document,
//!   payload sizes, the package id). No key, no AEAD: the server parses manifests with it.
//! - the protocol: [`keys`] (secrets and the HKDF key schedule), [`wrap`] (`K` into stanza
//!   bodies), [`stream`] (the file payload), [`seal`] ([`seal_package`] and
//!   [`seal_team_package`], the ways senders make a package, and [`rewrap_team_package`]),
//!   [`open`] (`Manifest::open_with_*`, `Manifest::open_team`, [`OpenedPackage`]) and [`team`]
//!   (team keys: fingerprints, the recovery code, the admin key, the signed roster).
//!
//! Under both sit [`error`] and [`provider`] (the AEAD backends and randomness); [`vectors`]
//! performs the test vectors (generating them needs the `gen-vectors` feature).
//!
//! ```
//! use sealdrop_crypto::*;
//!
//! let rng = OsRandom;
//! let aead = default_aead();
//! // The server makes the package id and its secret S.
//! let (id, server) = (PackageId::generate(&rng)?, ServerSecret::generate(&rng)?);
//!
//! // Sender: one file; sealing makes K, the link secret C and the file keys.
//! let metadata = Metadata {
//!     files: vec![FileInfo { name: "a.txt".into(), size: 5, media_type: "text/plain".into() }],
//!     message: None,
//!     sender: None,
//! };
//! let sealed = seal_package(aead, &rng, id, &server, &metadata, &[])?;
//! let ciphertext = encrypt_file(aead, &sealed.file_keys[0], b"hello");
//!
//! // Recipient: the link gives C, the server releases S.
//! let manifest = Manifest::parse(&sealed.manifest)?;
//! let opened = manifest.open_with_link(aead, &sealed.link_secret, &server)?;
//! assert_eq!(opened.metadata(), &metadata);
//! assert_eq!(opened.decrypt_file(aead, 0, &ciphertext)?, b"hello");
//! # Ok::<(), sealdrop_crypto::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// Platform services and errors, used by every layer.
pub mod error;
pub mod provider;

// The format layer: bytes <-> typed values, no keys. Imports nothing of the protocol below.
pub mod format;

// The protocol layer: keys, wrapping, encryption; sealing and opening packages.
pub mod keys;
pub mod open;
pub mod seal;
mod sealed_metadata;
pub mod stream;
pub mod team;
pub mod wrap;

pub mod vectors;

pub use error::{AeadError, Error};
pub use format::payload_sizes::{part_count, part_plaintext_len, part_ranges, part_size};
pub use format::{
    FileEntry, FileInfo, Manifest, Metadata, PackageId, Roster, RosterContent, RosterDevice,
    StanzaKind, MAX_MANIFEST_SIZE, MAX_METADATA_SIZE, MAX_ROSTER_DEVICES, MAX_ROSTER_SIZE,
};
pub use keys::{
    LinkBinding, LinkProof, LinkSecret, LinkVerifier, PackageKey, SecureLink, ServerSecret,
};
pub use open::OpenedPackage;
#[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
pub use provider::RingAead;
pub use provider::{
    default_aead, Aead, DeterministicRandom, OsRandom, RandomSource, RustCryptoAead,
};
pub use seal::{
    rewrap_team_package, seal_package, seal_team_package, PackageBuilder, SealedPackage,
};
pub use stream::{
    chunk_count, ciphertext_size, decrypt_file, encrypt_file, plaintext_size, ChunkPlan, FileKey,
    StreamDecryptor, StreamEncryptor, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PART_CHUNKS, PART_SIZE,
    TAG_SIZE,
};
pub use team::{
    sign_roster, AdminPublicKey, AdminSigningKey, Fingerprint, RecoveryCode, TeamRecipients,
    VerifiedRoster,
};
pub use wrap::x25519::{X25519Identity, X25519Recipient, X25519SharedSecret};
