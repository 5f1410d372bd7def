//! The widget's release on disk: what `GET /widget/v1/loader.js` and `/widget/v1/assets/`
//! serve, as `cargo xtask wasm` writes it (`<wasm dir>/widget/`, see `xtask/src/widget.rs`).
//!
//! The Help Center theme pins the loader with Subresource Integrity, and the loader pins the
//! SHA-384 of every other file, so the server serves these files byte for byte: it fills
//! nothing in and keeps no version of its own (the loader's URLs carry part of each file's
//! hash). It computes the loader's integrity for the admin's snippet; that is a convenience,
//! not a trust anchor: `cargo xtask package-app` prints the same value for a release, and an
//! admin who distrusts the server compares them.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha384};

/// The release folder inside the wasm package folder.
pub fn dir(wasm_dir: &Path) -> PathBuf {
    wasm_dir.join("widget")
}

/// The built loader.
pub fn loader(wasm_dir: &Path) -> PathBuf {
    dir(wasm_dir).join("loader.js")
}

/// `sha384-…` of the built loader (the snippet's `integrity`), or `None` when the release is
/// not built.
pub async fn loader_integrity(wasm_dir: &Path) -> Option<String> {
    let bytes = tokio::fs::read(loader(wasm_dir)).await.ok()?;
    Some(integrity(&bytes))
}

/// Subresource Integrity's `sha384-` form of `bytes`.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_has_the_sri_form() {
        // The SRI specification's example.
        assert_eq!(
            integrity(b"alert('Hello, world.');"),
            "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
        );
    }
}
