//! The WebCrypto AES-256-GCM backend for STREAM chunks.
//!
//! `crypto.subtle` is asynchronous, so it cannot implement the core's synchronous
//! `sealdrop_crypto::Aead` trait. Instead the core *plans* each chunk
//! (`StreamEncryptor::plan` / `StreamDecryptor::plan`: nonce = 11-byte counter || last flag,
//! expected lengths) and this module runs exactly that plan through WebCrypto:
//!
//! 1. the per-file key `Kf` is imported once, as a **non-extractable** `CryptoKey` allowed only
//!    to encrypt or only to decrypt; the temporary copy handed to `importKey` is zeroed as soon
//!    as `importKey` has taken its own copy (synchronously, per the WebCrypto spec);
//! 2. the chunk's length is checked against the plan *before* WebCrypto sees it;
//! 3. `crypto.subtle.encrypt/decrypt({name: "AES-GCM", iv: nonce}, key, chunk)` runs with the
//!    default 128-bit tag and no additional data (STREAM's aad is empty);
//! 4. the output length is checked against the plan again.
//!
//! A decryption that WebCrypto rejects with `OperationError` (the tag did not verify) is the
//! core's `ChunkTampered { index }`, or `TruncatedFile` / `TrailingData` when the chunk opens
//! with the other last-chunk flag, exactly as the core diagnoses it; any other rejection is a
//! [`WidgetError::Backend`] failure.
//!
//! The chunk bytes stay JavaScript `Uint8Array`s from end to end: they are never copied into
//! wasm memory, which is what keeps the per-chunk overhead small next to raw WebCrypto.

use std::cell::RefCell;
use std::future::Future;

use js_sys::{Array, ArrayBuffer, Promise, Reflect, Uint8Array};
use sealdrop_crypto::stream::{chunk_nonce, ChunkPlan, FileKey};
use sealdrop_crypto::Error as CoreError;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, DomException, SubtleCrypto};

use crate::error::{Result, WidgetError};

thread_local! {
    // `crypto.subtle` of this global scope, looked up once: it never changes for a Window or
    // Worker, and the lookup (two Reflect.get calls) would otherwise run for every chunk.
    static SUBTLE: RefCell<Option<Option<SubtleCrypto>>> = const { RefCell::new(None) };
}

/// `crypto.subtle` of the current global scope (Window or Worker), or `None` where WebCrypto is
/// unavailable (insecure contexts, very old browsers).
pub fn subtle() -> Option<SubtleCrypto> {
    SUBTLE.with(|cell| cell.borrow_mut().get_or_insert_with(lookup_subtle).clone())
}

fn lookup_subtle() -> Option<SubtleCrypto> {
    let global = js_sys::global();
    let crypto = Reflect::get(&global, &"crypto".into()).ok()?;
    if crypto.is_undefined() || crypto.is_null() {
        return None;
    }
    let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
    if subtle.is_undefined() || subtle.is_null() {
        return None;
    }
    Some(subtle.unchecked_into())
}

/// What an imported key may do: one direction only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsage {
    /// `["encrypt"]`: the sender's per-file key.
    Encrypt,
    /// `["decrypt"]`: the recipient's per-file key.
    Decrypt,
}

impl KeyUsage {
    fn js_name(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
        }
    }
}

/// A per-file key `Kf` living in WebCrypto as a non-extractable `CryptoKey`.
#[derive(Clone, Debug)]
pub struct WebCryptoFileKey {
    subtle: SubtleCrypto,
    key: CryptoKey,
    usage: KeyUsage,
}

impl WebCryptoFileKey {
    /// Imports `key` for `usage` and waits for WebCrypto to finish.
    pub async fn import(key: &FileKey, usage: KeyUsage) -> Result<Self> {
        PendingImport::start(key, usage)?.finish().await
    }

    /// `AES-256-GCM(Kf, plan.nonce, aad = "", plaintext)`; `plaintext` must be exactly
    /// `plan.plaintext_len` bytes. Resolves to the `plan.ciphertext_len`-byte sealed chunk.
    pub async fn seal_chunk(&self, plan: &ChunkPlan, plaintext: &Uint8Array) -> Result<Uint8Array> {
        self.start_seal(*plan, plaintext)?.await
    }

    /// Opens one sealed chunk; `ciphertext` must be exactly `plan.ciphertext_len` bytes.
    ///
    /// Failures are diagnosed as the core's `StreamDecryptor::decrypt_chunk` does: a chunk
    /// that authenticates only with the other last-chunk flag means the file was cut short
    /// (`TruncatedFile`: the final chunk is missing) or extended (`TrailingData`); anything
    /// else is `ChunkTampered { index }`.
    pub async fn open_chunk(
        &self,
        plan: &ChunkPlan,
        ciphertext: &Uint8Array,
    ) -> Result<Uint8Array> {
        self.start_open(*plan, ciphertext)?.await
    }

    /// Checks the length and calls `crypto.subtle.encrypt` *now*, so WebCrypto copies
    /// `plaintext` before this returns (the caller may reuse its buffer at once); the future
    /// only waits for the result and checks its length.
    pub fn start_seal(
        &self,
        plan: ChunkPlan,
        plaintext: &Uint8Array,
    ) -> Result<impl Future<Output = Result<Uint8Array>> + 'static> {
        debug_assert_eq!(self.usage, KeyUsage::Encrypt);
        check_len(&plan, plan.plaintext_len, plaintext.length() as usize)?;
        let sealing = self.call(&plan.nonce, plaintext).map_err(unexpected)?;
        Ok(async move {
            let sealed = sealing.await.map_err(unexpected)?;
            output(&plan, sealed, plan.ciphertext_len)
        })
    }

    /// Like [`WebCryptoFileKey::start_seal`], for decryption. `ciphertext` is read again only
    /// if it fails to authenticate (to tell truncation from tampering).
    pub fn start_open(
        &self,
        plan: ChunkPlan,
        ciphertext: &Uint8Array,
    ) -> Result<impl Future<Output = Result<Uint8Array>> + 'static> {
        debug_assert_eq!(self.usage, KeyUsage::Decrypt);
        check_len(&plan, plan.ciphertext_len, ciphertext.length() as usize)?;
        let opening = self.call(&plan.nonce, ciphertext).map_err(unexpected)?;
        let this = self.clone();
        let ciphertext = ciphertext.clone();
        Ok(async move {
            match opening.await {
                Ok(opened) => output(&plan, opened, plan.plaintext_len),
                Err(e) if is_operation_error(&e) => Err(this.diagnose(&plan, &ciphertext).await),
                Err(e) => Err(unexpected(e)),
            }
        })
    }

    /// Why a chunk failed to open: the core's rule, run through WebCrypto.
    async fn diagnose(&self, plan: &ChunkPlan, ciphertext: &Uint8Array) -> WidgetError {
        let flipped = chunk_nonce(plan.index, !plan.last);
        let retry = match self.call(&flipped, ciphertext) {
            Ok(pending) => pending.await,
            Err(e) => Err(e),
        };
        match (retry, plan.last) {
            (Ok(_), true) => CoreError::TruncatedFile.into(),
            (Ok(_), false) => CoreError::TrailingData.into(),
            (Err(e), _) if is_operation_error(&e) => {
                CoreError::ChunkTampered { index: plan.index }.into()
            }
            (Err(e), _) => unexpected(e),
        }
    }

    /// Calls `crypto.subtle.encrypt` or `decrypt` (by the key's usage) with `iv = nonce`, the
    /// default 128-bit tag and no additional data; WebCrypto copies `data` during the call.
    fn call(&self, nonce: &[u8; 12], data: &Uint8Array) -> std::result::Result<JsFuture, JsValue> {
        let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(&nonce[..]));
        let promise = match self.usage {
            KeyUsage::Encrypt => self
                .subtle
                .encrypt_with_object_and_js_u8_array(&params, &self.key, data)?,
            KeyUsage::Decrypt => self
                .subtle
                .decrypt_with_object_and_js_u8_array(&params, &self.key, data)?,
        };
        Ok(JsFuture::from(promise))
    }
}

/// An `importKey` call under way. Starting it is synchronous (the key bytes are copied and
/// zeroed right away); finishing it awaits WebCrypto.
#[derive(Debug)]
pub struct PendingImport {
    subtle: SubtleCrypto,
    promise: Promise,
    usage: KeyUsage,
}

impl PendingImport {
    /// Starts importing `key` as a raw, non-extractable AES-GCM key for `usage`.
    pub fn start(key: &FileKey, usage: KeyUsage) -> Result<Self> {
        let subtle = subtle().ok_or_else(|| {
            WidgetError::Backend("crypto.subtle is not available in this context".into())
        })?;
        let raw = Uint8Array::from(&key.expose_for_backend()[..]);
        let usages = Array::of1(&usage.js_name().into());
        let algorithm = js_sys::Object::new();
        // Reflect::set on a fresh plain object cannot fail.
        let _ = Reflect::set(&algorithm, &"name".into(), &"AES-GCM".into());
        let started = subtle.import_key_with_object("raw", &raw, &algorithm, false, &usages);
        // importKey copied the bytes before returning (WebCrypto: "get a copy of the bytes held
        // by keyData"); wipe the JavaScript copy whether or not the call was accepted.
        raw.fill(0, 0, raw.length());
        Ok(Self {
            subtle,
            promise: started.map_err(unexpected)?,
            usage,
        })
    }

    /// Waits for the import. The same pending import may be finished by several callers
    /// (several chunks in flight before the key is ready).
    pub async fn finish(&self) -> Result<WebCryptoFileKey> {
        let key = JsFuture::from(self.promise.clone())
            .await
            .map_err(unexpected)?;
        Ok(WebCryptoFileKey {
            subtle: self.subtle.clone(),
            key: key.unchecked_into(),
            usage: self.usage,
        })
    }
}

/// A file key that is imported on first use and reused afterwards; shared by the chunks of one
/// file (including chunks already in flight while the import runs).
#[derive(Debug)]
pub(crate) struct LazyKey {
    pending: PendingImport,
    ready: RefCell<Option<WebCryptoFileKey>>,
}

impl LazyKey {
    pub(crate) fn start(key: &FileKey, usage: KeyUsage) -> Result<Self> {
        Ok(Self {
            pending: PendingImport::start(key, usage)?,
            ready: RefCell::new(None),
        })
    }

    /// The imported key, if the import has already finished.
    pub(crate) fn ready(&self) -> Option<WebCryptoFileKey> {
        self.ready.borrow().clone()
    }

    pub(crate) async fn get(&self) -> Result<WebCryptoFileKey> {
        if let Some(key) = self.ready.borrow().as_ref() {
            return Ok(key.clone());
        }
        let key = self.pending.finish().await?;
        *self.ready.borrow_mut() = Some(key.clone());
        Ok(key)
    }
}

fn check_len(plan: &ChunkPlan, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
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

/// The backend's output, checked to have the planned length (as the core's
/// `check_backend_output` does for its own backends).
fn output(plan: &ChunkPlan, out: JsValue, expected: usize) -> Result<Uint8Array> {
    let buf: ArrayBuffer = out
        .dyn_into()
        .map_err(|_| WidgetError::Backend("WebCrypto did not return an ArrayBuffer".into()))?;
    check_len(plan, expected, buf.byte_length() as usize)?;
    Ok(Uint8Array::new(&buf))
}

fn is_operation_error(e: &JsValue) -> bool {
    e.dyn_ref::<DomException>()
        .is_some_and(|d| d.name() == "OperationError")
}

/// Any WebCrypto failure that says nothing about the data. DOMException names and messages
/// are fixed browser strings; they never contain key material.
fn unexpected(e: JsValue) -> WidgetError {
    let what = match e.dyn_ref::<DomException>() {
        Some(d) => format!("{}: {}", d.name(), d.message()),
        None => match e.dyn_ref::<js_sys::Error>() {
            Some(err) => String::from(err.message()),
            None => "unknown WebCrypto failure".to_owned(),
        },
    };
    WidgetError::Backend(what)
}
