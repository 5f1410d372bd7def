//! The package identifier: public, made by the server, written into URLs and the manifest.

use std::fmt;

use crate::error::Error;
use crate::format::base64url::{b64u_decode, b64u_encode};
use crate::provider::RandomSource;

/// A package identifier: 16 random bytes chosen by the server, written `b64u(package_id)`
/// (22 characters). Public: it appears in URLs and in the manifest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageId([u8; 16]);

impl PackageId {
    /// Wraps 16 bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        PackageId(bytes)
    }

    /// A fresh random id.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes)?;
        Ok(PackageId(bytes))
    }

    /// The 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `b64u(package_id)`, 22 characters.
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 22-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode(text, "package id").map(PackageId)
    }
}

impl fmt::Debug for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackageId({})", self.to_b64u())
    }
}

impl fmt::Display for PackageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_b64u())
    }
}
