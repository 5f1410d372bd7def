//! Writes the test vectors: every case made from its seed with the reference backend
//! (`RustCryptoAead`), then altered as the case says. Compiled only with the `gen-vectors`
//! feature; `tests/vectors.rs` checks that it reproduces the files byte for byte.

use sha2::{Digest, Sha256};

use super::generate_team::{self, Fixture};
use super::{decode, pattern, Expect, ExpectedError, Inputs, Intermediate, Vector, VectorFile};
use crate::format::base64url::b64u_encode;
use crate::format::manifest::{FILE_ENTRY_SIZE, STANZAS_OFFSET};
use crate::format::{FileInfo, Manifest, Metadata, StanzaKind};
use crate::keys::{LinkProof, LinkSecret, PackageKey, ServerSecret};
use crate::provider::RustCryptoAead;
use crate::sealed_metadata;
use crate::stream::{encrypt_file, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};
use crate::wrap::x25519::{X25519Identity, X25519Recipient};

/// Generates every vector file: `(path, JSON text)`, sorted by path; paths are relative to
/// `tests/vectors/` (team vectors under `team/`).
pub fn generate() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = generate_vectors()
        .into_iter()
        .map(|(name, vector)| {
            let mut json = serde_json::to_string_pretty(&vector)
                .expect("vectors hold only strings, numbers and lists");
            json.push('\n');
            (format!("{name}.json"), json)
        })
        .chain(
            generate_team::generate()
                .into_iter()
                .map(|(name, json)| (format!("team/{name}"), json)),
        )
        .collect();
    out.sort();
    out
}

/// What to do to a freshly made package.
enum Mutation {
    None,
    FlipManifestBit { offset: usize, bit: u8 },
    AppendManifestByte,
    SetManifestByte { offset: usize, value: u8 },
    ReplaceManifestBytes { offset: usize, bytes: Vec<u8> },
    FlipCiphertextBit { file: usize, offset: usize },
    DropChunk { file: usize, chunk: usize },
    SwapChunks { file: usize, a: usize, b: usize },
    AppendCiphertext { file: usize, bytes: Vec<u8> },
    ForeignFile { file: usize, seed: &'static str },
    WrongLinkSecret,
    WrongServerSecret,
    SwapFileEntries { a: usize, b: usize },
    ResealMetadataWithWrongSize,
}

struct Case {
    name: &'static str,
    description: &'static str,
    sizes: &'static [u64],
    stanzas: &'static [StanzaKind],
    open_with: StanzaKind,
    message: Option<&'static str>,
    mutation: Mutation,
    error: Option<(&'static str, Option<usize>, Option<u64>)>,
    /// A team-sealed package: its stanzas go to the fixture team (`stanzas` lists one X25519
    /// stanza per recipient) and it is opened with `"team"`.
    team: Option<TeamPackage>,
}

/// How a team-sealed package vector is made and opened.
struct TeamPackage {
    /// Whether the metadata carries the link binding (a real sender's package does).
    link_binding: bool,
    /// Whether the fixture's members open it, or the vector's own non-member identity `r`.
    members_open: bool,
}

/// The fixture team's stanzas: three devices and the recovery key.
const TEAM: &[StanzaKind] = &[StanzaKind::X25519; 4];

const LINK: &[StanzaKind] = &[StanzaKind::Link];
const BOTH: &[StanzaKind] = &[StanzaKind::Link, StanzaKind::X25519];
const C: u64 = CHUNK_SIZE as u64;
/// Offset of the first stanza's body (after `stanza_count` and its type byte).
const FIRST_BODY: usize = STANZAS_OFFSET + 2;
/// An order-8 point of Curve25519 (RFC 7748 section 6.1 lists why such points must be refused).
const LOW_ORDER_POINT: [u8; 32] = [
    0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
    0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
];

fn cases() -> Vec<Case> {
    let ok = |name, description, sizes, stanzas, open_with, message| Case {
        name,
        description,
        sizes,
        stanzas,
        open_with,
        message,
        mutation: Mutation::None,
        error: None,
        team: None,
    };
    let fail = |name, description, sizes, mutation, error| Case {
        name,
        description,
        sizes,
        stanzas: LINK,
        open_with: StanzaKind::Link,
        message: None,
        mutation,
        error: Some(error),
        team: None,
    };
    vec![
        ok("ok_empty_file", "One empty file: a single final chunk of 0 bytes (16 bytes of ciphertext).", &[0], LINK, StanzaKind::Link, None),
        ok("ok_one_byte", "One 1-byte file.", &[1], LINK, StanzaKind::Link, None),
        ok("ok_one_chunk", "Exactly one full chunk (65 536 bytes), which is the final chunk.", &[C], LINK, StanzaKind::Link, None),
        ok("ok_one_chunk_plus_one_byte", "65 537 bytes: a full chunk, then a final chunk of 1 byte.", &[C + 1], LINK, StanzaKind::Link, None),
        ok("ok_many_chunks", "Three full chunks and a final chunk of 1000 bytes.", &[3 * C + 1000], LINK, StanzaKind::Link, None),
        ok(
            "ok_multi_file_with_message",
            "Three files (empty, 5 bytes, 1000 bytes) with a message and a sender.",
            &[0, 5, 1000],
            LINK,
            StanzaKind::Link,
            Some("Here are the documents ✓"),
        ),
        ok(
            "ok_x25519_stanza",
            "A link stanza and an X25519 stanza; opened with the X25519 identity.",
            &[100],
            BOTH,
            StanzaKind::X25519,
            None,
        ),
        fail(
            "fail_link_stanza_bit_flip",
            "One bit of the link stanza's body flipped.",
            &[10],
            Mutation::FlipManifestBit { offset: FIRST_BODY + 7, bit: 3 },
            ("wrong_link_or_server_secret", None, None),
        ),
        Case {
            name: "fail_x25519_stanza_bit_flip",
            description: "One bit of the X25519 stanza's wrapped key flipped; no other stanza is usable with the identity.",
            sizes: &[10],
            stanzas: BOTH,
            open_with: StanzaKind::X25519,
            message: None,
            mutation: Mutation::FlipManifestBit { offset: FIRST_BODY + 48 + 1 + 32 + 5, bit: 0 },
            error: Some(("no_usable_stanza", None, None)),
            team: None,
        },
        Case {
            name: "fail_low_order_x25519_share",
            description: "The X25519 stanza's ephemeral share E replaced by a low-order point.",
            sizes: &[10],
            stanzas: &[StanzaKind::X25519],
            open_with: StanzaKind::X25519,
            message: None,
            mutation: Mutation::ReplaceManifestBytes { offset: FIRST_BODY, bytes: LOW_ORDER_POINT.to_vec() },
            error: Some(("low_order_point", None, None)),
            team: None,
        },
        fail(
            "fail_commitment_bit_flip",
            "One bit of the key commitment flipped.",
            &[10],
            Mutation::FlipManifestBit { offset: 25 + 31, bit: 7 },
            ("commitment_mismatch", None, None),
        ),
        fail(
            "fail_metadata_bit_flip",
            "One bit of the metadata ciphertext flipped.",
            &[10],
            Mutation::FlipManifestBit { offset: usize::MAX, bit: 1 },
            ("metadata_tampered", None, None),
        ),
        fail(
            "fail_file_table_bit_flip",
            "One bit of the first file's salt flipped (the file table is the metadata's associated data).",
            &[10],
            Mutation::FlipManifestBit { offset: FIRST_BODY + 48 + 2, bit: 0 },
            ("metadata_tampered", None, None),
        ),
        fail(
            "fail_unsupported_version",
            "Version byte 0x02.",
            &[10],
            Mutation::SetManifestByte { offset: 8, value: 2 },
            ("unsupported_version", None, None),
        ),
        fail(
            "fail_unknown_stanza_type",
            "Stanza type byte 0x03.",
            &[10],
            Mutation::SetManifestByte { offset: STANZAS_OFFSET + 1, value: 3 },
            ("invalid_manifest", None, None),
        ),
        fail(
            "fail_trailing_manifest_bytes",
            "One byte appended after the metadata ciphertext.",
            &[10],
            Mutation::AppendManifestByte,
            ("invalid_manifest", None, None),
        ),
        fail(
            "fail_chunk_bit_flip",
            "One bit of the second chunk's ciphertext flipped.",
            &[C + 100],
            Mutation::FlipCiphertextBit { file: 0, offset: ENCRYPTED_CHUNK_SIZE + 50 },
            ("chunk_tampered", Some(0), Some(1)),
        ),
        fail(
            "fail_dropped_chunk",
            "The middle of three chunks removed; the file is shorter than the manifest says.",
            &[2 * C + 100],
            Mutation::DropChunk { file: 0, chunk: 1 },
            ("truncated_file", Some(0), None),
        ),
        fail(
            "fail_reordered_chunks",
            "The first two chunks swapped.",
            &[2 * C + 100],
            Mutation::SwapChunks { file: 0, a: 0, b: 1 },
            ("chunk_tampered", Some(0), Some(0)),
        ),
        fail(
            "fail_missing_final_chunk",
            "The final chunk removed.",
            &[C + 100],
            Mutation::DropChunk { file: 0, chunk: 1 },
            ("truncated_file", Some(0), None),
        ),
        fail(
            "fail_data_after_final_chunk",
            "Seventeen bytes appended after the final chunk.",
            &[C + 100],
            Mutation::AppendCiphertext { file: 0, bytes: vec![0xaa; 17] },
            ("trailing_data", Some(0), None),
        ),
        fail(
            "fail_file_moved_between_packages",
            "The file's ciphertext replaced by a same-size file of another package.",
            &[C + 100],
            Mutation::ForeignFile { file: 0, seed: "sealdrop/v1/test-vector/other-package" },
            ("chunk_tampered", Some(0), Some(0)),
        ),
        fail(
            "fail_files_swapped",
            "The two file-table entries swapped, and the ciphertexts with them.",
            &[5, 1000],
            Mutation::SwapFileEntries { a: 0, b: 1 },
            ("metadata_tampered", None, None),
        ),
        fail(
            "fail_metadata_disagrees_with_file_table",
            "Metadata sealed under the right key but naming a size that does not match the file table.",
            &[10],
            Mutation::ResealMetadataWithWrongSize,
            ("invalid_metadata", None, None),
        ),
        Case {
            name: "fail_no_link_stanza",
            description: "A package with only an X25519 stanza, opened with a link secret and server secret.",
            sizes: &[10],
            stanzas: &[StanzaKind::X25519],
            open_with: StanzaKind::Link,
            message: None,
            mutation: Mutation::None,
            error: Some(("no_usable_stanza", None, None)),
            team: None,
        },
        fail(
            "fail_wrong_link_secret",
            "Opened with a link secret other than the package's.",
            &[10],
            Mutation::WrongLinkSecret,
            ("wrong_link_or_server_secret", None, None),
        ),
        fail(
            "fail_wrong_server_secret",
            "Opened with a server secret other than the package's.",
            &[10],
            Mutation::WrongServerSecret,
            ("wrong_link_or_server_secret", None, None),
        ),
        Case {
            name: "ok_team_sealed",
            description: "A team-sealed package (no link stanza) for three devices and the recovery key; each of the four identities opens it from its link.",
            sizes: &[100, 0],
            stanzas: TEAM,
            open_with: StanzaKind::X25519,
            message: Some("Scans of the contract"),
            mutation: Mutation::None,
            error: None,
            team: Some(TeamPackage { link_binding: true, members_open: true }),
        },
        Case {
            name: "fail_team_sealed_non_member",
            description: "A team-sealed package opened with an identity that is not in the roster.",
            sizes: &[10],
            stanzas: TEAM,
            open_with: StanzaKind::X25519,
            message: None,
            mutation: Mutation::None,
            error: Some(("no_usable_stanza", None, None)),
            team: Some(TeamPackage { link_binding: true, members_open: false }),
        },
        Case {
            name: "fail_team_sealed_other_link",
            description: "A team-sealed package opened by its members from another link: the link binding differs.",
            sizes: &[10],
            stanzas: TEAM,
            open_with: StanzaKind::X25519,
            message: None,
            mutation: Mutation::WrongLinkSecret,
            error: Some(("link_binding_mismatch", None, None)),
            team: Some(TeamPackage { link_binding: true, members_open: true }),
        },
        Case {
            name: "fail_team_sealed_without_link_binding",
            description: "A package sealed to the team without a link binding (as anyone who knows the roster but not the link could make), opened by its members from the link.",
            sizes: &[10],
            stanzas: TEAM,
            open_with: StanzaKind::X25519,
            message: None,
            mutation: Mutation::None,
            error: Some(("link_binding_mismatch", None, None)),
            team: Some(TeamPackage { link_binding: false, members_open: true }),
        },
    ]
}

fn generate_vectors() -> Vec<(&'static str, Vector)> {
    let fixture = Fixture::new();
    cases()
        .into_iter()
        .map(|case| (case.name, make(&case, &fixture)))
        .collect()
}

/// A freshly made package and everything the vector reports about it.
struct Made {
    inputs: Inputs,
    manifest: Vec<u8>,
    metadata: Metadata,
    plaintexts: Vec<Vec<u8>>,
    ciphertexts: Vec<Vec<u8>>,
    package_key: String,
    file_keys: Vec<String>,
}

/// Makes a package for `sizes` from `seed` with the reference backend; a team package's
/// stanzas go to `recipients`.
fn make_package(
    seed: &str,
    sizes: &[u64],
    stanzas: &[StanzaKind],
    message: Option<&str>,
    recipients: Option<&[X25519Recipient]>,
    link_binding: bool,
) -> Made {
    let aead = &RustCryptoAead;
    let inputs = Inputs::draw(seed).expect("DeterministicRandom never fails");
    let (mut builder, keys) = inputs
        .build(sizes, stanzas, recipients, link_binding)
        .expect("the cases use valid sizes and recipients");
    let plaintexts: Vec<Vec<u8>> = sizes.iter().map(|&n| pattern(n as usize)).collect();
    let metadata = Metadata {
        files: sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| FileInfo {
                name: format!("file-{i}.bin"),
                size,
                media_type: "application/octet-stream".into(),
            })
            .collect(),
        message: message.map(str::to_owned),
        sender: message.map(|_| "agent@example.com".to_owned()),
    };
    let manifest = builder
        .build(aead, &metadata)
        .expect("the cases build valid packages");
    let ciphertexts = plaintexts
        .iter()
        .zip(&keys)
        .map(|(pt, key)| encrypt_file(aead, key, pt))
        .collect();
    let file_keys = keys
        .iter()
        .map(|k| b64u_encode(k.expose_for_backend()))
        .collect();
    let package_key = b64u_encode(builder.package_key().expose_bytes());
    drop(builder);
    Made {
        inputs,
        manifest,
        metadata,
        plaintexts,
        ciphertexts,
        package_key,
        file_keys,
    }
}

fn make(case: &Case, fixture: &Fixture) -> Vector {
    let seed = format!("sealdrop/v1/test-vector/{}", case.name);
    let recipients = case.team.as_ref().map(|_| fixture.recipients());
    let link_binding = case.team.as_ref().is_some_and(|t| t.link_binding);
    let Made {
        inputs,
        mut manifest,
        mut metadata,
        mut plaintexts,
        mut ciphertexts,
        package_key,
        file_keys,
    } = make_package(
        &seed,
        case.sizes,
        case.stanzas,
        case.message,
        recipients.as_deref(),
        link_binding,
    );
    let mut link = inputs.link.clone();
    let mut server = inputs.server.clone();
    match &case.mutation {
        Mutation::None => {}
        Mutation::FlipManifestBit { offset, bit } => {
            let offset = if *offset == usize::MAX {
                manifest.len() - 3
            } else {
                *offset
            };
            manifest[offset] ^= 1 << bit;
        }
        Mutation::AppendManifestByte => manifest.push(0),
        Mutation::SetManifestByte { offset, value } => manifest[*offset] = *value,
        Mutation::ReplaceManifestBytes { offset, bytes } => {
            manifest[*offset..*offset + bytes.len()].copy_from_slice(bytes);
        }
        Mutation::FlipCiphertextBit { file, offset } => ciphertexts[*file][*offset] ^= 0x10,
        Mutation::DropChunk { file, chunk } => {
            let start = chunk * ENCRYPTED_CHUNK_SIZE;
            let end = (start + ENCRYPTED_CHUNK_SIZE).min(ciphertexts[*file].len());
            ciphertexts[*file].drain(start..end);
        }
        Mutation::SwapChunks { file, a, b } => {
            let ct = &mut ciphertexts[*file];
            let e = ENCRYPTED_CHUNK_SIZE;
            let first = ct[a * e..(a + 1) * e].to_vec();
            let second = ct[b * e..(b + 1) * e].to_vec();
            ct[a * e..(a + 1) * e].copy_from_slice(&second);
            ct[b * e..(b + 1) * e].copy_from_slice(&first);
        }
        Mutation::AppendCiphertext { file, bytes } => ciphertexts[*file].extend_from_slice(bytes),
        Mutation::ForeignFile { file, seed } => {
            let foreign = make_package(seed, case.sizes, case.stanzas, None, None, false);
            ciphertexts[*file] = foreign.ciphertexts[*file].clone();
        }
        Mutation::WrongLinkSecret => link = LinkSecret::from_bytes([0x11; 32]),
        Mutation::WrongServerSecret => server = ServerSecret::from_bytes([0x22; 32]),
        Mutation::SwapFileEntries { a, b } => {
            // The table starts after the stanzas; entries follow `file_count`.
            let table =
                STANZAS_OFFSET + 1 + case.stanzas.iter().map(|k| 1 + k.body_len()).sum::<usize>();
            let entry = |i: usize| table + 2 + i * FILE_ENTRY_SIZE;
            let first = manifest[entry(*a)..entry(*a) + FILE_ENTRY_SIZE].to_vec();
            manifest.copy_within(entry(*b)..entry(*b) + FILE_ENTRY_SIZE, entry(*a));
            manifest[entry(*b)..entry(*b) + FILE_ENTRY_SIZE].copy_from_slice(&first);
            ciphertexts.swap(*a, *b);
            plaintexts.swap(*a, *b);
        }
        Mutation::ResealMetadataWithWrongSize => {
            // A buggy sender: the metadata is sealed correctly under K but names a size that
            // does not match file 0's ciphertext size.
            let key = PackageKey::from_bytes(
                decode(&package_key)
                    .ok()
                    .and_then(|k| k.try_into().ok())
                    .expect("the generator wrote a 32-byte key"),
            );
            let parsed = Manifest::parse(&manifest).expect("the generator wrote a valid manifest");
            metadata.files[0].size += 1;
            let sealed = sealed_metadata::seal(
                &RustCryptoAead,
                &key,
                &parsed.package_id(),
                &parsed.public_file_table(),
                &metadata,
                None,
            )
            .expect("small metadata seals");
            manifest = Manifest::from_parts(
                parsed.package_id(),
                *parsed.commitment(),
                parsed.stanzas().to_vec(),
                parsed.files().to_vec(),
                sealed,
            )
            .to_bytes();
        }
    }
    let has_link = case.stanzas.contains(&StanzaKind::Link);
    let intermediate = case.error.is_none().then(|| {
        let proof = LinkProof::derive(&inputs.link, &inputs.id);
        // A team-sealed package still has a link: its C gives the proof and the binding.
        let has_link = has_link || case.team.is_some();
        Intermediate {
            package_key: package_key.clone(),
            link_proof: has_link.then(|| proof.to_b64u()),
            link_verifier: has_link.then(|| proof.verifier().to_b64u()),
            link_binding: link_binding
                .then(|| b64u_encode(inputs.link.binding(&inputs.id).as_bytes())),
            x25519_shared_secrets: case.team.as_ref().map(|_| {
                let shares = Manifest::parse(&manifest)
                    .expect("ok vectors hold valid manifests")
                    .x25519_shares();
                fixture
                    .identities()
                    .iter()
                    .map(|r| {
                        shares
                            .iter()
                            .map(|e| {
                                let shared = r.agree(e).expect("fixture shares are not low order");
                                b64u_encode(shared.expose_bytes())
                            })
                            .collect()
                    })
                    .collect()
            }),
            file_keys: file_keys.clone(),
            public_file_table: b64u_encode(
                &Manifest::parse(&manifest)
                    .expect("ok vectors hold valid manifests")
                    .public_file_table(),
            ),
        }
    });
    Vector {
        description: case.description.to_owned(),
        expect: if case.error.is_some() {
            Expect::Fail
        } else {
            Expect::Ok
        },
        error: case.error.map(|(kind, file, chunk)| ExpectedError {
            kind: kind.to_owned(),
            file,
            chunk,
        }),
        seed,
        package_id: inputs.id.to_b64u(),
        open_with: if case.team.is_some() {
            "team".to_owned()
        } else {
            case.open_with.name().to_owned()
        },
        link_secret: (case.open_with == StanzaKind::Link || case.team.is_some())
            .then(|| link.to_b64u()),
        server_secret: (case.open_with == StanzaKind::Link).then(|| server.to_b64u()),
        x25519_identity: (case.open_with == StanzaKind::X25519 && case.team.is_none())
            .then(|| inputs.identity.to_b64u()),
        x25519_identities: case.team.as_ref().map(|team| {
            if team.members_open {
                fixture
                    .identities()
                    .iter()
                    .map(X25519Identity::to_b64u)
                    .collect()
            } else {
                vec![inputs.identity.to_b64u()]
            }
        }),
        x25519_recipients: recipients
            .as_ref()
            .map(|r| r.iter().map(X25519Recipient::to_b64u).collect()),
        stanzas: case.stanzas.iter().map(|k| k.name().to_owned()).collect(),
        manifest: b64u_encode(&manifest),
        metadata,
        files: plaintexts
            .iter()
            .zip(&ciphertexts)
            .map(|(pt, ct)| VectorFile {
                plaintext_size: pt.len() as u64,
                plaintext: (pt.len() <= 1024).then(|| b64u_encode(pt)),
                plaintext_sha256: hex::encode(Sha256::digest(pt)),
                ciphertext: b64u_encode(ct),
            })
            .collect(),
        intermediate,
    }
}
