//! Key stanzas as bytes: the type byte, the kind it names and the fixed-size body.
//!
//! | type | kind | body |
//! |------|------|------|
//! | `0x01` | [`StanzaKind::Link`] (`link`) | `wrapped` (48 bytes) |
//! | `0x02` | [`StanzaKind::X25519`] (`x25519`) | `E` (32) `\|\|` `wrapped` (48) = 80 bytes |
//!
//! Body sizes are fixed by the type, so a stanza of the wrong size cannot be expressed. What a
//! body holds and how `K` is wrapped into it is the protocol's business (`crate::wrap`).

use crate::provider::TAG_SIZE;

/// Length of `wrapped`: a 32-byte key and a 16-byte tag.
pub const WRAPPED_KEY_SIZE: usize = 32 + TAG_SIZE;
/// Body length of a link stanza: the wrapped key.
pub const LINK_BODY_SIZE: usize = WRAPPED_KEY_SIZE;
/// Body length of an X25519 stanza: the ephemeral share `E` (32) and the wrapped key (48).
pub const X25519_BODY_SIZE: usize = 32 + WRAPPED_KEY_SIZE;

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
            StanzaKind::Link => LINK_BODY_SIZE,
            StanzaKind::X25519 => X25519_BODY_SIZE,
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
