//! The same scenarios in a dedicated Web Worker, where the Help Center widget encrypts:
//! there is no `window` there, only `self.crypto`.

#![cfg(target_arch = "wasm32")]

mod common;

use sealdrop_widget::Backend;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn webcrypto_is_available_in_a_worker() {
    assert!(sealdrop_widget::webcrypto::subtle().is_some());
    assert_eq!(sealdrop_widget::backend(), "webcrypto");
}

#[wasm_bindgen_test]
async fn round_trip_in_a_worker() {
    for backend in common::BACKENDS {
        common::round_trip(backend).await;
    }
}

#[wasm_bindgen_test]
async fn tampered_chunk_is_rejected_in_a_worker() {
    common::tampered_chunk_is_rejected_with_its_index(Backend::WebCrypto).await;
}
