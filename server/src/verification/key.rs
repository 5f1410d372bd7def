//! The verification key: the HMAC-SHA256 key under which codes and typed-in addresses are
//! stored. Kept outside the database on purpose, so that a copy of the database alone does not
//! let anyone test the 10^8 possible codes offline.
//!
//! Set `SEALDROP_VERIFICATION_KEY` (b64u of 32 random bytes) on every instance of a multi-
//! instance deployment. Without it, a single machine keeps a key in
//! `<data-dir>/verification.key`, made on first start (mode 0600).

use std::fmt;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use ring::hmac;
use zeroize::Zeroizing;

use super::{EmailAddress, VerificationCode};

/// Domain separation for the two kinds of HMAC input.
const CODE_LABEL: &[u8] = b"sealdrop/v1/verification-code\0";
const EMAIL_LABEL: &[u8] = b"sealdrop/v1/verification-email\0";
const ERASED_LABEL: &[u8] = b"sealdrop/v1/erased-subject\0";

/// The HMAC-SHA256 key. `Debug` hides it.
#[derive(Clone)]
pub struct VerificationKey(hmac::Key);

impl VerificationKey {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// A random key (tests).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let key = Self::from_bytes(&bytes);
        bytes.fill(0);
        key
    }

    /// The configured key (`configured`, b64u), or the one in `file`, made if missing.
    pub async fn load(configured: Option<&str>, file: &Path) -> anyhow::Result<Self> {
        let bytes =
            crate::keys::load_or_create(configured, file, "SEALDROP_VERIFICATION_KEY").await?;
        let bytes = <[u8; 32]>::try_from(bytes.as_slice())
            .ok()
            .map(Zeroizing::new)
            .context("the verification key must be 43 base64url characters (32 bytes)")?;
        Ok(Self::from_bytes(&bytes))
    }

    /// `HMAC(key, label ‖ package ‖ 0 ‖ address ‖ 0 ‖ code)`: what is stored for a code.
    pub fn code_hash(
        &self,
        package_id: &str,
        email: &EmailAddress,
        code: &VerificationCode,
    ) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(CODE_LABEL);
        ctx.update(package_id.as_bytes());
        ctx.update(b"\0");
        ctx.update(email.as_str().as_bytes());
        ctx.update(b"\0");
        ctx.update(code.expose().as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// `HMAC(key, label ‖ address)`: how an address is stored with its codes and counters.
    pub fn email_hash(&self, email: &EmailAddress) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(EMAIL_LABEL);
        ctx.update(email.as_str().as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// `HMAC(key, label ‖ tenant ‖ 0 ‖ address)`: what stands for an erased address in its
    /// tenant's audit log ([`crate::data_requests`]). Keyed, so that a copy of the log cannot
    /// be searched for a guessed address; per tenant, so that two tenants' logs cannot be
    /// joined on it.
    pub fn erased_subject(&self, tenant_id: &str, email: &EmailAddress) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(ERASED_LABEL);
        ctx.update(tenant_id.as_bytes());
        ctx.update(b"\0");
        ctx.update(email.as_str().as_bytes());
        ctx.sign().as_ref().to_vec()
    }
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationKey(<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).expect("valid address")
    }

    #[test]
    fn code_hashes_bind_package_address_and_code() {
        let key = VerificationKey::generate();
        let code = VerificationCode::parse("12345678").expect("code");
        let base = key.code_hash("pkgA", &email("a@example.com"), &code);
        assert_eq!(base.len(), 32);
        assert_eq!(base, key.code_hash("pkgA", &email("A@Example.com"), &code));
        assert_ne!(base, key.code_hash("pkgB", &email("a@example.com"), &code));
        assert_ne!(base, key.code_hash("pkgA", &email("b@example.com"), &code));
        let other = VerificationCode::parse("12345679").expect("code");
        assert_ne!(base, key.code_hash("pkgA", &email("a@example.com"), &other));
        assert_ne!(
            base,
            VerificationKey::generate().code_hash("pkgA", &email("a@example.com"), &code)
        );
    }

    #[tokio::test]
    async fn a_key_file_is_made_once_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("verification.key");
        let first = VerificationKey::load(None, &path).await.expect("made");
        let second = VerificationKey::load(None, &path).await.expect("read back");
        let a = email("a@example.com");
        assert_eq!(first.email_hash(&a), second.email_hash(&a));
        let configured = "A".repeat(43);
        let third = VerificationKey::load(Some(&configured), &path)
            .await
            .expect("configured");
        assert_ne!(first.email_hash(&a), third.email_hash(&a));
        assert!(VerificationKey::load(Some("c2hvcnQ"), &path).await.is_err());
    }
}
