//! Per-file chunk encryptors and decryptors, as JavaScript objects.
//!
//! A [`FileEncryptor`] (from `PackageSealer.file(i)`) and a [`FileDecryptor`] (from
//! `OpenedPackage.file(i)`) each hold one file's STREAM state and key. Chunks are independent:
//! a page may encrypt or decrypt them in any order, several at once, and retry any of them,
//! which is what resumable part uploads and HTTP Range downloads need.
//!
//! `encryptChunk` / `decryptChunk` return Promises whatever the backend, so pages never need to
//! know which one is in effect. Argument errors (a chunk of the wrong length, an index past the
//! end) reject the Promise rather than throw, so a page has one error path per chunk.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use sealdrop_crypto::stream::{ChunkPlan, FileKey, StreamDecryptor, StreamEncryptor};
use sealdrop_crypto::{Error as CoreError, RustCryptoAead};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use crate::backend::Backend;
use crate::error::Result;
use crate::sizes;
use crate::webcrypto::{KeyUsage, LazyKey};

/// How one file's chunks are sealed or opened.
#[derive(Debug)]
enum ChunkCipher {
    /// WebCrypto, with the file key imported (or being imported) as a non-extractable key.
    WebCrypto(Rc<LazyKey>),
    /// The core's RustCrypto AEAD, synchronous, inside wasm.
    RustCrypto,
}

impl ChunkCipher {
    fn new(backend: Backend, key: &FileKey, usage: KeyUsage) -> Result<Self> {
        Ok(match backend {
            Backend::WebCrypto => Self::WebCrypto(Rc::new(LazyKey::start(key, usage)?)),
            Backend::RustCrypto => Self::RustCrypto,
        })
    }

    fn backend(&self) -> Backend {
        match self {
            Self::WebCrypto(_) => Backend::WebCrypto,
            Self::RustCrypto => Backend::RustCrypto,
        }
    }
}

#[derive(Debug)]
struct EncryptorState {
    stream: StreamEncryptor,
    cipher: ChunkCipher,
    plaintext_size: u64,
}

/// Encrypts one file of a package, chunk by chunk (JavaScript: `FileEncryptor`).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct FileEncryptor {
    state: Rc<EncryptorState>,
}

impl FileEncryptor {
    /// An encryptor for a file of `plaintext_size` bytes under `key`, on `backend`.
    pub fn new(key: FileKey, plaintext_size: u64, backend: Backend) -> Result<Self> {
        let stream = StreamEncryptor::new(key, plaintext_size)?;
        let cipher = ChunkCipher::new(backend, stream.key(), KeyUsage::Encrypt)?;
        Ok(Self {
            state: Rc::new(EncryptorState {
                stream,
                cipher,
                plaintext_size,
            }),
        })
    }

    /// Seals chunk `index`; the Rust face of `encryptChunk`.
    pub async fn seal(&self, index: u64, plaintext: &Uint8Array) -> Result<Uint8Array> {
        self.begin_seal(index, plaintext)?.await
    }

    /// Does everything that can be done synchronously (plan, length check, the WebCrypto call
    /// or the whole RustCrypto encryption), so that `plaintext` is read before this returns;
    /// the future only waits for WebCrypto.
    fn begin_seal(&self, index: u64, plaintext: &Uint8Array) -> Result<ChunkFuture> {
        let state = &self.state;
        let plan = state.stream.plan(index)?;
        match &state.cipher {
            ChunkCipher::WebCrypto(lazy) => match lazy.ready() {
                Some(key) => Ok(Box::pin(key.start_seal(plan, plaintext)?)),
                None => {
                    // The key import has not finished (first chunks only): keep a copy of the
                    // input so that the caller may reuse its buffer right away.
                    check_len(&plan, plan.plaintext_len, plaintext)?;
                    let copy = plaintext.slice(0, plaintext.length());
                    let lazy = Rc::clone(lazy);
                    Ok(Box::pin(async move {
                        lazy.get().await?.start_seal(plan, &copy)?.await
                    }))
                }
            },
            ChunkCipher::RustCrypto => {
                // One copy in (plaintext followed by room for the tag), seal in place, one out.
                check_len(&plan, plan.plaintext_len, plaintext)?;
                let mut chunk = vec![0u8; plan.ciphertext_len];
                plaintext.copy_to(&mut chunk[..plan.plaintext_len]);
                state
                    .stream
                    .encrypt_chunk_in_place(&RustCryptoAead, index, &mut chunk)?;
                Ok(Box::pin(std::future::ready(Ok(Uint8Array::from(
                    &chunk[..],
                )))))
            }
        }
    }
}

#[wasm_bindgen]
impl FileEncryptor {
    /// Encrypts chunk `index` (0-based). `plaintext` must be the file's bytes
    /// `plaintextRange(index)`: 65 536 bytes for every chunk but the last. Resolves to the
    /// sealed chunk (`ciphertextRange(index)` of the uploaded file).
    #[wasm_bindgen(js_name = encryptChunk, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn encrypt_chunk(&self, index: f64, plaintext: Uint8Array) -> Promise {
        to_promise(sizes::index_from_js(index).and_then(|index| self.begin_seal(index, &plaintext)))
    }

    /// The file's size in bytes, as given to the sealer.
    #[wasm_bindgen(getter, js_name = plaintextSize)]
    pub fn plaintext_size(&self) -> f64 {
        self.state.plaintext_size as f64
    }

    /// The size of the encrypted file (what is uploaded).
    #[wasm_bindgen(getter, js_name = ciphertextSize)]
    pub fn ciphertext_size(&self) -> f64 {
        sealdrop_crypto::stream::ciphertext_size(self.state.plaintext_size) as f64
    }

    /// Number of chunks (at least 1: an empty file is one empty final chunk).
    #[wasm_bindgen(getter, js_name = chunkCount)]
    pub fn chunk_count(&self) -> f64 {
        sealdrop_crypto::stream::chunk_count(self.state.plaintext_size) as f64
    }

    /// Number of upload parts (128 chunks each).
    #[wasm_bindgen(getter, js_name = partCount)]
    pub fn part_count(&self) -> f64 {
        sizes::part_count_for_plaintext(self.state.plaintext_size) as f64
    }

    /// `[start, end)` of chunk `index` in the plaintext file.
    #[wasm_bindgen(js_name = plaintextRange, unchecked_return_type = "[number, number]")]
    pub fn plaintext_range(&self, index: f64) -> Result<js_sys::Array, JsValue> {
        let index = sizes::index_from_js(index)?;
        Ok(sizes::plaintext_chunk_range(
            self.state.plaintext_size,
            index,
        )?)
    }

    /// The backend this encryptor uses: `"webcrypto"` or `"rustcrypto"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.cipher.backend().name().to_owned()
    }
}

#[derive(Debug)]
struct DecryptorState {
    stream: StreamDecryptor,
    cipher: ChunkCipher,
    ciphertext_size: u64,
    plaintext_size: u64,
}

/// Decrypts one file of an opened package, chunk by chunk (JavaScript: `FileDecryptor`).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct FileDecryptor {
    state: Rc<DecryptorState>,
}

impl FileDecryptor {
    /// Wraps the core's decryptor of one file (from `OpenedPackage::file_decryptor`).
    pub fn new(stream: StreamDecryptor, backend: Backend) -> Result<Self> {
        let cipher = ChunkCipher::new(backend, stream.key(), KeyUsage::Decrypt)?;
        Ok(Self {
            state: Rc::new(DecryptorState {
                ciphertext_size: stream.ciphertext_size(),
                plaintext_size: stream.plaintext_size(),
                stream,
                cipher,
            }),
        })
    }

    /// Opens chunk `index`; the Rust face of `decryptChunk`.
    pub async fn open(&self, index: u64, ciphertext: &Uint8Array) -> Result<Uint8Array> {
        self.begin_open(index, ciphertext)?.await
    }

    /// As [`FileEncryptor`]'s `begin_seal`: `ciphertext` is read before this returns (and
    /// again, for WebCrypto, only to diagnose a chunk that fails to authenticate).
    fn begin_open(&self, index: u64, ciphertext: &Uint8Array) -> Result<ChunkFuture> {
        let state = &self.state;
        let plan = state.stream.plan(index)?;
        match &state.cipher {
            ChunkCipher::WebCrypto(lazy) => match lazy.ready() {
                Some(key) => Ok(Box::pin(key.start_open(plan, ciphertext)?)),
                None => {
                    check_len(&plan, plan.ciphertext_len, ciphertext)?;
                    let copy = ciphertext.slice(0, ciphertext.length());
                    let lazy = Rc::clone(lazy);
                    Ok(Box::pin(async move {
                        lazy.get().await?.start_open(plan, &copy)?.await
                    }))
                }
            },
            ChunkCipher::RustCrypto => {
                let opened = Zeroizing::new(state.stream.decrypt_chunk(
                    &RustCryptoAead,
                    index,
                    &ciphertext.to_vec(),
                )?);
                Ok(Box::pin(std::future::ready(Ok(Uint8Array::from(
                    &opened[..],
                )))))
            }
        }
    }

    /// Opens a whole encrypted file held in memory, chunk by chunk in order (the vector runner
    /// uses it; pages stream with `decryptChunk`). Like the core's `StreamDecryptor::decrypt_all`, a file shorter than the
    /// manifest says is `TruncatedFile` and a longer one `TrailingData`, before anything is
    /// decrypted; the first failing chunk (in index order) decides the error.
    pub async fn open_all(&self, ciphertext: &Uint8Array) -> Result<Uint8Array> {
        let state = &self.state;
        let actual = u64::from(ciphertext.length());
        if actual < state.ciphertext_size {
            return Err(CoreError::TruncatedFile.into());
        }
        if actual > state.ciphertext_size {
            return Err(CoreError::TrailingData.into());
        }
        // plaintext_size < ciphertext_size = ciphertext.length(), a u32.
        let out = Uint8Array::new_with_length(state.plaintext_size as u32);
        for index in 0..state.stream.chunk_count() {
            let (start, end) = sizes::ciphertext_bounds(state.plaintext_size, index)?;
            let (offset, _) = sizes::plaintext_bounds(state.plaintext_size, index)?;
            let chunk = ciphertext.subarray(start as u32, end as u32);
            let plaintext = self.open(index, &chunk).await?;
            out.set(&plaintext, offset as u32);
        }
        Ok(out)
    }
}

#[wasm_bindgen]
impl FileDecryptor {
    /// Decrypts chunk `index` (0-based); `ciphertext` must be exactly the encrypted file's
    /// bytes of chunk `index` (`partRange` gives a part's). Resolves to the plaintext chunk; rejects with kind
    /// `chunk_tampered` (and `index`) when the chunk was modified, moved, or cut.
    #[wasm_bindgen(js_name = decryptChunk, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn decrypt_chunk(&self, index: f64, ciphertext: Uint8Array) -> Promise {
        to_promise(
            sizes::index_from_js(index).and_then(|index| self.begin_open(index, &ciphertext)),
        )
    }

    /// The decrypted file's size in bytes.
    #[wasm_bindgen(getter, js_name = plaintextSize)]
    pub fn plaintext_size(&self) -> f64 {
        self.state.plaintext_size as f64
    }

    /// The encrypted file's size (what the server stores).
    #[wasm_bindgen(getter, js_name = ciphertextSize)]
    pub fn ciphertext_size(&self) -> f64 {
        self.state.ciphertext_size as f64
    }

    /// Number of chunks.
    #[wasm_bindgen(getter, js_name = chunkCount)]
    pub fn chunk_count(&self) -> f64 {
        sealdrop_crypto::stream::chunk_count(self.state.plaintext_size) as f64
    }

    /// `[start, end)` of chunk `index` in the decrypted file.
    #[wasm_bindgen(js_name = plaintextRange, unchecked_return_type = "[number, number]")]
    pub fn plaintext_range(&self, index: f64) -> Result<js_sys::Array, JsValue> {
        let index = sizes::index_from_js(index)?;
        Ok(sizes::plaintext_chunk_range(
            self.state.plaintext_size,
            index,
        )?)
    }

    /// The backend this decryptor uses: `"webcrypto"` or `"rustcrypto"`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.cipher.backend().name().to_owned()
    }
}

/// A chunk operation under way; `'static` so that it can outlive the call into wasm.
type ChunkFuture = Pin<Box<dyn Future<Output = Result<Uint8Array>>>>;

/// The JavaScript face of a chunk operation: argument errors reject the Promise rather than
/// throw, so a page has one error path per chunk.
fn to_promise(started: Result<ChunkFuture>) -> Promise {
    match started {
        Ok(pending) => future_to_promise(async move { Ok(pending.await?.into()) }),
        Err(e) => Promise::reject(&e.into()),
    }
}

fn check_len(plan: &ChunkPlan, expected: usize, data: &Uint8Array) -> Result<()> {
    let actual = data.length() as usize;
    if actual == expected {
        Ok(())
    } else {
        Err(CoreError::WrongChunkLength {
            index: plan.index,
            expected,
            actual,
        }
        .into())
    }
}
