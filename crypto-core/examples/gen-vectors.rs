//! Writes the format v1 test vectors to `crypto-core/tests/vectors/` (team keys' vectors that are
//! not packages to `crypto-core/tests/vectors/team/`).
//!
//! `cargo run -p sealdrop-crypto --features gen-vectors --example gen-vectors` — the output is
//! deterministic (every random byte comes from `DeterministicRandom` seeded with the vector's
//! name), so running it again must leave the files unchanged; `tests/vectors.rs` checks that.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::create_dir_all(&dir)?;
    for (name, json) in sealdrop_crypto::vectors::generate() {
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, json)?;
        println!("wrote {name}");
    }
    Ok(())
}
