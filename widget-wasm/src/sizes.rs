//! Chunk and part arithmetic for pages: sizes, byte ranges, part layout.
//!
//! JavaScript numbers are exact up to 2^53 - 1, far beyond any file sealdrop accepts, so sizes
//! and indices cross the boundary as `number` and are checked here to be non-negative integers
//! in that range (a NaN, a fraction or a negative value is `InvalidArgument`, never truncated).

use js_sys::Array;
use sealdrop_crypto::stream::{
    chunk_count, ciphertext_size, plaintext_size, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, PART_CHUNKS,
    PART_SIZE, TAG_SIZE,
};
use sealdrop_crypto::Error as CoreError;
use wasm_bindgen::prelude::*;

use crate::error::{Result, WidgetError};

/// Largest integer a JavaScript number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Converts a JavaScript number to a `u64`, rejecting anything that is not a safe non-negative
/// integer. `what` names the argument in the error.
pub fn u64_from_js(value: f64, what: &str) -> Result<u64> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE_INTEGER {
        Ok(value as u64)
    } else {
        Err(WidgetError::invalid(format!(
            "{what} must be a non-negative integer"
        )))
    }
}

/// A chunk index from JavaScript.
pub fn index_from_js(value: f64) -> Result<u64> {
    u64_from_js(value, "chunk index")
}

fn range(start: u64, end: u64) -> Array {
    Array::of2(&(start as f64).into(), &(end as f64).into())
}

fn check_index(plaintext_size: u64, index: u64) -> Result<()> {
    let count = chunk_count(plaintext_size);
    if index < count {
        Ok(())
    } else {
        Err(CoreError::ChunkOutOfRange {
            index,
            chunk_count: count,
        }
        .into())
    }
}

/// `[start, end)` of chunk `index` in a plaintext of `plaintext_size` bytes.
pub fn plaintext_bounds(plaintext_size: u64, index: u64) -> Result<(u64, u64)> {
    check_index(plaintext_size, index)?;
    let start = index * CHUNK_SIZE as u64;
    let end = (start + CHUNK_SIZE as u64).min(plaintext_size);
    Ok((start, end))
}

/// `[start, end)` of chunk `index` in the ciphertext of a `plaintext_size`-byte file.
pub fn ciphertext_bounds(plaintext_size: u64, index: u64) -> Result<(u64, u64)> {
    let (pt_start, pt_end) = plaintext_bounds(plaintext_size, index)?;
    let start = index * ENCRYPTED_CHUNK_SIZE as u64;
    Ok((start, start + (pt_end - pt_start) + TAG_SIZE as u64))
}

pub(crate) fn plaintext_chunk_range(plaintext_size: u64, index: u64) -> Result<Array> {
    let (start, end) = plaintext_bounds(plaintext_size, index)?;
    Ok(range(start, end))
}

/// Number of upload parts for a file of `plaintext_size` bytes (at least 1).
pub fn part_count_for_plaintext(plaintext_size: u64) -> u64 {
    chunk_count(plaintext_size).div_ceil(PART_CHUNKS)
}

/// Size of the encrypted form of a `plaintextSize`-byte file.
#[wasm_bindgen(js_name = ciphertextSize)]
pub fn ciphertext_size_js(plaintext_size: f64) -> Result<f64, JsValue> {
    let size = u64_from_js(plaintext_size, "plaintext size")?;
    Ok(ciphertext_size(size) as f64)
}

/// Size of the plaintext behind a `ciphertextSize`-byte encrypted file; throws
/// `InvalidCiphertextSize` for sizes no file encrypts to.
#[wasm_bindgen(js_name = plaintextSize)]
pub fn plaintext_size_js(ciphertext_size: f64) -> Result<f64, JsValue> {
    let size = u64_from_js(ciphertext_size, "ciphertext size")?;
    Ok(plaintext_size(size).map_err(WidgetError::from)? as f64)
}

/// Number of 64 KiB chunks of a `plaintextSize`-byte file (an empty file has one).
#[wasm_bindgen(js_name = chunkCount)]
pub fn chunk_count_js(plaintext_size: f64) -> Result<f64, JsValue> {
    let size = u64_from_js(plaintext_size, "plaintext size")?;
    Ok(chunk_count(size) as f64)
}

/// Number of upload parts of an encrypted file of `ciphertextSize` bytes.
#[wasm_bindgen(js_name = partCount)]
pub fn part_count_js(ciphertext_size: f64) -> Result<f64, JsValue> {
    let size = u64_from_js(ciphertext_size, "ciphertext size")?;
    let pt = plaintext_size(size).map_err(WidgetError::from)?;
    Ok(part_count_for_plaintext(pt) as f64)
}

/// `[start, end)` in the encrypted file of upload part `part`: chunks
/// `[128·part, 128·part + 128)`, so `8 390 656` bytes for every part but the last.
#[wasm_bindgen(js_name = partRange, unchecked_return_type = "[number, number]")]
pub fn part_range_js(ciphertext_size: f64, part: f64) -> Result<Array, JsValue> {
    let size = u64_from_js(ciphertext_size, "ciphertext size")?;
    let part = u64_from_js(part, "part number")?;
    let pt = plaintext_size(size).map_err(WidgetError::from)?;
    let count = part_count_for_plaintext(pt);
    if part >= count {
        return Err(WidgetError::invalid(format!(
            "part {part} is past the end of a {count}-part file"
        ))
        .into());
    }
    let start = part * PART_SIZE;
    let len = sealdrop_crypto::part_size(size, part).expect("part < part_count");
    Ok(range(start, start + len))
}

/// `[first, end)` chunk indices of upload part `part` of a `plaintextSize`-byte file.
#[wasm_bindgen(js_name = partChunks, unchecked_return_type = "[number, number]")]
pub fn part_chunks_js(plaintext_size: f64, part: f64) -> Result<Array, JsValue> {
    let size = u64_from_js(plaintext_size, "plaintext size")?;
    let part = u64_from_js(part, "part number")?;
    let chunks = chunk_count(size);
    let first = part.saturating_mul(PART_CHUNKS);
    if first >= chunks {
        return Err(
            WidgetError::invalid(format!("part {part} is past the end of the file")).into(),
        );
    }
    Ok(range(first, (first + PART_CHUNKS).min(chunks)))
}

/// Plaintext bytes per chunk: 65 536.
#[wasm_bindgen(js_name = chunkSize)]
pub fn chunk_size_js() -> f64 {
    CHUNK_SIZE as f64
}
