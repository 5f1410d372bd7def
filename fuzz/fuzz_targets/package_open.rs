//! Opening a package and decrypting its file with attacker-controlled manifest and ciphertext.
//!
//! Input byte 0 picks a mode:
//! - even: the rest is a list of `(u16be offset, u8 xor)` edits applied to a valid package
//!   (`manifest || ciphertext`), which keeps the fuzzer near valid inputs. Whatever still opens
//!   and decrypts must give back exactly the original plaintext (no forgery).
//! - odd: the rest is `u16be manifest_len || manifest || ciphertext`, fully free-form.
//!
//! Never panics; both stanza kinds and both AEAD backends are exercised.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealdrop_crypto::*;

struct Fixture {
    link: LinkSecret,
    server: ServerSecret,
    identity: X25519Identity,
    manifest: Vec<u8>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rng = DeterministicRandom::new(b"sealdrop fuzz fixture");
        let aead = default_aead();
        let id = PackageId::generate(&rng).expect("deterministic random never fails");
        let link = LinkSecret::generate(&rng).expect("deterministic random never fails");
        let server = ServerSecret::generate(&rng).expect("deterministic random never fails");
        let identity = X25519Identity::generate(&rng).expect("deterministic random never fails");
        // Two chunks plus a short one: enough to reorder, drop and extend.
        let plaintext: Vec<u8> = (0..2 * CHUNK_SIZE + 300).map(|i| i as u8).collect();
        let mut builder = PackageBuilder::new(id, &rng).expect("deterministic random never fails");
        let (_, key) = builder.add_file(plaintext.len() as u64).expect("one small file fits");
        builder.link_stanza(&link, &server);
        builder.x25519_stanza(&identity.recipient()).expect("a generated recipient is not low order");
        let metadata = Metadata {
            files: vec![FileInfo { name: "f".into(), size: plaintext.len() as u64, media_type: "x/y".into() }],
            message: Some("fuzz".into()),
            sender: None,
        };
        let manifest = builder.build(aead, &metadata).expect("a valid package builds");
        let ciphertext = encrypt_file(aead, &key, &plaintext);
        Fixture { link, server, identity, manifest, plaintext, ciphertext }
    })
}

fn exercise(manifest: &[u8], ciphertext: &[u8], edited_valid: bool) {
    let f = fixture();
    let Ok(parsed) = Manifest::parse(manifest) else { return };
    for aead in [&RingAead as &dyn Aead, &RustCryptoAead] {
        let openings = [
            parsed.open_with_link(aead, &f.link, &f.server),
            parsed.open_with_x25519(aead, &f.identity),
        ];
        for opened in openings.into_iter().flatten() {
            for index in 0..opened.files().len() {
                if let Ok(plaintext) = opened.decrypt_file(aead, index, ciphertext) {
                    if edited_valid {
                        assert_eq!(plaintext, f.plaintext, "an altered package decrypted to other bytes");
                    }
                }
                // Chunk by chunk too, including out-of-range and wrong-length chunks.
                if let Ok(decryptor) = opened.file_decryptor(index) {
                    for (i, chunk) in ciphertext.chunks(ENCRYPTED_CHUNK_SIZE).enumerate().take(4) {
                        let _ = decryptor.decrypt_chunk(aead, i as u64, chunk);
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let f = fixture();
    if mode % 2 == 0 {
        let mut package = [f.manifest.as_slice(), &f.ciphertext].concat();
        for edit in rest.chunks_exact(3) {
            let offset = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % package.len();
            package[offset] ^= edit[2];
        }
        let (manifest, ciphertext) = package.split_at(f.manifest.len());
        exercise(manifest, ciphertext, true);
    } else if rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let (manifest, ciphertext) = rest[2..].split_at(len);
        exercise(manifest, ciphertext, false);
    }
});
