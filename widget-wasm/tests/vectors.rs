//! The format v1 test vectors (`sealdrop_crypto::vectors::ALL`) in the browser.
//!
//! 1. The core's own `check` with the RustCrypto backend compiled to wasm: the wasm build
//!    agrees with the native one byte for byte.
//! 2. An asynchronous equivalent of `check` that goes through this crate's real code paths:
//!    `OpenedPackage::with_link` / `with_identity`, `FileDecryptor::open_all` (chunk by chunk
//!    through WebCrypto) and, for `ok` vectors, re-encryption through `FileEncryptor` (WebCrypto),
//!    compared with the vector's ciphertext. Must-fail vectors must fail with the same kind,
//!    file and chunk as the core reports. Team-sealed packages open through
//!    `OpenedPackage::with_team`, the binding behind `openTeamPackage`.
//!    Team-sealed packages also open through `openTeamPackageWithShares`, with every member's
//!    key imported into WebCrypto as a non-extractable X25519 key and the key agreement done by
//!    `crypto.subtle.deriveBits`, as the sidebar does (docs/FORMAT.md §20.5); the results must
//!    be the vector's `x25519_shared_secrets`.
//! 3. The team keys' vectors (`sealdrop_crypto::vectors::team::ALL`): the core's check in wasm,
//!    and the JavaScript entry points (`verifyRoster`, `RecoveryCode.parse`,
//!    `RecoveryCode.unwrapAdminKey`) with the kinds they throw.

#![cfg(target_arch = "wasm32")]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use js_sys::Uint8Array;
use sha2::{Digest, Sha256};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

use sealdrop_crypto::vectors::team::{TeamCase, TeamVector};
use sealdrop_crypto::vectors::{self, Expect, Vector};
use sealdrop_crypto::{LinkSecret, RustCryptoAead, ServerSecret, X25519Identity};
use sealdrop_widget::{
    open_team_package_with_shares, verify_roster, Backend, FileEncryptor, OpenedPackageJs,
    RecoveryCodeJs, WidgetError,
};

wasm_bindgen_test_configure!(run_in_browser);

fn all_vectors() -> Vec<(&'static str, Vector)> {
    assert!(
        vectors::ALL.iter().any(|(n, _)| n.starts_with("ok_"))
            && vectors::ALL.iter().any(|(n, _)| n.starts_with("fail_")),
        "the vector set must hold both ok_ and fail_ vectors"
    );
    vectors::ALL
        .iter()
        .map(|(name, json)| {
            let vector = vectors::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            (*name, vector)
        })
        .collect()
}

#[wasm_bindgen_test]
fn every_vector_passes_with_the_core_check_on_rustcrypto_in_wasm() {
    let failures: Vec<String> = all_vectors()
        .iter()
        .filter_map(|(name, v)| {
            vectors::check(v, &RustCryptoAead)
                .err()
                .map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "vectors failed:\n{}",
        failures.join("\n")
    );
}

#[wasm_bindgen_test]
async fn every_vector_passes_through_the_webcrypto_bindings() {
    check_all(Backend::WebCrypto).await;
}

#[wasm_bindgen_test]
async fn every_vector_passes_through_the_rustcrypto_bindings() {
    check_all(Backend::RustCrypto).await;
}

async fn check_all(backend: Backend) {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, vector) in all_vectors() {
        if let Err(e) = check(&vector, backend).await {
            failures.push(format!("{name}: {e}"));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{backend:?}: vectors failed:\n{}",
        failures.join("\n")
    );
    assert_eq!(checked, vectors::ALL.len());
}

/// `vectors::check`, asynchronously, through the bindings on `backend`.
async fn check(vector: &Vector, backend: Backend) -> Result<(), String> {
    let outcome = perform(vector, backend).await?;
    match (vector.expect, outcome, &vector.error) {
        (Expect::Ok, Ok(()), _) => Ok(()),
        (Expect::Ok, Err((error, file)), _) => Err(format!(
            "expected success, got {} ({error}) in file {file:?}",
            error.kind()
        )),
        (Expect::Fail, Ok(()), _) => Err("expected a failure, but everything opened".into()),
        (Expect::Fail, Err(_), None) => Err("a fail vector must name its error".into()),
        (Expect::Fail, Err((error, file)), Some(expected)) => {
            let chunk = match error.kind() {
                "chunk_tampered" => error.chunk_index(),
                _ => None,
            };
            let got = (error.kind(), file, chunk);
            let want = (expected.kind.as_str(), expected.file, expected.chunk);
            if got == want {
                Ok(())
            } else {
                Err(format!("expected {want:?}, got {got:?} ({error})"))
            }
        }
    }
}

type Outcome = Result<(), (WidgetError, Option<usize>)>;

async fn perform(vector: &Vector, backend: Backend) -> Result<Outcome, String> {
    let manifest = decode(&vector.manifest)?;
    let opened = match vector.open_with.as_str() {
        "link" => {
            let c =
                LinkSecret::parse_b64u(need(&vector.link_secret)?).map_err(|e| e.to_string())?;
            let s = ServerSecret::parse_b64u(need(&vector.server_secret)?)
                .map_err(|e| e.to_string())?;
            OpenedPackageJs::with_link(&manifest, &c, &s, backend)
        }
        "x25519" => {
            let r = X25519Identity::parse_b64u(need(&vector.x25519_identity)?)
                .map_err(|e| e.to_string())?;
            OpenedPackageJs::with_identity(&manifest, &r, backend)
        }
        "team" => {
            let c =
                LinkSecret::parse_b64u(need(&vector.link_secret)?).map_err(|e| e.to_string())?;
            let identities = vector
                .x25519_identities
                .as_ref()
                .ok_or("vector lacks x25519_identities")?;
            let mut first = None;
            for text in identities {
                let r = X25519Identity::parse_b64u(text).map_err(|e| e.to_string())?;
                match OpenedPackageJs::with_team(&manifest, &r, &c, backend) {
                    Ok(opened) => {
                        first.get_or_insert(opened);
                    }
                    Err(e) => return Ok(Err((e, None))),
                }
            }
            // Every identity opened; go on with the first.
            Ok(first.ok_or("x25519_identities is empty")?)
        }
        other => return Err(format!("unknown open_with {other:?}")),
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(e) => return Ok(Err((e, None))),
    };
    if opened.metadata_ref() != &vector.metadata {
        return Err("decrypted metadata differs from the vector's".into());
    }
    if opened.file_count() != vector.files.len() {
        return Err("vector lists a different number of files than the manifest".into());
    }
    for (index, file) in vector.files.iter().enumerate() {
        let ciphertext = decode(&file.ciphertext)?;
        let dec = opened.decryptor(index).map_err(|e| e.to_string())?;
        if dec.backend() != backend.name() {
            return Err(format!(
                "decryptor runs on {}, not {backend:?}",
                dec.backend()
            ));
        }
        let plaintext = match dec.open_all(&Uint8Array::from(&ciphertext[..])).await {
            Ok(plaintext) => plaintext.to_vec(),
            Err(e) => return Ok(Err((e, Some(index)))),
        };
        let expected = match &file.plaintext {
            Some(text) => decode(text)?,
            None => vectors::pattern(file.plaintext_size as usize),
        };
        if plaintext != expected || hex::encode(Sha256::digest(&plaintext)) != file.plaintext_sha256
        {
            return Err(format!("file {index} decrypted to different bytes"));
        }
        if vector.expect == Expect::Ok {
            let key = opened.core().file_key(index).map_err(|e| e.to_string())?;
            let enc =
                FileEncryptor::new(key, file.plaintext_size, backend).map_err(|e| e.to_string())?;
            let again: Vec<u8> = common::encrypt_all(&enc, &plaintext).await.concat();
            if again != ciphertext {
                return Err(format!("re-encrypting file {index} gives different bytes"));
            }
        }
    }
    Ok(Ok(()))
}

#[wasm_bindgen_test]
async fn every_team_sealed_vector_opens_alike_with_webcrypto_device_keys() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, vector) in all_vectors() {
        if vector.open_with != "team" {
            continue;
        }
        checked += 1;
        if let Err(e) = check_with_webcrypto_keys(&vector).await {
            failures.push(format!("{name}: {e}"));
        }
    }
    assert!(checked >= 4, "the team-sealed package vectors are missing");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Opens a team-sealed vector with each identity as a WebCrypto key through
/// `openTeamPackageWithShares`; the outcome must be the vector's.
async fn check_with_webcrypto_keys(vector: &Vector) -> Result<(), String> {
    let manifest = decode(&vector.manifest)?;
    let link = need(&vector.link_secret)?;
    let identities = vector
        .x25519_identities
        .as_ref()
        .ok_or("vector lacks x25519_identities")?;
    let listed = vector
        .intermediate
        .as_ref()
        .and_then(|i| i.x25519_shared_secrets.clone());
    let want = match vector.expect {
        Expect::Ok => None,
        Expect::Fail => vector.error.as_ref().map(|e| e.kind.clone()),
    };
    for (index, text) in identities.iter().enumerate() {
        let identity = X25519Identity::parse_b64u(text).map_err(|e| e.to_string())?;
        let key = common::webcrypto_x25519::import(&*identity.to_bytes()).await;
        let shares = common::webcrypto_x25519::shares(&key, &manifest).await;
        if let Some(listed) = &listed {
            let computed: Vec<String> = shares
                .iter()
                .map(|s| URL_SAFE_NO_PAD.encode(Uint8Array::new(&s).to_vec()))
                .collect();
            if Some(&computed) != listed.get(index) {
                return Err(format!(
                    "deriveBits differs from x25519_shared_secrets[{index}]"
                ));
            }
        }
        let device_key = identity.recipient().to_b64u();
        let got = open_team_package_with_shares(&manifest, &device_key, shares, link, None)
            .map(|opened| {
                assert_eq!(opened.metadata_ref(), &vector.metadata);
            })
            .map_err(|e| common::kind_of(&e));
        match (&got, &want) {
            (Ok(()), None) => {}
            (Err(kind), Some(want)) if kind == want => {}
            _ => return Err(format!("expected {want:?}, got {got:?}")),
        }
    }
    Ok(())
}

fn team_vectors() -> Vec<(&'static str, TeamVector)> {
    vectors::team::ALL
        .iter()
        .map(|(name, json)| {
            let vector = vectors::team::parse(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            (*name, vector)
        })
        .collect()
}

#[wasm_bindgen_test]
fn every_team_vector_passes_with_the_core_check_in_wasm() {
    let all = team_vectors();
    assert!(all.len() >= 15, "the team vector set is incomplete");
    let failures: Vec<String> = all
        .iter()
        .filter_map(|(name, v)| {
            vectors::team::check(v, &RustCryptoAead)
                .err()
                .map(|e| format!("team/{name}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "team vectors failed:\n{}",
        failures.join("\n")
    );
}

#[wasm_bindgen_test]
fn every_team_vector_passes_through_the_javascript_entry_points() {
    let mut failures = Vec::new();
    for (name, vector) in team_vectors() {
        let outcome = team_binding_outcome(&vector);
        let expected = match vector.expect {
            Expect::Ok => None,
            Expect::Fail => vector.error.clone(),
        };
        match (outcome, expected) {
            (Ok(()), None) => {}
            (Err(kind), Some(want)) if kind == want => {}
            (got, want) => failures.push(format!("team/{name}: expected {want:?}, got {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs a team vector through the JavaScript-facing functions; `Err(kind)` as a page sees it.
fn team_binding_outcome(vector: &TeamVector) -> Result<(), String> {
    match &vector.case {
        TeamCase::Roster(case) => {
            let bytes = decode(&case.roster).expect("vector bytes");
            let highest = case.highest_sequence_seen.map(|n| n as f64);
            let roster = verify_roster(&bytes, &case.pinned_fingerprint, &case.tenant, highest)
                .map_err(|e| common::kind_of(&e))?;
            if let Some(expected) = &case.expected {
                let recipients: Vec<String> = roster
                    .recipients()
                    .iter()
                    .map(|r| r.as_string().expect("a string"))
                    .collect();
                assert_eq!(recipients, expected.recipients);
                assert_eq!(roster.sequence(), expected.sequence as f64);
                assert_eq!(
                    roster.admin_key_fingerprint(),
                    expected.admin_key_fingerprint
                );
                assert_eq!(roster.devices().length() as usize, expected.devices.len());
            }
            Ok(())
        }
        TeamCase::RecoveryCode(case) => {
            let code = RecoveryCodeJs::parse(&case.text).map_err(|e| common::kind_of(&e))?;
            if let Some(expected) = &case.expected {
                assert_eq!(code.text(), expected.canonical_text);
                assert_eq!(code.recovery_key(), expected.recovery_key);
            }
            Ok(())
        }
        TeamCase::AdminKey(case) => {
            let blob = decode(&case.blob).expect("vector bytes");
            let code = RecoveryCodeJs::parse(&case.recovery_code).expect("vector codes are valid");
            let key = code
                .unwrap_admin_key(&blob, Some(case.pinned_fingerprint.clone()))
                .map_err(|e| common::kind_of(&e))?;
            if let Some(expected) = &case.expected {
                assert_eq!(key.public_key(), expected.admin_key);
            }
            Ok(())
        }
    }
}

fn need(field: &Option<String>) -> Result<&str, String> {
    field
        .as_deref()
        .ok_or_else(|| "vector lacks a key field".to_string())
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "bad base64url in vector".to_string())
}
