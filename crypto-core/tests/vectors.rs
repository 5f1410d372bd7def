//! Walks `tests/vectors/` and performs every vector with every native AEAD backend (as age's
//! `tests/test_vectors.rs` does); checks the compiled-in list and the generator agree with the
//! directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sealdrop_crypto::vectors::{self, Expect};
use sealdrop_crypto::{Aead, RingAead, RustCryptoAead};

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn files_on_disk() -> BTreeMap<String, String> {
    std::fs::read_dir(vector_dir())
        .expect("tests/vectors exists")
        .map(|entry| {
            let path = entry.expect("readable directory entry").path();
            let name = path
                .file_name()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("readable vector file"),
            )
        })
        .collect()
}

#[test]
fn every_vector_passes_with_every_backend() {
    let backends: [(&str, &dyn Aead); 2] = [("ring", &RingAead), ("rustcrypto", &RustCryptoAead)];
    let files = files_on_disk();
    assert!(
        files.len() >= 20,
        "expected the full vector set, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for (name, json) in &files {
        let vector = vectors::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            name.starts_with("fail_"),
            vector.expect == Expect::Fail,
            "{name}: must-fail vectors are named fail_*.json"
        );
        for (backend, aead) in backends {
            if let Err(why) = vectors::check(&vector, aead) {
                failures.push(format!("{name} with {backend}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn compiled_in_list_is_exactly_the_directory() {
    let compiled: BTreeMap<String, String> = vectors::ALL
        .iter()
        .map(|(name, json)| (name.to_string(), json.to_string()))
        .collect();
    assert_eq!(
        compiled.keys().collect::<Vec<_>>(),
        files_on_disk().keys().collect::<Vec<_>>()
    );
    assert_eq!(compiled, files_on_disk());
}

#[test]
fn regenerating_gives_identical_files() {
    let generated: BTreeMap<String, String> = vectors::generate().into_iter().collect();
    let on_disk = files_on_disk();
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        on_disk.keys().collect::<Vec<_>>()
    );
    for (name, json) in &generated {
        assert!(
            on_disk.get(name) == Some(json),
            "{name} differs from the generator's output; run `cargo run -p sealdrop-crypto --features gen-vectors --example gen-vectors`"
        );
    }
}

#[test]
fn a_tampered_vector_is_caught_by_check() {
    // The harness itself must notice wrong expectations, not only the format code.
    let (_, json) = vectors::ALL
        .iter()
        .find(|(name, _)| *name == "ok_one_byte.json")
        .expect("vector exists");
    let mut vector = vectors::parse(json).expect("valid vector");
    vector.expect = Expect::Fail;
    assert!(vectors::check(&vector, &RustCryptoAead).is_err());
    let mut vector = vectors::parse(json).expect("valid vector");
    vector.files[0].plaintext = Some("AQ".into()); // [1]; the real plaintext is [0]
    assert!(vectors::check(&vector, &RustCryptoAead).is_err());
}
