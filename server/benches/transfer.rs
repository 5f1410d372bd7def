//! `cargo bench -p sealdrop-server --bench transfer` (or `cargo xtask bench server`, which
//! installs age and gpg, builds the `sealdrop` command and starts Garage first): end-to-end
//! transfer throughput and peak memory, against same-run baselines, in one table.
//!
//! # What runs
//!
//! Each round measures, one after the other, on the same 1 GiB source file:
//!
//! - **folder**: `direct write + fsync` (the disk's pace, see below), then `age -r` and
//!   `gpg -e` encrypting the file to a file and `age -d` / `gpg -d` decrypting it to a file
//!   (each output fsynced, inside the time), then `sealdrop send` of the file to a server with
//!   folder storage and `sealdrop get` of its link (the command's own fsync), then the direct
//!   write again;
//! - **s3** (when `SEALDROP_TEST_S3_ENDPOINT`, `SEALDROP_TEST_S3_BUCKET`,
//!   `SEALDROP_TEST_S3_ACCESS_KEY_ID` and `SEALDROP_TEST_S3_SECRET_ACCESS_KEY` are set, as
//!   `cargo xtask bench server` does with Garage): `aws-sdk-s3` `put_object` / `get_object`
//!   of 8 MiB objects, as many in flight as the client's default (`SEALDROP_BENCH_PARALLEL` sets both
//!   this and `sealdrop send --parallel`), then `sealdrop send` / `get` through a server with
//!   S3 storage.
//!
//! `sealdrop send` / `get` are the release `sealdrop` command named by `SEALDROP_BIN` (what
//! `cargo xtask bench server` builds and sets); without it the bench drives the client
//! library in this process instead and cannot report the client's memory. The server always
//! runs as a separate process: this executable started again with `SEALDROP_BENCH_SERVER`
//! set (SQLite in the bench's folder, folder or S3 blobs). It prints `PORT TOKEN` and serves
//! until its stdin closes. age, gpg and the command report their peak RSS (`VmHWM`, read
//! every 10 ms while they run); the server its `VmHWM` after each transfer. A last section
//! gives the server's peak RSS for one upload of the full size and for 8 concurrent uploads
//! of a quarter of it.
//!
//! # The baselines, and what they measure
//!
//! - `direct write + fsync`: copy the source (in the page cache: it was just written) to a
//!   new file in 8 MiB writes, then `fsync`. The writes only fill the page cache (1 GiB is
//!   far below the dirty limits of a 24 GiB machine, so nothing is written back during the
//!   copy); the `fsync` then writes the whole file to the disk, so the figure is mostly the
//!   disk's sequential write speed. On a shared virtual disk that speed moves by a factor of
//!   two or more from minute to minute (300 to 1800 MiB/s were seen), which is why the bench
//!   takes it twice per round, before and after the transfers, runs `sync` before each step
//!   (so that no step pays for the write-back of the one before: the file system is mounted
//!   with `discard`, and deleting a file makes the next journal commit slower), and gives
//!   the median with the full range and each row's ratio per round. A ratio is only
//!   meaningful against the baseline of its own run.
//! - `age -r` / `age -d` (age 1.x, Debian's `age`): to and from a freshly generated X25519
//!   identity. This is sealdrop's own design: a random file key wrapped for a recipient,
//!   STREAM over 64 KiB chunks (age with ChaCha20-Poly1305, sealdrop with AES-256-GCM), to a
//!   file, fsynced, with no network and no server.
//! - `gpg -e` / `gpg -d` (GnuPG 2.2, Debian's `gpg`): public-key encryption to a generated
//!   cv25519 key, `--cipher-algo AES256 --compress-algo none`. Public-key rather than
//!   `--symmetric`: like sealdrop, the bulk key is random and wrapped for whoever may open
//!   it; `--symmetric` derives it from a passphrase with an iterated S2K, which sealdrop has
//!   no analogue of (its link secret is 256 random bits). Compression is off because
//!   sealdrop does not compress and the source is incompressible.
//!
//! # Where the time goes
//!
//! `scripts/profile-transfer.sh` sends and gets 1 GiB through a local server with `perf`
//! sampling the command and the server (999 Hz, `cpu-clock`), and reads how busy the cores
//! were and, on S3, the S3 service's CPU time. On this 2-core machine, release build, 6 parts
//! in flight, Garage on the same machine (2026-12-06):
//!
//! | step | wall | cores busy | client CPU | server CPU | S3 service CPU | client's top | server's top |
//! |---|---|---|---|---|---|---|---|
//! | folder send | 2.1 s | 73 % | 1.3 s | 1.4 s | - | SHA-256 49 %, AES-GCM 11 %, kernel copies 20 % | SHA-256 44 %, kernel copies 8 % |
//! | folder get | 2.1 s | 39 % | 0.6 s | 0.6 s | - | AES-GCM 22 %, memmove 15 % | kernel copies 12 %, memset 5 % |
//! | S3 send | 6.1 s | 97 % | 1.3 s | 1.5 s | 6.8 s | SHA-256 46 %, AES-GCM 13 % | SHA-256 41 %, kernel copies 15 % |
//! | S3 get | 4.1 s | 61 % | 0.7 s | 1.2 s | 2.6 s | AES-GCM 24 %, kernel copies 14 % | kernel copies 22 % |
//!
//! What that says:
//! - **The folder path is not CPU-bound.** A send leaves a quarter of the two cores idle, a
//!   get 60 %: the rest is waiting on the disk (the folder store writes every part past the
//!   page cache and fsyncs it; a get reads the parts and writes and fsyncs the output on the
//!   same virtual disk). That is why `get` cannot reach twice `age -d` here: `age -d` at
//!   600-680 MiB/s already writes at about half the disk's own `dd` speed (1160-1590 MiB/s),
//!   and a get reads as much as it writes from that same disk; the issue's 2x was set against
//!   an `age -d` of 272-330 MiB/s measured before every step started from a synced disk
//!   (write-back of the previous step was billed to it).
//! - **The S3 send is CPU-bound, and the store is most of it.** Both cores are busy; Garage
//!   alone spends 6.8 s of CPU per GiB (it hashes every byte again, MD5 for the ETag and BLAKE2
//!   for its blocks, and writes them), the command and the server 2.8 s together. The direct
//!   `put_object` baseline pays only Garage's share, so with the store on the same two cores a
//!   send through the server can reach only about 6.8 / (6.8 + 2.8), some 70 % of it by this
//!   count, whatever the server does (the bench, at 512 MiB, measured 76-86 %; Garage's share
//!   moves from run to run). The issue's 90 % needs cores the store does not share. With the
//!   store on other machines, as in production, the command's and the server's 2.8 s are the
//!   whole CPU cost of a send.
//! - **SHA-256 is the largest CPU cost of a send**, on both sides: the command hashes each part
//!   for its `X-Sealdrop-Sha256` header and the server hashes it again to check it. Both use
//!   the CPU's SHA extensions already (the `sha2` crate's `x86` backend: 1.7 GB/s here, the
//!   same as `ring` and `openssl speed`), so no faster implementation exists; AES-GCM
//!   (ring's VAES code) costs a quarter as much. Hashing and encryption run on different
//!   parts at once (each part in flight is one blocking task).
//! - The server's download reads zero each 1 MiB block before the `O_DIRECT` read fills it
//!   (`memset`, 5-13 % of a get's server CPU across runs): reading into uninitialised memory needs `unsafe`,
//!   which the workspace forbids; a pool of reused blocks would remove it. Not done: the get
//!   is waiting on the disk, not on that CPU.
//! - Before parts streamed into S3 (`storage::checked`), an S3 send spooled each part to the
//!   server's disk and read it back for `PutObject`: this bench measured the S3 send at 62 %
//!   of the direct `put_object` rows (147 against 238 MiB/s, 512 MiB, 2 rounds); streamed, in
//!   the next run, 81 % (183 against 226), and the server's peak for one upload went from 46
//!   to 34 MiB.
//!
//! # Sizes
//!
//! 1 GiB per transfer; `SEALDROP_BENCH_MIB=256` shrinks it; `SEALDROP_BENCH_ROUNDS` (default
//! 3) sets the rounds. Every file lives in one temporary folder (`TMPDIR`), deleted at the
//! end. `SEALDROP_BENCH_LARGE_MIB=10240` runs instead one `sealdrop send` and one
//! `sealdrop get` of that size through a folder server and reports the client's and the
//! server's peak RSS: the source is a sparse file (it takes no disk and reads as zeros, which
//! encrypt at the same cost as any bytes), so only the stored ciphertext and the downloaded
//! file take space, one after the other's upload (twice the size at most).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{
    BehaviorVersion, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::primitives::ByteStream;
use clap::Parser;
use futures::StreamExt;
use sealdrop_client::{Client, Credential, GetOptions, NoProgress, SendOptions};
use sealdrop_server::clock::Clock;
use sealdrop_server::config::{ConfigArgs, StorageKind};
use sealdrop_server::Application;
use tempfile::TempDir;

/// Set in the child process: the data folder of the server to run.
const SERVER_ENV: &str = "SEALDROP_BENCH_SERVER";
/// Set in the child process: `folder` or `s3`.
const STORAGE_ENV: &str = "SEALDROP_BENCH_STORAGE";
/// Parts in flight of `sealdrop send` and of the direct S3 baselines alike: the client's
/// default, or `SEALDROP_BENCH_PARALLEL` (1-8), to see whether a gap to the direct rows is
/// latency (which more parts in flight hide) or bandwidth (which they do not).
fn parallel() -> usize {
    std::env::var("SEALDROP_BENCH_PARALLEL")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=8).contains(n))
        .unwrap_or(sealdrop_client::DEFAULT_PARALLEL)
}
/// Object size of the direct S3 baseline (the client's part size is about this).
const OBJECT: usize = 8 << 20;
const MIB: f64 = (1u64 << 20) as f64;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Some(dir) = std::env::var_os(SERVER_ENV) {
        runtime.block_on(serve(PathBuf::from(dir)));
        return;
    }
    runtime.block_on(bench());
}

// ---------------------------------------------------------------------------------------------
// The server child process.

#[derive(clap::Parser)]
struct ServerArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

async fn serve(data_dir: PathBuf) {
    let data_dir_text = data_dir.display().to_string();
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("sealdrop.db").display()
    );
    let mut args = ServerArgs::try_parse_from([
        "sealdrop-bench",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir_text,
        "--database-url",
        &database_url,
        "--storage",
        "folder",
        "--s3-path-style",
        "true",
        // 64 GiB: room for `SEALDROP_BENCH_LARGE_MIB` runs past the default 10 GiB.
        "--max-file-size",
        "68719476736",
        "--max-files",
        "1000",
        "--default-expiry-secs",
        "604800",
        "--max-expiry-secs",
        "2592000",
        "--purge-interval-secs",
        "3600",
        "--shutdown-timeout-secs",
        "5",
    ])
    .expect("server settings parse")
    .config;
    args.public_url = None;
    args.smtp_url = None;
    if std::env::var(STORAGE_ENV).as_deref() == Ok("s3") {
        let s3 = S3Settings::from_env().expect("S3 settings");
        args.storage = StorageKind::S3;
        args.s3_endpoint = Some(s3.endpoint);
        args.s3_bucket = Some(s3.bucket);
        args.s3_region = s3.region;
        args.s3_access_key_id = Some(s3.access_key_id);
        args.s3_secret_access_key = Some(s3.secret_access_key);
        args.s3_prefix = format!("bench-{:016x}/", rand::random::<u64>());
    }
    let config = args.into_config().expect("valid server configuration");
    let app = Application::build_with_clock(config, Clock::default())
        .await
        .expect("application starts");
    let port = app.local_addr().expect("bound").port();
    let state = app.state().clone();
    let token =
        sealdrop_server::tokens::NewToken::generate(sealdrop_server::tokens::TokenKind::Tenant);
    state
        .db
        .create_tenant(
            &format!("t{:016x}", rand::random::<u64>()),
            "Bench Tenant",
            token.hash().as_bytes(),
            state.clock.now(),
        )
        .await
        .expect("create tenant")
        .expect("tenant name is free");
    println!("{port} {}", token.text());
    std::io::stdout().flush().expect("stdout");
    // Serve until the bench closes our stdin (or dies).
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    app.run_until(async move {
        let _ = stdin_closed.await;
    })
    .await
    .expect("server runs");
}

/// A server child process; dropping it stops it.
struct Server {
    child: Child,
    url: String,
    token: String,
    _data_dir: TempDir,
}

impl Server {
    fn start(storage: &str, work: &Path) -> Server {
        let data_dir = tempfile::tempdir_in(work).expect("server data folder");
        let mut child = Command::new(std::env::current_exe().expect("bench executable"))
            .env(SERVER_ENV, data_dir.path())
            .env(STORAGE_ENV, storage)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("server announces itself");
        let (port, token) = line
            .trim()
            .split_once(' ')
            .expect("server prints PORT TOKEN");
        Server {
            url: format!("http://127.0.0.1:{port}"),
            token: token.to_owned(),
            child,
            _data_dir: data_dir,
        }
    }

    fn client(&self) -> Client {
        Client::new(&self.url, Credential::ApiToken(self.token.clone()))
            .expect("client")
            .with_state_dir(None)
            .with_parallel(parallel())
    }

    /// `(VmRSS, VmHWM)` in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        (
            status_field(&status, "VmRSS:"),
            status_field(&status, "VmHWM:"),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `/proc/PID/status` field in kB, as MiB (NaN when absent).
fn status_field(status: &str, name: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN)
        / 1024.0
}

// ---------------------------------------------------------------------------------------------
// The programs measured: age, gpg, the `sealdrop` command.

/// A finished program run: its wall time (with the output's fsync, where the caller asked)
/// and its peak RSS.
struct Run {
    secs: f64,
    peak_mib: f64,
    stdout: String,
}

/// Runs `command` to its end with stdout and stderr in files of `work`, reading its
/// `VmHWM` every 10 ms; then fsyncs `output` if given, inside the time. Panics with the
/// program's stderr if it fails.
fn run_timed(command: &mut Command, work: &Path, output: Option<&Path>) -> Run {
    let out_path = work.join("program.stdout");
    let err_path = work.join("program.stderr");
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = f64::NAN;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            let hwm = status_field(&text, "VmHWM:");
            if !hwm.is_nan() {
                peak = hwm;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if let Some(output) = output {
        std::fs::File::open(output)
            .expect("program output")
            .sync_all()
            .expect("fsync the output");
    }
    let secs = start.elapsed().as_secs_f64();
    if !status.success() {
        panic!(
            "{command:?} failed ({status}):\n{}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }
    Run {
        secs,
        peak_mib: peak,
        stdout: std::fs::read_to_string(&out_path).expect("program stdout"),
    }
}

/// `program` on `PATH`, if there.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// An age identity in the bench's folder.
struct Age {
    identity: PathBuf,
    recipient: String,
}

impl Age {
    fn set_up(work: &Path) -> Option<Age> {
        if which("age").is_none() || which("age-keygen").is_none() {
            eprintln!(
                "transfer bench: age is not installed, skipping its rows \
                 (install it with `apt-get install age`; `cargo xtask bench server` does)"
            );
            return None;
        }
        let identity = work.join("age-identity.txt");
        let made = Command::new("age-keygen")
            .arg("-o")
            .arg(&identity)
            .stderr(Stdio::null())
            .status()
            .expect("age-keygen");
        assert!(made.success(), "age-keygen failed");
        let public = Command::new("age-keygen")
            .arg("-y")
            .arg(&identity)
            .output()
            .expect("age-keygen -y");
        let recipient = String::from_utf8(public.stdout)
            .expect("recipient")
            .trim()
            .to_owned();
        Some(Age {
            identity,
            recipient,
        })
    }

    fn encrypt(&self, source: &Path, out: &Path, work: &Path) -> Run {
        run_timed(
            Command::new("age")
                .args(["-r", &self.recipient, "-o"])
                .arg(out)
                .arg(source),
            work,
            Some(out),
        )
    }

    fn decrypt(&self, source: &Path, out: &Path, work: &Path) -> Run {
        run_timed(
            Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(&self.identity)
                .arg("-o")
                .arg(out)
                .arg(source),
            work,
            Some(out),
        )
    }
}

/// A GnuPG home in the bench's folder with one key (ed25519 + cv25519, no passphrase); its
/// agent is stopped on drop.
struct Gpg {
    home: PathBuf,
}

const GPG_UID: &str = "sealdrop bench <bench@sealdrop.invalid>";

impl Gpg {
    fn set_up(work: &Path) -> Option<Gpg> {
        if which("gpg").is_none() || which("gpg-agent").is_none() {
            eprintln!(
                "transfer bench: gpg is not installed, skipping its rows \
                 (install it with `apt-get install gpg gpg-agent`; `cargo xtask bench server` does)"
            );
            return None;
        }
        let home = work.join("gnupg");
        std::fs::create_dir(&home).expect("GnuPG home");
        let gpg = Gpg { home };
        let made = gpg
            .command()
            .args(["--pinentry-mode", "loopback", "--passphrase", ""])
            .args([
                "--quick-gen-key",
                GPG_UID,
                "future-default",
                "default",
                "never",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("gpg --quick-gen-key");
        assert!(made.success(), "gpg --quick-gen-key failed");
        Some(gpg)
    }

    fn command(&self) -> Command {
        let mut command = Command::new("gpg");
        command
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--yes", "--quiet"]);
        command
    }

    fn encrypt(&self, source: &Path, out: &Path, work: &Path) -> Run {
        run_timed(
            self.command()
                .args(["--trust-model", "always", "--compress-algo", "none"])
                .args(["--cipher-algo", "AES256", "-r", GPG_UID, "-o"])
                .arg(out)
                .arg("-e")
                .arg(source),
            work,
            Some(out),
        )
    }

    fn decrypt(&self, source: &Path, out: &Path, work: &Path) -> Run {
        run_timed(
            self.command()
                .args(["--pinentry-mode", "loopback", "--passphrase", "", "-o"])
                .arg(out)
                .arg("-d")
                .arg(source),
            work,
            Some(out),
        )
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// How the bench sends and gets: the `sealdrop` command (`SEALDROP_BIN`), else the client
/// library in this process.
enum Sealdrop {
    Command(PathBuf),
    Library,
}

impl Sealdrop {
    fn from_env() -> Sealdrop {
        match std::env::var_os("SEALDROP_BIN") {
            Some(bin) if Path::new(&bin).is_file() => Sealdrop::Command(bin.into()),
            _ => {
                eprintln!(
                    "transfer bench: SEALDROP_BIN does not name the `sealdrop` command; using the \
                     client library in this process (no client memory figures). \
                     `cargo xtask bench server` builds and uses the release command."
                );
                Sealdrop::Library
            }
        }
    }

    fn name(&self, command: &str) -> String {
        match self {
            Sealdrop::Command(_) => format!("sealdrop {command}"),
            Sealdrop::Library => format!("client library {command}"),
        }
    }

    /// Sends `source` through `server`; returns the link and the run.
    async fn send(&self, server: &Server, source: &Path, work: &Path) -> (String, Run) {
        match self {
            Sealdrop::Command(bin) => {
                let run = run_timed(
                    Command::new(bin)
                        .arg("send")
                        .arg(source)
                        .args(["--parallel", &parallel().to_string()])
                        .arg("--state-dir")
                        .arg(work.join("state"))
                        .env("SEALDROP_URL", &server.url)
                        .env("SEALDROP_TOKEN", &server.token),
                    work,
                    None,
                );
                (run.stdout.trim().to_owned(), run)
            }
            Sealdrop::Library => {
                let start = Instant::now();
                let link = server
                    .client()
                    .send(&[source.to_owned()], SendOptions::default(), &NoProgress)
                    .await
                    .expect("upload");
                let run = Run {
                    secs: start.elapsed().as_secs_f64(),
                    peak_mib: f64::NAN,
                    stdout: String::new(),
                };
                (link.to_string(), run)
            }
        }
    }

    /// Gets `link` into `out_dir` (created); the file is synced by the client itself.
    async fn get(&self, link: &str, out_dir: &Path, work: &Path) -> Run {
        std::fs::create_dir_all(out_dir).expect("download folder");
        match self {
            Sealdrop::Command(bin) => run_timed(
                Command::new(bin)
                    .arg("get")
                    .arg(link)
                    .arg("-o")
                    .arg(out_dir),
                work,
                None,
            ),
            Sealdrop::Library => {
                let start = Instant::now();
                let link = sealdrop_crypto::SecureLink::parse(link).expect("link");
                Client::get(&link, out_dir, GetOptions::default(), &NoProgress)
                    .await
                    .expect("download");
                Run {
                    secs: start.elapsed().as_secs_f64(),
                    peak_mib: f64::NAN,
                    stdout: String::new(),
                }
            }
        }
    }
}

/// Brings the machine to the same state before every step: `sync` (no dirty page left for
/// the step to write back), then a pause of `SEALDROP_BENCH_SETTLE_SECS` (default 5) so that
/// the memory the previous step freed (a deleted file's page cache) has gone back to the
/// host, as it has when a transfer starts on an idle machine. See the module docs for why.
fn settle() {
    let _ = Command::new("sync").status();
    let secs = std::env::var("SEALDROP_BENCH_SETTLE_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(5.0);
    std::thread::sleep(Duration::from_secs_f64(secs));
}

// ---------------------------------------------------------------------------------------------
// The table.

/// How a row is set against a baseline.
#[derive(Clone, Copy, PartialEq)]
enum Versus {
    /// `55% direct`.
    Percent,
    /// `0.67x age -r`.
    Times,
}

struct Row {
    storage: &'static str,
    what: String,
    bytes: u64,
    /// `(round, seconds)` of every sample.
    samples: Vec<(usize, f64)>,
    /// `(baseline row, how, its short name)`.
    versus: Vec<(usize, Versus, &'static str)>,
    /// Peak RSS of the program doing the work, over the rounds (MiB).
    program_peak: f64,
    /// The server's `VmHWM` after this step, over the rounds (MiB).
    server_peak: f64,
}

impl Row {
    fn median_secs(&self, round: Option<usize>) -> Option<f64> {
        let mut secs: Vec<f64> = self
            .samples
            .iter()
            .filter(|(r, _)| round.is_none_or(|round| *r == round))
            .map(|(_, s)| *s)
            .collect();
        if secs.is_empty() {
            return None;
        }
        secs.sort_by(f64::total_cmp);
        let mid = secs.len() / 2;
        Some(if secs.len() % 2 == 0 {
            (secs[mid - 1] + secs[mid]) / 2.0
        } else {
            secs[mid]
        })
    }

    fn rate(&self, secs: f64) -> f64 {
        self.bytes as f64 / MIB / secs
    }

    fn mib_s(&self, round: Option<usize>) -> Option<f64> {
        self.median_secs(round).map(|s| self.rate(s))
    }
}

#[derive(Default)]
struct Table {
    rows: Vec<Row>,
    round: usize,
}

impl Table {
    /// Adds a sample of the current round to row `storage`/`what`, creating it; returns it.
    fn record(&mut self, storage: &'static str, what: &str, bytes: u64, run: &Run) -> usize {
        let at = match self
            .rows
            .iter()
            .position(|r| r.storage == storage && r.what == what)
        {
            Some(at) => at,
            None => {
                self.rows.push(Row {
                    storage,
                    what: what.to_owned(),
                    bytes,
                    samples: Vec::new(),
                    versus: Vec::new(),
                    program_peak: f64::NAN,
                    server_peak: f64::NAN,
                });
                self.rows.len() - 1
            }
        };
        let row = &mut self.rows[at];
        row.samples.push((self.round, run.secs));
        row.program_peak = row.program_peak.max(run.peak_mib);
        at
    }

    fn server_peak(&mut self, row: usize, server: &Server) {
        let row = &mut self.rows[row];
        row.server_peak = row.server_peak.max(server.rss_mib().1);
    }

    /// Sets `row` against `baseline` (once).
    fn versus(&mut self, row: usize, baseline: Option<usize>, how: Versus, name: &'static str) {
        let Some(baseline) = baseline else { return };
        let versus = &mut self.rows[row].versus;
        if !versus.iter().any(|(b, ..)| *b == baseline) {
            versus.push((baseline, how, name));
        }
    }

    fn print(&self, rounds: usize) {
        println!(
            "{:<7} {:<36} {:>7} {:>10} {:>3}  {:>7} {:>7}  vs same-run baselines: median (per round)",
            "storage", "operation", "MiB/s", "range", "n", "prog", "server"
        );
        for row in &self.rows {
            let rates: Vec<f64> = row.samples.iter().map(|(_, s)| row.rate(*s)).collect();
            let lo = rates.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = rates.iter().copied().fold(0.0, f64::max);
            let versus: Vec<String> = row
                .versus
                .iter()
                .map(|&(b, how, name)| {
                    let base = &self.rows[b];
                    let ratio =
                        row.mib_s(None).unwrap_or(f64::NAN) / base.mib_s(None).unwrap_or(f64::NAN);
                    let per_round: Vec<f64> = (0..rounds)
                        .filter_map(|r| Some(row.mib_s(Some(r))? / base.mib_s(Some(r))?))
                        .collect();
                    let r_lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
                    let r_hi = per_round.iter().copied().fold(0.0, f64::max);
                    match how {
                        Versus::Percent => format!(
                            "{:.0}% {name} ({:.0}-{:.0}%)",
                            100.0 * ratio,
                            100.0 * r_lo,
                            100.0 * r_hi
                        ),
                        Versus::Times => {
                            format!("{ratio:.2}x {name} ({r_lo:.2}-{r_hi:.2})")
                        }
                    }
                })
                .collect();
            let mib = |v: f64| {
                if v.is_nan() {
                    "-".to_owned()
                } else {
                    format!("{v:.0}")
                }
            };
            println!(
                "{:<7} {:<36} {:>7.0} {:>10} {:>3}  {:>7} {:>7}  {}",
                row.storage,
                row.what,
                row.mib_s(None).unwrap_or(f64::NAN),
                format!("{lo:.0}-{hi:.0}"),
                row.samples.len(),
                mib(row.program_peak),
                mib(row.server_peak),
                versus.join("; ")
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The measurements.

struct S3Settings {
    endpoint: String,
    bucket: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
}

impl S3Settings {
    fn from_env() -> Option<S3Settings> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Some(S3Settings {
            endpoint: var("SEALDROP_TEST_S3_ENDPOINT")?,
            bucket: var("SEALDROP_TEST_S3_BUCKET")?,
            region: var("SEALDROP_TEST_S3_REGION").unwrap_or_else(|| "garage".into()),
            access_key_id: var("SEALDROP_TEST_S3_ACCESS_KEY_ID")?,
            secret_access_key: var("SEALDROP_TEST_S3_SECRET_ACCESS_KEY")?,
        })
    }

    fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(
                &self.access_key_id,
                &self.secret_access_key,
                None,
                None,
                "sealdrop-bench",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
}

async fn bench() {
    let work = tempfile::tempdir().expect("work folder");
    let sealdrop = Sealdrop::from_env();
    if let Some(mib) = env_number("SEALDROP_BENCH_LARGE_MIB") {
        large(mib, &sealdrop, work.path()).await;
        return;
    }
    let mib = env_number("SEALDROP_BENCH_MIB").unwrap_or(1024);
    let rounds = env_number("SEALDROP_BENCH_ROUNDS").unwrap_or(3) as usize;
    let size = mib << 20;
    let source = work.path().join("source.bin");
    write_source(&source, size);
    let s3 = S3Settings::from_env();
    let tools = Tools {
        age: Age::set_up(work.path()),
        gpg: Gpg::set_up(work.path()),
        sealdrop,
    };

    let mut table = Table::default();
    for round in 0..rounds {
        eprintln!("transfer bench: round {} of {rounds}", round + 1);
        table.round = round;
        folder_round(&mut table, &tools, &source, work.path()).await;
        if let Some(s3) = &s3 {
            s3_round(&mut table, &tools, s3, &source, work.path()).await;
        }
    }

    let memory = server_memory(&source, size, s3.is_some(), work.path()).await;

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "sealdrop transfer bench: {mib} MiB per transfer, {rounds} rounds, {cpus} CPUs; \
         sealdrop {} parts in flight, direct S3 {}; server in a child process (SQLite)",
        parallel(),
        parallel()
    );
    if s3.is_none() {
        println!("(S3 rows skipped: SEALDROP_TEST_S3_* not set)");
    }
    println!(
        "MiB/s: median of the n samples; range: slowest-fastest; prog: the program's peak RSS \
         (MiB); server: the server's VmHWM after the step (MiB)"
    );
    println!();
    table.print(rounds);
    println!();
    println!(
        "{:<7} {:<36} {:>9} {:>9} {:>9}",
        "storage", "server peak RSS (VmHWM, MiB)", "idle", "peak", "after"
    );
    for (storage, what, idle, hwm, rss) in memory {
        println!("{storage:<7} {what:<36} {idle:>9.1} {hwm:>9.1} {rss:>9.1}");
    }
}

struct Tools {
    age: Option<Age>,
    gpg: Option<Gpg>,
    sealdrop: Sealdrop,
}

/// The direct write, age, gpg, then sealdrop through a folder server, then the direct write
/// again.
async fn folder_round(table: &mut Table, tools: &Tools, source: &Path, work: &Path) {
    let size = std::fs::metadata(source).expect("source").len();
    let direct = direct_write_row(table, source, work);

    let sealed = work.join("sealed.bin");
    let opened = work.join("opened.bin");
    let (mut age_e, mut age_d, mut gpg_e, mut gpg_d) = (None, None, None, None);
    if let Some(age) = &tools.age {
        settle();
        let run = age.encrypt(source, &sealed, work);
        age_e = Some(table.record("folder", "age -r encrypt to file + fsync", size, &run));
        settle();
        let run = age.decrypt(&sealed, &opened, work);
        age_d = Some(table.record("folder", "age -d decrypt to file + fsync", size, &run));
        check_same_size(source, &opened);
        remove(&[&sealed, &opened]);
    }
    if let Some(gpg) = &tools.gpg {
        settle();
        let run = gpg.encrypt(source, &sealed, work);
        gpg_e = Some(table.record("folder", "gpg -e encrypt to file + fsync", size, &run));
        settle();
        let run = gpg.decrypt(&sealed, &opened, work);
        gpg_d = Some(table.record("folder", "gpg -d decrypt to file + fsync", size, &run));
        check_same_size(source, &opened);
        remove(&[&sealed, &opened]);
    }

    {
        let server = Server::start("folder", work);
        settle();
        let (link, run) = tools.sealdrop.send(&server, source, work).await;
        let send = table.record("folder", &tools.sealdrop.name("send"), size, &run);
        table.server_peak(send, &server);
        table.versus(send, Some(direct), Versus::Percent, "direct");
        table.versus(send, age_e, Versus::Times, "age -r");
        table.versus(send, gpg_e, Versus::Times, "gpg -e");
        settle();
        let out_dir = work.join("get-folder");
        let run = tools.sealdrop.get(&link, &out_dir, work).await;
        let get = table.record("folder", &tools.sealdrop.name("get"), size, &run);
        table.server_peak(get, &server);
        table.versus(get, Some(direct), Versus::Percent, "direct");
        table.versus(get, age_d, Versus::Times, "age -d");
        table.versus(get, gpg_d, Versus::Times, "gpg -d");
        check_downloaded(&out_dir, size);
    }

    direct_write_row(table, source, work);
}

/// One sample of `direct write + fsync`; returns its row.
fn direct_write_row(table: &mut Table, source: &Path, work: &Path) -> usize {
    let size = std::fs::metadata(source).expect("source").len();
    let out = work.join("direct.bin");
    settle();
    let start = Instant::now();
    direct_write(source, &out);
    let run = Run {
        secs: start.elapsed().as_secs_f64(),
        peak_mib: f64::NAN,
        stdout: String::new(),
    };
    remove(&[&out]);
    let row = table.record("folder", "direct write + fsync", size, &run);
    settle();
    let dd = run_timed(
        Command::new("dd")
            .arg(format!("if={}", source.display()))
            .arg(format!("of={}", out.display()))
            .args(["bs=8M", "oflag=direct", "conv=fsync", "status=none"]),
        work,
        None,
    );
    remove(&[&out]);
    table.record("folder", "dd oflag=direct + fsync (the disk)", size, &dd);
    row
}

/// Direct `put_object` and `get_object`, then sealdrop through an S3 server.
async fn s3_round(table: &mut Table, tools: &Tools, s3: &S3Settings, source: &Path, work: &Path) {
    let size = std::fs::metadata(source).expect("source").len();
    let client = s3.client();
    let prefix = format!("bench-direct-{:016x}/", rand::random::<u64>());
    let out = work.join("direct.bin");
    settle();
    let start = Instant::now();
    let keys = direct_put(&client, &s3.bucket, &prefix, source).await;
    let put = table.record(
        "s3",
        &format!("direct put_object {} MiB x{}", OBJECT >> 20, parallel()),
        size,
        &timed(start),
    );
    settle();
    let start = Instant::now();
    direct_get(&client, &s3.bucket, &keys, &out).await;
    let get = table.record(
        "s3",
        &format!("direct get_object x{} + fsync", parallel()),
        size,
        &timed(start),
    );
    remove(&[&out]);
    for key in &keys {
        let _ = client
            .delete_object()
            .bucket(&s3.bucket)
            .key(key)
            .send()
            .await;
    }

    let server = Server::start("s3", work);
    settle();
    let (link, run) = tools.sealdrop.send(&server, source, work).await;
    let send = table.record("s3", &tools.sealdrop.name("send"), size, &run);
    table.server_peak(send, &server);
    table.versus(send, Some(put), Versus::Percent, "direct");
    settle();
    let out_dir = work.join("get-s3");
    let run = tools.sealdrop.get(&link, &out_dir, work).await;
    let got = table.record("s3", &tools.sealdrop.name("get"), size, &run);
    table.server_peak(got, &server);
    table.versus(got, Some(get), Versus::Percent, "direct");
    check_downloaded(&out_dir, size);
}

fn timed(start: Instant) -> Run {
    Run {
        secs: start.elapsed().as_secs_f64(),
        peak_mib: f64::NAN,
        stdout: String::new(),
    }
}

/// The server's peak RSS for one upload of `source` and for 8 concurrent uploads of a
/// quarter of it: `(storage, what, idle, peak, after)`.
async fn server_memory(
    source: &Path,
    size: u64,
    with_s3: bool,
    work: &Path,
) -> Vec<(String, String, f64, f64, f64)> {
    let quarter = work.join("quarter.bin");
    write_source(&quarter, size / 4);
    let mib = size >> 20;
    let mut memory = Vec::new();
    let mut storages = vec!["folder"];
    if with_s3 {
        storages.push("s3");
    }
    for storage in storages {
        let server = Server::start(storage, work);
        let (_, idle) = server.rss_mib();
        server
            .client()
            .send(&[source.to_owned()], SendOptions::default(), &NoProgress)
            .await
            .expect("upload");
        let (rss, hwm) = server.rss_mib();
        memory.push((
            storage.to_owned(),
            format!("1 x {mib} MiB upload"),
            idle,
            hwm,
            rss,
        ));
        drop(server);

        let server = Server::start(storage, work);
        let (_, idle) = server.rss_mib();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let client = server.client();
                let file = quarter.clone();
                tokio::spawn(async move {
                    client
                        .send(&[file], SendOptions::default(), &NoProgress)
                        .await
                        .expect("upload")
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("upload task");
        }
        let (rss, hwm) = server.rss_mib();
        memory.push((
            storage.to_owned(),
            format!("8 x {} MiB concurrent uploads", mib / 4),
            idle,
            hwm,
            rss,
        ));
    }
    remove(&[&quarter]);
    memory
}

/// `SEALDROP_BENCH_LARGE_MIB`: one send and one get of a sparse file of `mib` MiB through a
/// folder server, with the client's and the server's peak RSS.
async fn large(mib: u64, sealdrop: &Sealdrop, work: &Path) {
    let size = mib << 20;
    let source = work.join("sparse-source.bin");
    std::fs::File::create(&source)
        .expect("source")
        .set_len(size)
        .expect("sparse source");
    let mut table = Table::default();
    let server = Server::start("folder", work);
    let idle = server.rss_mib().1;
    settle();
    eprintln!("transfer bench: sending {mib} MiB");
    let (link, run) = sealdrop.send(&server, &source, work).await;
    let send = table.record("folder", &sealdrop.name("send"), size, &run);
    table.server_peak(send, &server);
    remove(&[&source]);
    settle();
    eprintln!("transfer bench: getting {mib} MiB");
    let out_dir = work.join("get-large");
    let run = sealdrop.get(&link, &out_dir, work).await;
    let get = table.record("folder", &sealdrop.name("get"), size, &run);
    table.server_peak(get, &server);
    check_downloaded(&out_dir, size);
    println!();
    println!(
        "sealdrop transfer bench, large: {mib} MiB sparse source, one send and one get through \
         a folder server (idle server VmHWM {idle:.1} MiB)"
    );
    println!();
    table.print(1);
}

/// Checks `dir` holds one file of `size` bytes, then removes the folder.
fn check_downloaded(dir: &Path, size: u64) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("download folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one downloaded file in {}", dir.display());
    assert_eq!(
        std::fs::metadata(&files[0]).expect("downloaded").len(),
        size
    );
    std::fs::remove_dir_all(dir).expect("remove download");
}

fn check_same_size(a: &Path, b: &Path) {
    assert_eq!(
        std::fs::metadata(a).expect("source").len(),
        std::fs::metadata(b).expect("output").len(),
        "{} has the source's size",
        b.display()
    );
}

fn remove(paths: &[&Path]) {
    for path in paths {
        std::fs::remove_file(path).expect("remove a bench file");
    }
}

/// Writes `size` pseudo-random (incompressible) bytes to `path`.
fn write_source(path: &Path, size: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("source"));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n]).expect("write source");
        left -= n as u64;
    }
    file.into_inner()
        .expect("flush")
        .sync_all()
        .expect("sync source");
}

/// Copies `source` to `out` in 8 MiB writes, then fsyncs.
fn direct_write(source: &Path, out: &Path) {
    let mut input = std::fs::File::open(source).expect("source");
    let mut output = std::fs::File::create(out).expect("direct output");
    let mut buf = vec![0u8; OBJECT];
    loop {
        let n = read_full(&mut input, &mut buf);
        if n == 0 {
            break;
        }
        output.write_all(&buf[..n]).expect("write");
    }
    output.sync_all().expect("fsync");
}

fn read_full(input: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]).expect("read") {
            0 => break,
            n => filled += n,
        }
    }
    filled
}

/// `put_object` of `source` in 8 MiB objects, [`parallel`] at once; returns the keys in order.
async fn direct_put(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    source: &Path,
) -> Vec<String> {
    let size = std::fs::metadata(source).expect("source").len();
    let count = size.div_ceil(OBJECT as u64);
    let keys: Vec<String> = (0..count).map(|i| format!("{prefix}{i:06}")).collect();
    futures::stream::iter(keys.iter().enumerate())
        .map(|(i, key)| {
            let source = source.to_owned();
            async move {
                // Read the object the way the client reads a part, then send it.
                let bytes = tokio::task::spawn_blocking(move || {
                    let mut input = std::fs::File::open(source).expect("source");
                    input
                        .seek(SeekFrom::Start(i as u64 * OBJECT as u64))
                        .expect("seek");
                    let mut buf = vec![0u8; OBJECT];
                    let n = read_full(&mut input, &mut buf);
                    buf.truncate(n);
                    buf
                })
                .await
                .expect("read task");
                client
                    .put_object()
                    .bucket(bucket)
                    .key(key)
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .expect("put_object");
            }
        })
        .buffer_unordered(parallel())
        .collect::<Vec<()>>()
        .await;
    keys
}

/// `get_object` of `keys`, [`parallel`] at once, written in order to `out`, then fsync.
async fn direct_get(client: &aws_sdk_s3::Client, bucket: &str, keys: &[String], out: &Path) {
    let mut output = std::fs::File::create(out).expect("direct output");
    let mut objects = futures::stream::iter(keys)
        .map(|key| async move {
            client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("get_object")
                .body
                .collect()
                .await
                .expect("object body")
                .into_bytes()
        })
        .buffered(parallel());
    while let Some(bytes) = objects.next().await {
        output.write_all(&bytes).expect("write");
    }
    output.sync_all().expect("fsync");
}
