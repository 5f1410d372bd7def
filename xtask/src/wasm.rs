//! `cargo xtask wasm`: the browser package in `widget-wasm/pkg` (ES module + .wasm), which
//! the server serves to the recipient page and the agent app, and from it the Help Center
//! widget's release in `widget-wasm/pkg/widget/` (bundled and hashed, see [`crate::widget`]).

use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::proc::{self, cargo, repo_root, target_dir};
use crate::{setup, widget};

const USAGE: &str = "\
USAGE
    cargo xtask wasm

Builds sealdrop-widget for wasm32-unknown-unknown (release) and runs wasm-bindgen
--target web into widget-wasm/pkg. Installs the Rust target and wasm-bindgen-cli at the
version in Cargo.lock when they are missing. Then bundles the Help Center widget with
esbuild (npm, pinned in xtask/esbuild/) into widget-wasm/pkg/widget/ and prints the
loader's Subresource Integrity hash, the snippet's `integrity`.
";

pub fn main(args: &[String]) -> Result<()> {
    if let Some(arg) = args.first() {
        print!("{USAGE}");
        if arg == "--help" || arg == "-h" {
            return Ok(());
        }
        bail!("`cargo xtask wasm` takes no arguments");
    }
    build()
}

/// Builds the browser package and the widget's release; leaves `widget-wasm/pkg` complete.
pub fn build() -> Result<()> {
    setup::wasm_target()?;
    let bindgen_dir = setup::wasm_bindgen()?;
    // The loader pins the wasm's SHA-384 and the snippet pins the loader's, so the same source
    // must give the same bytes wherever it is built: panic locations would otherwise carry the
    // checkout's and the cargo home's absolute paths.
    let remap = format!(
        "--remap-path-prefix={}=sealdrop --remap-path-prefix={}=cargo",
        repo_root().display(),
        proc::cargo_home().display()
    );
    proc::run(
        cargo()
            .args([
                "build",
                "-p",
                "sealdrop-widget",
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ])
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", remap),
    )?;
    let wasm = target_dir().join("wasm32-unknown-unknown/release/sealdrop_widget.wasm");
    if !wasm.is_file() {
        bail!("the build produced no {}", wasm.display());
    }
    let out_dir = repo_root().join("widget-wasm/pkg");
    proc::run(
        Command::new(bindgen_dir.join("wasm-bindgen"))
            .args(["--target", "web", "--out-dir"])
            .arg(&out_dir)
            .arg(&wasm),
    )?;
    let size = std::fs::metadata(out_dir.join("sealdrop_widget_bg.wasm"))
        .context("wasm-bindgen wrote no sealdrop_widget_bg.wasm")?
        .len();
    println!(
        "xtask: browser package ready in {} ({} KiB of wasm)",
        out_dir.display(),
        size / 1024
    );
    widget::build(&out_dir)?;
    Ok(())
}
