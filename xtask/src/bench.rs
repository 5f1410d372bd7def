//! `cargo xtask bench [crypto|wasm|server|download|upload|load]`: the benchmarks, each where
//! it lives (`load` in `load.rs`).

use std::process::Command;

use anyhow::{bail, Result};

use crate::proc::{self, cargo, repo_root, target_dir, which};
use crate::services::Services;
use crate::setup;

const USAGE: &str = "\
USAGE
    cargo xtask bench [crypto|wasm|server|download|upload|load]... [-- ARGS]

    crypto   cargo bench -p sealdrop-crypto --bench throughput (native AEAD and STREAM)
    wasm     node widget-wasm/bench/run.mjs: the browser package in headless Chromium
             (WebCrypto and the pure-wasm fallback)
    server   installs age and gpg when missing, builds the release `sealdrop`, starts
             Garage, then cargo bench -p sealdrop-server --bench transfer: `sealdrop
             send`/`get` through a server (folder and S3) against a direct write + fsync,
             age, gpg and direct S3 calls in the same run, with client and server peak RSS.
             SEALDROP_BENCH_MIB (1024), SEALDROP_BENCH_ROUNDS (3); SEALDROP_BENCH_LARGE_MIB
             runs one send and get of that size instead (see the bench's doc comment)
    download tests/e2e/bench/download.mjs: the recipient page downloads and decrypts a
             package to disk in headless Chromium (throughput, renderer memory)
    upload   tests/e2e/bench/upload.mjs: the Help Center widget encrypts and uploads a file
             in headless Chromium (throughput, browser and server memory)
             Both build and use the release server and Zendesk simulator. ARGS after `--`
             go to the script (with one of them named), e.g.
             `cargo xtask bench upload -- --size-mib 256`; `--help` lists them.
    load     1, 2 and 3 release instances on PostgreSQL + Garage behind nginx (TLS), on
             loopback: oha (installed with cargo install when missing, ~9 minutes once)
             on the recipient's info call and on package creation at 16 and 64
             connections and paced at half that rate, then 256 `sealdrop send` and 256
             `sealdrop get` of 256 KiB, 32 at a time. Throughput, p50/p99, errors and
             each instance's peak RSS, in one table, also written to
             TARGET/bench-load.md. About 3 minutes; see docs/OPERATIONS.md (Load).

With no name, runs all six. A benchmark that does not exist yet says so and is skipped.
";

pub fn main(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return Ok(());
    }
    let all = ["crypto", "wasm", "server", "download", "upload", "load"];
    let (names, extra) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let names: Vec<&str> = if names.is_empty() {
        all.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    for name in &names {
        if !all.contains(name) {
            print!("{USAGE}");
            bail!("unknown benchmark `{name}`");
        }
    }
    for name in names {
        println!("\n== bench {name}");
        match name {
            "crypto" => crypto()?,
            "wasm" => wasm_bench()?,
            "download" | "upload" => browser(name, extra)?,
            "load" => crate::load::run()?,
            _ => server()?,
        }
    }
    Ok(())
}

fn crypto() -> Result<()> {
    if !repo_root()
        .join("crypto-core/benches/throughput.rs")
        .is_file()
    {
        println!("xtask: not yet: crypto-core/benches/throughput.rs does not exist");
        return Ok(());
    }
    proc::run(cargo().args(["bench", "-p", "sealdrop-crypto", "--bench", "throughput"]))
}

fn wasm_bench() -> Result<()> {
    let bench_dir = repo_root().join("widget-wasm/bench");
    if !bench_dir.join("run.mjs").is_file() {
        println!("xtask: not yet: widget-wasm/bench/run.mjs does not exist");
        return Ok(());
    }
    if bench_dir.join("package.json").is_file() {
        setup::npm_packages(&bench_dir)?;
    }
    setup::chromium()?;
    setup::wasm_target()?;
    // run.mjs builds the widget for the web itself, with the wasm-bindgen we point it at.
    let bindgen_dir = setup::wasm_bindgen()?;
    proc::run(
        Command::new("node")
            .current_dir(repo_root())
            .arg("widget-wasm/bench/run.mjs")
            .env("CHROMIUM", setup::CHROMIUM)
            .env("WASM_BINDGEN", bindgen_dir.join("wasm-bindgen"))
            .env("CARGO_TARGET_DIR", target_dir()),
    )
}

fn server() -> Result<()> {
    if !repo_root().join("server/benches/transfer.rs").is_file() {
        println!("xtask: not yet: server/benches/transfer.rs does not exist");
        return Ok(());
    }
    // The transfer bench runs its own server (SQLite) and compares folder and Garage storage,
    // and `sealdrop send`/`get` with age and gpg on the same file.
    let missing: Vec<&str> = [("age", "age"), ("gpg", "gpg"), ("gpg-agent", "gpg-agent")]
        .into_iter()
        .filter(|(program, _)| which(program).is_none())
        .map(|(_, package)| package)
        .collect();
    if !missing.is_empty() {
        setup::apt_install(&missing, "the transfer bench's age and gpg baselines")?;
    }
    proc::run(cargo().args([
        "build",
        "--release",
        "-p",
        "sealdrop-cli",
        "--bin",
        "sealdrop",
    ]))?;
    let mut services = Services::default();
    services.garage()?;
    proc::run(
        cargo()
            .args(["bench", "-p", "sealdrop-server", "--bench", "transfer"])
            .env("SEALDROP_BIN", target_dir().join("release/sealdrop"))
            .envs(services.env()),
    )
}

fn browser(name: &str, extra: &[String]) -> Result<()> {
    let dir = repo_root().join("tests/e2e");
    setup::npm_packages(&dir)?;
    setup::chromium()?;
    // Figures against a debug server measure the debug build; build the real thing.
    proc::run(cargo().args([
        "build",
        "--release",
        "-p",
        "sealdrop-cli",
        "-p",
        "zendesk-sim",
        "--bins",
    ]))?;
    crate::wasm::build()?;
    let bin_dir = target_dir().join("release");
    proc::run(
        Command::new("node")
            .current_dir(&dir)
            .arg(format!("bench/{name}.mjs"))
            .args(extra)
            .env("SEALDROP_BIN", bin_dir.join("sealdrop"))
            .env("SEALDROP_BIN_DIR", &bin_dir)
            .env("SEALDROP_REPO_ROOT", repo_root())
            .envs(proc::web_env())
            .env("CHROMIUM", setup::CHROMIUM),
    )
}
