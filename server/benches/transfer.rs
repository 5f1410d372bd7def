//! `cargo bench -p sealdrop-server --bench transfer` (or `cargo xtask bench server`, which
//! starts Garage first): end-to-end transfer throughput and server memory, in one table.
//!
//! - the native client library (`sealdrop_client::Client`) uploading and downloading one file
//!   through a real server, against writing the same bytes straight to a folder
//!   (`std::fs` write + fsync);
//! - the same to S3 (Garage) when `SEALDROP_TEST_S3_ENDPOINT`, `SEALDROP_TEST_S3_BUCKET`,
//!   `SEALDROP_TEST_S3_ACCESS_KEY_ID` and `SEALDROP_TEST_S3_SECRET_ACCESS_KEY` are set, against
//!   `aws-sdk-s3` `put_object`/`get_object` of 8 MiB objects with the client's parallelism;
//! - the server's peak RSS (`VmHWM`) for one upload of the full size and for 8 concurrent
//!   uploads of a quarter of it.
//!
//! The server always runs as a separate process: this executable started again with
//! `SEALDROP_BENCH_SERVER` set (SQLite in a temporary folder, folder or S3 blobs). It prints
//! `PORT TOKEN` and serves until its stdin closes.
//!
//! Size: 1 GiB per transfer; `SEALDROP_BENCH_MIB=64` shrinks it. Throughput runs in
//! `SEALDROP_BENCH_ROUNDS` rounds (default 3), each a baseline followed by the transfers it is
//! compared with, and the table gives each row's median and its range: one round on a shared
//! 2-core machine can be off by a factor of two (a direct folder write once took half the time).
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
/// Parts in flight: the client's default, used for the direct S3 baseline too.
const PARALLEL: usize = 3;
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
        "--max-file-size",
        "10737418240",
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
    fn start(storage: &str) -> Server {
        let data_dir = tempfile::tempdir().expect("server data folder");
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
            .with_parallel(client_parallel())
            .with_state_dir(None)
    }

    /// `(VmRSS, VmHWM)` in MiB.
    fn rss_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
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

struct Row {
    storage: &'static str,
    what: String,
    bytes: u64,
    secs: f64,
    /// Index of the row this one is a percentage of.
    baseline: Option<usize>,
    /// Slowest and fastest MiB/s over the rounds.
    range: Option<(f64, f64)>,
}

impl Row {
    fn mib_s(&self) -> f64 {
        self.bytes as f64 / MIB / self.secs
    }
}

async fn bench() {
    let mib: u64 = std::env::var("SEALDROP_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(1024);
    let size = mib << 20;
    let work = tempfile::tempdir().expect("work folder");
    let source = work.path().join("source.bin");
    write_source(&source, size);
    let quarter = work.path().join("quarter.bin");
    write_source(&quarter, size / 4);
    let s3 = S3Settings::from_env();

    let rounds: usize = std::env::var("SEALDROP_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(3);
    let mut all_rounds: Vec<Vec<Row>> = Vec::new();
    for round in 1..=rounds {
        eprintln!("transfer bench: round {round} of {rounds}");
        all_rounds.push(throughput_round(&source, work.path(), size, s3.as_ref()).await);
    }
    let rows = median_rows(&all_rounds);

    let mut memory: Vec<(String, String, f64, f64, f64)> = Vec::new();

    // Peak RSS of the server process.
    let mut storages = vec!["folder"];
    if s3.is_some() {
        storages.push("s3");
    }
    for storage in storages {
        let server = Server::start(storage);
        let (_, idle) = server.rss_mib();
        server
            .client()
            .send(
                std::slice::from_ref(&source),
                SendOptions::default(),
                &NoProgress,
            )
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

        let server = Server::start(storage);
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

    print_table(mib, rounds, &rows, &memory, s3.is_some());
}

/// One round of throughput rows: each baseline, then the client transfers compared with it.
async fn throughput_round(
    source: &Path,
    work: &Path,
    size: u64,
    s3: Option<&S3Settings>,
) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    // Folder.
    let out = work.join("direct.bin");
    let start = Instant::now();
    direct_write(source, &out);
    let direct = push(
        &mut rows,
        "folder",
        "direct write + fsync",
        size,
        start,
        None,
    );
    std::fs::remove_file(&out).expect("remove");
    {
        let server = Server::start("folder");
        transfer(&server, source, work, "folder", direct, direct, &mut rows).await;
    }

    // S3.
    if let Some(s3) = s3 {
        let client = s3.client();
        let prefix = format!("bench-direct-{:016x}/", rand::random::<u64>());
        let start = Instant::now();
        let keys = direct_put(&client, &s3.bucket, &prefix, source).await;
        let put = push(
            &mut rows,
            "s3",
            &format!("direct put_object {} MiB x{PARALLEL}", OBJECT >> 20),
            size,
            start,
            None,
        );
        let start = Instant::now();
        direct_get(&client, &s3.bucket, &keys, &out).await;
        let get = push(
            &mut rows,
            "s3",
            &format!("direct get_object x{PARALLEL} + fsync"),
            size,
            start,
            None,
        );
        std::fs::remove_file(&out).expect("remove");
        for key in &keys {
            let _ = client
                .delete_object()
                .bucket(&s3.bucket)
                .key(key)
                .send()
                .await;
        }
        let server = Server::start("s3");
        transfer(&server, source, work, "s3", put, get, &mut rows).await;
    }

    rows
}

/// Row by row, the round with the median time, and every round's MiB/s for the range.
fn median_rows(rounds: &[Vec<Row>]) -> Vec<Row> {
    (0..rounds[0].len())
        .map(|i| {
            let mut times: Vec<&Row> = rounds.iter().map(|r| &r[i]).collect();
            times.sort_by(|a, b| a.secs.total_cmp(&b.secs));
            let median = times[times.len() / 2];
            Row {
                what: median.what.clone(),
                range: Some((times[times.len() - 1].mib_s(), times[0].mib_s())),
                ..*median
            }
        })
        .collect()
}

fn push(
    rows: &mut Vec<Row>,
    storage: &'static str,
    what: &str,
    bytes: u64,
    start: Instant,
    baseline: Option<usize>,
) -> usize {
    rows.push(Row {
        storage,
        what: what.to_owned(),
        bytes,
        secs: start.elapsed().as_secs_f64(),
        baseline,
        range: None,
    });
    rows.len() - 1
}

/// Client upload then download through `server`.
async fn transfer(
    server: &Server,
    source: &Path,
    work: &Path,
    storage: &'static str,
    upload_baseline: usize,
    download_baseline: usize,
    rows: &mut Vec<Row>,
) {
    let size = std::fs::metadata(source).expect("source").len();
    let start = Instant::now();
    let link = server
        .client()
        .send(&[source.to_owned()], SendOptions::default(), &NoProgress)
        .await
        .expect("upload");
    push(
        rows,
        storage,
        "client upload via server",
        size,
        start,
        Some(upload_baseline),
    );
    let out_dir = work.join(format!("get-{storage}"));
    std::fs::create_dir_all(&out_dir).expect("download folder");
    let start = Instant::now();
    let saved = Client::get(&link, &out_dir, GetOptions::default(), &NoProgress)
        .await
        .expect("download");
    push(
        rows,
        storage,
        "client download via server",
        size,
        start,
        Some(download_baseline),
    );
    assert_eq!(
        std::fs::metadata(&saved[0]).expect("downloaded").len(),
        size
    );
    std::fs::remove_dir_all(&out_dir).expect("remove download");
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

/// `put_object` of `source` in 8 MiB objects, `PARALLEL` at once; returns the keys in order.
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
        .buffer_unordered(PARALLEL)
        .collect::<Vec<()>>()
        .await;
    keys
}

/// `get_object` of `keys`, `PARALLEL` at once, written in order to `out`, then fsync.
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
        .buffered(PARALLEL);
    while let Some(bytes) = objects.next().await {
        output.write_all(&bytes).expect("write");
    }
    output.sync_all().expect("fsync");
}

fn print_table(
    mib: u64,
    rounds: usize,
    rows: &[Row],
    memory: &[(String, String, f64, f64, f64)],
    with_s3: bool,
) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "sealdrop server transfer bench: {mib} MiB per transfer, median of {rounds} rounds, \
         {PARALLEL} requests in flight \
         for the direct baselines and {} parts for the client, {cpus} CPUs, server in a child \
         process (SQLite)",
        client_parallel()
    );
    if !with_s3 {
        println!("(S3 rows skipped: SEALDROP_TEST_S3_* not set)");
    }
    println!();
    println!(
        "{:<8} {:<36} {:>9} {:>9} {:>9} {:>15}",
        "storage", "operation", "seconds", "MiB/s", "% direct", "range MiB/s"
    );
    for row in rows {
        let percent = row.baseline.map_or(String::from("-"), |b| {
            format!("{:.0}%", 100.0 * row.mib_s() / rows[b].mib_s())
        });
        let range = row
            .range
            .map_or(String::from("-"), |(lo, hi)| format!("{lo:.0}-{hi:.0}"));
        println!(
            "{:<8} {:<36} {:>9.2} {:>9.1} {:>9} {:>15}",
            row.storage,
            row.what,
            row.secs,
            row.mib_s(),
            percent,
            range
        );
    }
    println!();
    println!(
        "{:<8} {:<36} {:>9} {:>9} {:>9}",
        "storage", "server peak RSS (VmHWM, MiB)", "idle", "peak", "after"
    );
    for (storage, what, idle, hwm, rss) in memory {
        println!("{storage:<8} {what:<36} {idle:>9.1} {hwm:>9.1} {rss:>9.1}");
    }
}

/// Parts the client keeps in flight: `SEALDROP_BENCH_CLIENT_PARALLEL`, else the client's own
/// default (what `sealdrop send` uses).
fn client_parallel() -> usize {
    std::env::var("SEALDROP_BENCH_CLIENT_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(sealdrop_client::DEFAULT_PARALLEL)
}
