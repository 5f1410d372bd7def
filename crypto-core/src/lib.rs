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
//! ```
//! use sealdrop_crypto::*;
//!
//! let rng = OsRandom;
//! let aead = default_aead();
//! let id = PackageId::generate(&rng)?;
//! let (link, server) = (LinkSecret::generate(&rng)?, ServerSecret::generate(&rng)?);
//!
//! // Sender: one file, one link stanza.
//! let mut builder = PackageBuilder::new(id, &rng)?;
//! let (_, file_key) = builder.add_file(5)?;
//! builder.link_stanza(&link, &server);
//! let metadata = Metadata {
//!     files: vec![FileInfo { name: "a.txt".into(), size: 5, media_type: "text/plain".into() }],
//!     message: None,
//!     sender: None,
//! };
//! let manifest = builder.build(aead, &metadata)?;
//! let ciphertext = encrypt_file(aead, &file_key, b"hello");
//!
//! // Recipient: the link gives C, the server releases S.
//! let opened = Manifest::parse(&manifest)?.open_with_link(aead, &link, &server)?;
//! assert_eq!(opened.metadata(), &metadata);
//! assert_eq!(opened.decrypt_file(aead, 0, &ciphertext)?, b"hello");
//! # Ok::<(), sealdrop_crypto::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod keys;
pub mod manifest;
pub mod metadata;
pub mod package;
pub mod provider;
pub mod stanza;
pub mod stream;
pub mod vectors;

pub use error::{AeadError, Error};
pub use keys::{
    LinkProof, LinkSecret, LinkVerifier, PackageId, PackageKey, SecureLink, ServerSecret,
};
pub use manifest::{FileEntry, Manifest, MAX_MANIFEST_SIZE};
pub use metadata::{FileInfo, Metadata, MAX_METADATA_SIZE};
pub use package::{OpenedPackage, PackageBuilder};
#[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
pub use provider::RingAead;
pub use provider::{
    default_aead, Aead, DeterministicRandom, OsRandom, RandomSource, RustCryptoAead,
};
pub use stanza::x25519::{X25519Identity, X25519Recipient};
pub use stanza::StanzaKind;
pub use stream::{
    chunk_count, ciphertext_size, decrypt_file, encrypt_file, plaintext_size, ChunkPlan, FileKey,
    StreamDecryptor, StreamEncryptor, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PART_CHUNKS, PART_SIZE,
    TAG_SIZE,
};
