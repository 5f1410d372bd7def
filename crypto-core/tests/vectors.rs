//! Walks `tests/vectors/` and performs every vector with every native AEAD backend (as age's
//! `tests/test_vectors.rs` does), the package vectors at the top and the team keys' vectors in
//! `team/`; checks the compiled-in lists and the generator agree with the directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sealdrop_crypto::vectors::{self, Expect};
use sealdrop_crypto::{Aead, RingAead, RustCryptoAead};

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// The vector files of `tests/vectors/{sub}`, by name; subdirectories are left out.
fn files_in(sub: &str) -> BTreeMap<String, String> {
    std::fs::read_dir(vector_dir().join(sub))
        .expect("the vector directory exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
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

/// The package vectors.
fn files_on_disk() -> BTreeMap<String, String> {
    files_in("")
}

/// The team keys' vectors, by name within `team/`.
fn team_files_on_disk() -> BTreeMap<String, String> {
    files_in("team")
}

/// Every vector file by its path under `tests/vectors/` (`team/…` for the team vectors).
fn all_files_on_disk() -> BTreeMap<String, String> {
    let team = team_files_on_disk()
        .into_iter()
        .map(|(name, json)| (format!("team/{name}"), json));
    files_on_disk().into_iter().chain(team).collect()
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
fn every_team_vector_passes_with_every_backend() {
    let backends: [(&str, &dyn Aead); 2] = [("ring", &RingAead), ("rustcrypto", &RustCryptoAead)];
    let files = team_files_on_disk();
    assert!(
        files.len() >= 15,
        "expected the full team vector set, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for (name, json) in &files {
        let vector = vectors::team::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            name.starts_with("fail_"),
            vector.expect == Expect::Fail,
            "{name}: must-fail vectors are named fail_*.json"
        );
        for (backend, aead) in backends {
            if let Err(why) = vectors::team::check(&vector, aead) {
                failures.push(format!("team/{name} with {backend}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing team vectors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn compiled_in_team_list_is_exactly_the_team_directory() {
    let compiled: BTreeMap<String, String> = vectors::team::ALL
        .iter()
        .map(|(name, json)| (name.to_string(), json.to_string()))
        .collect();
    assert_eq!(compiled, team_files_on_disk());
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
    let on_disk = all_files_on_disk();
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

#[test]
fn a_tampered_team_vector_is_caught_by_check() {
    let find = |wanted: &str| {
        let (_, json) = vectors::team::ALL
            .iter()
            .find(|(name, _)| *name == wanted)
            .expect("vector exists");
        vectors::team::parse(json).expect("valid vector")
    };
    let mut vector = find("ok_roster.json");
    vector.expect = Expect::Fail;
    vector.error = Some("invalid_roster".into());
    assert!(vectors::team::check(&vector, &RustCryptoAead).is_err());
    let mut vector = find("ok_roster.json");
    if let vectors::team::TeamCase::Roster(case) = &mut vector.case {
        case.expected.as_mut().expect("ok vector").devices[0].label = "Mallory".into();
    }
    assert!(vectors::team::check(&vector, &RustCryptoAead).is_err());
    let mut vector = find("fail_recovery_code_typo.json");
    vector.error = Some("invalid_encoding".into());
    assert!(vectors::team::check(&vector, &RustCryptoAead).is_err());
}
