//! `cargo xtask`: everything the project needs beyond `cargo build`, with nothing but cargo.
//!
//! The two commands a newcomer runs on a fresh Debian machine are `cargo xtask demo` and
//! `cargo xtask test`. Each installs or starts what it needs (Rust target, wasm-bindgen-cli,
//! Debian packages, Garage, a Python venv for the SMTP capture server, the e2e npm packages)
//! or says exactly what is missing. See `cargo xtask --help`.

#![forbid(unsafe_code)]

mod bench;
mod cleanup;
mod cluster;
mod deb;
mod demo;
mod demo_setup;
mod fuzz;
mod load;
mod proc;
mod schemathesis;
mod services;
mod setup;
mod test;
mod testbuild;
mod wasm;
mod widget;
mod zendesk_app;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask: build, test and demo sealdrop with nothing installed but Rust and Debian.

USAGE
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS
    demo                  Build the server and start it on the embedded default
                          (SQLite + local folder + outbox mail), then wait for Ctrl-C.
    test                  Run every test: formatting, lints, native tests, the server
                          suite on SQLite+folder and on Postgres+S3, the wasm tests in
                          headless Chromium, the browser end-to-end tests, the API
                          against its OpenAPI document (schemathesis), the
                          Debian package (built, installed, run and purged; as root)
                          and three instances behind nginx with TLS (`cluster`).
                          `cargo xtask test --help` lists the stages and options.
    services up           Start Postgres, Garage (S3) and an SMTP capture server, print
                          `export ...` lines for their SEALDROP_TEST_* variables and wait
                          for Ctrl-C (which stops them and removes their folders). Paste
                          the lines into another shell to run one test against real
                          services, e.g. `cargo test -p sealdrop-server NAME`.
    wasm                  Build the browser package into widget-wasm/pkg
                          (cargo build --target wasm32-unknown-unknown --release + wasm-bindgen)
                          and the Help Center widget's release into widget-wasm/pkg/widget/
                          (esbuild bundles, SHA-384 of each file in the loader); prints the
                          loader's integrity for the snippet.
    bench [crypto|wasm|server|download|upload|load]... [-- ARGS]
                          Run the benchmarks, each printing a table (all when no name is
                          given; `cargo xtask bench --help` says what each measures).
    check-app [--private] [DIR]
                          Check the Zendesk app (agent-app/ assembled with the sidebar into
                          target/agent-app/, from the last wasm build) with Zendesk's own
                          validator (the zendesk_apps_support gem, ported; marketplace mode
                          unless --private) and sealdrop's rules (zcli needs a login).
    package-app [--private] [--server-url https://HOST] [DIR]
                          Build the wasm core, assemble the app with the sidebar in its assets
                          (domainWhitelist: HOST), check it, then write the upload zip
                          (target/agent-app/tmp/app-VERSION.zip); prints the Help Center
                          snippet with the loader's integrity for this release.
    help                  Print this text.

WHAT GETS INSTALLED (only when missing)
    rustup target wasm32-unknown-unknown; wasm-bindgen-cli at the exact wasm-bindgen version
    in Cargo.lock; Debian packages chromium, chromium-driver, postgresql, python3-venv (needs
    root for apt-get); garage (cargo install, ~7 minutes once); aiosmtpd in a venv under
    ~/.cache/sealdrop/venv; schemathesis (pinned) in a venv under
    ~/.cache/sealdrop/schemathesis-VERSION; npm packages of tests/e2e and xtask/esbuild (npm ci); cargo-deb
    (cargo install, a few minutes once) for the deb stage; oha (cargo install, ~9 minutes
    once) for `bench load`.

ENVIRONMENT
    CARGO_TARGET_DIR      Where cargo builds (the CI script points it outside the clone).
    SEALDROP_XTASK_NO_INSTALL=1
                          Never install anything; report what is missing instead.
";

fn main() -> ExitCode {
    cleanup::install_signal_handler();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = run(&args);
    // Services and temporary folders go away on every exit path, not only on success.
    cleanup::run_all();
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("\nerror: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let Some((command, rest)) = args.split_first() else {
        print!("{HELP}");
        return Ok(ExitCode::SUCCESS);
    };
    match command.as_str() {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(ExitCode::SUCCESS)
        }
        "test" => test::main(rest),
        "demo" => demo::main(rest).map(|()| ExitCode::SUCCESS),
        "services" => services::main(rest).map(|()| ExitCode::SUCCESS),
        "wasm" => wasm::main(rest).map(|()| ExitCode::SUCCESS),
        "bench" => bench::main(rest).map(|()| ExitCode::SUCCESS),
        "check-app" | "package-app" => zendesk_app::main(command, rest).map(|()| ExitCode::SUCCESS),
        other => {
            eprint!("{HELP}");
            anyhow::bail!("unknown command `{other}`; see the list above")
        }
    }
}
