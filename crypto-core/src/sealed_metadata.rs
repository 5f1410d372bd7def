//! The metadata document sealed under the package key:
//!
//! ```text
//! metadata_key = HKDF(ikm = K, salt = package_id, info = "sealdrop/v1/metadata")
//! metadata_ct  = AES-256-GCM-Seal(metadata_key, nonce = 0^96, aad = public file-table bytes,
//!                                 metadata JSON)
//! ```
//!
//! The key is used for exactly one message per package, so the all-zero nonce is safe. The
//! associated data binds the file table (salts and ciphertext sizes) to the metadata, so files
//! cannot be swapped, moved between packages or resized without detection.
//!
//! A team-sealed package's document also carries the link binding `L` (docs/FORMAT.md §20.2).

use crate::error::Error;
use crate::format::{Metadata, PackageId};
use crate::keys::{LinkBinding, PackageKey};
use crate::provider::Aead;

const ZERO_NONCE: [u8; 12] = [0; 12];

/// Serializes and seals `metadata` (with the link binding, for team-sealed packages); `aad` is
/// the manifest's public file-table bytes.
pub(crate) fn seal(
    aead: &dyn Aead,
    key: &PackageKey,
    id: &PackageId,
    aad: &[u8],
    metadata: &Metadata,
    link_binding: Option<&LinkBinding>,
) -> Result<Vec<u8>, Error> {
    let json = metadata.to_json(link_binding.map(LinkBinding::as_bytes))?;
    Ok(aead.seal(&key.metadata_key(id).0, &ZERO_NONCE, aad, &json))
}

/// Opens and parses; any authentication failure is [`Error::MetadataTampered`].
pub(crate) fn open(
    aead: &dyn Aead,
    key: &PackageKey,
    id: &PackageId,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<(Metadata, Option<LinkBinding>), Error> {
    let json = aead
        .open(&key.metadata_key(id).0, &ZERO_NONCE, aad, ciphertext)
        .map_err(|_| Error::MetadataTampered)?;
    let (metadata, binding) = Metadata::from_json(&json)?;
    Ok((metadata, binding.map(LinkBinding::from_bytes)))
}
