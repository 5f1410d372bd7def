//! Package round trips and the failures a recipient must see.

// Test helpers panic on purpose: a failed setup step is a failed test.
#![allow(clippy::unwrap_used)]

use sealdrop_crypto::format::manifest::STANZAS_OFFSET;
use sealdrop_crypto::*;

struct Sent {
    id: PackageId,
    link: LinkSecret,
    server: ServerSecret,
    identity: X25519Identity,
    manifest: Vec<u8>,
    files: Vec<Vec<u8>>,
    ciphertexts: Vec<Vec<u8>>,
    metadata: Metadata,
}

fn send(sizes: &[usize]) -> Sent {
    let rng = DeterministicRandom::new(b"package tests");
    let aead = default_aead();
    let id = PackageId::generate(&rng).unwrap();
    let link = LinkSecret::generate(&rng).unwrap();
    let server = ServerSecret::generate(&rng).unwrap();
    let identity = X25519Identity::generate(&rng).unwrap();
    let mut builder = PackageBuilder::new(id, &rng).unwrap();
    let mut files = Vec::new();
    let mut ciphertexts = Vec::new();
    let mut infos = Vec::new();
    for (n, &size) in sizes.iter().enumerate() {
        let plaintext: Vec<u8> = (0..size).map(|i| (i * 7 + n) as u8).collect();
        let (index, key) = builder.add_file(size as u64).unwrap();
        assert_eq!(index, n);
        ciphertexts.push(encrypt_file(aead, &key, &plaintext));
        files.push(plaintext);
        infos.push(FileInfo {
            name: format!("file-{n}.bin"),
            size: size as u64,
            media_type: "application/octet-stream".into(),
        });
    }
    builder.link_stanza(&link, &server);
    builder.x25519_stanza(&identity.recipient()).unwrap();
    let metadata = Metadata {
        files: infos,
        message: Some("hi ✓".into()),
        sender: Some("agent@example.com".into()),
    };
    let manifest = builder.build(aead, &metadata).unwrap();
    Sent {
        id,
        link,
        server,
        identity,
        manifest,
        files,
        ciphertexts,
        metadata,
    }
}

#[test]
fn link_and_x25519_recipients_get_the_same_files() {
    let sent = send(&[0, 1, 65_536, 70_000]);
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    assert_eq!(manifest.package_id(), sent.id);
    assert_eq!(
        manifest.stanza_kinds(),
        vec![StanzaKind::Link, StanzaKind::X25519]
    );
    assert_eq!(manifest.to_bytes(), sent.manifest);
    for aead in [&RingAead as &dyn Aead, &RustCryptoAead] {
        let by_link = manifest
            .open_with_link(aead, &sent.link, &sent.server)
            .unwrap();
        let by_key = manifest.open_with_x25519(aead, &sent.identity).unwrap();
        for opened in [by_link, by_key] {
            assert_eq!(opened.metadata(), &sent.metadata);
            for (i, (pt, ct)) in sent.files.iter().zip(&sent.ciphertexts).enumerate() {
                assert_eq!(manifest.files()[i].ciphertext_size, ct.len() as u64);
                assert_eq!(&opened.decrypt_file(aead, i, ct).unwrap(), pt);
            }
            assert_eq!(
                opened.file_key(4).unwrap_err(),
                Error::NoSuchFile { index: 4 }
            );
        }
    }
}

#[test]
fn a_sealed_package_opens_to_the_file_keys_its_sender_kept() {
    let rng = DeterministicRandom::new(b"seal_package");
    let aead = default_aead();
    let id = PackageId::generate(&rng).unwrap();
    let server = ServerSecret::generate(&rng).unwrap();
    let identity = X25519Identity::generate(&rng).unwrap();
    let metadata = Metadata {
        files: [0u64, 5, 70_000]
            .iter()
            .enumerate()
            .map(|(i, &size)| FileInfo {
                name: format!("f{i}"),
                size,
                media_type: "application/octet-stream".into(),
            })
            .collect(),
        message: Some("hello".into()),
        sender: None,
    };
    let sealed = seal_package(aead, &rng, id, &server, &metadata, &[identity.recipient()]).unwrap();
    assert_eq!(sealed.id, id);
    let manifest = Manifest::parse(&sealed.manifest).unwrap();
    assert_eq!(
        manifest.stanza_kinds(),
        vec![StanzaKind::Link, StanzaKind::X25519]
    );
    let by_link = manifest
        .open_with_link(aead, &sealed.link_secret, &server)
        .unwrap();
    let by_key = manifest.open_with_x25519(aead, &identity).unwrap();
    for opened in [by_link, by_key] {
        assert_eq!(opened.metadata(), &metadata);
        assert_eq!(sealed.file_keys.len(), 3);
        for (i, kept) in sealed.file_keys.iter().enumerate() {
            let plaintext = vec![7u8; metadata.files[i].size as usize];
            let ciphertext = encrypt_file(aead, kept, &plaintext);
            assert_eq!(
                opened.decrypt_file(aead, i, &ciphertext).unwrap(),
                plaintext
            );
        }
    }
}

#[test]
fn wrong_secrets_and_identities_are_rejected() {
    let sent = send(&[10]);
    let manifest = Manifest::parse(&sent.manifest).unwrap();
    let aead = default_aead();
    let other = LinkSecret::from_bytes([1; 32]);
    assert_eq!(
        manifest
            .open_with_link(aead, &other, &sent.server)
            .unwrap_err(),
        Error::WrongLinkOrServerSecret
    );
    let other = ServerSecret::from_bytes([1; 32]);
    assert_eq!(
        manifest
            .open_with_link(aead, &sent.link, &other)
            .unwrap_err(),
        Error::WrongLinkOrServerSecret
    );
    let stranger = X25519Identity::parse_b64u(&LinkSecret::from_bytes([5; 32]).to_b64u()).unwrap();
    assert_eq!(
        manifest.open_with_x25519(aead, &stranger).unwrap_err(),
        Error::NoUsableStanza
    );
}

#[test]
fn low_order_recipients_and_shares_are_rejected() {
    // An order-8 point on Curve25519 (RFC 7748 section 6.1, also listed by libsodium).
    let low: [u8; 32] =
        hex_bytes("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
    let rng = DeterministicRandom::new(b"low order");
    let mut builder = PackageBuilder::new(PackageId::from_bytes([0; 16]), &rng).unwrap();
    for point in [low, [0; 32]] {
        let err = builder
            .x25519_stanza(&X25519Recipient::from_bytes(point))
            .unwrap_err();
        assert_eq!(err, Error::LowOrderPoint);
    }
    let sent = send(&[1]);
    let mut bytes = sent.manifest.clone();
    let share = STANZAS_OFFSET + 1 + 49 + 1;
    bytes[share..share + 32].copy_from_slice(&low);
    let manifest = Manifest::parse(&bytes).unwrap();
    assert_eq!(
        manifest
            .open_with_x25519(default_aead(), &sent.identity)
            .unwrap_err(),
        Error::LowOrderPoint
    );
}

#[test]
fn builder_checks_metadata_and_stanzas() {
    let rng = DeterministicRandom::new(b"builder");
    let aead = default_aead();
    let mut builder = PackageBuilder::new(PackageId::from_bytes([0; 16]), &rng).unwrap();
    builder.add_file(3).unwrap();
    let metadata = Metadata {
        files: vec![FileInfo {
            name: "a".into(),
            size: 3,
            media_type: "text/plain".into(),
        }],
        ..Metadata::default()
    };
    assert_eq!(
        builder.build(aead, &metadata).unwrap_err(),
        Error::InvalidManifest("stanza count must be 1 to 16")
    );
    builder.link_stanza(
        &LinkSecret::from_bytes([1; 32]),
        &ServerSecret::from_bytes([2; 32]),
    );
    let wrong_size = Metadata {
        files: vec![FileInfo {
            name: "a".into(),
            size: 4,
            media_type: "text/plain".into(),
        }],
        ..Metadata::default()
    };
    assert!(matches!(
        builder.build(aead, &wrong_size),
        Err(Error::InvalidMetadata(_))
    ));
    assert!(matches!(
        builder.build(aead, &Metadata::default()),
        Err(Error::InvalidMetadata(_))
    ));
    let manifest = builder.build(aead, &metadata).unwrap();
    // Same metadata again: same bytes (same key, nonce and plaintext). Other metadata would
    // reuse the metadata key's fixed nonce with a different plaintext, so it is refused.
    assert_eq!(builder.build(aead, &metadata).unwrap(), manifest);
    let other = Metadata {
        message: Some("changed".into()),
        ..metadata.clone()
    };
    assert_eq!(
        builder.build(aead, &other).unwrap_err(),
        Error::MetadataAlreadySealed
    );
    assert_eq!(
        builder.add_file(1).unwrap_err(),
        Error::MetadataAlreadySealed
    );
}

#[test]
fn structural_errors_name_the_rule() {
    let sent = send(&[1, 2]);
    let good = sent.manifest;
    let parse = |b: &[u8]| Manifest::parse(b).unwrap_err();
    assert_eq!(
        parse(&good[..good.len() - 1]),
        Error::InvalidManifest("truncated")
    );
    assert_eq!(
        parse(&[good.as_slice(), b"\0"].concat()),
        Error::InvalidManifest("bytes after the metadata")
    );
    let mut bad = good.clone();
    bad[8] = 2;
    assert_eq!(parse(&bad), Error::UnsupportedVersion(2));
    let mut bad = good.clone();
    bad[0] = b's';
    assert_eq!(
        parse(&bad),
        Error::InvalidManifest("not a sealdrop manifest (bad magic)")
    );
    let mut bad = good.clone();
    bad[STANZAS_OFFSET] = 0;
    assert_eq!(
        parse(&bad),
        Error::InvalidManifest("stanza count must be 1 to 16")
    );
    let mut bad = good.clone();
    bad[STANZAS_OFFSET + 1] = 9;
    assert_eq!(parse(&bad), Error::InvalidManifest("unknown stanza type"));
    // Second file gets the first file's salt.
    let table = STANZAS_OFFSET + 1 + 49 + 81 + 2;
    let mut bad = good.clone();
    bad.copy_within(table..table + 16, table + 24);
    assert_eq!(
        parse(&bad),
        Error::InvalidManifest("two files share a salt")
    );
    let mut bad = good.clone();
    bad[table + 16..table + 24].copy_from_slice(&5u64.to_be_bytes());
    assert_eq!(
        parse(&bad),
        Error::InvalidManifest("a file has an impossible ciphertext size")
    );
    assert!(Manifest::parse(&vec![0; MAX_MANIFEST_SIZE + 1]).is_err());
}

fn hex_bytes(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}
