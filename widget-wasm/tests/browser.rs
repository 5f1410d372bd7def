//! The bindings in a browser Window (headless Chromium through wasm-bindgen-test-runner).
//!
//! `cd widget-wasm && CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   CHROMEDRIVER=/usr/bin/chromedriver cargo test --target wasm32-unknown-unknown`

#![cfg(target_arch = "wasm32")]

mod common;

use js_sys::Uint8Array;
use sealdrop_crypto::stream::{FileKey, StreamDecryptor, StreamEncryptor};
use sealdrop_crypto::RustCryptoAead;
use sealdrop_widget::{Backend, FileDecryptor, ParsedLink};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

use common::{BACKENDS, SIZES};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn files_round_trip_on_every_backend() {
    for backend in BACKENDS {
        common::round_trip(backend).await;
    }
}

#[wasm_bindgen_test]
async fn webcrypto_and_rustcrypto_produce_identical_bytes() {
    let web = common::seal(&SIZES, Backend::WebCrypto);
    let rust = common::seal(&SIZES, Backend::RustCrypto);
    assert_eq!(web.manifest_bytes(), rust.manifest_bytes());
    for (i, &size) in SIZES.iter().enumerate() {
        let plaintext = common::pattern(size, 3);
        let a = common::encrypt_all(&web.encryptor(i).expect("file"), &plaintext).await;
        let b = common::encrypt_all(&rust.encryptor(i).expect("file"), &plaintext).await;
        assert!(a == b, "file {i} ({size} bytes): the backends disagree");

        // And each backend opens what the other sealed.
        let from_rust = common::open(&web, Backend::WebCrypto)
            .decryptor(i)
            .expect("file");
        let from_web = common::open(&rust, Backend::RustCrypto)
            .decryptor(i)
            .expect("file");
        assert!(common::decrypt_all(&from_rust, &b).await.expect("opens") == plaintext);
        assert!(common::decrypt_all(&from_web, &a).await.expect("opens") == plaintext);
    }
}

#[wasm_bindgen_test]
async fn tampered_chunk_is_rejected_with_its_index() {
    for backend in BACKENDS {
        common::tampered_chunk_is_rejected_with_its_index(backend).await;
    }
}

#[wasm_bindgen_test]
async fn reordered_chunks_are_rejected() {
    for backend in BACKENDS {
        common::reordered_chunks_are_rejected(backend).await;
    }
}

#[wasm_bindgen_test]
async fn wrong_chunk_length_is_refused() {
    for backend in BACKENDS {
        common::wrong_chunk_length_is_refused(backend).await;
    }
}

#[wasm_bindgen_test]
async fn chunk_input_is_read_during_the_call() {
    for backend in BACKENDS {
        common::chunk_input_is_read_during_the_call(backend).await;
    }
}

#[wasm_bindgen_test]
fn wrong_server_secret_is_rejected() {
    for backend in BACKENDS {
        common::wrong_server_secret_is_rejected(backend);
    }
}

/// WebCrypto failures are diagnosed exactly as the core diagnoses them: a file cut after a
/// non-final chunk is `truncated_file`, a final chunk followed by more is `trailing_data`.
#[wasm_bindgen_test]
async fn truncation_and_extension_are_named_like_the_core_does() {
    let key = || FileKey::from_bytes([0x42; 32]);
    let two_chunks = common::pattern(2 * 65_536, 1);
    let sealed = StreamEncryptor::new(key(), two_chunks.len() as u64)
        .expect("size")
        .encrypt_chunk(&RustCryptoAead, 0, &two_chunks[..65_536])
        .expect("chunk 0");
    let one_chunk = StreamEncryptor::new(key(), 65_536)
        .expect("size")
        .encrypt_chunk(&RustCryptoAead, 0, &two_chunks[..65_536])
        .expect("chunk 0");

    // Chunk 0 of a two-chunk file presented as a whole one-chunk file: the end is missing.
    let cut = StreamDecryptor::new(key(), 65_552).expect("size");
    let core = cut
        .decrypt_chunk(&RustCryptoAead, 0, &sealed)
        .expect_err("truncated");
    for backend in BACKENDS {
        let dec = FileDecryptor::new(StreamDecryptor::new(key(), 65_552).expect("size"), backend)
            .expect("decryptor");
        let err = dec
            .open(0, &Uint8Array::from(&sealed[..]))
            .await
            .expect_err("truncated");
        assert_eq!(err.core(), Some(&core), "{backend:?}");
        assert_eq!(err.kind(), "truncated_file");
    }

    // A whole one-chunk file presented as the first chunk of a longer one: data follows the end.
    for backend in BACKENDS {
        let dec = FileDecryptor::new(
            StreamDecryptor::new(key(), 2 * 65_552).expect("size"),
            backend,
        )
        .expect("decryptor");
        let err = dec
            .open(0, &Uint8Array::from(&one_chunk[..]))
            .await
            .expect_err("extended");
        assert_eq!(err.kind(), "trailing_data", "{backend:?}");
    }
}

#[wasm_bindgen_test]
fn the_link_carries_the_secret_and_yields_the_proof() {
    let sealer = common::seal(&[1], Backend::WebCrypto);
    let link = sealer.link("https://files.example.com/");
    assert!(link.starts_with("https://files.example.com/p/"));
    let parsed = ParsedLink::parse(&link).expect("our own link parses");
    assert_eq!(parsed.base, "https://files.example.com");
    assert_eq!(parsed.package_id, sealer.package_id());
    assert_eq!(parsed.link_secret, sealer.link_secret());
    assert_eq!(parsed.link_proof, sealer.link_proof());
    assert_eq!(
        sealdrop_widget::link_proof(&parsed.link_secret, &parsed.package_id).expect("valid"),
        sealer.link_proof()
    );
    assert_eq!(
        sealdrop_widget::link_verifier(&parsed.link_proof).expect("valid"),
        sealer.link_verifier()
    );
    assert!(ParsedLink::parse("https://files.example.com/p/nope").is_err());
}

#[wasm_bindgen_test]
fn sizes_and_ranges_follow_the_format() {
    use sealdrop_widget::sizes::*;
    assert_eq!(ciphertext_size_js(0.0).ok(), Some(16.0));
    assert_eq!(ciphertext_size_js(65_537.0).ok(), Some(65_552.0 + 17.0));
    assert_eq!(plaintext_size_js(65_552.0 + 17.0).ok(), Some(65_537.0));
    assert!(plaintext_size_js(15.0).is_err());
    assert!(ciphertext_size_js(-1.0).is_err());
    assert!(ciphertext_size_js(1.5).is_err());
    assert_eq!(part_size_js(), 8_390_656.0);
    assert_eq!(
        ciphertext_bounds(65_537, 1).ok(),
        Some((65_552, 65_552 + 17))
    );
    assert_eq!(plaintext_bounds(65_537, 1).ok(), Some((65_536, 65_537)));
    assert!(plaintext_bounds(65_537, 2).is_err());
    // 300 chunks: parts of 128, 128 and 44 chunks.
    let ct = ciphertext_size_js(300.0 * 65_536.0).expect("size");
    assert_eq!(part_count_js(ct).ok(), Some(3.0));
    let last = part_range_js(ct, 2.0).expect("part 2");
    assert_eq!(last.get(0).as_f64(), Some(2.0 * 8_390_656.0));
    assert_eq!(last.get(1).as_f64(), Some(ct));
    assert!(part_range_js(ct, 3.0).is_err());
}

#[wasm_bindgen_test]
fn backend_switch_is_validated() {
    assert_eq!(sealdrop_widget::backend(), "webcrypto");
    assert!(sealdrop_widget::set_backend("rot13").is_err());
    sealdrop_widget::set_backend("rustcrypto").expect("valid name");
    assert_eq!(sealdrop_widget::backend(), "rustcrypto");
    sealdrop_widget::set_backend("webcrypto").expect("valid name");
}
