//! The `fuzz` stage: every cargo-fuzz target under `fuzz/` for a short, bounded run.
//!
//! libFuzzer needs coverage instrumentation, which `cargo fuzz` asks of a nightly toolchain
//! only to add sanitizers. The same instrumentation comes from stable codegen flags
//! ([`RUSTFLAGS`]), so the stage builds the targets with the toolchain everything else uses,
//! in a folder of their own (`<target>/fuzz`, so the flags never invalidate the main build).
//! Each target starts from its seeds in `fuzz/seeds/<target>/` (copied: a run never writes
//! into the checkout) and runs for [`SECONDS_PER_TARGET`], or `SEALDROP_FUZZ_SECONDS`. A
//! crash fails the stage and leaves the input that caused it where the log says, with the
//! command that replays it. `fuzz/README.md` describes the long runs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::proc::{self, cargo, repo_root, Counts};

/// The fuzz targets, in the order they run; each is one "test" in the stage's counts.
pub const TARGETS: &[&str] = &[
    "manifest_parse",
    "package_open",
    "http_range",
    "forwarded_client",
    "json_bodies",
    "team_parse",
];

/// Seconds each target runs in the test command.
pub const SECONDS_PER_TARGET: u64 = 30;

/// libFuzzer's coverage instrumentation through stable flags; `--cfg fuzzing` as cargo fuzz
/// sets it, and debug assertions and overflow checks on, so arithmetic slips are crashes.
pub const RUSTFLAGS: &str = "--cfg fuzzing -Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    -Cdebug-assertions -Coverflow-checks";

/// The host triple the targets are built for (`--target` keeps the flags off build scripts).
const HOST: &str = "x86_64-unknown-linux-gnu";

/// Builds every target and runs each for its time; counts one passed or failed per target.
pub fn run_all() -> Result<(Counts, bool)> {
    let build_dir = proc::target_dir().join("fuzz");
    let mut build = cargo();
    build
        .args(["build", "--release", "--locked", "--bins", "--target", HOST])
        .arg("--manifest-path")
        .arg(repo_root().join("fuzz/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("RUSTFLAGS", RUSTFLAGS);
    proc::run(&mut build).context("building the fuzz targets")?;
    let seconds = std::env::var("SEALDROP_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(SECONDS_PER_TARGET);
    let work = proc::temp_dir("fuzz")?;
    let mut counts = Counts {
        seen: true,
        ..Counts::default()
    };
    for target in TARGETS {
        let binary = build_dir.join(HOST).join("release").join(target);
        let ok = run_target(target, &binary, &work, seconds)?;
        if ok {
            counts.passed += 1;
        } else {
            counts.failed += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok((counts, counts.failed == 0))
}

fn run_target(target: &str, binary: &Path, work: &Path, seconds: u64) -> Result<bool> {
    let corpus = work.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let seeds = repo_root().join("fuzz/seeds").join(target);
    if seeds.is_dir() {
        for entry in std::fs::read_dir(&seeds)? {
            let entry = entry?;
            std::fs::copy(entry.path(), corpus.join(entry.file_name()))?;
        }
    }
    // Crashes are kept outside the temporary folder, so they survive the run.
    let crashes = proc::target_dir().join("fuzz-crashes");
    std::fs::create_dir_all(&crashes)?;
    let prefix = format!("{}/{target}-", crashes.display());
    let mut cmd = Command::new(binary);
    cmd.arg(&corpus)
        .arg(format!("-max_total_time={seconds}"))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={prefix}"));
    if target == "package_open" {
        cmd.arg("-max_len=4096");
    }
    println!("fuzz {target}: {seconds} s from {} seeds", count(&corpus));
    let status = match proc::run(&mut cmd) {
        Ok(()) => true,
        Err(e) => {
            println!("fuzz {target}: {e:#}");
            false
        }
    };
    if status {
        println!("fuzz {target}: ok, corpus now {} inputs", count(&corpus));
    } else {
        println!(
            "fuzz {target}: FAILED; the input is under {} (replay: {} <that file>)",
            crashes.display(),
            binary.display()
        );
    }
    Ok(status)
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}
