//! The file payload: `STREAM[Kf](plaintext)`, the nonce-based online AEAD construction of
//! Hoang, Reyhanitabar, Rogaway and Vizár, "Online Authenticated-Encryption and its
//! Nonce-Reuse Misuse-Resistance" (CRYPTO 2015), instantiated with AES-256-GCM as age does.
//!
//! The plaintext is split into chunks of [`CHUNK_SIZE`] bytes; chunk `i` is sealed under the
//! file key `Kf` with
//!
//! ```text
//! nonce_i = u88be(i) || flag        flag = 0x01 for the last chunk, 0x00 otherwise
//! chunk_i = AES-256-GCM-Seal(Kf, nonce_i, aad = "", plaintext[i * 65536 .. ])
//! ```
//!
//! Only the last chunk may be short; an empty file is a single empty final chunk (16 bytes of
//! ciphertext). Because every chunk stands alone, callers can decrypt ranges, work in parallel
//! and resume; reordering, truncation, extension and swapping chunks between files all fail.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
pub use crate::format::payload_sizes::{
    chunk_count, ciphertext_size, plaintext_size, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE,
    MAX_PLAINTEXT_SIZE, PART_CHUNKS, PART_SIZE, TAG_SIZE,
};
use crate::keys::{hkdf32, PackageKey, LABEL_FILE};
use crate::provider::Aead;

const CHUNK: u64 = CHUNK_SIZE as u64;

/// `nonce_i = u88be(i) || flag` (12 bytes).
pub fn chunk_nonce(index: u64, last: bool) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    // A u64 index always fits the 88-bit counter; the three high bytes stay zero.
    nonce[3..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce
}

/// The file key `Kf = HKDF(ikm = K, salt = file_salt, info = "sealdrop/v1/file")`.
/// Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FileKey([u8; 32]);

impl FileKey {
    /// Derives `Kf` for the file with the given 16-byte salt.
    pub fn derive(package_key: &PackageKey, salt: &[u8; 16]) -> Self {
        FileKey(hkdf32(package_key.expose_bytes(), salt, LABEL_FILE))
    }

    /// Wraps known key bytes (test vectors).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        FileKey(bytes)
    }

    /// The raw key, **only** for handing to an AEAD backend that cannot take an [`Aead`]
    /// (WebCrypto's `importKey`). Never log or store it.
    pub fn expose_for_backend(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(..)")
    }
}

/// Everything a backend needs to process one chunk: what to call the AEAD with and what
/// lengths to expect. Lets asynchronous backends (WebCrypto) do the AEAD outside this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    /// 0-based chunk index.
    pub index: u64,
    /// `u88be(index) || flag`.
    pub nonce: [u8; 12],
    /// Whether this is the final chunk (flag 0x01).
    pub last: bool,
    /// Plaintext bytes of this chunk.
    pub plaintext_len: usize,
    /// Ciphertext bytes of this chunk (`plaintext_len + 16`).
    pub ciphertext_len: usize,
}

/// Shared arithmetic of encryptor and decryptor.
#[derive(Clone, Copy, Debug)]
struct Layout {
    plaintext_size: u64,
    chunk_count: u64,
}

impl Layout {
    fn new(plaintext_size: u64) -> Result<Self, Error> {
        if plaintext_size > MAX_PLAINTEXT_SIZE {
            return Err(Error::CounterOverflow);
        }
        Ok(Layout {
            plaintext_size,
            chunk_count: chunk_count(plaintext_size),
        })
    }

    fn plan(&self, index: u64) -> Result<ChunkPlan, Error> {
        if index >= self.chunk_count {
            return Err(Error::ChunkOutOfRange {
                index,
                chunk_count: self.chunk_count,
            });
        }
        let last = index + 1 == self.chunk_count;
        let plaintext_len = if last {
            // index * CHUNK <= plaintext_size because index < chunk_count; the remainder is
            // at most CHUNK, so it fits a usize.
            (self.plaintext_size - index * CHUNK) as usize
        } else {
            CHUNK_SIZE
        };
        Ok(ChunkPlan {
            index,
            nonce: chunk_nonce(index, last),
            last,
            plaintext_len,
            ciphertext_len: plaintext_len + TAG_SIZE,
        })
    }
}

/// Seals the chunks of one file of known size, in any order (random access).
#[derive(Debug)]
pub struct StreamEncryptor {
    key: FileKey,
    layout: Layout,
}

impl StreamEncryptor {
    /// An encryptor for a plaintext of `plaintext_size` bytes; [`Error::CounterOverflow`] above
    /// [`MAX_PLAINTEXT_SIZE`].
    pub fn new(key: FileKey, plaintext_size: u64) -> Result<Self, Error> {
        Ok(StreamEncryptor {
            key,
            layout: Layout::new(plaintext_size)?,
        })
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.layout.chunk_count
    }

    /// Total ciphertext size.
    pub fn ciphertext_size(&self) -> u64 {
        ciphertext_size(self.layout.plaintext_size)
    }

    /// What chunk `index` looks like.
    pub fn plan(&self, index: u64) -> Result<ChunkPlan, Error> {
        self.layout.plan(index)
    }

    /// Seals chunk `index`; `plaintext` must have exactly the planned length.
    pub fn encrypt_chunk(
        &self,
        aead: &dyn Aead,
        index: u64,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let plan = self.plan(index)?;
        check_len(index, plan.plaintext_len, plaintext.len())?;
        let mut out = Vec::with_capacity(plan.ciphertext_len);
        out.extend_from_slice(plaintext);
        out.resize(plan.ciphertext_len, 0);
        self.seal(aead, &plan, &mut out);
        Ok(out)
    }

    /// Seals chunk `index` in place: `chunk` holds the plaintext followed by 16 spare bytes
    /// (`chunk.len() == plan.ciphertext_len`) and ends up holding `ciphertext || tag`.
    pub fn encrypt_chunk_in_place(
        &self,
        aead: &dyn Aead,
        index: u64,
        chunk: &mut [u8],
    ) -> Result<(), Error> {
        let plan = self.plan(index)?;
        check_len(index, plan.ciphertext_len, chunk.len())?;
        self.seal(aead, &plan, chunk);
        Ok(())
    }

    /// For backends that seal on their own (WebCrypto): checks the produced ciphertext length.
    pub fn check_backend_output(&self, plan: &ChunkPlan, produced_len: usize) -> Result<(), Error> {
        check_len(plan.index, plan.ciphertext_len, produced_len)
    }

    /// The file key, for backends that cannot take an [`Aead`].
    pub fn key(&self) -> &FileKey {
        &self.key
    }

    fn seal(&self, aead: &dyn Aead, plan: &ChunkPlan, chunk: &mut [u8]) {
        let (body, tag) = chunk.split_at_mut(plan.plaintext_len);
        tag.copy_from_slice(&aead.seal_in_place_separate_tag(&self.key.0, &plan.nonce, &[], body));
    }
}

/// Opens the chunks of one file whose ciphertext size is known (from the manifest), in any
/// order (random access).
#[derive(Debug)]
pub struct StreamDecryptor {
    key: FileKey,
    layout: Layout,
    ciphertext_size: u64,
}

impl StreamDecryptor {
    /// A decryptor for a ciphertext of `ciphertext_size` bytes
    /// ([`Error::InvalidCiphertextSize`] if no plaintext has that size).
    pub fn new(key: FileKey, ciphertext_size: u64) -> Result<Self, Error> {
        let layout = Layout::new(plaintext_size(ciphertext_size)?)?;
        Ok(StreamDecryptor {
            key,
            layout,
            ciphertext_size,
        })
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.layout.chunk_count
    }

    /// Plaintext size of the whole file.
    pub fn plaintext_size(&self) -> u64 {
        self.layout.plaintext_size
    }

    /// Ciphertext size of the whole file.
    pub fn ciphertext_size(&self) -> u64 {
        self.ciphertext_size
    }

    /// What chunk `index` looks like.
    pub fn plan(&self, index: u64) -> Result<ChunkPlan, Error> {
        self.layout.plan(index)
    }

    /// Opens chunk `index` (`ciphertext || tag`, exactly the planned length).
    ///
    /// A chunk that fails authentication is [`Error::ChunkTampered`], except that a final
    /// chunk which authenticates as a non-final one means the stream was cut short
    /// ([`Error::TruncatedFile`]) and a non-final chunk which authenticates as the final one
    /// means data follows the end ([`Error::TrailingData`]).
    pub fn decrypt_chunk(
        &self,
        aead: &dyn Aead,
        index: u64,
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let plan = self.plan(index)?;
        check_len(index, plan.ciphertext_len, ciphertext.len())?;
        let (body, tag) = split_tag(ciphertext);
        let mut out = body.to_vec();
        if aead
            .open_in_place_separate_tag(&self.key.0, &plan.nonce, &[], tag, &mut out)
            .is_ok()
        {
            return Ok(out);
        }
        out.zeroize();
        Err(diagnose(aead, &self.key, &plan, ciphertext))
    }

    /// Opens chunk `index` in place: `chunk` holds `ciphertext || tag` (the planned length);
    /// on success its first `plan.plaintext_len` bytes are the plaintext, and that length is
    /// returned. The ciphertext is gone afterwards, so every failure is
    /// [`Error::ChunkTampered`]; [`StreamDecryptor::decrypt_chunk`] tells truncation apart.
    pub fn decrypt_chunk_in_place(
        &self,
        aead: &dyn Aead,
        index: u64,
        chunk: &mut [u8],
    ) -> Result<usize, Error> {
        let plan = self.plan(index)?;
        check_len(index, plan.ciphertext_len, chunk.len())?;
        let (body, tag) = chunk.split_at_mut(plan.plaintext_len);
        let tag: [u8; TAG_SIZE] = (&*tag)
            .try_into()
            .expect("check_len left exactly TAG_SIZE bytes after the body");
        aead.open_in_place_separate_tag(&self.key.0, &plan.nonce, &[], &tag, body)
            .map_err(|_| Error::ChunkTampered { index })?;
        Ok(plan.plaintext_len)
    }

    /// Opens the whole file. A ciphertext shorter than the declared size is
    /// [`Error::TruncatedFile`], a longer one [`Error::TrailingData`], before anything is
    /// decrypted.
    pub fn decrypt_all(&self, aead: &dyn Aead, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
        let actual = ciphertext.len() as u64;
        if actual < self.ciphertext_size {
            return Err(Error::TruncatedFile);
        }
        if actual > self.ciphertext_size {
            return Err(Error::TrailingData);
        }
        // plaintext_size <= actual, which is the length of an in-memory slice.
        let mut out = vec![0u8; self.layout.plaintext_size as usize];
        for (index, (ct, pt)) in ciphertext
            .chunks(ENCRYPTED_CHUNK_SIZE)
            .zip(
                out.chunks_mut(CHUNK_SIZE)
                    .chain(std::iter::once(&mut [][..])),
            )
            .enumerate()
        {
            let plan = self.plan(index as u64)?;
            let (body, tag) = split_tag(ct);
            debug_assert_eq!(pt.len(), body.len());
            pt.copy_from_slice(body);
            if aead
                .open_in_place_separate_tag(&self.key.0, &plan.nonce, &[], tag, pt)
                .is_err()
            {
                out.zeroize();
                return Err(diagnose(aead, &self.key, &plan, ct));
            }
        }
        Ok(out)
    }

    /// For backends that open on their own (WebCrypto): checks the produced plaintext length.
    /// (A backend's authentication failure is `Error::ChunkTampered { index: plan.index }`.)
    pub fn check_backend_output(&self, plan: &ChunkPlan, produced_len: usize) -> Result<(), Error> {
        check_len(plan.index, plan.plaintext_len, produced_len)
    }

    /// The file key, for backends that cannot take an [`Aead`].
    pub fn key(&self) -> &FileKey {
        &self.key
    }
}

/// `STREAM[Kf](plaintext)` in one call.
pub fn encrypt_file(aead: &dyn Aead, key: &FileKey, plaintext: &[u8]) -> Vec<u8> {
    let size = plaintext.len() as u64;
    let layout = Layout::new(size).expect("an in-memory slice is far below MAX_PLAINTEXT_SIZE");
    // ciphertext_size of an in-memory plaintext is at most 1/4096 larger; it fits a usize.
    let mut out = vec![0u8; ciphertext_size(size) as usize];
    for (index, (ct, pt)) in out
        .chunks_mut(ENCRYPTED_CHUNK_SIZE)
        .zip(plaintext.chunks(CHUNK_SIZE).chain(std::iter::once(&[][..])))
        .enumerate()
    {
        let plan = layout
            .plan(index as u64)
            .expect("the output has exactly chunk_count chunks");
        let (body, tag) = ct.split_at_mut(plan.plaintext_len);
        body.copy_from_slice(pt);
        tag.copy_from_slice(&aead.seal_in_place_separate_tag(&key.0, &plan.nonce, &[], body));
    }
    out
}

/// Opens a whole `STREAM[Kf]` ciphertext whose size is not declared elsewhere (inside a
/// package, prefer [`crate::open::OpenedPackage::decrypt_file`], which checks the size the
/// manifest declares).
pub fn decrypt_file(aead: &dyn Aead, key: &FileKey, ciphertext: &[u8]) -> Result<Vec<u8>, Error> {
    StreamDecryptor::new(key.clone(), ciphertext.len() as u64)?.decrypt_all(aead, ciphertext)
}

fn check_len(index: u64, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::WrongChunkLength {
            index,
            expected,
            actual,
        })
    }
}

/// Splits `ciphertext || tag`; callers have checked the length is at least `TAG_SIZE`.
fn split_tag(chunk: &[u8]) -> (&[u8], &[u8; TAG_SIZE]) {
    let (body, tag) = chunk.split_at(chunk.len() - TAG_SIZE);
    (
        body,
        tag.try_into()
            .expect("split_at left exactly TAG_SIZE bytes"),
    )
}

/// Names a chunk failure: a chunk that opens under the opposite last-chunk flag shows the
/// stream was truncated (the real last chunk is missing) or extended (data after the last).
fn diagnose(aead: &dyn Aead, key: &FileKey, plan: &ChunkPlan, ciphertext: &[u8]) -> Error {
    let (body, tag) = split_tag(ciphertext);
    let mut scratch = body.to_vec();
    let flipped = chunk_nonce(plan.index, !plan.last);
    let opens = aead
        .open_in_place_separate_tag(&key.0, &flipped, &[], tag, &mut scratch)
        .is_ok();
    scratch.zeroize();
    match (opens, plan.last) {
        (true, true) => Error::TruncatedFile,
        (true, false) => Error::TrailingData,
        (false, _) => Error::ChunkTampered { index: plan.index },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{default_aead, RustCryptoAead};

    fn key() -> FileKey {
        FileKey::from_bytes([0x42; 32])
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn sizes_match_the_spec() {
        assert_eq!(ciphertext_size(0), 16);
        assert_eq!(ciphertext_size(1), 17);
        assert_eq!(ciphertext_size(65_536), 65_552);
        assert_eq!(ciphertext_size(65_537), 65_552 + 17);
        assert_eq!(chunk_count(0), 1);
        assert_eq!(chunk_count(65_536), 1);
        assert_eq!(chunk_count(65_537), 2);
        assert_eq!(PART_SIZE, 8_390_656);
        for bad in [0, 15, 65_553, 65_552 + 16, 2 * 65_552 + 3] {
            assert_eq!(
                plaintext_size(bad),
                Err(Error::InvalidCiphertextSize),
                "{bad}"
            );
        }
        for pt in [
            0,
            1,
            65_535,
            65_536,
            65_537,
            131_071,
            131_072,
            131_073,
            MAX_PLAINTEXT_SIZE,
        ] {
            assert_eq!(plaintext_size(ciphertext_size(pt)), Ok(pt));
        }
        assert_eq!(
            plaintext_size(ciphertext_size(MAX_PLAINTEXT_SIZE) + 1),
            Err(Error::InvalidCiphertextSize)
        );
        assert_eq!(
            StreamEncryptor::new(key(), MAX_PLAINTEXT_SIZE + 1).unwrap_err(),
            Error::CounterOverflow
        );
    }

    #[test]
    fn nonce_is_counter_then_flag() {
        assert_eq!(chunk_nonce(0, true), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(
            chunk_nonce(0x0102, false),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0]
        );
        assert_eq!(chunk_nonce(u64::MAX, false)[..3], [0, 0, 0]);
    }

    #[test]
    fn chunked_and_whole_file_agree() {
        let aead = default_aead();
        for len in [0, 1, 65_535, 65_536, 65_537, 3 * 65_536 + 5] {
            let pt = pattern(len);
            let whole = encrypt_file(aead, &key(), &pt);
            assert_eq!(whole.len() as u64, ciphertext_size(len as u64));
            assert_eq!(whole, encrypt_file(&RustCryptoAead, &key(), &pt));
            let enc = StreamEncryptor::new(key(), len as u64).unwrap();
            let dec = StreamDecryptor::new(key(), whole.len() as u64).unwrap();
            let mut chunked = Vec::new();
            let mut offset = 0;
            for i in 0..enc.chunk_count() {
                let plan = enc.plan(i).unwrap();
                let sealed = enc
                    .encrypt_chunk(aead, i, &pt[offset..offset + plan.plaintext_len])
                    .unwrap();
                let mut in_place = pt[offset..offset + plan.plaintext_len].to_vec();
                in_place.resize(plan.ciphertext_len, 0);
                enc.encrypt_chunk_in_place(aead, i, &mut in_place).unwrap();
                assert_eq!(sealed, in_place);
                assert_eq!(
                    dec.decrypt_chunk(aead, i, &sealed).unwrap(),
                    pt[offset..offset + plan.plaintext_len]
                );
                let n = dec.decrypt_chunk_in_place(aead, i, &mut in_place).unwrap();
                assert_eq!(in_place[..n], pt[offset..offset + plan.plaintext_len]);
                chunked.extend_from_slice(&sealed);
                offset += plan.plaintext_len;
            }
            assert_eq!(chunked, whole);
            assert_eq!(decrypt_file(aead, &key(), &whole).unwrap(), pt);
        }
    }

    #[test]
    fn an_external_backend_following_the_plans_gets_the_same_bytes() {
        // What the widget does with WebCrypto: take the plan and the raw key, run AES-GCM
        // itself, then let the stream check the length.
        let pt = pattern(2 * CHUNK_SIZE + 3);
        let enc = StreamEncryptor::new(key(), pt.len() as u64).unwrap();
        let dec = StreamDecryptor::new(key(), enc.ciphertext_size()).unwrap();
        let mut external = Vec::new();
        for index in 0..enc.chunk_count() {
            let plan = enc.plan(index).unwrap();
            let start = index as usize * CHUNK_SIZE;
            let chunk = &pt[start..start + plan.plaintext_len];
            let sealed =
                RustCryptoAead.seal(enc.key().expose_for_backend(), &plan.nonce, &[], chunk);
            enc.check_backend_output(&plan, sealed.len()).unwrap();
            let opened = RustCryptoAead
                .open(dec.key().expose_for_backend(), &plan.nonce, &[], &sealed)
                .unwrap();
            dec.check_backend_output(&dec.plan(index).unwrap(), opened.len())
                .unwrap();
            external.extend_from_slice(&sealed);
        }
        assert_eq!(external, encrypt_file(default_aead(), &key(), &pt));
        let plan = enc.plan(0).unwrap();
        assert_eq!(
            enc.check_backend_output(&plan, CHUNK_SIZE),
            Err(Error::WrongChunkLength {
                index: 0,
                expected: ENCRYPTED_CHUNK_SIZE,
                actual: CHUNK_SIZE
            })
        );
    }

    #[test]
    fn truncation_extension_and_reordering_are_named() {
        let aead = default_aead();
        let pt = pattern(3 * CHUNK_SIZE);
        let ct = encrypt_file(aead, &key(), &pt);
        let e = ENCRYPTED_CHUNK_SIZE;
        // Final chunk dropped: the remaining last chunk was sealed as non-final.
        assert_eq!(
            decrypt_file(aead, &key(), &ct[..2 * e]),
            Err(Error::TruncatedFile)
        );
        // A stream with something after its final chunk.
        let short = encrypt_file(aead, &key(), &pattern(CHUNK_SIZE));
        let mut extended = short.clone();
        extended.extend_from_slice(&ct[e..2 * e]);
        assert_eq!(
            decrypt_file(aead, &key(), &extended),
            Err(Error::TrailingData)
        );
        // Swapped chunks.
        let mut swapped = ct.clone();
        swapped[..e].copy_from_slice(&ct[e..2 * e]);
        swapped[e..2 * e].copy_from_slice(&ct[..e]);
        assert_eq!(
            decrypt_file(aead, &key(), &swapped),
            Err(Error::ChunkTampered { index: 0 })
        );
        // Wrong key.
        assert_eq!(
            decrypt_file(aead, &FileKey::from_bytes([1; 32]), &ct),
            Err(Error::ChunkTampered { index: 0 })
        );
        // Declared size checks.
        let dec = StreamDecryptor::new(key(), ct.len() as u64).unwrap();
        assert_eq!(
            dec.decrypt_all(aead, &ct[..ct.len() - 1]),
            Err(Error::TruncatedFile)
        );
        assert_eq!(
            dec.decrypt_all(aead, &[ct.as_slice(), b"x"].concat()),
            Err(Error::TrailingData)
        );
        assert_eq!(
            dec.decrypt_chunk(aead, 0, &ct[..10]),
            Err(Error::WrongChunkLength {
                index: 0,
                expected: e,
                actual: 10
            })
        );
        assert_eq!(
            dec.plan(3),
            Err(Error::ChunkOutOfRange {
                index: 3,
                chunk_count: 3
            })
        );
    }
}
