//! Running commands: echo what runs, tee output while counting test results, find tools,
//! free ports and the paths xtask works with.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cleanup::{self, Guard};
use crate::services;

/// The workspace root (the folder holding the root `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    // xtask/Cargo.toml sits one level below the root. `cargo run` (which `cargo xtask` is)
    // sets CARGO_MANIFEST_DIR for the process it starts: prefer it to the folder compiled in.
    // With a build folder shared between checkouts (CARGO_TARGET_DIR), cargo may find an xtask
    // built from another checkout up to date, and the compiled-in path would then make this
    // checkout's commands build and test the other one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("xtask/ always has a parent folder: the workspace root")
        .to_path_buf()
}

/// `SEALDROP_WEB_DIR` and `SEALDROP_WASM_DIR` for a server this checkout starts: its own
/// pages and browser package, whichever checkout the server binary was built from.
pub fn web_env() -> [(&'static str, PathBuf); 2] {
    let root = repo_root();
    [
        ("SEALDROP_WEB_DIR", root.join("web")),
        ("SEALDROP_WASM_DIR", root.join("widget-wasm/pkg")),
    ]
}

/// Cargo's target folder for this workspace, honouring `CARGO_TARGET_DIR`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            repo_root().join(dir)
        };
    }
    // The running binary is <target>/debug/xtask.
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.to_path_buf()))
        .filter(|dir| dir.join("debug").is_dir() || dir.join("release").is_dir())
        .unwrap_or_else(|| repo_root().join("target"))
}

/// `~/.cache/sealdrop` (or `$XDG_CACHE_HOME/sealdrop`): the venv and other reusable tools.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("sealdrop")
}

/// `program` as found on `PATH`, or in `~/.cargo/bin` (where `cargo install` puts it even
/// when that folder is not on `PATH`).
pub fn which(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    dirs.push(cargo_home().join("bin"));
    dirs.into_iter()
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// The cargo that runs us (`$CARGO`), so that nested builds use the same toolchain.
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root());
    if std::io::stdout().is_terminal() {
        cmd.env("CARGO_TERM_COLOR", "always");
    }
    cmd
}

/// A one-line rendering of `cmd` for logs: program, arguments and changed environment.
pub fn display(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(key, value)| {
            let key = key.to_string_lossy();
            // Only our own variables are worth showing; secrets never go into them.
            if key.starts_with("CARGO_TARGET_WASM32") || key == "CHROMEDRIVER" {
                Some(format!("{key}={}", value?.to_string_lossy()))
            } else {
                None
            }
        })
        .collect();
    let program = cmd.get_program().to_string_lossy();
    let program = Path::new(program.as_ref())
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.into_owned());
    parts.push(program);
    parts.extend(cmd.get_args().map(|arg| quote(&arg.to_string_lossy())));
    parts.join(" ")
}

fn quote(arg: &str) -> String {
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio; an error names the command and its exit status.
///
/// Foreground commands run in their own process group: Ctrl-C reaches xtask alone, which
/// stops the whole group, then the services, then exits.
pub fn run(cmd: &mut Command) -> Result<()> {
    println!("$ {}", display(cmd));
    let mut child = cmd
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start `{}`", display(cmd)))?;
    cleanup::set_foreground(Some(child.id()));
    let status = child.wait();
    cleanup::set_foreground(None);
    let status = status.with_context(|| format!("waiting for `{}`", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", display(cmd));
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; stderr is shown only when it fails.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start `{}`", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The checks of a stage that is one long scenario (deb, cluster): each step that holds is
/// printed `ok: …` and counted; the first that does not ends the scenario, printed `FAILED: …`
/// and counted as one failure.
#[derive(Default)]
pub struct Checks {
    counts: Counts,
}

impl Checks {
    /// Runs `scenario`; returns the counts and whether it got to the end.
    pub fn run(scenario: impl FnOnce(&mut Checks) -> Result<()>) -> (Counts, bool) {
        let mut checks = Checks::default();
        let result = scenario(&mut checks);
        if let Err(err) = &result {
            println!("\nFAILED: {err:#}");
            checks.counts.failed += 1;
            checks.counts.seen = true;
        }
        (checks.counts, result.is_ok())
    }

    /// Counts one step that held.
    pub fn pass(&mut self, what: impl std::fmt::Display) {
        println!("ok: {what}");
        self.counts.passed += 1;
        self.counts.seen = true;
    }
}

/// How many tests a command reported as passed and failed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    /// Whether any summary line was seen at all (a build error reports none).
    pub seen: bool,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.seen |= other.seen;
    }

    /// Reads one output line: libtest's `test result: ok. 3 passed; 1 failed; ...`
    /// (cargo test, doc tests, wasm-bindgen-test-runner) or node's TAP `# pass 3` / `# fail 1`.
    pub fn scan(&mut self, line: &str) {
        let line = strip_ansi(line);
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test result:") {
            for part in rest.split(';') {
                let part = part.trim();
                // The first part reads "ok. 3 passed" or "FAILED. 3 passed".
                let part = part.rsplit(". ").next().unwrap_or(part);
                if let Some(n) = number_before(part, "passed") {
                    self.passed += n;
                    self.seen = true;
                } else if let Some(n) = number_before(part, "failed") {
                    self.failed += n;
                    self.seen = true;
                }
            }
        } else if let Some(n) = line
            .strip_prefix("# pass ")
            .and_then(|n| n.trim().parse::<u64>().ok())
        {
            self.passed += n;
            self.seen = true;
        } else if let Some(n) = line
            .strip_prefix("# fail ")
            .or_else(|| line.strip_prefix("# cancelled "))
            .and_then(|n| n.trim().parse::<u64>().ok())
        {
            // A cancelled node test (timeout, parent failed) did not pass: count it failed.
            self.failed += n;
            self.seen = true;
        }
    }
}

fn number_before(part: &str, word: &str) -> Option<u64> {
    let (number, rest) = part.trim().split_once(' ')?;
    (rest.trim() == word).then(|| number.parse().ok()).flatten()
}

/// Removes terminal colour sequences (`ESC [ ... letter`).
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `cmd`, copying its stdout and stderr through as they arrive and counting the test
/// results they report. Returns the counts and whether the command succeeded.
pub fn run_counted(cmd: &mut Command) -> Result<(Counts, bool)> {
    println!("$ {}", display(cmd));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot start `{}`", display(cmd)))?;
    cleanup::set_foreground(Some(child.id()));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let stdout = child.stdout.take().expect("stdout is piped above");
    let stderr = child.stderr.take().expect("stderr is piped above");
    let out_thread = tee(stdout, counts.clone(), false);
    let err_thread = tee(stderr, counts.clone(), true);
    let status = child.wait();
    cleanup::set_foreground(None);
    let _ = out_thread.join();
    let _ = err_thread.join();
    let status = status.with_context(|| format!("waiting for `{}`", display(cmd)))?;
    let counts = *counts
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok((counts, status.success()))
}

fn tee(
    stream: impl Read + Send + 'static,
    counts: Arc<Mutex<Counts>>,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if to_stderr {
                let _ = std::io::stderr().write_all(&line);
            } else {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&line);
                let _ = out.flush();
            }
            counts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .scan(&String::from_utf8_lossy(&line));
        }
    })
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on `127.0.0.1:port`, or fails after `timeout`.
pub fn wait_for_port(port: u16, timeout: Duration, what: &str) -> Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not accept connections on 127.0.0.1:{port} within {timeout:?}")
}

/// One HTTP/1.0 request with an empty body to 127.0.0.1 (answers unchunked): status and
/// body.
pub fn http(port: u16, method: &str, path: &str, bearer: Option<&str>) -> Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request =
        format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n");
    if let Some(token) = bearer {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no HTTP status")?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// `n` random bytes as lowercase hex, from the kernel's CSPRNG.
pub fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A fresh, empty folder under the system temp folder, named after `what`.
pub fn temp_dir(what: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "sealdrop-{what}-{}-{}",
        std::process::id(),
        random_hex(4)?
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The last `lines` lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// "1.2s", "3m05s".
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false)
}

/// Removes every sealdrop setting the caller's environment may hold, so that only what the
/// caller sets reaches the binary.
pub fn clear_settings(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("SEALDROP_") || key == "DATABASE_URL" || key == "RUST_LOG" {
            cmd.env_remove(key.as_ref());
        }
    }
}

/// A long-running child in its own process group, stopped when dropped or on interrupt.
pub struct Daemon {
    child: Arc<Mutex<Child>>,
    _guard: Guard,
}

impl Daemon {
    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.lock().ok().map(|child| child.id())
    }

    /// Starts `cmd` with its stdout and stderr appended to `log`.
    pub fn spawn(mut cmd: Command, log: &Path, what: &str) -> Result<Self> {
        let log_file = File::options().create(true).append(true).open(log)?;
        cmd.stdout(log_file.try_clone()?).stderr(log_file);
        Self::start(cmd, what)
    }

    /// Starts `cmd` with the stdout and stderr it was given (inherited unless set).
    pub fn start(mut cmd: Command, what: &str) -> Result<Self> {
        let child = cmd
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {what}"))?;
        let child = Arc::new(Mutex::new(child));
        let stopper = child.clone();
        let guard = Guard::new(format!("stop {what}"), move || {
            if let Ok(mut child) = stopper.lock() {
                services::stop_child(&mut child, Duration::from_secs(10));
            }
        });
        Ok(Daemon {
            child,
            _guard: guard,
        })
    }

    pub fn running(&self) -> bool {
        self.child
            .lock()
            .ok()
            .is_some_and(|mut child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn kill(self) -> Result<()> {
        let mut child = self
            .child
            .lock()
            .map_err(|_| anyhow::anyhow!("the child handle is poisoned"))?;
        child.kill().context("SIGKILL")?;
        child.wait()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_of(text: &str) -> Counts {
        let mut counts = Counts::default();
        text.lines().for_each(|line| counts.scan(line));
        counts
    }

    #[test]
    fn libtest_summaries_are_summed() {
        let counts = counts_of(
            "running 3 tests\n\
             test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\
             test result: FAILED. 5 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 1.00s\n",
        );
        assert_eq!((counts.passed, counts.failed, counts.seen), (8, 2, true));
    }

    #[test]
    fn coloured_libtest_summary_is_read() {
        let counts =
            counts_of("test result: \u{1b}[32mok\u{1b}[0m. 4 passed; 0 failed; 0 ignored\n");
        assert_eq!((counts.passed, counts.failed), (4, 0));
    }

    #[test]
    fn node_tap_summary_is_read() {
        let counts = counts_of("# tests 6\n# suites 0\n# pass 4\n# fail 1\n# cancelled 1\n");
        assert_eq!((counts.passed, counts.failed), (4, 2));
    }

    #[test]
    fn build_output_counts_nothing() {
        let counts = counts_of("error[E0308]: mismatched types\n   Compiling foo v0.1.0\n");
        assert_eq!(counts, Counts::default());
    }

    #[test]
    fn quoting_keeps_plain_arguments_and_quotes_the_rest() {
        assert_eq!(quote("--target"), "--target");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
