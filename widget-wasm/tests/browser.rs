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
    assert_eq!(sealdrop_crypto::PART_SIZE, 8_390_656);
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

/// Team keys through the JavaScript entry points: an admin signs a roster, the widget verifies
/// it and seals to it, agents open with device keys, the server's secret opens nothing, a
/// removed agent is re-wrapped out, and the recovery code gives the admin key back.
#[wasm_bindgen_test]
async fn a_team_upload_round_trips_through_the_bindings() {
    use js_sys::{Reflect, JSON};
    use sealdrop_widget::team::{
        assemble_roster, device_key_fingerprint, generate_device_identity, roster_signing_input,
        verify_roster, AdminKeyJs, RecoveryCodeJs,
    };
    use sealdrop_widget::{inspect_manifest, open_package, open_team_package, PackageSealer};
    use wasm_bindgen::JsValue;

    let get = |obj: &JsValue, key: &str| Reflect::get(obj, &key.into()).expect("a member");
    let device = || {
        let made: JsValue = generate_device_identity().expect("random").into();
        let identity = Uint8Array::from(get(&made, "identity")).to_vec();
        let key = get(&made, "deviceKey").as_string().expect("a string");
        (identity, key)
    };
    let admin = AdminKeyJs::generate().expect("random");
    let code = RecoveryCodeJs::generate().expect("random");
    let (alice, alice_key) = device();
    let (bob, bob_key) = device();
    let content = |sequence: u32, bob_too: bool| {
        let bob = format!(r#",{{"deviceKey":"{bob_key}","userId":42,"label":"Bob"}}"#);
        JSON::parse(&format!(
            r#"{{"tenant":"acme","sequence":{sequence},"issuedAt":1767225600,"recoveryKey":"{}","devices":[{{"deviceKey":"{alice_key}","userId":"372611045113","label":"Alice"}}{}]}}"#,
            code.recovery_key(),
            if bob_too { bob.as_str() } else { "" },
        ))
        .expect("valid JSON")
    };

    // The admin signs; a WebCrypto signer would sign rosterSigningInput and assemble the same.
    let signed = admin
        .sign_roster(content(1, true))
        .expect("valid content")
        .to_vec();
    let input = roster_signing_input(&admin.public_key(), content(1, true)).expect("valid");
    assert!(input.to_vec().starts_with(b"sealdrop/v1/roster"));
    let assembled = assemble_roster(
        &admin.public_key(),
        content(1, true),
        &signed[signed.len() - 64..],
    )
    .expect("valid");
    assert_eq!(assembled.to_vec(), signed);

    // The widget verifies against the snippet's pin and seals.
    let roster = verify_roster(&signed, &admin.fingerprint(), "acme", None).expect("verifies");
    assert_eq!(roster.recipients().length(), 3);
    let fingerprints: Vec<String> = roster
        .devices()
        .iter()
        .map(|d| get(&d, "fingerprint").as_string().expect("a string"))
        .collect();
    let alice_fingerprint: JsValue = device_key_fingerprint(&alice_key, "372611045113")
        .expect("valid")
        .into();
    assert!(fingerprints.contains(&get(&alice_fingerprint, "display").as_string().expect("s")));
    let options = JSON::parse(r#"{"files":[{"name":"a.txt","size":5,"type":"text/plain"}]}"#)
        .expect("valid JSON");
    let id = common::package_id().to_b64u();
    let sealer = PackageSealer::for_team(&id, &roster, options).expect("seals");
    let chunks = common::encrypt_all(&sealer.encryptor(0).expect("file 0"), b"hello").await;
    let manifest = sealer.manifest_bytes().to_vec();
    let public: JsValue = inspect_manifest(&manifest).expect("parses").into();
    assert_eq!(get(&public, "teamSealed").as_bool(), Some(true));

    // Agents open with their device keys; the server's S with the ticket's link opens nothing.
    let link = sealer.link_secret();
    for identity in [&alice, &bob] {
        let opened = open_team_package(&manifest, identity, &link, None).expect("a member");
        let back = common::decrypt_all(&opened.decryptor(0).expect("file 0"), &chunks)
            .await
            .expect("decrypts");
        assert_eq!(back, b"hello");
    }
    let server = common::server_secret().to_b64u();
    let err = open_package(&manifest, &link, &server, None).expect_err("no link stanza");
    assert_eq!(common::kind_of(&err), "no_usable_stanza");

    // Bob is removed: roster 2, and the admin re-wraps with the recovery code.
    let signed2 = admin
        .sign_roster(content(2, false))
        .expect("valid")
        .to_vec();
    let err = verify_roster(&signed, &admin.fingerprint(), "acme", Some(2.0)).expect_err("old");
    assert_eq!(common::kind_of(&err), "roster_rolled_back");
    let roster2 = verify_roster(&signed2, &admin.fingerprint(), "acme", Some(1.0)).expect("ok");
    let typed = RecoveryCodeJs::parse(&code.text().to_lowercase()).expect("the printed code");
    let rewrapped = typed
        .rewrap_package(&manifest, &roster2)
        .expect("re-wraps")
        .to_vec();
    let err = open_team_package(&rewrapped, &bob, &link, None).expect_err("removed");
    assert_eq!(common::kind_of(&err), "no_usable_stanza");
    open_team_package(&rewrapped, &alice, &link, None).expect("still a member");

    // The wrapped admin key comes back with the code, and only with the pinned fingerprint.
    let blob = code.wrap_admin_key(&admin).expect("wraps").to_vec();
    let again = typed
        .unwrap_admin_key(&blob, Some(admin.fingerprint()))
        .expect("unwraps");
    assert_eq!(again.public_key(), admin.public_key());
    let other = AdminKeyJs::generate().expect("random");
    let err = typed
        .unwrap_admin_key(&blob, Some(other.fingerprint()))
        .expect_err("another pin");
    assert_eq!(common::kind_of(&err), "admin_key_mismatch");
}

/// A device key that wasm never holds: a non-extractable WebCrypto X25519 key opens a
/// team-sealed package through `openTeamPackageWithShares` and re-wraps it to a new roster
/// through `rewrapTeamPackageWithShares`; a device the new roster drops can no longer open it.
#[wasm_bindgen_test]
async fn a_webcrypto_device_key_opens_and_rewraps_a_team_package() {
    use js_sys::JSON;
    use sealdrop_widget::team::{
        generate_device_identity, rewrap_team_package_with_shares, verify_roster, AdminKeyJs,
        RecoveryCodeJs,
    };
    use sealdrop_widget::{open_team_package, open_team_package_with_shares, PackageSealer};
    use wasm_bindgen::JsValue;

    let (device, device_key) = common::webcrypto_x25519::generate().await;
    let other: JsValue = generate_device_identity().expect("random").into();
    let other_identity =
        Uint8Array::from(js_sys::Reflect::get(&other, &"identity".into()).expect("member"))
            .to_vec();
    let other_key = js_sys::Reflect::get(&other, &"deviceKey".into())
        .expect("member")
        .as_string()
        .expect("text");
    let admin = AdminKeyJs::generate().expect("random");
    let code = RecoveryCodeJs::generate().expect("random");
    let roster = |sequence: u32, keys: &[&str]| {
        let devices: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    r#"{{"deviceKey":"{k}","userId":{},"label":"browser {i}"}}"#,
                    100 + i
                )
            })
            .collect();
        let content = JSON::parse(&format!(
            r#"{{"tenant":"acme","sequence":{sequence},"issuedAt":1767225600,"recoveryKey":"{}","devices":[{}]}}"#,
            code.recovery_key(),
            devices.join(",")
        ))
        .expect("valid JSON");
        let bytes = admin.sign_roster(content).expect("signs").to_vec();
        verify_roster(&bytes, &admin.fingerprint(), "acme", None).expect("verifies")
    };

    let first = roster(1, &[device_key.as_str(), other_key.as_str()]);
    let options = JSON::parse(r#"{"files":[{"name":"a.txt","size":5,"type":"text/plain"}]}"#)
        .expect("valid JSON");
    let sealer =
        PackageSealer::for_team(&common::package_id().to_b64u(), &first, options).expect("seals");
    let chunks = common::encrypt_all(&sealer.encryptor(0).expect("file 0"), b"hello").await;
    let manifest = sealer.manifest_bytes().to_vec();
    let link = sealer.link_secret();

    let shares = common::webcrypto_x25519::shares(&device, &manifest).await;
    assert_eq!(shares.length(), 3, "two devices and the recovery key");
    let opened = open_team_package_with_shares(&manifest, &device_key, shares, &link, None)
        .expect("the WebCrypto device is a recipient");
    let back = common::decrypt_all(&opened.decryptor(0).expect("file 0"), &chunks)
        .await
        .expect("decrypts");
    assert_eq!(back, b"hello");

    // Wrong counts and wrong sizes are the page's mistake, said so.
    let err =
        open_team_package_with_shares(&manifest, &device_key, js_sys::Array::new(), &link, None)
            .expect_err("no shares");
    assert_eq!(common::kind_of(&err), "invalid_argument");

    // The admin's WebCrypto device re-wraps to a roster without the other device.
    let second = roster(2, &[device_key.as_str()]);
    let shares = common::webcrypto_x25519::shares(&device, &manifest).await;
    let rewrapped = rewrap_team_package_with_shares(&manifest, &device_key, shares, &second)
        .expect("re-wraps")
        .to_vec();
    let err = open_team_package(&rewrapped, &other_identity, &link, None).expect_err("dropped");
    assert_eq!(common::kind_of(&err), "no_usable_stanza");
    let shares = common::webcrypto_x25519::shares(&device, &rewrapped).await;
    open_team_package_with_shares(&rewrapped, &device_key, shares, &link, None)
        .expect("still a recipient");
}
