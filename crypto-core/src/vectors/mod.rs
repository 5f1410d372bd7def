//! Test vectors of format v1: the data files under `crypto-core/tests/vectors/` and the code that
//! performs one ([`check`]) with any [`Aead`] backend, natively or in the browser. The code that
//! generates them (`generate`, `cargo run -p sealdrop-crypto --features gen-vectors --example
//! gen-vectors`) is compiled only with the `gen-vectors` feature.
//!
//! Every vector is one JSON document ([`Vector`]); `ok_*.json` must open and decrypt to the
//! stated plaintexts, `fail_*.json` must fail with the stated [`Error::kind`]. All randomness
//! comes from [`DeterministicRandom`] seeded with the vector's `seed`, so regenerating gives
//! identical files (a test checks this).
//!
//! Team keys' vectors that are not packages (rosters, recovery codes, wrapped admin keys) live
//! in `tests/vectors/team/` with their own schema: [`team`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::format::{Manifest, Metadata, PackageId, StanzaKind};
use crate::keys::{LinkSecret, ServerSecret};
use crate::provider::{Aead, DeterministicRandom};
use crate::seal::PackageBuilder;
use crate::stream::{encrypt_file, FileKey};
use crate::wrap::x25519::{X25519Identity, X25519Recipient, X25519SharedSecret};

pub mod team;

#[cfg(feature = "gen-vectors")]
mod generate;
#[cfg(feature = "gen-vectors")]
mod generate_team;
#[cfg(feature = "gen-vectors")]
pub use generate::generate;

/// `(name, contents)` of one file in `tests/vectors/`.
macro_rules! vector {
    ($name:literal) => {
        ($name, include_str!(concat!("../../tests/vectors/", $name)))
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
    vector!("fail_team_sealed_non_member.json"),
    vector!("fail_team_sealed_other_link.json"),
    vector!("fail_team_sealed_without_link_binding.json"),
    vector!("ok_team_sealed.json"),
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
    /// How to open the package: `"link"` (with `link_secret` and `server_secret`),
    /// `"x25519"` (with `x25519_identity`) or `"team"` (a team-sealed package opened from its
    /// link: with each of `x25519_identities`, the link binding checked against `link_secret`).
    pub open_with: String,
    /// `b64u(C)` to open with (for `fail_wrong_link_secret` not the one the package was made
    /// with).
    pub link_secret: Option<String>,
    /// `b64u(S)` to open with.
    pub server_secret: Option<String>,
    /// `b64u(r)` of the X25519 identity to open with.
    pub x25519_identity: Option<String>,
    /// `b64u(r)` of every identity that opens the package, for `open_with: "team"`; each must
    /// give the stated outcome. Absent in other vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_identities: Option<Vec<String>>,
    /// `b64u(R)` of each X25519 stanza's recipient, in stanza order, when they are not all
    /// `x25519_identity`'s (team-sealed packages). Absent in other vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_recipients: Option<Vec<String>>,
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
    /// `b64u(L)`, the link binding in a team-sealed package's metadata. Absent in others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_binding: Option<String>,
    /// `b64u(X25519(r, E))` for each of `x25519_identities` (outer list, in that order) and
    /// each X25519 stanza's share `E` (inner list, stanza order): what a device key held outside
    /// the core computes to open the package (docs/FORMAT.md §20.5). Team vectors only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x25519_shared_secrets: Option<Vec<Vec<String>>>,
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
        "team" => {
            let c = LinkSecret::parse_b64u(need(&vector.link_secret, "link_secret")?)
                .map_err(|e| e.to_string())?;
            let identities = vector
                .x25519_identities
                .as_ref()
                .filter(|ids| !ids.is_empty())
                .ok_or("vector lacks x25519_identities")?;
            // Every identity must open (or fail) alike; the first outcome that differs from
            // success is the vector's outcome.
            let listed = vector
                .intermediate
                .as_ref()
                .and_then(|i| i.x25519_shared_secrets.as_ref());
            let mut first = None;
            for (index, text) in identities.iter().enumerate() {
                let r = X25519Identity::parse_b64u(text).map_err(|e| e.to_string())?;
                if let Some(listed) = listed {
                    let shares = listed
                        .get(index)
                        .ok_or("x25519_shared_secrets lacks an identity")?;
                    open_with_listed_shares(aead, &manifest, &r, shares, &c)?;
                }
                match manifest.open_team(aead, &r, &c) {
                    Ok(opened) => {
                        first.get_or_insert(opened);
                    }
                    Err(e) => return Ok(Err((e, None))),
                }
            }
            Ok(first.expect("at least one identity was tried"))
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

/// Checks that `listed` is `X25519(r, E)` for every stanza's `E`, and that the package opens
/// with those values alone, as a device key held outside the core opens it (§20.5).
fn open_with_listed_shares(
    aead: &dyn Aead,
    manifest: &Manifest,
    identity: &X25519Identity,
    listed: &[String],
    link: &LinkSecret,
) -> Result<(), String> {
    let shares = manifest.x25519_shares();
    if listed.len() != shares.len() {
        return Err("x25519_shared_secrets must list one value per X25519 stanza".into());
    }
    let mut secrets = Vec::new();
    for (share, text) in shares.iter().zip(listed) {
        let bytes: [u8; 32] = decode(text)?
            .try_into()
            .map_err(|_| "a shared secret is 32 bytes".to_string())?;
        let computed = identity
            .agree(share)
            .ok_or("an ok vector has no low-order share")?;
        if computed.expose_bytes() != &bytes {
            return Err("x25519_shared_secrets differs from X25519(r, E)".into());
        }
        secrets.push((*share, bytes));
    }
    let mut agree = |e: &[u8; 32]| {
        secrets
            .iter()
            .find(|(share, _)| share == e)
            .map(|(_, bytes)| X25519SharedSecret::from_bytes(*bytes))
    };
    manifest
        .open_team_with_agreement(aead, &identity.recipient(), &mut agree, link)
        .map(drop)
        .map_err(|e| format!("opening with the listed shared secrets: {e}"))
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
    let recipients = vector
        .x25519_recipients
        .as_ref()
        .map(|keys| {
            keys.iter()
                .map(|k| X25519Recipient::parse_b64u(k))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| e.to_string())?;
    let link_binding = vector.open_with == "team";
    let (mut builder, _) = inputs
        .build(&sizes, &kinds, recipients.as_deref(), link_binding)
        .map_err(|e| e.to_string())?;
    builder
        .build(aead, &vector.metadata)
        .map_err(|e| e.to_string())
}

fn need<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    field
        .as_deref()
        .ok_or_else(|| format!("vector lacks {name}"))
}

pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
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
/// one salt (16) per file and one ephemeral secret (32) per X25519 stanza. A team-sealed
/// vector's stanzas go to its listed recipients instead of `r`, and its metadata carries the
/// link binding of `C`.
pub(crate) struct Inputs {
    rng: DeterministicRandom,
    pub(crate) id: PackageId,
    pub(crate) link: LinkSecret,
    pub(crate) server: ServerSecret,
    pub(crate) identity: X25519Identity,
}

impl Inputs {
    pub(crate) fn draw(seed: &str) -> Result<Self, Error> {
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

    /// The builder with the files and stanzas of a vector: X25519 stanza `j` goes to
    /// `recipients[j]` when recipients are given, else to `r`.
    pub(crate) fn build(
        &self,
        sizes: &[u64],
        kinds: &[StanzaKind],
        recipients: Option<&[X25519Recipient]>,
        link_binding: bool,
    ) -> Result<(PackageBuilder<'_>, Vec<FileKey>), Error> {
        let mut builder = PackageBuilder::new(self.id, &self.rng)?;
        let mut keys = Vec::new();
        for &size in sizes {
            keys.push(builder.add_file(size)?.1);
        }
        if link_binding {
            builder.link_binding(&self.link)?;
        }
        let mut listed = recipients.map(|r| r.iter());
        for kind in kinds {
            match kind {
                StanzaKind::Link => {
                    builder.link_stanza(&self.link, &self.server);
                }
                StanzaKind::X25519 => {
                    let recipient = match listed.as_mut() {
                        Some(listed) => *listed
                            .next()
                            .ok_or(Error::InvalidManifest("fewer recipients than stanzas"))?,
                        None => self.identity.recipient(),
                    };
                    builder.x25519_stanza(&recipient)?;
                }
            }
        }
        Ok((builder, keys))
    }
}
