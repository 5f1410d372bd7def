//! Sizes of the `STREAM` payload: chunks, ciphertext sizes and upload parts.
//!
//! A plaintext of `n` bytes is `max(1, ceil(n / 65536))` chunks; every chunk gains a 16-byte
//! tag, so the ciphertext is `n + 16 * chunk_count(n)` bytes. Only the last chunk may be short,
//! and an empty file is one empty final chunk. The manifest parser uses these rules to refuse
//! impossible ciphertext sizes without any key.

use crate::error::Error;
pub use crate::provider::TAG_SIZE;

/// Plaintext bytes per chunk (64 KiB).
pub const CHUNK_SIZE: usize = 65_536;
/// Ciphertext bytes of every chunk but the last: `CHUNK_SIZE + TAG_SIZE`.
pub const ENCRYPTED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// Chunks per upload part (transport constant of the HTTP API, not of the format): part `p`
/// holds chunks `[128 p, 128 p + 128)`, `128 * 65 552 = 8 390 656` bytes except the last.
pub const PART_CHUNKS: u64 = 128;
/// Ciphertext bytes of a full upload part.
pub const PART_SIZE: u64 = PART_CHUNKS * ENCRYPTED_CHUNK_SIZE as u64;
/// Largest plaintext a file may have (2^63 bytes). It keeps every ciphertext size inside a
/// `u64` and far inside the 88-bit chunk counter.
pub const MAX_PLAINTEXT_SIZE: u64 = 1 << 63;

const CHUNK: u64 = CHUNK_SIZE as u64;
const ENCRYPTED_CHUNK: u64 = ENCRYPTED_CHUNK_SIZE as u64;
const TAG: u64 = TAG_SIZE as u64;

/// Number of chunks of a plaintext: `max(1, ceil(size / 65536))`.
pub fn chunk_count(plaintext_size: u64) -> u64 {
    plaintext_size.div_ceil(CHUNK).max(1)
}

/// Ciphertext size of a plaintext: `size + 16 * chunk_count(size)`.
///
/// Saturates at `u64::MAX` above [`MAX_PLAINTEXT_SIZE`], which no encryptor accepts.
pub fn ciphertext_size(plaintext_size: u64) -> u64 {
    plaintext_size.saturating_add(TAG.saturating_mul(chunk_count(plaintext_size)))
}

/// Inverse of [`ciphertext_size`]; rejects sizes no plaintext produces
/// ([`Error::InvalidCiphertextSize`]).
pub fn plaintext_size(ciphertext_size: u64) -> Result<u64, Error> {
    let full = ciphertext_size / ENCRYPTED_CHUNK;
    let rest = ciphertext_size % ENCRYPTED_CHUNK;
    let plaintext = match (full, rest) {
        // Exactly `full` full chunks, the last of which is full.
        (1.., 0) => full * CHUNK,
        // A first-and-only final chunk of 0..65535 bytes.
        (0, TAG..) => rest - TAG,
        // Full chunks then a final chunk of 1..65535 bytes (an empty final chunk may only be
        // the first one).
        (1.., 17..) => full * CHUNK + rest - TAG,
        _ => return Err(Error::InvalidCiphertextSize),
    };
    if plaintext > MAX_PLAINTEXT_SIZE {
        return Err(Error::InvalidCiphertextSize);
    }
    Ok(plaintext)
}

/// Number of upload parts of an encrypted file of `ciphertext_size` bytes (one for an empty
/// file, whose ciphertext is one 16-byte chunk).
pub fn part_count(ciphertext_size: u64) -> u64 {
    ciphertext_size.div_ceil(PART_SIZE).max(1)
}

/// Exact size of upload part `part` of an encrypted file of `ciphertext_size` bytes, or `None`
/// if the file has no such part.
pub fn part_size(ciphertext_size: u64, part: u64) -> Option<u64> {
    let start = part.checked_mul(PART_SIZE)?;
    if start >= ciphertext_size {
        return None;
    }
    Some((ciphertext_size - start).min(PART_SIZE))
}

/// Maps byte range `range` of an encrypted file (end exclusive) to `(part, range within that
/// part)` pairs, in order: what a ranged download reads from the stored parts.
pub fn part_ranges(range: core::ops::Range<u64>) -> Vec<(u64, core::ops::Range<u64>)> {
    let mut out = Vec::new();
    let mut pos = range.start;
    while pos < range.end {
        let part = pos / PART_SIZE;
        let part_start = part * PART_SIZE;
        let end = range.end.min(part_start + PART_SIZE);
        out.push((part, pos - part_start..end - part_start));
        pos = end;
    }
    out
}

/// Plaintext bytes part `part` of a `plaintext_size`-byte file covers (0 past its end).
pub fn part_plaintext_len(plaintext_size: u64, part: u64) -> u64 {
    let part_bytes = PART_CHUNKS * CHUNK;
    let start = part.saturating_mul(part_bytes);
    plaintext_size
        .min(start.saturating_add(part_bytes))
        .saturating_sub(start)
}
