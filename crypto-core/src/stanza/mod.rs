//! Key stanzas: the package key `K` wrapped for one way of opening the package.
//!
//! Every stanza seals `K` the same way, under a wrap key `W` that is used exactly once (which is
//! why the all-zero nonce is safe):
//!
//! ```text
//! wrapped = AES-256-GCM-Seal(W, nonce = 0^96, aad = package_id, K)     (32 + 16 = 48 bytes)
//! ```
//!
//! | type | kind | body |
//! |------|------|------|
//! | `0x01` | [`StanzaKind::Link`] (`link`) | `wrapped` (48 bytes) |
//! | `0x02` | [`StanzaKind::X25519`] (`x25519`) | `E` (32) `\|\|` `wrapped` (48) = 80 bytes |
//!
//! Body sizes are fixed by the type, so a stanza of the wrong size cannot be expressed.

pub mod link;
pub mod x25519;

use crate::keys::{PackageId, PackageKey, WrapKey};
use crate::provider::Aead;

/// Length of `wrapped`: a 32-byte key and a 16-byte tag.
pub const WRAPPED_KEY_SIZE: usize = 48;

const ZERO_NONCE: [u8; 12] = [0; 12];

/// The kinds of stanza format v1 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StanzaKind {
    /// Type `0x01`: `K` wrapped under `HKDF(C || S, package_id, "sealdrop/v1/link")`.
    Link,
    /// Type `0x02`: `K` wrapped to an X25519 public key (ephemeral-static, as age does).
    X25519,
}

impl StanzaKind {
    /// The type byte in the manifest.
    pub fn type_byte(self) -> u8 {
        match self {
            StanzaKind::Link => 0x01,
            StanzaKind::X25519 => 0x02,
        }
    }

    /// The kind for a type byte, `None` if format v1 does not define it.
    pub fn from_type_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(StanzaKind::Link),
            0x02 => Some(StanzaKind::X25519),
            _ => None,
        }
    }

    /// The fixed body length of this kind.
    pub fn body_len(self) -> usize {
        match self {
            StanzaKind::Link => link::BODY_SIZE,
            StanzaKind::X25519 => x25519::BODY_SIZE,
        }
    }

    /// A lower-case name (`"link"`, `"x25519"`), as used by the HTTP API and test vectors.
    pub fn name(self) -> &'static str {
        match self {
            StanzaKind::Link => "link",
            StanzaKind::X25519 => "x25519",
        }
    }
}

/// One stanza as it appears in a manifest: its kind and its fixed-length body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    kind: StanzaKind,
    body: Vec<u8>,
}

impl Stanza {
    /// `body.len()` must equal `kind.body_len()`; the manifest parser guarantees it.
    pub(crate) fn new(kind: StanzaKind, body: Vec<u8>) -> Self {
        debug_assert_eq!(body.len(), kind.body_len());
        Stanza { kind, body }
    }

    /// The stanza's kind.
    pub fn kind(&self) -> StanzaKind {
        self.kind
    }

    /// The body bytes (public: wrapped keys and ephemeral shares).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// `AES-256-GCM-Seal(W, 0^96, aad = package_id, K)`.
pub(crate) fn wrap(
    aead: &dyn Aead,
    wrap_key: &WrapKey,
    id: &PackageId,
    key: &PackageKey,
) -> [u8; WRAPPED_KEY_SIZE] {
    let sealed = aead.seal(&wrap_key.0, &ZERO_NONCE, id.as_bytes(), key.expose_bytes());
    sealed
        .try_into()
        .expect("sealing 32 bytes yields 32 + 16 bytes")
}

/// Inverse of [`wrap`]; `None` if it does not authenticate.
pub(crate) fn unwrap(
    aead: &dyn Aead,
    wrap_key: &WrapKey,
    id: &PackageId,
    wrapped: &[u8],
) -> Option<PackageKey> {
    let mut opened = aead
        .open(&wrap_key.0, &ZERO_NONCE, id.as_bytes(), wrapped)
        .ok()?;
    let key = <[u8; 32]>::try_from(opened.as_slice())
        .ok()
        .map(PackageKey::from_bytes);
    zeroize::Zeroize::zeroize(&mut opened);
    key
}
