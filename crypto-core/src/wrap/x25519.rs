//! The X25519 stanza (type `0x02`): `K` wrapped to an X25519 public key `R` (RFC 7748),
//! ephemeral-static as age's X25519 recipient type does:
//!
//! ```text
//! e      = 32 random bytes;  E = X25519(e, 9)        (the base point, u = 9)
//! shared = X25519(e, R)                             (rejected if all zero: R is low order)
//! W      = HKDF(ikm = shared, salt = E || R, info = "sealdrop/v1/x25519")
//! body   = E || AES-256-GCM-Seal(W, 0^96, aad = package_id, K)         (32 + 48 = 80 bytes)
//! ```
//!
//! The holder of the identity `r` computes `shared = X25519(r, E)`, rejects an all-zero result
//! (a low-order `E`), and unwraps. The holder may compute `shared` outside this crate (a
//! browser's non-extractable WebCrypto X25519 key, docs/FORMAT.md §20.5) and hand over only
//! the [`X25519SharedSecret`]s: [`X25519Identity::agree`] is the same computation done here.

use std::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::format::base64url::{b64u_decode, b64u_encode};
use crate::format::PackageId;
use crate::keys::{hkdf32, PackageKey, WrapKey, LABEL_X25519};
use crate::provider::{Aead, RandomSource};

/// An X25519 secret key `r` (an agent device key, for example). Zeroized on drop.
#[derive(Clone)]
pub struct X25519Identity {
    secret: StaticSecret,
}

impl X25519Identity {
    /// A fresh random identity.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes)?;
        let identity = X25519Identity {
            secret: StaticSecret::from(bytes),
        };
        bytes.zeroize();
        Ok(identity)
    }

    /// An identity from its 32 secret bytes `r` (used as given; X25519 clamps them). Secret:
    /// for test vectors, derived identities and keys a page keeps as bytes.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let identity = X25519Identity {
            secret: StaticSecret::from(bytes),
        };
        bytes.zeroize();
        identity
    }

    /// The 32 secret bytes `r`. Never log them.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key `R = X25519(r, 9)`.
    pub fn recipient(&self) -> X25519Recipient {
        X25519Recipient(PublicKey::from(&self.secret))
    }

    /// `b64u(r)`, 43 characters (the 32 bytes as given; clamping happens in X25519). Secret.
    pub fn to_b64u(&self) -> String {
        let mut bytes = self.secret.to_bytes();
        let text = b64u_encode(&bytes);
        bytes.zeroize();
        text
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        let mut bytes = b64u_decode::<32>(text, "X25519 identity")?;
        let identity = X25519Identity {
            secret: StaticSecret::from(bytes),
        };
        bytes.zeroize();
        Ok(identity)
    }

    /// The key agreement with an ephemeral share `E`: `X25519(r, E)`, or `None` if it is all
    /// zeros (`E` is a low-order point, RFC 7748 §6.1), as WebCrypto's `deriveBits` refuses it.
    pub fn agree(&self, share: &[u8; 32]) -> Option<X25519SharedSecret> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*share));
        shared
            .was_contributory()
            .then(|| X25519SharedSecret::from_bytes(*shared.as_bytes()))
    }
}

/// `X25519(r, E)` for one X25519 stanza: what the holder of `r` contributes to unwrapping it,
/// whether computed by [`X25519Identity::agree`] or outside the core (a non-extractable
/// WebCrypto key's `deriveBits`). Secret: zeroized on drop, never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct X25519SharedSecret([u8; 32]);

impl X25519SharedSecret {
    /// The 32 bytes of `X25519(r, E)` as the key agreement gave them.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        X25519SharedSecret(bytes)
    }

    /// The 32 bytes. Secret: for test vectors, never log them.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether all 32 bytes are zero (a low-order `E`), in constant time.
    fn is_zero(&self) -> bool {
        use subtle::ConstantTimeEq;
        bool::from(self.0.ct_eq(&[0u8; 32]))
    }
}

impl fmt::Debug for X25519SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519SharedSecret(..)")
    }
}

/// The ephemeral share `E` at the start of an X25519 stanza body.
pub(crate) fn share_of(body: &[u8]) -> [u8; 32] {
    body[..32]
        .try_into()
        .expect("an X25519 body starts with the 32-byte share E")
}

/// Unwraps `K` from an X25519 stanza body addressed to `recipient`, given `shared =
/// X25519(r, E)` for the body's `E`: [`Error::LowOrderPoint`] if the agreement was refused
/// (`None`) or gave all zeros; `Ok(None)` if the stanza is not for `recipient` (or was altered).
pub(crate) fn unwrap_with(
    aead: &dyn Aead,
    id: &PackageId,
    body: &[u8],
    recipient: &X25519Recipient,
    shared: Option<X25519SharedSecret>,
) -> Result<Option<PackageKey>, Error> {
    let shared = shared
        .filter(|s| !s.is_zero())
        .ok_or(Error::LowOrderPoint)?;
    let share = PublicKey::from(share_of(body));
    let wrap_key = derive_wrap_key(&shared.0, &share, &recipient.0);
    Ok(super::unwrap(aead, &wrap_key, id, &body[32..]))
}

impl fmt::Debug for X25519Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("X25519Identity(..)")
    }
}

/// An X25519 public key `R`: packages can be wrapped to it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct X25519Recipient(PublicKey);

impl X25519Recipient {
    /// Wraps 32 public-key bytes (the u-coordinate, RFC 7748).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        X25519Recipient(PublicKey::from(bytes))
    }

    /// The 32 public-key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// `b64u(R)`, 43 characters.
    pub fn to_b64u(&self) -> String {
        b64u_encode(self.0.as_bytes())
    }

    /// Parses the 43-character text form. (Low-order keys are refused when wrapping.)
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode::<32>(text, "X25519 recipient").map(Self::from_bytes)
    }

    /// Whether `R` is a low-order point: `X25519(k, R)` is all zeros for every clamped scalar
    /// `k` (RFC 7748, section 6.1), so nothing can be wrapped to it.
    pub fn is_low_order(&self) -> bool {
        // Any clamped scalar will do: clamping clears the cofactor bits, so a point of order
        // 1, 2, 4 or 8 (on the curve or its twist) always maps to zero.
        let probe = StaticSecret::from([0x5a; 32]);
        !probe.diffie_hellman(&self.0).was_contributory()
    }

    /// Draws the ephemeral `e` and returns `E` and the wrap key `W`;
    /// [`Error::LowOrderPoint`] if `R` is a low-order point.
    pub(crate) fn ephemeral(&self, rng: &dyn RandomSource) -> Result<([u8; 32], WrapKey), Error> {
        let mut e = [0u8; 32];
        rng.fill(&mut e)?;
        let ephemeral = StaticSecret::from(e);
        e.zeroize();
        let share = PublicKey::from(&ephemeral);
        let shared = ephemeral.diffie_hellman(&self.0);
        if !shared.was_contributory() {
            return Err(Error::LowOrderPoint);
        }
        Ok((
            share.to_bytes(),
            derive_wrap_key(shared.as_bytes(), &share, &self.0),
        ))
    }
}

impl fmt::Debug for X25519Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519Recipient({})", self.to_b64u())
    }
}

/// `W = HKDF(ikm = shared, salt = E || R, info = "sealdrop/v1/x25519")`.
fn derive_wrap_key(shared: &[u8; 32], share: &PublicKey, recipient: &PublicKey) -> WrapKey {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    WrapKey(hkdf32(shared, &salt, LABEL_X25519))
}
