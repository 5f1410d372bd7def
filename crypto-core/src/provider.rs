//! Platform services behind small interfaces (in the manner of rustls' `CryptoProvider`):
//! the AES-256-GCM backend ([`Aead`]) and the source of randomness ([`RandomSource`]).
//!
//! Natively [`RingAead`] is the default; in the browser the crate is built without the `ring`
//! feature and [`RustCryptoAead`] (pure Rust) is used, while the widget drives WebCrypto itself
//! through [`crate::stream::ChunkPlan`]s. Every backend produces the same bytes; the test vectors
//! prove it.

use std::sync::Mutex;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use sha2::{Digest, Sha256};

use crate::error::{AeadError, Error};

/// AES-256-GCM tag length in bytes.
pub const TAG_SIZE: usize = 16;

/// An AES-256-GCM implementation: 32-byte key, 12-byte nonce, 16-byte tag appended to the
/// ciphertext (`seal(K, N, A, P) = C || T`, NIST SP 800-38D).
///
/// Implementors provide the two in-place methods; [`Aead::seal`] and [`Aead::open`] follow.
/// All methods panic only if a message exceeds AES-GCM's limit of 2^36 - 32 bytes, far above
/// anything format v1 encrypts (64 KiB chunks, at most 1 MiB of metadata).
pub trait Aead: Send + Sync {
    /// Encrypts `in_out` in place and returns the tag.
    fn seal_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_SIZE];

    /// Checks `tag` and decrypts `in_out` in place. On failure the contents of `in_out` are
    /// unspecified (ring zeroes them) and must not be used.
    fn open_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        tag: &[u8; TAG_SIZE],
        in_out: &mut [u8],
    ) -> Result<(), AeadError>;

    /// Returns `ciphertext || tag`.
    fn seal(&self, key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(plaintext.len() + TAG_SIZE);
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place_separate_tag(key, nonce, aad, &mut out);
        out.extend_from_slice(&tag);
        out
    }

    /// Opens `ciphertext || tag` and returns the plaintext.
    fn open(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, AeadError> {
        let body_len = ciphertext.len().checked_sub(TAG_SIZE).ok_or(AeadError)?;
        let (body, tag) = ciphertext.split_at(body_len);
        let tag: &[u8; TAG_SIZE] = tag.try_into().map_err(|_| AeadError)?;
        let mut out = body.to_vec();
        self.open_in_place_separate_tag(key, nonce, aad, tag, &mut out)?;
        Ok(out)
    }
}

/// AES-256-GCM from `ring` (BoringSSL's assembly; AES-NI and CLMUL/AVX where present).
#[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingAead;

#[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
impl RingAead {
    fn key(key: &[u8; 32]) -> ring::aead::LessSafeKey {
        let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key)
            .expect("a 32-byte key is exactly AES-256-GCM's key length");
        ring::aead::LessSafeKey::new(unbound)
    }
}

#[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
impl Aead for RingAead {
    fn seal_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_SIZE] {
        let tag = Self::key(key)
            .seal_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(*nonce),
                ring::aead::Aad::from(aad),
                in_out,
            )
            .expect("ring only refuses messages above AES-GCM's 2^36 - 32 byte limit");
        let mut out = [0u8; TAG_SIZE];
        out.copy_from_slice(tag.as_ref());
        out
    }

    fn open_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        tag: &[u8; TAG_SIZE],
        in_out: &mut [u8],
    ) -> Result<(), AeadError> {
        let tag = ring::aead::Tag::from(*tag);
        Self::key(key)
            .open_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(*nonce),
                ring::aead::Aad::from(aad),
                tag,
                in_out,
                0..,
            )
            .map(|_| ())
            .map_err(|_| AeadError)
    }
}

/// AES-256-GCM from RustCrypto's `aes-gcm` (pure Rust; uses AES-NI/CLMUL natively when the CPU
/// has them, constant-time bitsliced software elsewhere). Always available; the wasm fallback.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoAead;

impl Aead for RustCryptoAead {
    fn seal_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> [u8; TAG_SIZE] {
        let tag = Aes256Gcm::new(key.into())
            .encrypt_in_place_detached(nonce.into(), aad, in_out)
            .expect("aes-gcm only refuses messages above AES-GCM's 2^36 - 32 byte limit");
        tag.into()
    }

    fn open_in_place_separate_tag(
        &self,
        key: &[u8; 32],
        nonce: &[u8; 12],
        aad: &[u8],
        tag: &[u8; TAG_SIZE],
        in_out: &mut [u8],
    ) -> Result<(), AeadError> {
        Aes256Gcm::new(key.into())
            .decrypt_in_place_detached(nonce.into(), aad, in_out, tag.into())
            .map_err(|_| AeadError)
    }
}

/// The platform's default backend: [`RingAead`] natively (with the `ring` feature), otherwise
/// [`RustCryptoAead`].
pub fn default_aead() -> &'static dyn Aead {
    #[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
    {
        &RingAead
    }
    #[cfg(not(all(feature = "ring", not(target_arch = "wasm32"))))]
    {
        &RustCryptoAead
    }
}

/// A source of cryptographically secure random bytes.
pub trait RandomSource {
    /// Fills `buf` entirely with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's CSPRNG through `getrandom` (`crypto.getRandomValues` in browsers).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::getrandom(buf).map_err(|_| Error::Random)
    }
}

/// A **deterministic, insecure** byte stream for test vectors and tests only.
///
/// Output block `i` (0-based) is `SHA-256(seed || u64be(i))`; the stream is the concatenation
/// of the blocks, consumed in order across calls to [`RandomSource::fill`]. Anyone who knows the
/// seed knows every "random" byte: never use it for real packages.
#[derive(Debug)]
pub struct DeterministicRandom {
    seed: Vec<u8>,
    state: Mutex<StreamState>,
}

#[derive(Debug, Default)]
struct StreamState {
    counter: u64,
    buffer: [u8; 32],
    used: usize,
}

impl DeterministicRandom {
    /// A stream determined entirely by `seed`.
    pub fn new(seed: &[u8]) -> Self {
        DeterministicRandom {
            seed: seed.to_vec(),
            state: Mutex::new(StreamState {
                counter: 0,
                buffer: [0; 32],
                used: 32,
            }),
        }
    }
}

impl RandomSource for DeterministicRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), Error> {
        // A poisoned lock means another fill panicked mid-way; the stream is then unusable.
        let mut state = self.state.lock().map_err(|_| Error::Random)?;
        for byte in buf.iter_mut() {
            if state.used == 32 {
                let mut hasher = Sha256::new();
                hasher.update(&self.seed);
                hasher.update(state.counter.to_be_bytes());
                state.buffer = hasher.finalize().into();
                state.counter = state.counter.checked_add(1).ok_or(Error::Random)?;
                state.used = 0;
            }
            *byte = state.buffer[state.used];
            state.used += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends() -> Vec<&'static dyn Aead> {
        vec![
            &RustCryptoAead,
            #[cfg(all(feature = "ring", not(target_arch = "wasm32")))]
            &RingAead,
        ]
    }

    #[test]
    fn backends_agree_and_round_trip() {
        let key = [7u8; 32];
        let nonce = [1u8; 12];
        let reference = RustCryptoAead.seal(&key, &nonce, b"aad", b"hello world");
        for aead in backends() {
            let sealed = aead.seal(&key, &nonce, b"aad", b"hello world");
            assert_eq!(sealed, reference);
            assert_eq!(sealed.len(), 11 + TAG_SIZE);
            assert_eq!(
                aead.open(&key, &nonce, b"aad", &sealed).unwrap(),
                b"hello world"
            );
            assert_eq!(aead.open(&key, &nonce, b"aaD", &sealed), Err(AeadError));
            assert_eq!(
                aead.open(&key, &nonce, b"aad", &sealed[..10]),
                Err(AeadError)
            );
        }
    }

    #[test]
    fn deterministic_random_is_split_invariant() {
        let a = DeterministicRandom::new(b"seed");
        let b = DeterministicRandom::new(b"seed");
        let mut whole = [0u8; 100];
        a.fill(&mut whole).unwrap();
        let mut parts = [0u8; 100];
        let (x, y) = parts.split_at_mut(33);
        b.fill(x).unwrap();
        b.fill(y).unwrap();
        assert_eq!(whole, parts);
        let first: [u8; 32] =
            Sha256::digest([b"seed".as_slice(), &0u64.to_be_bytes()].concat()).into();
        assert_eq!(whole[..32], first);
    }

    #[test]
    fn os_random_fills() {
        let mut buf = [0u8; 64];
        OsRandom.fill(&mut buf).unwrap();
        assert_ne!(buf, [0u8; 64]);
    }
}
