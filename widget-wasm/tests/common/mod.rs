//! Scenarios shared by the Window (`browser.rs`) and Worker (`worker.rs`) test binaries.
//!
//! Each scenario goes through the same objects pages use (`PackageSealer`, `FileEncryptor`,
//! `openPackage`, `FileDecryptor`) and runs once per backend.

#![allow(dead_code)] // each test binary uses its own subset

use js_sys::{Reflect, Uint8Array};
use sealdrop_crypto::{DeterministicRandom, FileInfo, Metadata, PackageId, ServerSecret};
use sealdrop_widget::{Backend, FileDecryptor, FileEncryptor, OpenedPackageJs, PackageSealer};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

pub const BACKENDS: [Backend; 2] = [Backend::WebCrypto, Backend::RustCrypto];

/// File sizes around every boundary: empty, short, exactly one chunk, one byte over, several
/// chunks with a short tail.
pub const SIZES: [u64; 5] = [0, 1000, 65_536, 65_537, 3 * 65_536 + 123];

pub fn pattern(len: u64, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

pub fn server_secret() -> ServerSecret {
    ServerSecret::from_bytes([0x53; 32])
}

pub fn package_id() -> PackageId {
    PackageId::from_bytes([0x1d; 16])
}

pub fn metadata(sizes: &[u64]) -> Metadata {
    Metadata {
        files: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| FileInfo {
                name: format!("file-{i}.bin"),
                size,
                media_type: "application/octet-stream".into(),
            })
            .collect(),
        message: Some("here are the files".into()),
        sender: Some("Example Support".into()),
    }
}

/// A package sealed with a fixed seed: the same bytes on every run and every backend.
pub fn seal(sizes: &[u64], backend: Backend) -> PackageSealer {
    let rng = DeterministicRandom::new(b"sealdrop-widget tests");
    PackageSealer::seal(
        package_id(),
        &server_secret(),
        &metadata(sizes),
        &[],
        backend,
        &rng,
    )
    .expect("sealing valid inputs succeeds")
}

/// Encrypts a whole file chunk by chunk through the JavaScript entry point `encryptChunk`.
pub async fn encrypt_all(enc: &FileEncryptor, plaintext: &[u8]) -> Vec<Vec<u8>> {
    let mut chunks = Vec::new();
    for i in 0..enc.chunk_count() as u64 {
        let range = enc.plaintext_range(i as f64).expect("index in range");
        let start = range.get(0).as_f64().expect("number") as usize;
        let end = range.get(1).as_f64().expect("number") as usize;
        let promise = enc.encrypt_chunk(i as f64, Uint8Array::from(&plaintext[start..end]));
        let sealed = JsFuture::from(promise)
            .await
            .expect("encryptChunk resolves");
        chunks.push(Uint8Array::from(sealed).to_vec());
    }
    chunks
}

/// Decrypts every chunk through `decryptChunk` and concatenates the plaintext.
pub async fn decrypt_all(dec: &FileDecryptor, chunks: &[Vec<u8>]) -> Result<Vec<u8>, JsValue> {
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let promise = dec.decrypt_chunk(i as f64, Uint8Array::from(&chunk[..]));
        out.extend(Uint8Array::from(JsFuture::from(promise).await?).to_vec());
    }
    Ok(out)
}

pub fn open(sealer: &PackageSealer, backend: Backend) -> OpenedPackageJs {
    OpenedPackageJs::with_link(
        sealer.manifest_bytes(),
        sealer.secret(),
        &server_secret(),
        backend,
    )
    .expect("the right link secret and server secret open the package")
}

/// The `kind` property of a rejected binding's error.
pub fn kind_of(error: &JsValue) -> String {
    Reflect::get(error, &"kind".into())
        .ok()
        .and_then(|k| k.as_string())
        .unwrap_or_else(|| format!("<no kind: {error:?}>"))
}

pub fn index_of(error: &JsValue) -> Option<f64> {
    Reflect::get(error, &"index".into()).ok()?.as_f64()
}

/// Seal, upload (in memory), open, download: every file comes back byte for byte and the
/// metadata is what the sender sealed.
pub async fn round_trip(backend: Backend) {
    let sealer = seal(&SIZES, backend);
    assert_eq!(sealer.backend(), backend.name());
    let mut uploaded = Vec::new();
    for (i, &size) in SIZES.iter().enumerate() {
        let plaintext = pattern(size, i as u8);
        let enc = sealer.encryptor(i).expect("file exists");
        let chunks = encrypt_all(&enc, &plaintext).await;
        let total: usize = chunks.iter().map(Vec::len).sum();
        assert_eq!(
            total as f64,
            enc.ciphertext_size(),
            "file {i}: ciphertext size"
        );
        uploaded.push((plaintext, chunks));
    }

    let opened = open(&sealer, backend);
    assert_eq!(opened.metadata_ref(), &metadata(&SIZES));
    assert_eq!(opened.file_count(), SIZES.len());
    for (i, (plaintext, chunks)) in uploaded.iter().enumerate() {
        let dec = opened.decryptor(i).expect("file exists");
        assert_eq!(dec.backend(), backend.name());
        let back = decrypt_all(&dec, chunks)
            .await
            .expect("untouched chunks decrypt");
        assert!(
            back == *plaintext,
            "file {i} ({} bytes) differs after the round trip",
            SIZES[i]
        );
    }
}

/// A flipped bit in chunk 1 is reported as that chunk being tampered with, by kind and index.
pub async fn tampered_chunk_is_rejected_with_its_index(backend: Backend) {
    let size = 3 * 65_536 + 5;
    let sealer = seal(&[size], backend);
    let mut chunks = encrypt_all(&sealer.encryptor(0).expect("file 0"), &pattern(size, 7)).await;
    chunks[1][100] ^= 0x01;
    let dec = open(&sealer, backend).decryptor(0).expect("file 0");
    let err = decrypt_all(&dec, &chunks)
        .await
        .expect_err("a tampered chunk must not decrypt");
    assert_eq!(kind_of(&err), "chunk_tampered");
    assert_eq!(index_of(&err), Some(1.0));
    let name = Reflect::get(&err, &"name".into())
        .ok()
        .and_then(|n| n.as_string());
    assert_eq!(name.as_deref(), Some("SealdropError"));
}

/// Chunks swapped between positions fail: each is bound to its index.
pub async fn reordered_chunks_are_rejected(backend: Backend) {
    let size = 3 * 65_536;
    let sealer = seal(&[size], backend);
    let mut chunks = encrypt_all(&sealer.encryptor(0).expect("file 0"), &pattern(size, 9)).await;
    chunks.swap(0, 1);
    let dec = open(&sealer, backend).decryptor(0).expect("file 0");
    let err = decrypt_all(&dec, &chunks)
        .await
        .expect_err("swapped chunks must not decrypt");
    assert_eq!(kind_of(&err), "chunk_tampered");
    assert_eq!(index_of(&err), Some(0.0));
}

/// A chunk of the wrong length is refused before any AEAD runs, naming the chunk.
pub async fn wrong_chunk_length_is_refused(backend: Backend) {
    let sealer = seal(&[65_536 + 10], backend);
    let enc = sealer.encryptor(0).expect("file 0");
    let err = JsFuture::from(enc.encrypt_chunk(0.0, Uint8Array::new_with_length(1000)))
        .await
        .expect_err("a short non-final chunk is refused");
    assert_eq!(kind_of(&err), "wrong_chunk_length");
    let err = JsFuture::from(enc.encrypt_chunk(2.0, Uint8Array::new_with_length(10)))
        .await
        .expect_err("chunk 2 of a 2-chunk file does not exist");
    assert_eq!(kind_of(&err), "chunk_out_of_range");
    let err = JsFuture::from(enc.encrypt_chunk(-1.0, Uint8Array::new_with_length(10)))
        .await
        .expect_err("a negative index is refused");
    assert_eq!(kind_of(&err), "invalid_argument");
}

/// The wrong server secret cannot open the package, and says so.
pub fn wrong_server_secret_is_rejected(backend: Backend) {
    let sealer = seal(&[10], backend);
    let err = OpenedPackageJs::with_link(
        sealer.manifest_bytes(),
        sealer.secret(),
        &ServerSecret::from_bytes([0x54; 32]),
        backend,
    )
    .expect_err("a wrong S must not open the package");
    assert_eq!(err.kind(), "wrong_link_or_server_secret");
}

/// Like WebCrypto itself, `encryptChunk` / `decryptChunk` read their input during the call:
/// a page may reuse its buffer as soon as the call returns, before the key import finished
/// (first chunks) and after.
pub async fn chunk_input_is_read_during_the_call(backend: Backend) {
    let size = 2 * 65_536;
    let original = pattern(size, 5);
    let sealer = seal(&[size], backend);
    let enc = sealer.encryptor(0).expect("file 0");

    let buf = Uint8Array::from(&original[..]);
    let first = enc.encrypt_chunk(0.0, buf.subarray(0, 65_536));
    let second = enc.encrypt_chunk(1.0, buf.subarray(65_536, 131_072));
    buf.fill(0, 0, buf.length());
    let sealed = vec![
        Uint8Array::from(JsFuture::from(first).await.expect("chunk 0")).to_vec(),
        Uint8Array::from(JsFuture::from(second).await.expect("chunk 1")).to_vec(),
    ];
    // The key is imported by now: the same holds on the fast path.
    let again = Uint8Array::from(&original[..65_536]);
    let pending = enc.encrypt_chunk(0.0, again.clone());
    again.fill(0, 0, again.length());
    let resealed = Uint8Array::from(JsFuture::from(pending).await.expect("chunk 0")).to_vec();
    assert!(
        resealed == sealed[0],
        "{backend:?}: chunk 0 sealed differently the second time"
    );

    let dec = open(&sealer, backend).decryptor(0).expect("file 0");
    let ct = Uint8Array::from(&sealed[0][..]);
    let pending = dec.decrypt_chunk(0.0, ct.clone());
    ct.fill(0, 0, ct.length());
    let opened = Uint8Array::from(JsFuture::from(pending).await.expect("chunk 0 opens")).to_vec();
    assert!(
        opened[..] == original[..65_536],
        "{backend:?}: chunk 0 differs"
    );
    let back = decrypt_all(&dec, &sealed).await.expect("both chunks open");
    assert!(back == original, "{backend:?}: the file differs");
}

/// WebCrypto X25519 as the sidebar uses it for device keys (docs/FORMAT.md §20.5): keys that
/// stay `CryptoKey`s, and the key agreement the page computes for each X25519 stanza.
pub mod webcrypto_x25519 {
    use js_sys::{Array, Object, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::CryptoKey;

    fn subtle() -> web_sys::SubtleCrypto {
        sealdrop_widget::webcrypto::subtle().expect("WebCrypto in the test browser")
    }

    fn algorithm(public: Option<&CryptoKey>) -> Object {
        let obj = Object::new();
        Reflect::set(&obj, &"name".into(), &"X25519".into()).expect("a plain object");
        if let Some(key) = public {
            Reflect::set(&obj, &"public".into(), key).expect("a plain object");
        }
        obj
    }

    fn usages(list: &[&str]) -> JsValue {
        list.iter()
            .map(|u| JsValue::from(*u))
            .collect::<Array>()
            .into()
    }

    /// A fresh non-extractable device key: `(privateKey, b64u(D))`.
    pub async fn generate() -> (CryptoKey, String) {
        let promise = subtle()
            .generate_key_with_object(&algorithm(None), false, &usages(&["deriveBits"]))
            .expect("X25519 generateKey starts");
        let pair = JsFuture::from(promise).await.expect("X25519 in WebCrypto");
        let private: CryptoKey = Reflect::get(&pair, &"privateKey".into())
            .expect("a key pair")
            .unchecked_into();
        let public: CryptoKey = Reflect::get(&pair, &"publicKey".into())
            .expect("a key pair")
            .unchecked_into();
        let raw = JsFuture::from(subtle().export_key("raw", &public).expect("export starts"))
            .await
            .expect("a public key exports");
        let raw = Uint8Array::new(&raw).to_vec();
        (private, base64url(&raw))
    }

    /// The 32 secret bytes `r` imported as a non-extractable key (PKCS #8, RFC 8410).
    pub async fn import(identity: &[u8]) -> CryptoKey {
        let mut pkcs8 = hex_bytes("302e020100300506032b656e04220420");
        pkcs8.extend_from_slice(identity);
        let data = Uint8Array::from(&pkcs8[..]);
        let promise = subtle()
            .import_key_with_object(
                "pkcs8",
                &data,
                &algorithm(None),
                false,
                &usages(&["deriveBits"]),
            )
            .expect("importKey starts");
        JsFuture::from(promise)
            .await
            .expect("an X25519 private key imports")
            .unchecked_into()
    }

    /// What the sidebar passes to `openTeamPackageWithShares`: `deriveBits` with each of
    /// `teamStanzaEphemerals(manifest)`, `null` where WebCrypto refuses (an all-zero result).
    pub async fn shares(private: &CryptoKey, manifest: &[u8]) -> Array {
        let out = Array::new();
        let ephemerals = sealdrop_widget::team_stanza_ephemerals(manifest).expect("parses");
        for e in ephemerals.iter() {
            let data: Object = e.unchecked_into();
            let promise = subtle()
                .import_key_with_object("raw", &data, &algorithm(None), true, &usages(&[]))
                .expect("importKey starts");
            let public: CryptoKey = JsFuture::from(promise)
                .await
                .expect("a raw X25519 public key imports")
                .unchecked_into();
            let bits = subtle()
                .derive_bits_with_object(&algorithm(Some(&public)), private, 256)
                .expect("deriveBits starts");
            match JsFuture::from(bits).await {
                Ok(buffer) => out.push(&Uint8Array::new(&buffer)),
                Err(_) => out.push(&JsValue::NULL),
            };
        }
        out
    }

    fn hex_bytes(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
