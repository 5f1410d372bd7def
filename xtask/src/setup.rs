//! Installing what the commands need, only when it is missing, or saying exactly what is.
//!
//! Every function here is idempotent and cheap when the tool is already present, so stages
//! call them freely. `SEALDROP_XTASK_NO_INSTALL=1` turns every install into an error that
//! names the command to run by hand.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};

use crate::proc::{self, cache_dir, cargo, repo_root, which};

/// Garage release installed when none is on PATH (its CLI syntax is what `services::garage`
/// speaks; 2.x as of writing).
const GARAGE_VERSION: &str = "2.5.0";
/// cargo-deb release installed when none is on PATH (builds the Debian package).
const CARGO_DEB_VERSION: &str = "3.8.0";
/// oha release installed when none is on PATH: the HTTP load generator of `bench load`,
/// whose JSON report `load.rs` reads (its keys are this release's).
pub const OHA_VERSION: &str = "1.16.0";
/// aiosmtpd release for the SMTP capture server.
const AIOSMTPD_VERSION: &str = "1.4.6";
/// schemathesis release the `schemathesis` stage runs: its checks and what they accept
/// change between releases, so the stage's verdict depends on the version.
pub const SCHEMATHESIS_VERSION: &str = "4.32.5";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

static APT_UPDATED: AtomicBool = AtomicBool::new(false);

fn installs_allowed() -> bool {
    std::env::var("SEALDROP_XTASK_NO_INSTALL").map_or(true, |v| v.is_empty() || v == "0")
}

fn install(what: &str, by_hand: &str, cmd: &mut Command) -> Result<()> {
    if !installs_allowed() {
        bail!("{what} is missing; install it with: {by_hand}");
    }
    println!("xtask: {what} is missing; installing it");
    proc::run(cmd).with_context(|| format!("installing {what} (by hand: {by_hand})"))
}

/// The Rust standard library for `wasm32-unknown-unknown`.
pub fn wasm_target() -> Result<()> {
    let sysroot = proc::output(Command::new("rustc").args(["--print", "sysroot"]))?;
    if Path::new(sysroot.trim())
        .join("lib/rustlib/wasm32-unknown-unknown")
        .is_dir()
    {
        return Ok(());
    }
    if which("rustup").is_none() {
        bail!("the Rust target wasm32-unknown-unknown is missing and rustup is not installed; add the target to your toolchain");
    }
    install(
        "the Rust target wasm32-unknown-unknown",
        "rustup target add wasm32-unknown-unknown",
        Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
    )
}

/// `cargo fmt` / `cargo clippy` (rustup components).
pub fn rust_component(component: &str, cargo_subcommand: &str) -> Result<()> {
    let present = cargo()
        .args([cargo_subcommand, "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if present {
        return Ok(());
    }
    install(
        &format!("the rustup component {component}"),
        &format!("rustup component add {component}"),
        Command::new("rustup").args(["component", "add", component]),
    )
}

/// The `wasm-bindgen` version the workspace is locked to, read from Cargo.lock.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock =
        std::fs::read_to_string(repo_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    locked_version(&lock, "wasm-bindgen")
        .context("Cargo.lock has no wasm-bindgen entry; is sealdrop-widget a workspace member?")
}

fn locked_version(lock: &str, package: &str) -> Option<String> {
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == name_line {
            return lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    None
}

/// Folder holding `wasm-bindgen` and `wasm-bindgen-test-runner` at the locked version.
pub fn wasm_bindgen() -> Result<PathBuf> {
    let want = locked_wasm_bindgen_version()?;
    let have = which("wasm-bindgen").and_then(|bin| {
        let out = Command::new(&bin).arg("--version").output().ok()?;
        // "wasm-bindgen 0.2.106"
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let version = text.split_whitespace().nth(1)?.to_string();
        Some((bin, version))
    });
    if let Some((bin, version)) = &have {
        let runner = bin.with_file_name("wasm-bindgen-test-runner");
        if *version == want && runner.is_file() {
            return Ok(bin
                .parent()
                .expect("a file found in a folder has a parent")
                .to_path_buf());
        }
        println!(
            "xtask: wasm-bindgen {version} found at {}, but Cargo.lock wants {want}",
            bin.display()
        );
    }
    let by_hand = format!("cargo install wasm-bindgen-cli --version {want} --locked");
    let mut cmd = cargo();
    cmd.args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &want,
        "--locked",
    ]);
    // Build in cargo's own temporary folder, not in the workspace's target folder.
    cmd.env_remove("CARGO_TARGET_DIR");
    install(&format!("wasm-bindgen-cli {want}"), &by_hand, &mut cmd)?;
    Ok(proc::cargo_home().join("bin"))
}

/// Installs Debian packages with apt-get (as root, or through passwordless sudo).
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    let by_hand = format!(
        "sudo apt-get update && sudo apt-get install -y {}",
        packages.join(" ")
    );
    if !installs_allowed() {
        bail!("{why}: missing Debian packages; install them with: {by_hand}");
    }
    if which("apt-get").is_none() {
        bail!(
            "{why}: need the packages {} (no apt-get here; use your system's package manager)",
            packages.join(", ")
        );
    }
    let sudo = if proc::is_root() {
        None
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|out| out.status.success())
    {
        Some("sudo")
    } else {
        bail!("{why}: missing Debian packages and not root; install them with: {by_hand}");
    };
    let apt = |args: &[&str]| {
        let mut cmd = match sudo {
            Some(sudo) => {
                let mut cmd = Command::new(sudo);
                cmd.arg("apt-get");
                cmd
            }
            None => Command::new("apt-get"),
        };
        // Wait for another apt/dpkg to finish instead of failing on its lock.
        cmd.args(["-o", "DPkg::Lock::Timeout=600"]).args(args);
        cmd.env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    println!(
        "xtask: {why}: installing Debian packages {}",
        packages.join(" ")
    );
    if !APT_UPDATED.swap(true, Ordering::SeqCst) {
        proc::run(&mut apt(&["update", "-q"]))
            .with_context(|| format!("apt-get update (by hand: {by_hand})"))?;
    }
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    proc::run(&mut apt(&args)).with_context(|| format!("apt-get install (by hand: {by_hand})"))
}

/// Headless Chromium and its WebDriver at `/usr/bin/chromium` and `/usr/bin/chromedriver`.
pub fn chromium() -> Result<()> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).is_file() {
        missing.extend(["chromium", "fonts-liberation"]);
    }
    if !Path::new(CHROMEDRIVER).is_file() {
        missing.push("chromium-driver");
    }
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing, "headless Chromium")
}

/// The `bin` folder of the newest PostgreSQL server installed under /usr/lib/postgresql.
pub fn postgres_bin() -> Result<PathBuf> {
    if let Some(bin) = find_postgres_bin() {
        return Ok(bin);
    }
    if let Some(initdb) = which("initdb") {
        return Ok(initdb
            .parent()
            .expect("a file found in a folder has a parent")
            .to_path_buf());
    }
    apt_install(&["postgresql"], "PostgreSQL for the server test suite")?;
    find_postgres_bin()
        .context("postgresql is installed but /usr/lib/postgresql/*/bin/initdb is not there")
}

fn find_postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The `garage` binary (S3-compatible object store).
pub fn garage() -> Result<PathBuf> {
    if let Some(bin) = which("garage") {
        return Ok(bin);
    }
    let by_hand = format!("cargo install garage --version {GARAGE_VERSION} --locked");
    let mut cmd = cargo();
    cmd.args(["install", "garage", "--version", GARAGE_VERSION, "--locked"]);
    cmd.env_remove("CARGO_TARGET_DIR");
    println!(
        "xtask: building Garage takes about 7 minutes, once; it is then reused from ~/.cargo/bin"
    );
    install("garage (S3-compatible store)", &by_hand, &mut cmd)?;
    which("garage").context("cargo install garage finished but no garage binary was found")
}

/// The `oha` binary (HTTP load generator).
pub fn oha() -> Result<PathBuf> {
    if let Some(bin) = which("oha") {
        return Ok(bin);
    }
    let by_hand = format!("cargo install oha --version {OHA_VERSION} --locked");
    let mut cmd = cargo();
    cmd.args(["install", "oha", "--version", OHA_VERSION, "--locked"]);
    cmd.env_remove("CARGO_TARGET_DIR");
    println!(
        "xtask: building oha (the load generator) takes about 9 minutes, once; it is then \
         reused from ~/.cargo/bin"
    );
    install("oha (HTTP load generator)", &by_hand, &mut cmd)?;
    which("oha").context("cargo install oha finished but no oha binary was found")
}

/// `cargo deb`, which builds the Debian package.
pub fn cargo_deb() -> Result<()> {
    if which("cargo-deb").is_some() {
        return Ok(());
    }
    let by_hand = format!("cargo install cargo-deb --version {CARGO_DEB_VERSION} --locked");
    let mut cmd = cargo();
    cmd.args([
        "install",
        "cargo-deb",
        "--version",
        CARGO_DEB_VERSION,
        "--locked",
    ]);
    cmd.env_remove("CARGO_TARGET_DIR");
    println!(
        "xtask: building cargo-deb takes a few minutes, once; it is then reused from ~/.cargo/bin"
    );
    install("cargo-deb", &by_hand, &mut cmd)
}

/// A Python interpreter (in a venv under the cache folder) that can import aiosmtpd.
pub fn smtp_python() -> Result<PathBuf> {
    let venv = cache_dir().join("venv");
    let python = venv.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if ready(&python) {
        return Ok(python);
    }
    python_venv(
        &venv,
        "the SMTP capture server",
        &format!("aiosmtpd=={AIOSMTPD_VERSION}"),
    )?;
    if !ready(&python) {
        bail!(
            "aiosmtpd was installed into {} but cannot be imported",
            venv.display()
        );
    }
    Ok(python)
}

/// The `schemathesis` command at [`SCHEMATHESIS_VERSION`], in a venv of its own under the
/// cache folder (named after the version, so a new pin gets a new venv).
pub fn schemathesis() -> Result<PathBuf> {
    let venv = cache_dir().join(format!("schemathesis-{SCHEMATHESIS_VERSION}"));
    let command = venv.join("bin/schemathesis");
    let ready = |command: &Path| {
        Command::new(command)
            .arg("--version")
            .output()
            .is_ok_and(|out| {
                out.status.success()
                    && String::from_utf8_lossy(&out.stdout).contains(SCHEMATHESIS_VERSION)
            })
    };
    if ready(&command) {
        return Ok(command);
    }
    python_venv(
        &venv,
        "schemathesis (API contract tests)",
        &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
    )?;
    if !ready(&command) {
        bail!(
            "schemathesis {SCHEMATHESIS_VERSION} was installed into {} but `{} --version` does not say so",
            venv.display(),
            command.display()
        );
    }
    Ok(command)
}

/// Makes (or remakes) the venv `venv` and pip-installs `requirement` (`name==version`) into
/// it, for `what`.
fn python_venv(venv: &Path, what: &str, requirement: &str) -> Result<()> {
    if !installs_allowed() {
        bail!(
            "{what}: {requirement} is missing; install it with: python3 -m venv {0} && {0}/bin/pip install {requirement}",
            venv.display()
        );
    }
    let system_python = which("python3").context(
        "python3 is missing; install it with: sudo apt-get install -y python3 python3-venv",
    )?;
    let make_venv = || {
        Command::new(&system_python)
            .args(["-m", "venv", "--clear"])
            .arg(venv)
            .output()
            .is_ok_and(|out| out.status.success())
    };
    println!(
        "xtask: creating a Python venv for {what} in {}",
        venv.display()
    );
    if !make_venv() {
        // Debian splits venv/ensurepip out of python3.
        apt_install(&["python3-venv"], &format!("a Python venv for {what}"))?;
        if !make_venv() {
            bail!(
                "`python3 -m venv {}` fails even with python3-venv installed",
                venv.display()
            );
        }
    }
    proc::run(
        Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(requirement),
    )
}

/// `node` and `npm` on PATH.
pub fn node() -> Result<()> {
    if which("node").is_some() && which("npm").is_some() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"], "Node.js for the browser tests")
}

/// The npm packages of a folder with a committed package-lock.json, installed with `npm ci`
/// when node_modules is missing or older than the lock file.
pub fn npm_packages(dir: &Path) -> Result<()> {
    node()?;
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&lock), modified(&installed)) {
        (Some(lock), Some(installed)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    let mut cmd = Command::new("npm");
    cmd.current_dir(dir);
    if lock.is_file() {
        cmd.args(["ci", "--no-audit", "--no-fund"]);
    } else {
        cmd.args(["install", "--no-audit", "--no-fund"]);
    }
    proc::run(&mut cmd).with_context(|| format!("installing the npm packages of {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_version_is_read_for_the_exact_package_name() {
        let lock = "[[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.56\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.106\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.106")
        );
        assert_eq!(locked_version(lock, "garage"), None);
    }
}
