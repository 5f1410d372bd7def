//! Wrapping the package key `K` into stanza bodies, one way of opening the package each.
//!
//! Every stanza seals `K` the same way, under a wrap key `W` that is used exactly once (which is
//! why the all-zero nonce is safe):
//!
//! ```text
//! wrapped = AES-256-GCM-Seal(W, nonce = 0^96, aad = package_id, K)     (32 + 16 = 48 bytes)
//! ```
//!
//! The stanzas' byte layout (type bytes, body sizes) is in [`crate::format::stanza`]; this
//! module and its children make and open the bodies: [`link`] (type `0x01`) and [`x25519`]
//! (type `0x02`).

pub mod link;
pub mod x25519;

use crate::format::stanza::WRAPPED_KEY_SIZE;
use crate::format::PackageId;
use crate::keys::{PackageKey, WrapKey};
use crate::provider::Aead;

const ZERO_NONCE: [u8; 12] = [0; 12];

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
