//! The wrapped admin key as bytes (docs/FORMAT.md §18.3): the tenant's Ed25519 admin key,
//! sealed under a key derived from the recovery code. Sealing and opening are the protocol's
//! (`crate::team::admin_key`).
//!
//! ```text
//! offset  size  field
//!      0     8  magic "SDADMKEY"
//!      8     1  version = 0x01
//!      9    32  A, the admin public key
//!     41    12  nonce (random)
//!     53    48  AES-256-GCM-Seal(W_admin, nonce, aad = bytes 0..41, a)
//!               101 bytes in all
//! ```

use crate::error::Error;
use crate::format::stanza::WRAPPED_KEY_SIZE;

/// `"SDADMKEY"`.
pub const ADMIN_KEY_BLOB_MAGIC: &[u8; 8] = b"SDADMKEY";
/// The version this library writes and reads.
pub const ADMIN_KEY_BLOB_VERSION: u8 = 0x01;
/// Bytes of the header (magic, version, public key): the associated data.
pub const ADMIN_KEY_BLOB_HEADER_SIZE: usize = 8 + 1 + 32;
/// Bytes of a wrapped admin key.
pub const ADMIN_KEY_BLOB_SIZE: usize = ADMIN_KEY_BLOB_HEADER_SIZE + 12 + WRAPPED_KEY_SIZE;

/// A wrapped admin key, parsed: public, and useless without the recovery code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminKeyBlob {
    admin_key: [u8; 32],
    nonce: [u8; 12],
    sealed: [u8; WRAPPED_KEY_SIZE],
}

impl AdminKeyBlob {
    /// Parses the 101 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != ADMIN_KEY_BLOB_SIZE {
            return Err(Error::InvalidAdminKeyBlob("it must be 101 bytes"));
        }
        if &bytes[..8] != ADMIN_KEY_BLOB_MAGIC {
            return Err(Error::InvalidAdminKeyBlob("bad magic"));
        }
        if bytes[8] != ADMIN_KEY_BLOB_VERSION {
            return Err(Error::UnsupportedVersion(bytes[8]));
        }
        let field = |from: usize, to: usize| &bytes[from..to];
        Ok(AdminKeyBlob {
            admin_key: field(9, 41).try_into().expect("32 bytes"),
            nonce: field(41, 53).try_into().expect("12 bytes"),
            sealed: field(53, ADMIN_KEY_BLOB_SIZE).try_into().expect("48 bytes"),
        })
    }

    /// A blob from its parts.
    pub(crate) fn from_parts(
        admin_key: [u8; 32],
        nonce: [u8; 12],
        sealed: [u8; WRAPPED_KEY_SIZE],
    ) -> Self {
        AdminKeyBlob {
            admin_key,
            nonce,
            sealed,
        }
    }

    /// The admin public key `A` the blob claims to hold the secret of.
    pub fn admin_key(&self) -> &[u8; 32] {
        &self.admin_key
    }

    /// The AEAD nonce.
    pub fn nonce(&self) -> &[u8; 12] {
        &self.nonce
    }

    /// The sealed secret key (32 bytes and the tag).
    pub fn sealed(&self) -> &[u8; WRAPPED_KEY_SIZE] {
        &self.sealed
    }

    /// `magic || version || A`: the associated data.
    pub fn header(admin_key: &[u8; 32]) -> [u8; ADMIN_KEY_BLOB_HEADER_SIZE] {
        let mut out = [0u8; ADMIN_KEY_BLOB_HEADER_SIZE];
        out[..8].copy_from_slice(ADMIN_KEY_BLOB_MAGIC);
        out[8] = ADMIN_KEY_BLOB_VERSION;
        out[9..].copy_from_slice(admin_key);
        out
    }

    /// The 101 bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ADMIN_KEY_BLOB_SIZE);
        out.extend_from_slice(&Self::header(&self.admin_key));
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.sealed);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_round_trips_and_bad_ones_are_refused() {
        let blob = AdminKeyBlob::from_parts([7; 32], [8; 12], [9; 48]);
        let bytes = blob.to_bytes();
        assert_eq!(bytes.len(), 101);
        assert_eq!(AdminKeyBlob::parse(&bytes).unwrap(), blob);
        assert_eq!(
            AdminKeyBlob::parse(&bytes[..100]).unwrap_err().kind(),
            "invalid_admin_key_blob"
        );
        let mut version = bytes.clone();
        version[8] = 9;
        assert_eq!(
            AdminKeyBlob::parse(&version),
            Err(Error::UnsupportedVersion(9))
        );
        let mut magic = bytes;
        magic[1] ^= 1;
        assert_eq!(
            AdminKeyBlob::parse(&magic).unwrap_err().kind(),
            "invalid_admin_key_blob"
        );
    }
}
