//! One native build for every native test stage, then the test executables run directly.
//!
//! Cargo resolves dependency features from the packages selected on its command line, so
//! `cargo test -p sealdrop-server` after `cargo test --workspace --exclude sealdrop-server`
//! rebuilds serde, tokio, sqlx, the AWS SDK ... a second time with other features. Building
//! once with `--workspace` and running each package's test executables ourselves (as
//! cargo-nextest does) keeps one copy of everything and minutes off every CI run.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::cleanup;
use crate::proc::{self, cargo, repo_root};

/// A test executable cargo built, and the package it belongs to.
#[derive(Debug, Clone)]
pub struct TestBinary {
    pub package: String,
    /// `lib`, `bin`, `test`, `bench` ... with the target name, for display.
    pub target: String,
    pub path: PathBuf,
    pub manifest_dir: PathBuf,
}

/// The cargo command every native test build uses; the e2e stage and demo reuse its output.
pub fn build_command() -> Command {
    let mut cmd = cargo();
    // --bins: the e2e tests drive the `sealdrop` and `zendesk-sim` binaries; building them in
    // the same invocation keeps one feature resolution for everything.
    cmd.args([
        "build",
        "--workspace",
        "--bins",
        "--tests",
        "--message-format=json-render-diagnostics",
    ]);
    cmd
}

/// Builds every package's tests and binaries; returns the test executables, or None when
/// the build failed (its errors are already on the terminal).
pub fn build() -> Result<Option<Vec<TestBinary>>> {
    let mut cmd = build_command();
    println!("$ {}", proc::display(&cmd));
    // Human-readable diagnostics go to stderr (inherited); stdout carries one JSON message
    // per line, from which we keep the test executables.
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("starting cargo build")?;
    cleanup::set_foreground(Some(child.id()));
    let stdout = child.stdout.take().expect("stdout is piped above");
    let mut binaries = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match parse_message(&line) {
            Some(binary) => binaries.push(binary),
            None if !line.starts_with('{') => {
                // Build scripts may print plain text; pass it through.
                let _ = writeln!(std::io::stdout(), "{line}");
            }
            None => {}
        }
    }
    let status = child.wait();
    cleanup::set_foreground(None);
    if !status.context("waiting for cargo build")?.success() {
        return Ok(None);
    }
    binaries.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    binaries.dedup_by(|a, b| a.path == b.path);
    Ok(Some(binaries))
}

/// A test executable from one `compiler-artifact` message, if that is what it describes.
fn parse_message(line: &str) -> Option<TestBinary> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
        return None;
    }
    let path = PathBuf::from(message["executable"].as_str()?);
    let manifest_dir = Path::new(message["manifest_path"].as_str()?)
        .parent()?
        .to_path_buf();
    // "path+file:///work/main/server#sealdrop-server@0.1.0" or "...#0.1.0" when the
    // package is named like its folder.
    let package_id = message["package_id"].as_str()?;
    let after_hash = package_id.rsplit('#').next()?;
    let package = match after_hash.split_once('@') {
        Some((name, _)) => name.to_string(),
        None => manifest_dir.file_name()?.to_string_lossy().into_owned(),
    };
    let kind = message["target"]["kind"][0].as_str().unwrap_or("test");
    let name = message["target"]["name"].as_str().unwrap_or("?");
    Some(TestBinary {
        package,
        target: format!("{kind} {name}"),
        path,
        manifest_dir,
    })
}

/// How to run one test executable the way `cargo test` would: from its package's folder,
/// with cargo's package variables set.
pub fn command(binary: &TestBinary) -> Command {
    let mut cmd = Command::new(&binary.path);
    cmd.current_dir(&binary.manifest_dir)
        .env("CARGO_MANIFEST_DIR", &binary.manifest_dir)
        .env("CARGO_PKG_NAME", &binary.package)
        .env("CARGO_CRATE_NAME", binary.package.replace('-', "_"));
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.env("CARGO", cargo);
    }
    cmd
}

/// The doc tests of every package, with the same package selection as [`build`].
pub fn doc_tests() -> Command {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--doc", "--no-fail-fast"]);
    cmd
}

/// Path of `binary` relative to the repository or target folder, for headers.
pub fn short(binary: &TestBinary) -> String {
    let root = repo_root();
    let dir = binary
        .manifest_dir
        .strip_prefix(&root)
        .unwrap_or(&binary.manifest_dir);
    format!("{} ({})", dir.display(), binary.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_test_artifact_is_a_test_binary() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///work/main/server#sealdrop-server@0.1.0","manifest_path":"/work/main/server/Cargo.toml","target":{"kind":["test"],"name":"api_flow"},"profile":{"test":true},"executable":"/t/debug/deps/api_flow-0123"}"#;
        let binary = parse_message(line).expect("a test binary");
        assert_eq!(binary.package, "sealdrop-server");
        assert_eq!(binary.target, "test api_flow");
        assert_eq!(binary.manifest_dir, Path::new("/work/main/server"));
    }

    #[test]
    fn package_named_like_its_folder_is_recognised() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///work/main/xtask#0.1.0","manifest_path":"/work/main/xtask/Cargo.toml","target":{"kind":["bin"],"name":"xtask"},"profile":{"test":true},"executable":"/t/debug/deps/xtask-1"}"#;
        assert_eq!(parse_message(line).expect("a test binary").package, "xtask");
    }

    #[test]
    fn plain_binaries_and_libraries_are_not_test_binaries() {
        let bin = r#"{"reason":"compiler-artifact","package_id":"x#a@1","manifest_path":"/a/Cargo.toml","target":{"kind":["bin"],"name":"a"},"profile":{"test":false},"executable":"/t/debug/a"}"#;
        let lib = r#"{"reason":"compiler-artifact","package_id":"x#a@1","manifest_path":"/a/Cargo.toml","target":{"kind":["lib"],"name":"a"},"profile":{"test":false},"executable":null}"#;
        assert!(parse_message(bin).is_none());
        assert!(parse_message(lib).is_none());
        assert!(parse_message("not json").is_none());
    }
}
