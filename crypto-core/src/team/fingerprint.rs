//! Fingerprints (docs/FORMAT.md §17): 16 bytes that name a public key, compared by machines
//! (the admin key's, pinned in the Help Center snippet) and by people (a device key's, at
//! approval).
//!
//! ```text
//! fingerprint(label, data) = SHA-256(label || data)[0..16]
//! admin key  = fingerprint("sealdrop/v1/admin-key-fingerprint",  A)
//! device key = fingerprint("sealdrop/v1/device-key-fingerprint", u64be(user_id) || D)
//! compact    3f2a9c0177de0b45e1aa5c309f126d08
//! display    3f2a 9c01 77de 0b45 e1aa 5c30 9f12 6d08
//! ```

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;
use crate::team::admin_key::AdminPublicKey;
use crate::wrap::x25519::X25519Recipient;

/// Hash label of an admin key fingerprint.
pub const LABEL_ADMIN_KEY_FINGERPRINT: &[u8] = b"sealdrop/v1/admin-key-fingerprint";
/// Hash label of a device key fingerprint.
pub const LABEL_DEVICE_KEY_FINGERPRINT: &[u8] = b"sealdrop/v1/device-key-fingerprint";

/// A 128-bit fingerprint of a public key. Public; compared in constant time all the same.
#[derive(Clone, Copy)]
pub struct Fingerprint([u8; 16]);

impl Fingerprint {
    /// The fingerprint of an admin key `A`: what the Help Center snippet pins.
    pub fn of_admin_key(key: &AdminPublicKey) -> Self {
        Self::compute(LABEL_ADMIN_KEY_FINGERPRINT, &[key.as_bytes()])
    }

    /// The fingerprint of device key `D` registered for Zendesk user `user_id`: what the admin
    /// and the agent compare at approval.
    pub fn of_device(user_id: u64, key: &X25519Recipient) -> Self {
        Self::compute(
            LABEL_DEVICE_KEY_FINGERPRINT,
            &[&user_id.to_be_bytes(), key.as_bytes()],
        )
    }

    fn compute(label: &[u8], parts: &[&[u8]]) -> Self {
        let mut hash = Sha256::new();
        hash.update(label);
        for part in parts {
            hash.update(part);
        }
        let digest = hash.finalize();
        Fingerprint(
            digest[..16]
                .try_into()
                .expect("SHA-256 gives 32 bytes, 16 are taken"),
        )
    }

    /// Wraps 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Fingerprint(bytes)
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The compact form: 32 lower-case hexadecimal digits (the Help Center snippet's value).
    pub fn to_compact(&self) -> String {
        hex::encode(self.0)
    }

    /// The display form: 8 groups of 4 hexadecimal digits separated by spaces.
    pub fn to_display(&self) -> String {
        let compact = self.to_compact();
        let groups: Vec<&str> = (0..8).map(|i| &compact[4 * i..4 * i + 4]).collect();
        groups.join(" ")
    }

    /// Parses either form: ASCII spaces and `-` are ignored, then exactly 32 hexadecimal
    /// digits of either case; anything else is [`Error::InvalidEncoding`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        const BAD: Error = Error::InvalidEncoding("fingerprint");
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() != 32 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BAD);
        }
        let mut bytes = [0u8; 16];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| BAD)?;
        Ok(Fingerprint(bytes))
    }
}

impl PartialEq for Fingerprint {
    /// Constant time.
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for Fingerprint {}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_compact())
    }
}

impl fmt::Display for Fingerprint {
    /// The display form, `xxxx xxxx xxxx xxxx xxxx xxxx xxxx xxxx`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_text_forms_parse_to_the_same_fingerprint() {
        let fp = Fingerprint::from_bytes([
            0x3f, 0x2a, 0x9c, 0x01, 0x77, 0xde, 0x0b, 0x45, 0xe1, 0xaa, 0x5c, 0x30, 0x9f, 0x12,
            0x6d, 0x08,
        ]);
        assert_eq!(fp.to_compact(), "3f2a9c0177de0b45e1aa5c309f126d08");
        assert_eq!(fp.to_display(), "3f2a 9c01 77de 0b45 e1aa 5c30 9f12 6d08");
        for text in [
            "3f2a9c0177de0b45e1aa5c309f126d08",
            "3f2a 9c01 77de 0b45 e1aa 5c30 9f12 6d08",
            "3F2A-9C01-77DE-0B45-E1AA-5C30-9F12-6D08",
        ] {
            assert_eq!(Fingerprint::parse(text).unwrap(), fp, "{text}");
        }
        for bad in [
            "",
            "3f2a9c0177de0b45e1aa5c309f126d0",
            "3f2a9c0177de0b45e1aa5c309f126d0g",
        ] {
            assert_eq!(
                Fingerprint::parse(bad),
                Err(Error::InvalidEncoding("fingerprint"))
            );
        }
    }

    #[test]
    fn a_device_fingerprint_depends_on_the_user() {
        let key = X25519Recipient::from_bytes([9; 32]);
        assert_ne!(
            Fingerprint::of_device(1, &key),
            Fingerprint::of_device(2, &key)
        );
        let expected: [u8; 32] =
            Sha256::digest([LABEL_DEVICE_KEY_FINGERPRINT, &1u64.to_be_bytes(), &[9; 32]].concat())
                .into();
        assert_eq!(Fingerprint::of_device(1, &key).as_bytes(), &expected[..16]);
    }
}
