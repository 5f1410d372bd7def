//! Secrets and the key schedule of format v1 (the public package id is
//! [`crate::format::PackageId`]).
//!
//! Notation follows docs/FORMAT.md: `HKDF(ikm, salt, info)` is HKDF-SHA256 (RFC 5869) with a
//! 32-byte output, `b64u` is base64url without padding (RFC 4648, section 5).
//!
//! Secrets (`K`, `C`, `S`, `A`) are newtypes that zeroize on drop, compare in constant time and
//! print as `Name(..)` in `Debug`.

use std::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::format::base64url::{b64u_decode, b64u_encode};
use crate::format::PackageId;
use crate::provider::RandomSource;

/// HKDF `info` label of the link proof `A`.
pub const LABEL_LINK_AUTH: &[u8] = b"sealdrop/v1/link-auth";
/// HKDF `info` label of the link stanza's wrap key.
pub const LABEL_LINK: &[u8] = b"sealdrop/v1/link";
/// HKDF `info` label of the X25519 stanza's wrap key.
pub const LABEL_X25519: &[u8] = b"sealdrop/v1/x25519";
/// HKDF `info` label of the key commitment.
pub const LABEL_COMMIT: &[u8] = b"sealdrop/v1/commit";
/// HKDF `info` label of the metadata key.
pub const LABEL_METADATA: &[u8] = b"sealdrop/v1/metadata";
/// HKDF `info` label of a file key `Kf`.
pub const LABEL_FILE: &[u8] = b"sealdrop/v1/file";
/// HKDF `info` label of the link binding `L` of team-sealed packages.
pub const LABEL_LINK_BINDING: &[u8] = b"sealdrop/v1/link-binding";

/// `HKDF-SHA256(ikm, salt, info)` with a 32-byte output (RFC 5869).
pub(crate) fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut okm)
        .expect("32 bytes is far below HKDF-SHA256's 255 * 32 byte output limit");
    okm
}

/// Defines a 32-byte secret newtype: zeroized on drop, constant-time equality, opaque `Debug`.
macro_rules! secret32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; 32]);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl PartialEq for $name {
            /// Constant time.
            fn eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0).into()
            }
        }

        impl Eq for $name {}
    };
}

secret32! {
    /// The package key `K`: 32 random bytes made by the sender. Everything in a package is
    /// derived from it; it travels only inside stanzas.
    PackageKey
}

impl PackageKey {
    /// A fresh random key.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut key = PackageKey([0; 32]);
        rng.fill(&mut key.0)?;
        Ok(key)
    }

    /// Wraps known key bytes (test vectors, key escrow by the caller).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PackageKey(bytes)
    }

    /// The raw key. Only for test vectors and AEAD backends; never log it.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `commitment = HKDF(ikm = K, salt = package_id, info = "sealdrop/v1/commit")`.
    pub(crate) fn commitment(&self, id: &PackageId) -> [u8; 32] {
        hkdf32(&self.0, id.as_bytes(), LABEL_COMMIT)
    }

    /// Whether `commitment` is this key's for `id`, compared in constant time.
    pub(crate) fn matches_commitment(&self, id: &PackageId, commitment: &[u8; 32]) -> bool {
        self.commitment(id).ct_eq(commitment).into()
    }

    /// `HKDF(ikm = K, salt = package_id, info = "sealdrop/v1/metadata")`.
    pub(crate) fn metadata_key(&self, id: &PackageId) -> WrapKey {
        WrapKey(hkdf32(&self.0, id.as_bytes(), LABEL_METADATA))
    }
}

secret32! {
    /// The link secret `C`: 32 random bytes made by the sender, carried only in the secure
    /// link's fragment (`#b64u(C)`, 43 characters), which browsers never send to a server.
    LinkSecret
}

impl LinkSecret {
    /// A fresh random secret.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut secret = LinkSecret([0; 32]);
        rng.fill(&mut secret.0)?;
        Ok(secret)
    }

    /// Wraps known secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        LinkSecret(bytes)
    }

    /// The raw secret. Never log it.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `b64u(C)`, 43 characters: the link fragment.
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode(text, "link secret").map(LinkSecret)
    }

    /// The link binding `L = HKDF(ikm = C, salt = package_id, info = "sealdrop/v1/link-binding")`
    /// that a team-sealed package's metadata carries (docs/FORMAT.md §20.2).
    pub fn binding(&self, id: &PackageId) -> LinkBinding {
        LinkBinding(hkdf32(&self.0, id.as_bytes(), LABEL_LINK_BINDING))
    }
}

secret32! {
    /// The link binding `L = HKDF(ikm = C, salt = package_id, info = "sealdrop/v1/link-binding")`.
    ///
    /// A team-sealed package has no link stanza, so nothing ties it to the link's `C` but this
    /// value inside its sealed metadata: it shows the package was made by someone who knew `C`
    /// (the server sees only `A`, which does not give `L`). Compared in constant time.
    LinkBinding
}

impl LinkBinding {
    /// Wraps known bytes (as read from the metadata).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        LinkBinding(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

secret32! {
    /// The server secret `S`: 32 random bytes made by the server when the package is created,
    /// given to the sender, then released only to authorised downloaders.
    ServerSecret
}

impl ServerSecret {
    /// A fresh random secret.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self, Error> {
        let mut secret = ServerSecret([0; 32]);
        rng.fill(&mut secret.0)?;
        Ok(secret)
    }

    /// Wraps known secret bytes (for example read back from the server's database).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ServerSecret(bytes)
    }

    /// The raw secret, for storage. Never log it.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `b64u(S)`, 43 characters.
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode(text, "server secret").map(ServerSecret)
    }
}

secret32! {
    /// The link proof `A = HKDF(ikm = C, salt = package_id, info = "sealdrop/v1/link-auth")`.
    ///
    /// A downloader presents `A` to show it holds the link; the server stores only
    /// [`LinkVerifier`] `= SHA-256(A)`. `A` reveals nothing about `C` (HKDF is one-way), and
    /// `C || S` is needed to unwrap the link stanza, so the server cannot decrypt with `A`.
    LinkProof
}

impl LinkProof {
    /// Derives `A` from the link secret and the package id.
    pub fn derive(secret: &LinkSecret, id: &PackageId) -> Self {
        LinkProof(hkdf32(&secret.0, id.as_bytes(), LABEL_LINK_AUTH))
    }

    /// Wraps known proof bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        LinkProof(bytes)
    }

    /// `b64u(A)`, 43 characters (the `X-Sealdrop-Link-Proof` header).
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode(text, "link proof").map(LinkProof)
    }

    /// `SHA-256(A)`, what the server stores.
    pub fn verifier(&self) -> LinkVerifier {
        LinkVerifier(Sha256::digest(self.0).into())
    }
}

/// `SHA-256(A)`: what the server keeps to check link proofs. Not secret on its own (it does not
/// reveal `A`), still compared in constant time.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkVerifier([u8; 32]);

impl LinkVerifier {
    /// Wraps 32 bytes (as stored).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        LinkVerifier(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `b64u(SHA-256(A))`, 43 characters.
    pub fn to_b64u(&self) -> String {
        b64u_encode(&self.0)
    }

    /// Parses the 43-character text form.
    pub fn parse_b64u(text: &str) -> Result<Self, Error> {
        b64u_decode(text, "link verifier").map(LinkVerifier)
    }

    /// Whether `SHA-256(proof)` equals this verifier, compared in constant time.
    pub fn matches(&self, proof: &LinkProof) -> bool {
        proof.verifier().0.ct_eq(&self.0).into()
    }
}

impl fmt::Debug for LinkVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkVerifier({})", self.to_b64u())
    }
}

/// A 32-byte AES-256-GCM key derived for one purpose (a stanza wrap key, the metadata key).
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct WrapKey(pub(crate) [u8; 32]);

/// A secure link, `{base}/p/{b64u(package_id)}#{b64u(C)}`, for example
/// `https://files.example.com/p/AAAAAAAAAAAAAAAAAAAAAA#<43 characters>`.
///
/// On purpose there is no `Display`: a `{}` in a log line must not leak `C`. Call
/// [`SecureLink::to_string`] where the whole link is really wanted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecureLink {
    base: String,
    id: PackageId,
    secret: LinkSecret,
}

impl SecureLink {
    /// A link under `base` (scheme and host, optionally a port and path prefix; a trailing
    /// `/` is dropped).
    pub fn new(base: &str, id: PackageId, secret: LinkSecret) -> Self {
        SecureLink {
            base: base.trim_end_matches('/').to_owned(),
            id,
            secret,
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The package id.
    pub fn id(&self) -> PackageId {
        self.id
    }

    /// The link secret `C`.
    pub fn secret(&self) -> &LinkSecret {
        &self.secret
    }

    /// The full link, secret included.
    #[allow(clippy::inherent_to_string)] // deliberately not `Display`, see the type's docs
    pub fn to_string(&self) -> String {
        format!(
            "{}/p/{}#{}",
            self.base,
            self.id.to_b64u(),
            self.secret.to_b64u()
        )
    }

    /// Parses `{base}/p/{22 characters}#{43 characters}`; `base` must start with `https://` or
    /// `http://`.
    pub fn parse(link: &str) -> Result<Self, Error> {
        const BAD: Error = Error::InvalidEncoding("secure link");
        let (path, fragment) = link.split_once('#').ok_or(BAD)?;
        let secret = LinkSecret::parse_b64u(fragment).map_err(|_| BAD)?;
        let (base, id) = path.rsplit_once("/p/").ok_or(BAD)?;
        let id = PackageId::parse_b64u(id).map_err(|_| BAD)?;
        let host = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or(BAD)?;
        if host.is_empty() || host.starts_with('/') {
            return Err(BAD);
        }
        Ok(SecureLink::new(base, id, secret))
    }
}

impl fmt::Debug for SecureLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecureLink({}/p/{}#..)", self.base, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::DeterministicRandom;

    #[test]
    fn package_id_text_form_round_trips() {
        let id = PackageId::from_bytes([0xfb; 16]);
        let text = id.to_b64u();
        assert_eq!(text.len(), 22);
        assert_eq!(PackageId::parse_b64u(&text).unwrap(), id);
        assert!(PackageId::parse_b64u("AAAA").is_err());
        assert!(PackageId::parse_b64u(&format!("{text}==")).is_err());
        assert!(PackageId::parse_b64u("+/++++++++++++++++++++").is_err());
    }

    #[test]
    fn secrets_do_not_print_their_bytes() {
        let c = LinkSecret::from_bytes([0x41; 32]);
        assert_eq!(format!("{c:?}"), "LinkSecret(..)");
        let link = SecureLink::new("https://h", PackageId::from_bytes([0; 16]), c.clone());
        assert!(!format!("{link:?}").contains(&c.to_b64u()));
    }

    #[test]
    fn link_verifier_matches_only_its_proof() {
        let rng = DeterministicRandom::new(b"keys");
        let id = PackageId::generate(&rng).unwrap();
        let c = LinkSecret::generate(&rng).unwrap();
        let a = LinkProof::derive(&c, &id);
        let verifier = a.verifier();
        assert!(verifier.matches(&a));
        assert!(verifier.matches(&LinkProof::parse_b64u(&a.to_b64u()).unwrap()));
        let other = LinkProof::derive(&LinkSecret::generate(&rng).unwrap(), &id);
        assert!(!verifier.matches(&other));
        let other_id = LinkProof::derive(&c, &PackageId::generate(&rng).unwrap());
        assert!(!verifier.matches(&other_id));
    }

    #[test]
    fn secure_link_round_trips() {
        let id = PackageId::from_bytes([3; 16]);
        let c = LinkSecret::from_bytes([9; 32]);
        let link = SecureLink::new("https://files.example.com/", id, c.clone());
        let text = link.to_string();
        assert_eq!(
            text,
            format!(
                "https://files.example.com/p/{}#{}",
                id.to_b64u(),
                c.to_b64u()
            )
        );
        assert_eq!(text.split_once('#').unwrap().1.len(), 43);
        let parsed = SecureLink::parse(&text).unwrap();
        assert_eq!(parsed, link);
        assert_eq!(parsed.base(), "https://files.example.com");
        let local =
            SecureLink::parse(&format!("http://127.0.0.1:8080/p/{id}#{}", c.to_b64u())).unwrap();
        assert_eq!(local.base(), "http://127.0.0.1:8080");
    }

    #[test]
    fn malformed_links_are_rejected() {
        let id = PackageId::from_bytes([3; 16]).to_b64u();
        let c = LinkSecret::from_bytes([9; 32]).to_b64u();
        for bad in [
            format!("https://h/p/{id}"),
            format!("https://h/p/{id}#{}", &c[1..]),
            format!("https://h/q/{id}#{c}"),
            format!("ftp://h/p/{id}#{c}"),
            format!("https:///p/{id}#{c}"),
            format!("https://h/p/{}#{c}", &id[1..]),
        ] {
            assert_eq!(
                SecureLink::parse(&bad),
                Err(Error::InvalidEncoding("secure link")),
                "{bad}"
            );
        }
    }
}
