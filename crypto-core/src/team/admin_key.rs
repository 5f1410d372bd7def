//! The tenant's admin key: an Ed25519 key pair (RFC 8032) made in the admin's browser. It signs
//! rosters; its public key's fingerprint is pinned in the Help Center snippet; its secret part is
//! kept on the server only wrapped under the recovery code (docs/FORMAT.md §18.3):
//!
//! ```text
//! W_admin = HKDF(ikm = rc, salt = "", info = "sealdrop/v1/recovery/admin-key")
//! blob    = "SDADMKEY" || 0x01 || A || nonce || AES-256-GCM-Seal(W_admin, nonce, aad = "SDADMKEY" || 0x01 || A, a)
//! ```
//!
//! The nonce is random: `W_admin` is fixed by the code and may wrap more than one admin key.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::format::admin_key_blob::AdminKeyBlob;
use crate::format::base64url::{b64u_decode, b64u_encode};
use crate::provider::{Aead, RandomSource};
use crate::team::fingerprint::Fingerprint;
use crate::team::recovery::RecoveryCode;

/// The admin key's secret part `a` (the 32-byte Ed25519 secret key, RFC 8032 section 5.1.5).
/// Zeroized on drop; prints as `AdminSigningKey(..)`.
#[derive(Clone)]
pub struct AdminSigningKey(SigningKey);

impl AdminSigningKey {
    /// A fresh random key.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill(seed.as_mut())?;
        Ok(AdminSigningKey(SigningKey::from_bytes(&seed)))
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = AdminSigningKey(SigningKey::from_bytes(&bytes));
        bytes.zeroize();
        key
    }

    /// The 32 secret bytes. Never log them.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// `b64u(a)`, 43 characters. Secret.
    pub fn to_b64u(&self) -> Zeroizing<String> {
        Zeroizing::new(b64u_encode(self.to_bytes().as_ref()))
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode::<32>(text, "admin signing key").map(Self::from_bytes)
    }

    /// The public key `A`.
    pub fn public_key(&self) -> AdminPublicKey {
        AdminPublicKey(self.0.verifying_key().to_bytes())
    }

    /// The fingerprint of `A` (docs/FORMAT.md §17).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_admin_key(&self.public_key())
    }

    /// `Ed25519-Sign(a, message)`: deterministic (RFC 8032).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// Wraps this key under the recovery code: the 101-byte blob the server keeps. Draws the
    /// 12-byte nonce from `rng`.
    pub fn wrap(
        &self,
        aead: &dyn Aead,
        rng: &dyn RandomSource,
        code: &RecoveryCode,
    ) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce)?;
        let admin_key = self.public_key();
        let header = AdminKeyBlob::header(admin_key.as_bytes());
        let sealed = aead.seal(
            &code.admin_wrap_key().0,
            &nonce,
            &header,
            self.to_bytes().as_ref(),
        );
        let sealed = sealed
            .try_into()
            .expect("sealing 32 bytes yields 32 + 16 bytes");
        Ok(AdminKeyBlob::from_parts(*admin_key.as_bytes(), nonce, sealed).to_bytes())
    }

    /// Unwraps a blob with the recovery code (docs/FORMAT.md §18.3): [`Error::WrongRecoveryCode`]
    /// if it does not open, [`Error::InvalidAdminKeyBlob`] if it is malformed or its key is not
    /// the one its header names. A caller that pins a fingerprint compares it next.
    pub fn unwrap(aead: &dyn Aead, blob: &[u8], code: &RecoveryCode) -> Result<Self, Error> {
        let blob = AdminKeyBlob::parse(blob)?;
        let header = AdminKeyBlob::header(blob.admin_key());
        let opened = Zeroizing::new(
            aead.open(
                &code.admin_wrap_key().0,
                blob.nonce(),
                &header,
                blob.sealed(),
            )
            .map_err(|_| Error::WrongRecoveryCode)?,
        );
        let seed: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| Error::InvalidAdminKeyBlob("the sealed key is not 32 bytes"))?;
        let key = AdminSigningKey::from_bytes(seed);
        if key.public_key().as_bytes() != blob.admin_key() {
            return Err(Error::InvalidAdminKeyBlob(
                "the key inside does not match the public key",
            ));
        }
        Ok(key)
    }
}

impl fmt::Debug for AdminSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminSigningKey(..)")
    }
}

/// The admin public key `A` (32 bytes, RFC 8032 encoding).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdminPublicKey([u8; 32]);

impl AdminPublicKey {
    /// Wraps 32 bytes (not checked to be a valid point until a signature is verified).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AdminPublicKey(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `b64u(A)`, 43 characters.
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode::<32>(text, "admin public key").map(AdminPublicKey)
    }

    /// The fingerprint (docs/FORMAT.md §17).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_admin_key(self)
    }

    /// Whether these bytes can verify a signature at all: the encoding of a point on the curve
    /// that is not of small order (`verify_strict` refuses every signature under any other). A
    /// server checks this before it stores an admin key, so that a key no roster could ever be
    /// verified under is refused at once.
    pub fn is_usable(&self) -> bool {
        VerifyingKey::from_bytes(&self.0).is_ok_and(|key| !key.is_weak())
    }

    /// Verifies `signature` over `message` with RFC 8032's strict checks (non-canonical `S`,
    /// small-order `A` or `R` refused).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .is_ok()
    }
}

impl fmt::Debug for AdminPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AdminPublicKey({})", self.to_b64u())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{DeterministicRandom, RustCryptoAead};

    #[test]
    fn the_right_code_unwraps_the_admin_key_and_another_does_not() {
        let rng = DeterministicRandom::new(b"admin key");
        let key = AdminSigningKey::generate(&rng).unwrap();
        let code = RecoveryCode::generate(&rng).unwrap();
        let blob = key.wrap(&RustCryptoAead, &rng, &code).unwrap();
        assert_eq!(blob.len(), 101);
        let back = AdminSigningKey::unwrap(&RustCryptoAead, &blob, &code).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(*back.to_bytes(), *key.to_bytes());

        let other = RecoveryCode::generate(&rng).unwrap();
        assert_eq!(
            AdminSigningKey::unwrap(&RustCryptoAead, &blob, &other).unwrap_err(),
            Error::WrongRecoveryCode
        );
        // The header is the associated data: another public key does not open.
        let mut swapped = blob.clone();
        swapped[9] ^= 1;
        assert_eq!(
            AdminSigningKey::unwrap(&RustCryptoAead, &swapped, &code).unwrap_err(),
            Error::WrongRecoveryCode
        );
        // Wrapping again draws a new nonce.
        assert_ne!(key.wrap(&RustCryptoAead, &rng, &code).unwrap(), blob);
    }

    #[test]
    fn only_keys_that_can_verify_are_usable() {
        let rng = DeterministicRandom::new(b"usable admin key");
        assert!(AdminSigningKey::generate(&rng)
            .unwrap()
            .public_key()
            .is_usable());
        // The identity point (small order) and a y with no point on the curve.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(!AdminPublicKey::from_bytes(identity).is_usable());
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert!(!AdminPublicKey::from_bytes(off_curve).is_usable());
    }

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        let rng = DeterministicRandom::new(b"signatures");
        let key = AdminSigningKey::generate(&rng).unwrap();
        let signature = key.sign(b"message");
        assert!(key.public_key().verify(b"message", &signature));
        assert!(!key.public_key().verify(b"messagf", &signature));
        let other = AdminSigningKey::generate(&rng).unwrap();
        assert!(!other.public_key().verify(b"message", &signature));
        assert!(!AdminPublicKey::from_bytes([0; 32]).verify(b"message", &signature));
        assert_eq!(format!("{key:?}"), "AdminSigningKey(..)");
    }
}
