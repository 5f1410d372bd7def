//! Property tests: round trips around chunk boundaries, multi-file packages, and "any single
//! bit flipped anywhere is rejected with the right error".

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use sealdrop_crypto::format::manifest::{FILE_ENTRY_SIZE, STANZAS_OFFSET};
use sealdrop_crypto::*;

const C: u64 = CHUNK_SIZE as u64;

/// Sizes at and around chunk boundaries: 0, 1, k*65536 - 1, k*65536, k*65536 + 1 ...
fn boundary_size() -> impl Strategy<Value = u64> {
    (0u64..=3, -2i64..=2)
        .prop_map(|(k, d)| (k * C).saturating_add_signed(d))
        .boxed()
        .prop_union((0u64..4 * C).boxed())
}

fn content(size: u64, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

struct Package {
    link: LinkSecret,
    server: ServerSecret,
    manifest: Vec<u8>,
    plaintexts: Vec<Vec<u8>>,
    ciphertexts: Vec<Vec<u8>>,
    metadata: Metadata,
    identity: Option<X25519Identity>,
}

fn make(sizes: &[u64], seed: u8, with_x25519: bool) -> Package {
    let rng = DeterministicRandom::new(&[seed]);
    let aead = default_aead();
    let id = PackageId::generate(&rng).unwrap();
    let link = LinkSecret::generate(&rng).unwrap();
    let server = ServerSecret::generate(&rng).unwrap();
    let mut builder = PackageBuilder::new(id, &rng).unwrap();
    let mut plaintexts = Vec::new();
    let mut ciphertexts = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let (_, key) = builder.add_file(size).unwrap();
        let pt = content(size, seed ^ i as u8);
        // Chunk by chunk through the streaming API, as a client does.
        let enc = StreamEncryptor::new(key, size).unwrap();
        let mut ct = Vec::new();
        let mut offset = 0;
        for index in 0..enc.chunk_count() {
            let plan = enc.plan(index).unwrap();
            ct.extend(
                enc.encrypt_chunk(aead, index, &pt[offset..offset + plan.plaintext_len])
                    .unwrap(),
            );
            offset += plan.plaintext_len;
        }
        assert_eq!(ct.len() as u64, ciphertext_size(size));
        plaintexts.push(pt);
        ciphertexts.push(ct);
    }
    builder.link_stanza(&link, &server);
    let identity = with_x25519.then(|| X25519Identity::generate(&rng).unwrap());
    if let Some(identity) = &identity {
        builder.x25519_stanza(&identity.recipient()).unwrap();
    }
    let metadata = Metadata {
        files: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| FileInfo {
                name: format!("f{i}"),
                size,
                media_type: "x/y".into(),
            })
            .collect(),
        message: Some("m".into()),
        sender: None,
    };
    let manifest = builder.build(aead, &metadata).unwrap();
    Package {
        link,
        server,
        manifest,
        plaintexts,
        ciphertexts,
        metadata,
        identity,
    }
}

/// What a flip of manifest byte `offset` must do to each opener: `None` means it must still
/// open (a stanza the opener does not use is not its business), otherwise the error kinds
/// allowed. Returns `(link opener, X25519 opener)`.
type Expectation = Option<&'static [&'static str]>;

fn expected(offset: usize, x25519: bool, files: usize, len: usize) -> (Expectation, Expectation) {
    const LINK_BODY: usize = STANZAS_OFFSET + 2;
    let x25519_type = LINK_BODY + 48;
    let table = if x25519 {
        x25519_type + 81
    } else {
        x25519_type
    };
    let entries = table + 2;
    let metadata_len = entries + files * FILE_ENTRY_SIZE;
    let both = |kinds: &'static [&'static str]| (Some(kinds), Some(kinds));
    match offset {
        0..=7 => both(&["invalid_manifest"]),
        8 => both(&["unsupported_version"]),
        9..=24 => (
            Some(&["wrong_link_or_server_secret"]),
            Some(&["no_usable_stanza"]),
        ),
        25..=56 => both(&["commitment_mismatch"]),
        STANZAS_OFFSET => both(&["invalid_manifest"]),
        o if o == LINK_BODY - 1 || (x25519 && o == x25519_type) => both(&["invalid_manifest"]),
        o if o < x25519_type => (Some(&["wrong_link_or_server_secret"]), None),
        o if o < table => (None, Some(&["no_usable_stanza", "low_order_point"])),
        o if o < entries => both(&["invalid_manifest", "metadata_tampered"]),
        o if o < metadata_len => {
            if (o - entries) % FILE_ENTRY_SIZE < 16 {
                both(&["metadata_tampered"])
            } else {
                both(&["invalid_manifest", "metadata_tampered"])
            }
        }
        o if o < metadata_len + 4 => both(&["invalid_manifest"]),
        o if o < len => both(&["metadata_tampered"]),
        _ => unreachable!("offset inside the manifest"),
    }
}

fn assert_outcome(
    result: Result<OpenedPackage, Error>,
    expectation: Expectation,
    package: &Package,
) -> Result<(), TestCaseError> {
    match (result, expectation) {
        (Ok(opened), None) => prop_assert_eq!(opened.metadata(), &package.metadata),
        (Err(e), None) => prop_assert!(false, "an unused stanza's flip broke opening: {:?}", e),
        (Ok(_), Some(kinds)) => prop_assert!(false, "flip accepted, expected one of {:?}", kinds),
        (Err(e), Some(kinds)) => prop_assert!(
            kinds.contains(&e.kind()),
            "got {:?}, allowed {:?}",
            e,
            kinds
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn stream_round_trips_around_chunk_boundaries(size in boundary_size(), seed in any::<u8>()) {
        let key = FileKey::from_bytes([seed; 32]);
        let pt = content(size, seed);
        let ct = encrypt_file(&RingAead, &key, &pt);
        prop_assert_eq!(ct.len() as u64, ciphertext_size(size));
        prop_assert_eq!(plaintext_size(ct.len() as u64), Ok(size));
        prop_assert_eq!(&encrypt_file(&RustCryptoAead, &key, &pt), &ct);
        prop_assert_eq!(decrypt_file(&RingAead, &key, &ct)?, pt.clone());
        prop_assert_eq!(decrypt_file(&RustCryptoAead, &key, &ct)?, pt);
    }

    #[test]
    fn multi_file_packages_round_trip(sizes in prop::collection::vec(boundary_size(), 0..5), seed in any::<u8>()) {
        let package = make(&sizes, seed, seed % 2 == 0);
        let manifest = Manifest::parse(&package.manifest)?;
        prop_assert_eq!(manifest.files().len(), sizes.len());
        for aead in [&RingAead as &dyn Aead, &RustCryptoAead] {
            let opened = manifest.open_with_link(aead, &package.link, &package.server)?;
            prop_assert_eq!(opened.metadata(), &package.metadata);
            for (i, (pt, ct)) in package.plaintexts.iter().zip(&package.ciphertexts).enumerate() {
                prop_assert_eq!(&opened.decrypt_file(aead, i, ct)?, pt);
            }
        }
    }

    #[test]
    fn any_manifest_bit_flip_is_rejected(
        files in 0usize..4,
        with_x25519 in any::<bool>(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let sizes: Vec<u64> = (0..files as u64).map(|i| i * 1000).collect();
        let package = make(&sizes, 7, with_x25519);
        let mut bytes = package.manifest.clone();
        let offset = position.index(bytes.len());
        bytes[offset] ^= 1 << bit;
        let (by_link, by_x25519) = expected(offset, with_x25519, files, bytes.len());
        let manifest = Manifest::parse(&bytes);
        let opened = manifest.clone().and_then(|m| m.open_with_link(default_aead(), &package.link, &package.server));
        assert_outcome(opened, by_link, &package)?;
        if let Some(identity) = &package.identity {
            let opened = manifest.and_then(|m| m.open_with_x25519(default_aead(), identity));
            assert_outcome(opened, by_x25519, &package)?;
        }
    }

    #[test]
    fn any_ciphertext_bit_flip_names_its_chunk(
        size in boundary_size(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let package = make(&[size], 3, false);
        let manifest = Manifest::parse(&package.manifest)?;
        let opened = manifest.open_with_link(default_aead(), &package.link, &package.server)?;
        let mut ct = package.ciphertexts[0].clone();
        let offset = position.index(ct.len());
        ct[offset] ^= 1 << bit;
        let index = (offset / ENCRYPTED_CHUNK_SIZE) as u64;
        for aead in [&RingAead as &dyn Aead, &RustCryptoAead] {
            prop_assert_eq!(opened.decrypt_file(aead, 0, &ct), Err(Error::ChunkTampered { index }));
            let decryptor = opened.file_decryptor(0)?;
            let plan = decryptor.plan(index)?;
            let start = index as usize * ENCRYPTED_CHUNK_SIZE;
            let chunk = &ct[start..start + plan.ciphertext_len];
            prop_assert_eq!(decryptor.decrypt_chunk(aead, index, chunk), Err(Error::ChunkTampered { index }));
        }
    }
}

#[test]
fn every_single_bit_flip_of_a_manifest_is_handled() {
    // Exhaustive companion of the property above, for one package with both stanza kinds.
    for (files, with_x25519) in [(0, false), (2, true)] {
        let sizes: Vec<u64> = (0..files as u64).map(|i| i * 70_000).collect();
        let package = make(&sizes, 9, with_x25519);
        for offset in 0..package.manifest.len() {
            for bit in 0..8 {
                let mut bytes = package.manifest.clone();
                bytes[offset] ^= 1 << bit;
                let (by_link, by_x25519) = expected(offset, with_x25519, files, bytes.len());
                let manifest = Manifest::parse(&bytes);
                let opened = manifest
                    .clone()
                    .and_then(|m| m.open_with_link(&RingAead, &package.link, &package.server));
                if let Err(e) = assert_outcome(opened, by_link, &package) {
                    panic!("link opener, bit {bit} of byte {offset}: {e}");
                }
                if let Some(identity) = &package.identity {
                    let opened = manifest.and_then(|m| m.open_with_x25519(&RingAead, identity));
                    if let Err(e) = assert_outcome(opened, by_x25519, &package) {
                        panic!("X25519 opener, bit {bit} of byte {offset}: {e}");
                    }
                }
            }
        }
    }
}
