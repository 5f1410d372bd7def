//! Errors of format v1.
//!
//! Every message says *what* failed (a wrong link, tampered data, a truncated file) and never
//! carries secret material or the position of a differing byte inside a secret.

use std::fmt;

/// Everything that can go wrong while building, parsing, opening or decrypting a package.
///
/// [`Error::kind`] gives a stable `snake_case` name for each variant; the test vectors
/// (`crypto-core/tests/vectors/fail_*.json`) name the expected failure by that kind.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No link stanza could be unwrapped with the given link secret `C` and server secret `S`:
    /// one of the two is wrong, or the stanza (or the package id it is bound to) was altered.
    WrongLinkOrServerSecret,
    /// The manifest holds no stanza of the kind the caller can open (for example no X25519
    /// stanza for this identity, or no link stanza at all).
    NoUsableStanza,
    /// A stanza unwrapped, but the key it produced does not match the manifest's key
    /// commitment: the manifest was forged or altered.
    CommitmentMismatch,
    /// The encrypted metadata, or the public file table it authenticates, was altered.
    MetadataTampered,
    /// The metadata decrypted but does not describe the file table (wrong file count, or a
    /// plaintext size that does not match a file's ciphertext size).
    InvalidMetadata(&'static str),
    /// Chunk `index` of a file failed authentication: altered, reordered, or from another file.
    ChunkTampered {
        /// 0-based chunk index within the file.
        index: u64,
    },
    /// The file ends early: its final chunk is missing.
    TruncatedFile,
    /// Data follows the file's final chunk.
    TrailingData,
    /// The manifest is not well-formed; the text says which rule it breaks.
    InvalidManifest(&'static str),
    /// The manifest's version byte names a format this library does not implement.
    UnsupportedVersion(u8),
    /// An X25519 public key (a recipient `R` or an ephemeral share `E`) is a low-order point:
    /// the Diffie-Hellman result would be all zeros (RFC 7748, section 6.1).
    LowOrderPoint,
    /// A chunk handed to the stream has the wrong length for its position.
    WrongChunkLength {
        /// 0-based chunk index within the file.
        index: u64,
        /// Length the chunk must have.
        expected: usize,
        /// Length that was given.
        actual: usize,
    },
    /// A chunk index lies beyond the end of the file.
    ChunkOutOfRange {
        /// The index asked for.
        index: u64,
        /// Number of chunks in the file.
        chunk_count: u64,
    },
    /// No plaintext size maps to this ciphertext size (for example a final chunk shorter than
    /// its tag).
    InvalidCiphertextSize,
    /// The file is larger than the chunk counter and size fields can address
    /// ([`crate::stream::MAX_PLAINTEXT_SIZE`]); counters never wrap around.
    CounterOverflow,
    /// A file index is beyond the package's file table.
    NoSuchFile {
        /// The index asked for.
        index: usize,
    },
    /// Text (base64url, a link, JSON) could not be decoded; the text says which.
    InvalidEncoding(&'static str),
    /// This package's metadata was already sealed; its key may seal no other document (the
    /// metadata nonce is fixed). Start a new package instead.
    MetadataAlreadySealed,
    /// The random source failed.
    Random,
    /// A team-sealed package's link binding is missing, or was made from another link: the
    /// package was not made by the holder of this link (docs/FORMAT.md §20.3).
    LinkBindingMismatch,
    /// A team operation (opening from a link with a device key, re-wrapping) was given a package
    /// that has a link stanza.
    NotTeamSealed,
    /// The roster is not well-formed; the text says which rule it breaks.
    InvalidRoster(&'static str),
    /// The roster's (or a wrapped admin key's) admin key does not have the pinned fingerprint.
    AdminKeyMismatch,
    /// The roster's signature does not verify under its admin key: forged or altered.
    RosterSignatureInvalid,
    /// The roster names another tenant than the one the client works for.
    RosterTenantMismatch,
    /// The roster's sequence number is lower than one this client accepted before.
    RosterRolledBack {
        /// The highest sequence the client accepted before.
        highest_seen: u64,
        /// The sequence of the roster offered.
        offered: u64,
    },
    /// A recovery code's checksum does not match: it was mistyped.
    RecoveryCodeChecksum,
    /// The wrapped admin key does not open with this recovery code.
    WrongRecoveryCode,
    /// The wrapped admin key is not well-formed, or the key inside does not match its public
    /// key; the text says which.
    InvalidAdminKeyBlob(&'static str),
}

impl Error {
    /// A stable `snake_case` name for the variant, as used by the test vectors.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::WrongLinkOrServerSecret => "wrong_link_or_server_secret",
            Error::NoUsableStanza => "no_usable_stanza",
            Error::CommitmentMismatch => "commitment_mismatch",
            Error::MetadataTampered => "metadata_tampered",
            Error::InvalidMetadata(_) => "invalid_metadata",
            Error::ChunkTampered { .. } => "chunk_tampered",
            Error::TruncatedFile => "truncated_file",
            Error::TrailingData => "trailing_data",
            Error::InvalidManifest(_) => "invalid_manifest",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::LowOrderPoint => "low_order_point",
            Error::WrongChunkLength { .. } => "wrong_chunk_length",
            Error::ChunkOutOfRange { .. } => "chunk_out_of_range",
            Error::InvalidCiphertextSize => "invalid_ciphertext_size",
            Error::CounterOverflow => "counter_overflow",
            Error::NoSuchFile { .. } => "no_such_file",
            Error::InvalidEncoding(_) => "invalid_encoding",
            Error::MetadataAlreadySealed => "metadata_already_sealed",
            Error::Random => "random",
            Error::LinkBindingMismatch => "link_binding_mismatch",
            Error::NotTeamSealed => "not_team_sealed",
            Error::InvalidRoster(_) => "invalid_roster",
            Error::AdminKeyMismatch => "admin_key_mismatch",
            Error::RosterSignatureInvalid => "roster_signature_invalid",
            Error::RosterTenantMismatch => "roster_tenant_mismatch",
            Error::RosterRolledBack { .. } => "roster_rolled_back",
            Error::RecoveryCodeChecksum => "recovery_code_checksum",
            Error::WrongRecoveryCode => "wrong_recovery_code",
            Error::InvalidAdminKeyBlob(_) => "invalid_admin_key_blob",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::WrongLinkOrServerSecret => {
                f.write_str("the link or the server secret is wrong, or the key stanza was altered")
            }
            Error::NoUsableStanza => {
                f.write_str("the package holds no key stanza this key can open")
            }
            Error::CommitmentMismatch => {
                f.write_str("the package key does not match the manifest's key commitment")
            }
            Error::MetadataTampered => {
                f.write_str("the package metadata or file table was altered")
            }
            Error::InvalidMetadata(why) => write!(f, "the package metadata is invalid: {why}"),
            Error::ChunkTampered { index } => {
                write!(
                    f,
                    "chunk {index} of the file was altered, reordered or swapped"
                )
            }
            Error::TruncatedFile => {
                f.write_str("the file is truncated: its final chunk is missing")
            }
            Error::TrailingData => f.write_str("unexpected data after the file's final chunk"),
            Error::InvalidManifest(why) => write!(f, "invalid manifest: {why}"),
            Error::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            Error::LowOrderPoint => f.write_str("the X25519 public key is a low-order point"),
            Error::WrongChunkLength {
                index,
                expected,
                actual,
            } => {
                write!(f, "chunk {index} has {actual} bytes, expected {expected}")
            }
            Error::ChunkOutOfRange { index, chunk_count } => {
                write!(
                    f,
                    "chunk {index} is beyond the end of the file ({chunk_count} chunks)"
                )
            }
            Error::InvalidCiphertextSize => f.write_str("no plaintext has this ciphertext size"),
            Error::CounterOverflow => f.write_str("the file is too large for the chunk counter"),
            Error::NoSuchFile { index } => write!(f, "the package has no file {index}"),
            Error::InvalidEncoding(what) => write!(f, "invalid encoding: {what}"),
            Error::MetadataAlreadySealed => f.write_str(
                "this package's metadata is already sealed; start a new package to change it",
            ),
            Error::Random => f.write_str("the random number generator failed"),
            Error::LinkBindingMismatch => f.write_str(
                "the package was not made by the holder of this link (its link binding differs)",
            ),
            Error::NotTeamSealed => {
                f.write_str("the package is not team-sealed: it has a link stanza")
            }
            Error::InvalidRoster(why) => write!(f, "invalid team roster: {why}"),
            Error::AdminKeyMismatch => {
                f.write_str("the admin key does not have the pinned fingerprint")
            }
            Error::RosterSignatureInvalid => {
                f.write_str("the team roster's signature does not verify: it was forged or altered")
            }
            Error::RosterTenantMismatch => f.write_str("the team roster is another tenant's"),
            Error::RosterRolledBack {
                highest_seen,
                offered,
            } => write!(
                f,
                "the team roster is older (sequence {offered}) than one already accepted \
                 (sequence {highest_seen})"
            ),
            Error::RecoveryCodeChecksum => {
                f.write_str("the recovery code has a typo: its checksum does not match")
            }
            Error::WrongRecoveryCode => {
                f.write_str("the admin key does not open with this recovery code")
            }
            Error::InvalidAdminKeyBlob(why) => write!(f, "invalid wrapped admin key: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// An AEAD backend's only failure: the ciphertext, tag, nonce, key or associated data do not
/// authenticate. Deliberately carries nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AeadError;

impl fmt::Display for AeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AES-256-GCM authentication failed")
    }
}

impl std::error::Error for AeadError {}
