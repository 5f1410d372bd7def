//! The link stanza (type `0x01`): `K` wrapped so that opening it needs both the link secret
//! `C` (only in the link's fragment) and the server secret `S` (only released by the server):
//!
//! ```text
//! W    = HKDF(ikm = C || S, salt = package_id, info = "sealdrop/v1/link")     (RFC 5869)
//! body = AES-256-GCM-Seal(W, 0^96, aad = package_id, K)                      (48 bytes)
//! ```

use zeroize::Zeroize;

use crate::format::PackageId;
use crate::keys::{hkdf32, LinkSecret, ServerSecret, WrapKey, LABEL_LINK};

/// `W = HKDF(ikm = C || S, salt = package_id, info = "sealdrop/v1/link")`.
pub(crate) fn wrap_key(link: &LinkSecret, server: &ServerSecret, id: &PackageId) -> WrapKey {
    let mut ikm = [0u8; 64];
    ikm[..32].copy_from_slice(link.expose_bytes());
    ikm[32..].copy_from_slice(server.as_bytes());
    let key = WrapKey(hkdf32(&ikm, id.as_bytes(), LABEL_LINK));
    ikm.zeroize();
    key
}
