//! The `deb` test stage: the Debian package an operator installs, tested on this machine.
//!
//! It builds the package with cargo-deb, installs it with `dpkg -i`, checks the unit with
//! `systemd-analyze verify` and `systemd-analyze security`, starts the installed binary the
//! way the unit does, runs `sealdrop admin` with the packaged settings against it, stops it,
//! then removes and purges the package and checks what each step leaves behind.
//!
//! systemd is not PID 1 on the test machines, so `systemctl start` cannot run. Instead the
//! stage reads the installed unit's `[Service]` section and does its part by hand: the
//! `User=`/`Group=`, `WorkingDirectory=`, `UMask=`, `EnvironmentFile=` and `ExecStart=`.
//! The sandboxing directives are rated by `systemd-analyze security` but not exercised.
//! One setting is changed: `SEALDROP_LISTEN` (and the public URL) point at a free port, so
//! the test never collides with whatever else listens on the packaged 127.0.0.1:8080.
//!
//! It installs system-wide, so it runs only as root, and it refuses to start when a
//! `sealdrop` package, user or state folder is already on the machine: purging would delete
//! them. An interrupted or failed run purges the package it installed.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::cleanup::{self, Guard};
use crate::proc::{self, cargo, http, target_dir, which, Checks, Counts};
use crate::setup;
use crate::wasm;

/// The crate whose `Cargo.toml` holds `[package.metadata.deb]`: the one with the `sealdrop`
/// binary.
const CRATE: &str = "sealdrop-cli";
/// The Debian package's name.
const PACKAGE: &str = "sealdrop";
const USER: &str = "sealdrop";
const BINARY: &str = "/usr/bin/sealdrop";
const UNIT: &str = "/usr/lib/systemd/system/sealdrop.service";
const ENV_FILE: &str = "/etc/sealdrop/sealdrop.env";
const ETC_DIR: &str = "/etc/sealdrop";
const STATE_DIR: &str = "/var/lib/sealdrop";
const SHARE_DIR: &str = "/usr/share/sealdrop";
/// Highest overall exposure `systemd-analyze security` may give the unit, in its tenths
/// (`--threshold`): 15 is 1.5 on its 0-10 scale, "OK".
const EXPOSURE_THRESHOLD: u32 = 15;
/// The files every page needs, as the package must install them.
const PACKAGED_FILES: &[&str] = &[
    "./usr/bin/sealdrop",
    "./etc/sealdrop/sealdrop.env",
    "./usr/lib/systemd/system/sealdrop.service",
    "./usr/share/sealdrop/web/recipient/index.html",
    "./usr/share/sealdrop/pkg/widget/loader.js",
    "./usr/share/sealdrop/pkg/widget/widget.js",
    "./usr/share/sealdrop/pkg/widget/worker.js",
    "./usr/share/sealdrop/pkg/sealdrop_widget_bg.wasm",
    "./usr/share/sealdrop/pkg/sealdrop_widget.js",
    "./usr/share/sealdrop/web/sidebar/sidebar.html",
    "./usr/share/sealdrop/web/sidebar/sidebar.js",
    "./usr/share/sealdrop/web/sidebar/strings/en.json",
    "./usr/share/sealdrop/web/shared/api.js",
    "./usr/share/doc/sealdrop/OPERATIONS.md",
];

/// Why the stage cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if which("dpkg").is_none() {
        return Some("needs dpkg (a Debian machine)".into());
    }
    if !proc::is_root() {
        return Some("needs root: dpkg -i installs system-wide".into());
    }
    None
}

/// Runs the stage; returns the checks that passed and failed (the first failure ends it).
pub fn run() -> Result<(Counts, bool)> {
    Ok(Checks::run(run_checks))
}

fn run_checks(checks: &mut Checks) -> Result<()> {
    nothing_installed_yet()?;
    let deb = build()?;
    inspect(&deb, checks)?;

    // From here on an interrupt or a failure purges what dpkg installed.
    let _purge = Guard::new("purge the sealdrop package", || {
        if package_status().is_some() {
            println!("xtask: purging the sealdrop package the deb stage installed");
            let _ = proc::run(Command::new("dpkg").args(["--purge", PACKAGE]));
        }
    });
    proc::run(Command::new("dpkg").arg("-i").arg(&deb))?;
    checks.pass("dpkg -i installs the package");
    installed(checks)?;
    unit_checks(checks)?;
    settings_documented(checks)?;
    started_as_the_unit_would(checks)?;
    removed_and_purged(checks)
}

/// Refuses to run where the package, its user or its folders already exist.
fn nothing_installed_yet() -> Result<()> {
    if let Some(status) = package_status() {
        bail!("a {PACKAGE} package is already on this machine ({status}); the stage installs and purges its own, so remove that one first (dpkg --purge {PACKAGE}) or skip the stage");
    }
    if user_exists(USER) {
        bail!("a user named {USER} exists; purging the package would delete it, so the stage does not run (remove the user or skip the stage)");
    }
    for dir in [STATE_DIR, ETC_DIR, SHARE_DIR] {
        if Path::new(dir).exists() {
            bail!("{dir} exists; purging the package would delete it, so the stage does not run");
        }
    }
    Ok(())
}

/// Builds the browser package (it ships in the .deb) and then the .deb; returns its path.
fn build() -> Result<PathBuf> {
    wasm::build()?;
    setup::cargo_deb()?;
    if which("systemd-analyze").is_none() {
        setup::apt_install(&["systemd"], "systemd-analyze, to check the unit")?;
    }
    let out_dir = target_dir().join("debian");
    std::fs::create_dir_all(&out_dir)?;
    let deb = out_dir.join(format!("{PACKAGE}.deb"));
    let _ = std::fs::remove_file(&deb);
    // `-- --locked` goes to cargo build: the package is built from Cargo.lock as committed.
    proc::run(
        cargo()
            .args(["deb", "-p", CRATE, "--output"])
            .arg(&deb)
            .args(["--", "--locked"]),
    )?;
    ensure!(deb.is_file(), "cargo deb wrote no {}", deb.display());
    Ok(deb)
}

fn inspect(deb: &Path, checks: &mut Checks) -> Result<()> {
    let field = |name: &str| {
        proc::output(
            Command::new("dpkg-deb")
                .args(["--field"])
                .arg(deb)
                .arg(name),
        )
        .map(|value| value.trim().to_string())
    };
    let name = field("Package")?;
    ensure!(
        name == PACKAGE,
        "the package is named {name:?}, not {PACKAGE}"
    );
    println!(
        "xtask: {} {} ({} KiB), Depends: {}",
        name,
        field("Version")?,
        std::fs::metadata(deb)?.len() / 1024,
        field("Depends")?
    );
    let contents = proc::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    let paths: Vec<&str> = contents
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .collect();
    for want in PACKAGED_FILES {
        ensure!(
            paths.contains(want),
            "the package lacks {want}; it holds:\n{contents}"
        );
    }
    checks.pass(format!(
        "the package holds the binary, unit, settings, pages (with the agent sidebar) and browser package ({} files)",
        paths.iter().filter(|p| !p.ends_with('/')).count()
    ));
    Ok(())
}

fn installed(checks: &mut Checks) -> Result<()> {
    let version = proc::output(Command::new(BINARY).arg("--version"))?;
    checks.pass(format!("{BINARY} runs: {}", version.trim()));

    let passwd = proc::output(Command::new("getent").args(["passwd", USER]))?;
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    ensure!(
        fields.len() == 7 && fields[5] == STATE_DIR && fields[6].ends_with("nologin"),
        "the {USER} user should have home {STATE_DIR} and no login shell: {passwd}"
    );
    let uid: u32 = fields[2].parse().context("the user's uid")?;
    ensure!(uid < 1000, "{USER} is not a system user (uid {uid})");
    checks.pass(format!(
        "postinst made the system user {USER} (uid {uid}, home {STATE_DIR}, {})",
        fields[6]
    ));

    ensure_stat(ENV_FILE, "root sealdrop 640")?;
    ensure_stat(STATE_DIR, "sealdrop sealdrop 750")?;
    checks.pass(format!(
        "{ENV_FILE} is root:sealdrop 0640 and {STATE_DIR} sealdrop:sealdrop 0750"
    ));

    let conffiles = proc::output(Command::new("dpkg-query").args([
        "--show",
        "--showformat=${Conffiles}",
        PACKAGE,
    ]))?;
    ensure!(
        conffiles.contains(ENV_FILE),
        "{ENV_FILE} is not a conffile: {conffiles:?}"
    );
    checks.pass(format!(
        "{ENV_FILE} is a conffile (upgrades keep the operator's edits)"
    ));
    Ok(())
}

fn ensure_stat(path: &str, want: &str) -> Result<()> {
    let got = proc::output(Command::new("stat").args(["-c", "%U %G %a", path]))?;
    ensure!(
        got.trim() == want,
        "{path}: owner, group and mode are {:?}, expected {want:?}",
        got.trim()
    );
    Ok(())
}

fn unit_checks(checks: &mut Checks) -> Result<()> {
    let verify = Command::new("systemd-analyze")
        .args(["verify", UNIT])
        .output()
        .context("running systemd-analyze verify")?;
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    println!("$ systemd-analyze verify {UNIT}\n{said}");
    ensure!(
        verify.status.success() && said.trim().is_empty(),
        "systemd-analyze verify {UNIT} found problems ({}):\n{said}",
        verify.status
    );
    checks.pass("systemd-analyze verify: the installed unit has no error or warning");

    let threshold = format!("--threshold={EXPOSURE_THRESHOLD}");
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager", &threshold, UNIT])
        .output()
        .context("running systemd-analyze security")?;
    let report = String::from_utf8_lossy(&security.stdout);
    let overall = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or("(no overall exposure line)")
        .trim()
        .to_string();
    println!("$ systemd-analyze security --offline=true {threshold} {UNIT}");
    for line in report.lines().filter(|line| line.starts_with('✗')) {
        println!("{line}");
    }
    println!("{overall}");
    ensure!(
        security.status.success(),
        "systemd-analyze security rates the unit above {}.{}: {overall}\n{}",
        EXPOSURE_THRESHOLD / 10,
        EXPOSURE_THRESHOLD % 10,
        String::from_utf8_lossy(&security.stderr)
    );
    checks.pass(format!(
        "systemd-analyze security: {}",
        overall.trim_start_matches('→').trim()
    ));
    Ok(())
}

/// Every variable `sealdrop serve --help` names appears in the packaged settings file.
fn settings_documented(checks: &mut Checks) -> Result<()> {
    let help = proc::output(Command::new(BINARY).args(["serve", "--help"]))?;
    let env_file = std::fs::read_to_string(ENV_FILE)?;
    let names = env_names(&help);
    ensure!(
        names.len() > 20,
        "found only {} variables in `sealdrop serve --help`",
        names.len()
    );
    let missing: Vec<&String> = names
        .iter()
        .filter(|name| !documents(&env_file, name))
        .collect();
    ensure!(
        missing.is_empty(),
        "{ENV_FILE} does not document {missing:?} (add a commented line for each in packaging/deb/sealdrop.env)"
    );
    checks.pass(format!(
        "{ENV_FILE} documents all {} variables of `sealdrop serve --help`",
        names.len()
    ));
    Ok(())
}

/// The `[env: NAME=...]` names of clap's help text.
fn env_names(help: &str) -> Vec<String> {
    let mut names: Vec<String> = help
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Whether the settings file has a line `NAME=...` or `#NAME=...`.
fn documents(env_file: &str, name: &str) -> bool {
    env_file.lines().any(|line| {
        line.trim_start_matches('#')
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('='))
    })
}

/// The `[Service]` settings of a unit file: each key with its values in order.
fn service_section(unit: &str) -> BTreeMap<String, Vec<String>> {
    let mut section = "";
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[Service]" && !line.starts_with(['#', ';']) {
            if let Some((key, value)) = line.split_once('=') {
                settings
                    .entry(key.trim().to_string())
                    .or_default()
                    .push(value.trim().to_string());
            }
        }
    }
    settings
}

/// The `KEY=value` lines of the packaged settings file. Only the plain form is read here
/// (no quotes, no backslashes), which is all the packaged file uses; the `sealdrop` binary's
/// `env_file` module (cli/src/env_file.rs) reads everything systemd does.
fn plain_env_file(text: &str) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .with_context(|| format!("{ENV_FILE} line {}: not KEY=value", number + 1))?;
        ensure!(
            !value.contains(['"', '\'', '\\']),
            "{ENV_FILE} line {}: the packaged file should hold plain values only",
            number + 1
        );
        pairs.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(pairs)
}

/// The one value of a unit setting.
fn single<'a>(settings: &'a BTreeMap<String, Vec<String>>, key: &str) -> Result<&'a str> {
    match settings.get(key).map(Vec::as_slice) {
        Some([value]) => Ok(value),
        other => bail!("the unit should set {key}= once, not {other:?}"),
    }
}

struct Account {
    uid: u32,
    gid: u32,
    home: String,
    shell: String,
}

fn account(user: &str) -> Result<Account> {
    let passwd = proc::output(Command::new("getent").args(["passwd", user]))?;
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    ensure!(fields.len() == 7, "getent passwd {user}: {passwd}");
    Ok(Account {
        uid: fields[2].parse()?,
        gid: fields[3].parse()?,
        home: fields[5].to_string(),
        shell: fields[6].to_string(),
    })
}

/// A command run as `user` with the environment systemd gives a service (before its
/// `Environment*=` settings): nothing of ours leaks in.
fn as_user(user: &str, program: &str) -> Result<Command> {
    let account = account(user)?;
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("LANG", "C.UTF-8")
        .env("HOME", &account.home)
        .env("USER", user)
        .env("LOGNAME", user)
        .env("SHELL", &account.shell)
        .uid(account.uid)
        .gid(account.gid)
        .current_dir("/");
    Ok(cmd)
}

struct Server {
    child: Arc<Mutex<Child>>,
    _guard: Guard,
    log: PathBuf,
}

fn started_as_the_unit_would(checks: &mut Checks) -> Result<()> {
    let unit = service_section(&std::fs::read_to_string(UNIT)?);
    let user = single(&unit, "User")?;
    let group = single(&unit, "Group")?;
    ensure!(
        user == USER && group == USER,
        "the unit runs as {user}:{group}"
    );
    let exec: Vec<&str> = single(&unit, "ExecStart")?.split_whitespace().collect();
    ensure!(
        exec.first() == Some(&BINARY) && exec.iter().all(|a| !a.contains(['"', '\'', '$', '%'])),
        "the stage runs a plain `ExecStart={BINARY} ...` only, not {exec:?}"
    );
    let env_file_path = single(&unit, "EnvironmentFile")?;
    ensure!(
        env_file_path == ENV_FILE,
        "the unit reads {env_file_path}, not {ENV_FILE}"
    );
    let work_dir = single(&unit, "WorkingDirectory")?;
    let umask = single(&unit, "UMask")?;
    let state = single(&unit, "StateDirectory")?;
    ensure!(
        Path::new("/var/lib").join(state) == Path::new(STATE_DIR),
        "StateDirectory={state}"
    );
    let settings = plain_env_file(&std::fs::read_to_string(ENV_FILE)?)?;

    let port = proc::free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let dir = proc::temp_dir("deb")?;
    let _remove_dir = Guard::new(
        format!("remove {}", dir.display()),
        crate::services::remove_dir_action(dir.clone()),
    );
    let log = dir.join("sealdrop.log");
    let log_file = File::create(&log)?;

    // umask through the shell: std cannot set it for a child without unsafe code.
    let mut cmd = as_user(USER, "/bin/sh")?;
    cmd.args(["-c", &format!("umask {umask} && exec \"$@\""), "sh"])
        .args(&exec)
        .env("STATE_DIRECTORY", STATE_DIR)
        .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for assignment in unit.get("Environment").into_iter().flatten() {
        for pair in assignment.split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                cmd.env(key, value);
            }
        }
    }
    cmd.env("SEALDROP_LISTEN", format!("127.0.0.1:{port}"))
        .env("SEALDROP_PUBLIC_URL", &base)
        .current_dir(work_dir)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(0);
    println!(
        "$ cd {work_dir} && umask {umask} && (as {user}:{group}, the settings of {ENV_FILE}, SEALDROP_LISTEN=127.0.0.1:{port}) {}",
        exec.join(" ")
    );
    let child = Arc::new(Mutex::new(
        cmd.spawn().context("starting the installed sealdrop")?,
    ));
    let stopper = child.clone();
    let server = Server {
        child,
        _guard: Guard::new("stop the installed sealdrop", move || {
            if let Ok(mut child) = stopper.lock() {
                crate::services::stop_child(&mut child, Duration::from_secs(10));
            }
        }),
        log,
    };
    let result = serve_checks(checks, &server, port);
    if result.is_err() {
        println!(
            "xtask: the installed server's log:\n{}",
            proc::tail(&server.log, 40)
        );
    }
    result
}

fn serve_checks(checks: &mut Checks, server: &Server, port: u16) -> Result<()> {
    wait_healthy(server, port)?;
    let (status, body) = http(port, "GET", "/healthz", None)?;
    ensure!(status == 200 && body == b"ok", "/healthz answered {status}");
    let (status, _) = http(port, "GET", "/readyz", None)?;
    ensure!(status == 200, "/readyz answered {status}");
    checks.pass("the installed server answers /healthz (ok) and /readyz (database and store up)");

    for (path, file) in [
        ("/static/recipient/index.html", "web/recipient/index.html"),
        (
            "/static/pkg/sealdrop_widget_bg.wasm",
            "pkg/sealdrop_widget_bg.wasm",
        ),
        ("/agent-app/sidebar.js", "web/sidebar/sidebar.js"),
    ] {
        let (status, body) = http(port, "GET", path, None)?;
        let installed = std::fs::read(Path::new(SHARE_DIR).join(file))?;
        ensure!(
            status == 200 && body == installed,
            "{path} answered {status} with {} bytes; {SHARE_DIR}/{file} has {}",
            body.len(),
            installed.len()
        );
    }
    // The sidebar page is the installed sidebar.html with the sign-in's answer put in; were
    // SEALDROP_AGENT_APP_DIR wrong, the server would answer its built-in page, which loads no
    // script. No signed token here, so the answer is the refusal, but in the installed page.
    let (status, body) = http(port, "POST", "/zendesk/sidebar", None)?;
    let page = String::from_utf8_lossy(&body);
    ensure!(
        status == 400 && page.contains("src=\"/agent-app/sidebar.js\""),
        "POST /zendesk/sidebar answered {status} without {SHARE_DIR}/web/sidebar/sidebar.html:\n{page}"
    );
    checks.pass(format!(
        "it serves the pages, the browser package and the agent sidebar (/agent-app/, its signed-in page) from {SHARE_DIR}"
    ));

    // `admin` with nothing but the packaged settings file (its default --env-file). Run from
    // `/`: had it not read the file, it would try to make ./sealdrop-data there and fail.
    let mut create = as_user(USER, BINARY)?;
    create.args(["admin", "tenant", "create", "Deb package test"]);
    let token = proc::output(&mut create)?.trim().to_string();
    ensure!(
        token.starts_with("sdt_"),
        "admin printed {token:?}, not a token"
    );
    let (status, body) = http(port, "GET", "/api/v1/settings", Some(&token))?;
    ensure!(
        status == 200,
        "the running server refused the token admin made: {status} {}",
        String::from_utf8_lossy(&body)
    );
    let list = proc::output(as_user(USER, BINARY)?.args(["admin", "tenant", "list"]))?;
    ensure!(
        list.contains("Deb package test"),
        "admin tenant list: {list}"
    );
    checks.pass(format!(
        "`sudo -u {USER} sealdrop admin` reads {ENV_FILE}: the tenant it creates is the running server's"
    ));

    let denied = as_user("nobody", BINARY)?
        .args(["admin", "tenant", "list"])
        .output()?;
    let stderr = String::from_utf8_lossy(&denied.stderr);
    ensure!(
        !denied.status.success() && stderr.contains(ENV_FILE),
        "admin as a user who cannot read {ENV_FILE} should fail naming it ({}): {stderr}",
        denied.status
    );
    checks.pass(format!(
        "admin run by a user who cannot read {ENV_FILE} stops and names it"
    ));

    stop_gracefully(server)?;
    checks.pass("SIGTERM stops the server with exit status 0");

    let uid = account(USER)?.uid;
    let mut count = 0;
    for path in walk(Path::new(STATE_DIR))? {
        let meta = std::fs::symlink_metadata(&path)?;
        ensure!(
            meta.uid() == uid,
            "{} is not owned by {USER}",
            path.display()
        );
        ensure!(
            meta.mode() & 0o007 == 0,
            "{} is open to other users (mode {:o})",
            path.display(),
            meta.mode() & 0o7777
        );
        count += 1;
    }
    ensure!(
        Path::new(STATE_DIR).join("sealdrop.db").is_file(),
        "no SQLite database in {STATE_DIR}"
    );
    checks.pass(format!(
        "the {count} files and folders it made in {STATE_DIR} belong to {USER} and are closed to others"
    ));
    Ok(())
}

fn wait_healthy(server: &Server, port: u16) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if cleanup::interrupted() {
            bail!("interrupted");
        }
        if let Some(status) = server
            .child
            .lock()
            .ok()
            .and_then(|mut c| c.try_wait().ok().flatten())
        {
            bail!("the installed sealdrop exited during start-up ({status})");
        }
        if http(port, "GET", "/healthz", None).is_ok_and(|(status, _)| status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the installed sealdrop did not answer /healthz within 60 s")
}

fn stop_gracefully(server: &Server) -> Result<()> {
    let mut child = server
        .child
        .lock()
        .map_err(|_| anyhow::anyhow!("the server handle is poisoned"))?;
    proc::output(Command::new("kill").args(["-TERM", &child.id().to_string()]))?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if let Some(status) = child.try_wait()? {
            ensure!(
                status.success(),
                "after SIGTERM the server exited with {status}"
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("the server did not stop within 15 s of SIGTERM")
}

fn removed_and_purged(checks: &mut Checks) -> Result<()> {
    proc::run(Command::new("dpkg").args(["-r", PACKAGE]))?;
    for gone in [BINARY, UNIT, SHARE_DIR] {
        ensure!(!Path::new(gone).exists(), "dpkg -r left {gone}");
    }
    for kept in [ENV_FILE, STATE_DIR] {
        ensure!(Path::new(kept).exists(), "dpkg -r removed {kept}");
    }
    ensure!(user_exists(USER), "dpkg -r removed the {USER} user");
    let status = package_status().unwrap_or_default();
    ensure!(
        status == "config-files",
        "after dpkg -r the package is {status:?}, not config-files"
    );
    checks.pass(format!(
        "dpkg -r removes the binary, unit and {SHARE_DIR}; keeps {ENV_FILE}, {STATE_DIR} and the user"
    ));

    proc::run(Command::new("dpkg").args(["--purge", PACKAGE]))?;
    for gone in [ETC_DIR, STATE_DIR] {
        ensure!(!Path::new(gone).exists(), "dpkg --purge left {gone}");
    }
    ensure!(!user_exists(USER), "dpkg --purge left the {USER} user");
    ensure!(
        proc::output(Command::new("getent").args(["group", USER])).is_err(),
        "dpkg --purge left the {USER} group"
    );
    let overrides = proc::output(Command::new("dpkg-statoverride").arg("--list"))?;
    ensure!(
        !overrides.contains(ENV_FILE),
        "dpkg --purge left the statoverride of {ENV_FILE}"
    );
    ensure!(
        package_status().is_none(),
        "dpkg still knows the package after --purge"
    );
    checks.pass(format!(
        "dpkg --purge removes {ETC_DIR}, {STATE_DIR}, the {USER} user and group, and the statoverride"
    ));
    Ok(())
}

/// dpkg's status of the package (`installed`, `config-files`, ...), None when unknown.
fn package_status() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["--show", "--showformat=${db:Status-Status}", PACKAGE])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !status.is_empty() && status != "not-installed").then_some(status)
}

fn user_exists(user: &str) -> bool {
    proc::output(Command::new("getent").args(["passwd", user])).is_ok()
}

/// `dir` and everything below it.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let path = out[i].clone();
        if std::fs::symlink_metadata(&path)?.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                out.push(entry?.path());
            }
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::repo_root;

    #[test]
    fn env_names_are_read_from_clap_help() {
        let help = "  --listen <LISTEN>  Address [env: SEALDROP_LISTEN=] [default: x]\n\
                    --database-url <URL>  [env: DATABASE_URL]\n\
                    --again [env: SEALDROP_LISTEN=1.2.3.4:5]\n";
        assert_eq!(env_names(help), ["DATABASE_URL", "SEALDROP_LISTEN"]);
    }

    #[test]
    fn a_setting_counts_as_documented_set_or_commented_but_not_as_a_prefix() {
        let file =
            "SEALDROP_DATA_DIR=/var/lib/sealdrop\n#SEALDROP_S3_BUCKET=b\n#SEALDROP_S3_PREFIX_X=\n";
        assert!(documents(file, "SEALDROP_DATA_DIR"));
        assert!(documents(file, "SEALDROP_S3_BUCKET"));
        assert!(!documents(file, "SEALDROP_S3_PREFIX"));
    }

    #[test]
    fn the_packaged_unit_and_settings_are_read_as_the_stage_expects() {
        let unit = std::fs::read_to_string(repo_root().join("packaging/deb/sealdrop.service"))
            .expect("the packaged unit");
        let service = service_section(&unit);
        assert_eq!(single(&service, "User").ok(), Some(USER));
        assert_eq!(single(&service, "EnvironmentFile").ok(), Some(ENV_FILE));
        assert_eq!(
            single(&service, "ExecStart").ok(),
            Some("/usr/bin/sealdrop serve")
        );
        let settings = std::fs::read_to_string(repo_root().join("packaging/deb/sealdrop.env"))
            .expect("the packaged settings");
        let pairs = plain_env_file(&settings).expect("plain KEY=value lines");
        assert!(pairs.contains(&("SEALDROP_DATA_DIR".into(), STATE_DIR.into())));
    }
}
