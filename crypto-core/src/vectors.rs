//! Test vectors of format v1: the data files under `crypto-core/tests/vectors/`, the code that
//! generates them (`cargo run -p sealdrop-crypto --example gen-vectors`) and the code that
//! performs one ([`check`]) with any [`Aead`] backend, natively or in the browser.
//!
//! Every vector is one JSON document ([`Vector`]); `ok_*.json` must open and decrypt to the
//! stated plaintexts, `fail_*.json` must fail with the stated [`Error::kind`]. All randomness
//! comes from [`DeterministicRandom`] seeded with the vector's `seed`, so regenerating gives
//! identical files (a test checks this).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::keys::{b64u_encode, LinkProof, LinkSecret, PackageId, PackageKey, ServerSecret};
use crate::manifest::{Manifest, FILE_ENTRY_SIZE, STANZAS_OFFSET};
use crate::metadata::{FileInfo, Metadata};
use crate::package::PackageBuilder;
use crate::provider::{Aead, DeterministicRandom, RustCryptoAead};
use crate::stanza::x25519::X25519Identity;
use crate::stanza::StanzaKind;
use crate::stream::{encrypt_file, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE};

/// `(name, contents)` of one file in `tests/vectors/`.
macro_rules! vector {
    ($name:literal) => {
        ($name, include_str!(concat!("../tests/vectors/", $name)))
    };
}

/// Every vector file, `(file name, JSON text)`, compiled in so that the wasm build can run
/// them in a browser. A native test checks this list against the directory.
pub const ALL: &[(&str, &str)] = &[
    vector!("fail_chunk_bit_flip.json"),
    vector!("fail_commitment_bit_flip.json"),
    vector!("fail_data_after_final_chunk.json"),
    vector!("fail_dropped_chunk.json"),
    vector!("fail_file_moved_between_packages.json"),
    vector!("fail_file_table_bit_flip.json"),
    vector!("fail_files_swapped.json"),
    vector!("fail_link_stanza_bit_flip.json"),
    vector!("fail_low_order_x25519_share.json"),
    vector!("fail_metadata_bit_flip.json"),
    vector!("fail_metadata_disagrees_with_file_table.json"),
    vector!("fail_missing_final_chunk.json"),
    vector!("fail_no_link_stanza.json"),
    vector!("fail_reordered_chunks.json"),
    vector!("fail_trailing_manifest_bytes.json"),
    vector!("fail_unknown_stanza_type.json"),
    vector!("fail_unsupported_version.json"),
    vector!("fail_wrong_link_secret.json"),
    vector!("fail_wrong_server_secret.json"),
    vector!("fail_x25519_stanza_bit_flip.json"),
    vector!("ok_empty_file.json"),
    vector!("ok_many_chunks.json"),
    vector!("ok_multi_file_with_message.json"),
    vector!("ok_one_byte.json"),
    vector!("ok_one_chunk.json"),
    vector!("ok_one_chunk_plus_one_byte.json"),
    vector!("ok_x25519_stanza.json"),
];

/// One test vector. Binary values are base64url without padding, hashes lower-case hex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// What the vector exercises.
    pub description: String,
    /// `"ok"` or `"fail"`.
    pub expect: Expect,
    /// For `"fail"`: the failure that must occur.
    pub error: Option<ExpectedError>,
    /// Seed of the [`DeterministicRandom`] stream the package was made with (UTF-8).
    pub seed: String,
    /// `b64u(package_id)`.
    pub package_id: String,
    /// How to open the package: `"link"` (with `link_secret` and `server_secret`) or
    /// `"x25519"` (with `x25519_identity`).
    pub open_with: String,
    /// `b64u(C)` to open with (for `fail_wrong_link_secret` not the one the package was made
    /// with).
    pub link_secret: Option<String>,
    /// `b64u(S)` to open with.
    pub server_secret: Option<String>,
    /// `b64u(r)` of the X25519 identity to open with.
    pub x25519_identity: Option<String>,
    /// Stanza kinds in the order the builder added them (`"link"`, `"x25519"`).
    pub stanzas: Vec<String>,
    /// The manifest bytes.
    pub manifest: String,
    /// The metadata the package was built with.
    pub metadata: Metadata,
    /// Each file's plaintext and ciphertext, in file-table order.
    pub files: Vec<VectorFile>,
    /// Values derived on the way, for implementers to debug against (`ok` vectors only).
    pub intermediate: Option<Intermediate>,
}

/// Whether a vector must succeed or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Must open and decrypt to the stated plaintexts.
    Ok,
    /// Must fail with the stated error.
    Fail,
}

/// The failure a `fail_*` vector must produce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// [`Error::kind`] of the failure.
    pub kind: String,
    /// Index of the file whose decryption fails, if the failure is in a file.
    pub file: Option<usize>,
    /// Index of the chunk, for `chunk_tampered`.
    pub chunk: Option<u64>,
}

/// One file of a vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// Plaintext size in bytes.
    pub plaintext_size: u64,
    /// The plaintext when it is at most 1 KiB; otherwise `null` and the plaintext is the
    /// pattern `byte[i] = i mod 251`.
    pub plaintext: Option<String>,
    /// `hex(SHA-256(plaintext))`.
    pub plaintext_sha256: String,
    /// The ciphertext the package holds for this file (possibly altered in `fail_*`).
    pub ciphertext: String,
}

/// Intermediate values of an `ok` vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intermediate {
    /// `b64u(K)`.
    pub package_key: String,
    /// `b64u(A)`, the link proof (when the package has a link).
    pub link_proof: Option<String>,
    /// `b64u(SHA-256(A))`.
    pub link_verifier: Option<String>,
    /// `b64u(Kf)` per file.
    pub file_keys: Vec<String>,
    /// `b64u` of the public file-table bytes (the metadata's associated data).
    pub public_file_table: String,
}

/// Performs `vector` with `aead`: parse and open the manifest, compare the metadata, decrypt
/// every file and compare it; for `ok` vectors also re-encrypt every file and rebuild the
/// manifest from the seed, and compare bytes. `Ok(())` when the vector's expectation holds.
pub fn check(vector: &Vector, aead: &dyn Aead) -> Result<(), String> {
    let outcome = perform(vector, aead)?;
    match (vector.expect, outcome, &vector.error) {
        (Expect::Ok, Ok(()), _) => Ok(()),
        (Expect::Ok, Err((error, file)), _) => Err(format!(
            "expected success, got {} ({error}) in {file:?}",
            error.kind()
        )),
        (Expect::Fail, Ok(()), _) => Err("expected a failure, but everything opened".into()),
        (Expect::Fail, Err(_), None) => Err("a fail vector must name its error".into()),
        (Expect::Fail, Err((error, file)), Some(expected)) => {
            let chunk = match error {
                Error::ChunkTampered { index } => Some(index),
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

/// Parses a vector file.
pub fn parse(json: &str) -> Result<Vector, String> {
    serde_json::from_str(json).map_err(|e| format!("bad vector JSON: {e}"))
}

/// The format-level outcome (`Err((error, file index))`), or a harness failure (`Err(String)`)
/// when something decrypted to the wrong bytes.
type Outcome = Result<(), (Error, Option<usize>)>;

fn perform(vector: &Vector, aead: &dyn Aead) -> Result<Outcome, String> {
    let manifest_bytes = decode(&vector.manifest)?;
    let manifest = match Manifest::parse(&manifest_bytes) {
        Ok(manifest) => manifest,
        Err(e) => return Ok(Err((e, None))),
    };
    let id = PackageId::parse_b64u(&vector.package_id).map_err(|e| e.to_string())?;
    if manifest.package_id() != id {
        return Err("manifest package id differs from package_id".into());
    }
    let opened = match vector.open_with.as_str() {
        "link" => {
            let c = LinkSecret::parse_b64u(need(&vector.link_secret, "link_secret")?)
                .map_err(|e| e.to_string())?;
            let s = ServerSecret::parse_b64u(need(&vector.server_secret, "server_secret")?)
                .map_err(|e| e.to_string())?;
            manifest.open_with_link(aead, &c, &s)
        }
        "x25519" => {
            let r = X25519Identity::parse_b64u(need(&vector.x25519_identity, "x25519_identity")?)
                .map_err(|e| e.to_string())?;
            manifest.open_with_x25519(aead, &r)
        }
        other => return Err(format!("unknown open_with {other:?}")),
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(e) => return Ok(Err((e, None))),
    };
    if opened.metadata() != &vector.metadata {
        return Err("decrypted metadata differs from the vector's".into());
    }
    if vector.files.len() != manifest.files().len() {
        return Err("vector lists a different number of files than the manifest".into());
    }
    for (index, file) in vector.files.iter().enumerate() {
        let ciphertext = decode(&file.ciphertext)?;
        let plaintext = match opened.decrypt_file(aead, index, &ciphertext) {
            Ok(plaintext) => plaintext,
            Err(e) => return Ok(Err((e, Some(index)))),
        };
        let expected = file_plaintext(file)?;
        if plaintext != expected || hex::encode(Sha256::digest(&plaintext)) != file.plaintext_sha256
        {
            return Err(format!("file {index} decrypted to different bytes"));
        }
        if vector.expect == Expect::Ok {
            let key = opened.file_key(index).map_err(|e| e.to_string())?;
            if encrypt_file(aead, &key, &plaintext) != ciphertext {
                return Err(format!("re-encrypting file {index} gives different bytes"));
            }
        }
    }
    if vector.expect == Expect::Ok && rebuild(vector, aead)? != manifest_bytes {
        return Err("rebuilding the manifest from the seed gives different bytes".into());
    }
    Ok(Ok(()))
}

/// Makes the package again from the seed, in the generator's order of random draws.
fn rebuild(vector: &Vector, aead: &dyn Aead) -> Result<Vec<u8>, String> {
    let inputs = Inputs::draw(&vector.seed).map_err(|e| e.to_string())?;
    if inputs.id.to_b64u() != vector.package_id {
        return Err("the seed does not give the vector's package id".into());
    }
    let sizes: Vec<u64> = vector.files.iter().map(|f| f.plaintext_size).collect();
    let kinds = vector
        .stanzas
        .iter()
        .map(|name| match name.as_str() {
            "link" => Ok(StanzaKind::Link),
            "x25519" => Ok(StanzaKind::X25519),
            other => Err(format!("unknown stanza {other:?}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mut builder, _) = inputs.build(&sizes, &kinds).map_err(|e| e.to_string())?;
    builder
        .build(aead, &vector.metadata)
        .map_err(|e| e.to_string())
}

fn need<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    field
        .as_deref()
        .ok_or_else(|| format!("vector lacks {name}"))
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "bad base64url in vector".to_string())
}

fn file_plaintext(file: &VectorFile) -> Result<Vec<u8>, String> {
    match &file.plaintext {
        Some(text) => decode(text),
        None => Ok(pattern(file.plaintext_size as usize)),
    }
}

/// `byte[i] = i mod 251`: the plaintext of files too large to list.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// The random draws every vector starts with, in order: package id (16 bytes), link secret
/// `C` (32), server secret `S` (32), X25519 identity `r` (32); then the builder draws `K` (32),
/// one salt (16) per file and one ephemeral secret (32) per X25519 stanza.
struct Inputs {
    rng: DeterministicRandom,
    id: PackageId,
    link: LinkSecret,
    server: ServerSecret,
    identity: X25519Identity,
}

impl Inputs {
    fn draw(seed: &str) -> Result<Self, Error> {
        let rng = DeterministicRandom::new(seed.as_bytes());
        let id = PackageId::generate(&rng)?;
        let link = LinkSecret::generate(&rng)?;
        let server = ServerSecret::generate(&rng)?;
        let identity = X25519Identity::generate(&rng)?;
        Ok(Inputs {
            rng,
            id,
            link,
            server,
            identity,
        })
    }

    fn build(
        &self,
        sizes: &[u64],
        kinds: &[StanzaKind],
    ) -> Result<(PackageBuilder<'_>, Vec<crate::stream::FileKey>), Error> {
        let mut builder = PackageBuilder::new(self.id, &self.rng)?;
        let mut keys = Vec::new();
        for &size in sizes {
            keys.push(builder.add_file(size)?.1);
        }
        for kind in kinds {
            match kind {
                StanzaKind::Link => {
                    builder.link_stanza(&self.link, &self.server);
                }
                StanzaKind::X25519 => {
                    builder.x25519_stanza(&self.identity.recipient())?;
                }
            }
        }
        Ok((builder, keys))
    }
}

/// Generates every vector file: `(file name, JSON text)`, sorted by name.
pub fn generate() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = generate_vectors()
        .into_iter()
        .map(|(name, vector)| {
            let mut json = serde_json::to_string_pretty(&vector)
                .expect("vectors hold only strings, numbers and lists");
            json.push('\n');
            (format!("{name}.json"), json)
        })
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
}

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
    ]
}

fn generate_vectors() -> Vec<(&'static str, Vector)> {
    cases()
        .into_iter()
        .map(|case| (case.name, make(&case)))
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

/// Makes a package for `sizes` from `seed` with the reference backend.
fn make_package(seed: &str, sizes: &[u64], stanzas: &[StanzaKind], message: Option<&str>) -> Made {
    let aead = &RustCryptoAead;
    let inputs = Inputs::draw(seed).expect("DeterministicRandom never fails");
    let (mut builder, keys) = inputs
        .build(sizes, stanzas)
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

fn make(case: &Case) -> Vector {
    let seed = format!("sealdrop/v1/test-vector/{}", case.name);
    let Made {
        inputs,
        mut manifest,
        mut metadata,
        mut plaintexts,
        mut ciphertexts,
        package_key,
        file_keys,
    } = make_package(&seed, case.sizes, case.stanzas, case.message);
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
            let foreign = make_package(seed, case.sizes, case.stanzas, None);
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
            let sealed = metadata
                .seal(
                    &RustCryptoAead,
                    &key,
                    &parsed.package_id(),
                    &parsed.public_file_table(),
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
        Intermediate {
            package_key: package_key.clone(),
            link_proof: has_link.then(|| proof.to_b64u()),
            link_verifier: has_link.then(|| proof.verifier().to_b64u()),
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
        open_with: case.open_with.name().to_owned(),
        link_secret: (case.open_with == StanzaKind::Link).then(|| link.to_b64u()),
        server_secret: (case.open_with == StanzaKind::Link).then(|| server.to_b64u()),
        x25519_identity: (case.open_with == StanzaKind::X25519).then(|| inputs.identity.to_b64u()),
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
