//! The `cluster` test stage: several `sealdrop serve` instances behind nginx with TLS, the
//! way docs/OPERATIONS.md ("One machine or many", "TLS in front") tells an operator to run
//! them, driven by the `sealdrop` command a sender and a recipient use.
//!
//! It starts PostgreSQL and Garage (S3), [`INSTANCES`] instances of the release `sealdrop`
//! binary sharing them (one database, one bucket prefix, the three shared keys given as
//! variables, `SEALDROP_TRUST_FORWARDED_FOR=true`, a one-second purge interval, a data folder
//! each), and nginx in front, configured from the packaged site
//! (packaging/nginx/sealdrop.conf) with its upstream, listen address and certificate
//! rewritten, and a certificate for `localhost` from a throwaway CA made with openssl.
//! `sealdrop send` and `get` reach it only through `https://localhost:PORT`, trusting that
//! CA through `--ca-file`.
//!
//! What it proves:
//! - one package's parts are stored through several instances and its files downloaded
//!   through several, bytes equal (each instance's `/metrics` counts what it served);
//! - the hourly cap on verification codes counts across instances: 5 codes for one address
//!   and package in total, whichever instances sent them, then the next request is refused
//!   through the proxy and by every instance asked directly;
//! - every instance runs its purge task at once (every second) and expired packages go
//!   without a purge error in any log;
//! - an instance killed with SIGKILL in the middle of an upload, and another in the middle
//!   of a download: the client goes on through the others (nginx skips the dead one, the
//!   client retries and resumes) and the bytes are equal; a killed instance restarted on
//!   its port serves again.
//!
//! Not covered yet: PostgreSQL or Garage restarting under the instances.
//!
//! The kills are timed by polling every instance's `/metrics` every 20 ms: the upload or
//! download (200 MiB, over a second here) is cut once a few MiB went through. (nginx's
//! `limit_rate` would have made that slower and surer, but with the packaged
//! `proxy_buffering off` it did not slow the answers down.)

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::cleanup::{self, Guard};
use crate::proc::{
    self, cargo, free_port, http, random_hex, repo_root, target_dir, which, Checks, Counts, Daemon,
};
use crate::services::{self, Services};
use crate::setup;

/// How many `sealdrop serve` instances run behind nginx.
const INSTANCES: usize = 3;
/// The crate of the `sealdrop` binary.
const CRATE: &str = "sealdrop-cli";
const MIB: u64 = 1 << 20;
/// The counter of ciphertext bytes an instance read from the store and sent.
const DOWNLOAD_BYTES: &str = r#"sealdrop_transfer_bytes_total{direction="download"}"#;
/// Verification codes one address may ask for on one package per hour (the server's
/// `CODES_PER_ADDRESS_PER_PACKAGE_PER_HOUR`).
const CODES_PER_ADDRESS_PER_PACKAGE: usize = 5;
/// How long the instances run (purging every second) before their logs are checked.
const PURGE_WATCH: Duration = Duration::from_secs(20);
/// How long PostgreSQL and Garage stay down when restarted mid-transfer.
const DEPENDENCY_DOWN: Duration = Duration::from_secs(3);
/// The longest any one `sealdrop send` or `get` may take before the stage fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// Why the stage cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if which("apt-get").is_none() && nginx_binary().is_none() {
        return Some("needs nginx (Debian package nginx)".into());
    }
    None
}

/// Runs the stage; returns the checks that passed and failed (the first failure ends it).
pub fn run(services: &mut Services) -> Result<(Counts, bool)> {
    Ok(Checks::run(|checks| run_checks(services, checks)))
}

fn step(what: &str) {
    println!("\n-- {what}");
}

fn run_checks(services: &mut Services, checks: &mut Checks) -> Result<()> {
    let tools = Tools::prepare()?;
    let dir = proc::temp_dir("cluster")?;
    let _remove_dir = Guard::new(
        format!("remove {}", dir.display()),
        services::remove_dir_action(dir.clone()),
    );
    let mut cluster = Cluster::start(services, &tools, &dir, &Spec::default())?;
    let result = cluster_checks(&mut cluster, services, checks);
    if result.is_err() {
        cluster.show_logs();
    }
    result
}

/// What a cluster runs: nginx (installed with apt-get when missing, with openssl for the
/// test certificates) and the release `sealdrop` binary (built here).
pub(crate) struct Tools {
    nginx: PathBuf,
    bin: PathBuf,
}

impl Tools {
    pub(crate) fn prepare() -> Result<Self> {
        let nginx = match nginx_binary() {
            Some(nginx) => nginx,
            None => {
                setup::apt_install(&["nginx"], "nginx, the TLS proxy in front of the instances")?;
                nginx_binary().context("apt-get installed nginx, but there is no nginx binary")?
            }
        };
        if which("openssl").is_none() {
            setup::apt_install(&["openssl"], "openssl, to make the test certificate")?;
        }
        // `cargo deb` (the deb stage) built the same binary already when it ran.
        proc::run(cargo().args(["build", "--release", "--locked", "-p", CRATE]))?;
        let bin = target_dir().join("release/sealdrop");
        ensure!(bin.is_file(), "the build left no {}", bin.display());
        Ok(Tools { nginx, bin })
    }
}

/// The shape of one cluster: how many instances, settings on top of the stage's, nginx's
/// worker processes.
pub(crate) struct Spec {
    pub instances: usize,
    /// Set after the stage's own variables, so they win.
    pub settings: Vec<(&'static str, String)>,
    /// nginx's `worker_processes` (`1`, `auto`).
    pub nginx_workers: &'static str,
}

impl Default for Spec {
    /// The test stage's: [`INSTANCES`] instances, one nginx worker.
    fn default() -> Self {
        Spec {
            instances: INSTANCES,
            settings: Vec::new(),
            nginx_workers: "1",
        }
    }
}

fn nginx_binary() -> Option<PathBuf> {
    which("nginx").or_else(|| {
        let sbin = PathBuf::from("/usr/sbin/nginx");
        sbin.is_file().then_some(sbin)
    })
}

fn cluster_checks(
    cluster: &mut Cluster,
    services: &mut Services,
    checks: &mut Checks,
) -> Result<()> {
    checks.pass(format!(
        "{INSTANCES} instances share PostgreSQL, Garage and the shared keys; nginx serves {} with a certificate from the test CA",
        cluster.public_url
    ));
    spread_across_instances(cluster, checks)?;
    caps_count_across_instances(cluster, checks)?;
    let expiring = expiring_packages(cluster)?;
    killed_mid_upload_and_mid_download(cluster, checks)?;
    dependencies_restarted_mid_transfer(cluster, services, checks)?;
    purged_everywhere_without_errors(cluster, checks, &expiring)?;
    Ok(())
}

/// A package of three files, sent and fetched through the proxy: the parts land on several
/// instances and the files come back from several, bytes equal.
fn spread_across_instances(cluster: &Cluster, checks: &mut Checks) -> Result<()> {
    step("one package through every instance");
    let files = [
        cluster.random_file("spread-a.bin", 40 * MIB, 1)?,
        cluster.random_file("spread-b.bin", 17 * MIB, 2)?,
        cluster.random_file("spread-c.bin", 3 * MIB + 5, 3)?,
    ];
    let before = cluster.metrics()?;
    let link = cluster.send(&files, &[])?;
    let stored = cluster.metrics()?;
    let parts = delta(&before, &stored, "sealdrop_parts_stored_total");
    println!("xtask: parts stored per instance: {parts:?}");
    let through = parts.iter().filter(|&&n| n > 0).count();
    ensure!(
        through >= 2,
        "every part went through one instance ({parts:?}): nginx did not spread the upload"
    );
    ensure!(
        parts.iter().sum::<u64>() >= 8,
        "fewer parts stored than the files hold: {parts:?}"
    );
    checks.pass(format!(
        "`sealdrop send` of 3 files ({} parts) stored its parts through {through} instances: {parts:?}",
        parts.iter().sum::<u64>()
    ));

    let out = cluster.dir.join("spread-out");
    let saved = cluster.get(&link, &out, &[])?;
    let after = cluster.metrics()?;
    let served = delta(&stored, &after, DOWNLOAD_BYTES);
    println!("xtask: ciphertext bytes served per instance: {served:?}");
    for file in &files {
        same_bytes(file, &out.join(file_name(file)))?;
    }
    ensure!(saved.len() == files.len(), "get saved {saved:?}");
    let from = served.iter().filter(|&&n| n > 0).count();
    ensure!(
        from >= 2,
        "every file came from one instance ({served:?}): nginx did not spread the download"
    );
    checks.pass(format!(
        "`sealdrop get` fetched the 3 files from {from} instances ({served:?} bytes), each equal to what was sent"
    ));
    Ok(())
}

/// Verification codes for one address on one package: five in all across the instances,
/// then the sixth is refused however it arrives.
fn caps_count_across_instances(cluster: &Cluster, checks: &mut Checks) -> Result<()> {
    step("the hourly cap on verification codes, across instances");
    let email = "capped@example.com";
    let file = cluster.random_file("capped.txt", 1000, 4)?;
    let link = cluster.send(&[file], &["--to", email, "--require-auth"])?;
    let out = cluster.dir.join("capped-out");
    let outbox_before = cluster.outbox_counts();
    // One `get` makes three requests, so with three instances nginx's rotation would hand
    // every code request to the same one: every other request goes to an instance directly.
    let mut routes = Vec::new();
    for n in 1..=CODES_PER_ADDRESS_PER_PACKAGE {
        let (target, route) = if n % 2 == 1 {
            (link.clone(), "nginx".to_string())
        } else {
            let instance = &cluster.instances[(n / 2 - 1) % INSTANCES];
            (
                link.replacen(&cluster.public_url, &instance.url(), 1),
                format!("instance {}", instance.number),
            )
        };
        let asked = cluster.get_output(&target, &out, &["--email", email])?;
        let stderr = String::from_utf8_lossy(&asked.stderr);
        ensure!(
            !asked.status.success() && stderr.contains("verification code is on its way"),
            "code request {n} (through {route}) should be accepted: {stderr}"
        );
        routes.push(route);
    }
    let outbox = cluster.outbox_counts();
    let mailed: Vec<usize> = outbox
        .iter()
        .zip(&outbox_before)
        .map(|(after, before)| after - before)
        .collect();
    println!("xtask: codes mailed per instance: {mailed:?}");
    ensure!(
        mailed.iter().sum::<usize>() == CODES_PER_ADDRESS_PER_PACKAGE,
        "{CODES_PER_ADDRESS_PER_PACKAGE} code mails expected in the instances' outboxes: {mailed:?}"
    );
    let senders = mailed.iter().filter(|&&n| n > 0).count();
    ensure!(
        senders >= 2,
        "all codes went through one instance ({mailed:?}); the cap was not tested across instances"
    );
    checks.pass(format!(
        "{CODES_PER_ADDRESS_PER_PACKAGE} code requests ({}) were answered by {senders} instances (mails {mailed:?})",
        routes.join(", ")
    ));

    let refused = |output: &Output| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        !output.status.success() && stderr.contains("429") && stderr.contains("rate_limited")
    };
    let sixth = cluster.get_output(&link, &out, &["--email", email])?;
    ensure!(
        refused(&sixth),
        "code request {} through the proxy should be refused with 429: {}",
        CODES_PER_ADDRESS_PER_PACKAGE + 1,
        String::from_utf8_lossy(&sixth.stderr)
    );
    let mut direct = Vec::new();
    for instance in &cluster.instances {
        let local = link.replacen(&cluster.public_url, &instance.url(), 1);
        let asked = cluster.get_output(&local, &out, &["--email", email])?;
        ensure!(
            refused(&asked),
            "instance {} asked directly should refuse the code request with 429: {}",
            instance.number,
            String::from_utf8_lossy(&asked.stderr)
        );
        direct.push(instance.number);
    }
    ensure!(
        cluster.outbox_counts() == outbox,
        "a refused request still mailed a code"
    );
    checks.pass(format!(
        "request {} is refused (429 rate_limited) through the proxy and by each instance asked directly ({direct:?}); no more mail",
        CODES_PER_ADDRESS_PER_PACKAGE + 1
    ));
    Ok(())
}

/// Small packages that expire within seconds, for the purge tasks to find.
fn expiring_packages(cluster: &Cluster) -> Result<Vec<String>> {
    step("packages that expire in 2 s, for the purge tasks");
    let file = cluster.random_file("expiring.txt", 4096, 5)?;
    let mut links = Vec::new();
    for _ in 0..6 {
        links.push(cluster.send(std::slice::from_ref(&file), &["--expires", "2s"])?);
    }
    Ok(links)
}

/// SIGKILL to one instance during an upload, to another during a download.
fn killed_mid_upload_and_mid_download(cluster: &mut Cluster, checks: &mut Checks) -> Result<()> {
    step("an instance killed during an upload");
    let file = cluster.random_file("big.bin", 200 * MIB + 77, 6)?;
    let before = cluster.metrics()?;
    let mut send = cluster.spawn_send(&file)?;
    // Kill an instance once the upload is under way: a few parts stored.
    let victim = INSTANCES - 1;
    let started = Instant::now();
    loop {
        if let Some(status) = send.try_wait()? {
            bail!(
                "the upload ended ({status}) before an instance could be killed: {}",
                send.stderr()
            );
        }
        let now = cluster.metrics()?;
        let parts = delta(&before, &now, "sealdrop_parts_stored_total");
        if parts.iter().sum::<u64>() >= 3 && parts[victim] > 0 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the upload stored too few parts within 2 minutes: {parts:?}"
        );
        interruptible_sleep(Duration::from_millis(20))?;
    }
    let at_kill = cluster.metrics()?;
    cluster.instances[victim].kill()?;
    let parts_at_kill = delta(&before, &at_kill, "sealdrop_parts_stored_total");
    println!(
        "xtask: SIGKILL to instance {} after {} parts were stored ({parts_at_kill:?})",
        victim + 1,
        parts_at_kill.iter().sum::<u64>()
    );
    let link = send.finish("sealdrop send")?;
    let after = cluster.metrics_of_live()?;
    let later = delta_live(&at_kill, &after, "sealdrop_parts_stored_total");
    println!("xtask: parts stored after the kill, per live instance: {later:?}");
    ensure!(
        later.values().sum::<u64>() > 0,
        "no part was stored after the kill: the upload cannot have gone on"
    );
    if !send.stderr().is_empty() {
        println!("xtask: the client said:\n{}", indent(&send.stderr()));
    }
    checks.pass(format!(
        "with instance {} killed mid-upload, `sealdrop send` finished through the others ({} more parts)",
        victim + 1,
        later.values().sum::<u64>()
    ));

    cluster.instances[victim].start()?;
    wait_ready(&cluster.instances[victim])?;
    checks.pass(format!(
        "instance {} restarted on its port and answers /readyz",
        victim + 1
    ));

    step("an instance killed during a download");
    let out = cluster.dir.join("big-out");
    let before = cluster.metrics()?;
    let mut get = cluster.spawn_get(&link, &out)?;
    let started = Instant::now();
    let victim = loop {
        if let Some(status) = get.try_wait()? {
            bail!(
                "the download ended ({status}) before an instance could be killed: {}",
                get.stderr()
            );
        }
        let now = cluster.metrics()?;
        let served = delta(&before, &now, DOWNLOAD_BYTES);
        if let Some(serving) = served.iter().position(|&n| n >= 4 * MIB) {
            break serving;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the download did not get going within a minute: {served:?}"
        );
        interruptible_sleep(Duration::from_millis(20))?;
    };
    let at_kill = cluster.metrics()?;
    cluster.instances[victim].kill()?;
    let served_at_kill = delta(&before, &at_kill, DOWNLOAD_BYTES);
    println!(
        "xtask: SIGKILL to instance {}, which was serving the download ({} MiB served so far: {served_at_kill:?})",
        victim + 1,
        served_at_kill.iter().sum::<u64>() / MIB
    );
    get.finish("sealdrop get")?;
    same_bytes(&file, &out.join(file_name(&file)))?;
    let after = cluster.metrics_of_live()?;
    let later = delta_live(&at_kill, &after, DOWNLOAD_BYTES);
    println!("xtask: bytes served after the kill, per live instance: {later:?}");
    ensure!(
        later.values().sum::<u64>() > 0,
        "no byte was served after the kill: the download cannot have resumed"
    );
    if !get.stderr().is_empty() {
        println!("xtask: the client said:\n{}", indent(&get.stderr()));
    }
    checks.pass(format!(
        "with instance {} killed mid-download, `sealdrop get` resumed through the others; 200 MiB equal to what was sent",
        victim + 1
    ));
    cluster.instances[victim].start()?;
    wait_ready(&cluster.instances[victim])?;
    Ok(())
}

/// PostgreSQL restarted (every connection cut) during an upload, and Garage during a
/// download: both transfers finish with equal bytes through the same instances, which recover
/// on their own (same processes, ready again, a fresh send and get work).
fn dependencies_restarted_mid_transfer(
    cluster: &mut Cluster,
    services: &mut Services,
    checks: &mut Checks,
) -> Result<()> {
    let pids = cluster.pids();
    let outage_start = cluster.log_lengths();
    step("PostgreSQL restarted during an upload");
    let file = cluster.random_file("restart.bin", 160 * MIB + 11, 7)?;
    let before = cluster.metrics()?;
    let mut send = cluster.spawn_send(&file)?;
    wait_for_progress(&mut send, "upload", || {
        let stored = delta(&before, &cluster.metrics()?, "sealdrop_parts_stored_total");
        Ok(stored.iter().sum::<u64>() >= 3)
    })?;
    let at_restart = cluster.metrics()?;
    services.postgres()?.restart(DEPENDENCY_DOWN)?;
    println!(
        "xtask: PostgreSQL stopped with `pg_ctl -m immediate` after {} parts, down {} s, started again",
        delta(&before, &at_restart, "sealdrop_parts_stored_total").iter().sum::<u64>(),
        DEPENDENCY_DOWN.as_secs()
    );
    let link = send.finish("sealdrop send")?;
    let later = delta(
        &at_restart,
        &cluster.metrics()?,
        "sealdrop_parts_stored_total",
    );
    ensure!(
        later.iter().sum::<u64>() > 0,
        "no part was stored after PostgreSQL came back: the upload cannot have gone on"
    );
    if !send.stderr().is_empty() {
        println!("xtask: the client said:\n{}", indent(&send.stderr()));
    }
    checks.pass(format!(
        "with PostgreSQL restarted mid-upload, `sealdrop send` finished ({} parts after the restart)",
        later.iter().sum::<u64>()
    ));

    step("Garage restarted during a download");
    let out = cluster.dir.join("restart-out");
    let before = cluster.metrics()?;
    let mut get = cluster.spawn_get(&link, &out)?;
    wait_for_progress(&mut get, "download", || {
        let served = delta(&before, &cluster.metrics()?, DOWNLOAD_BYTES);
        Ok(served.iter().sum::<u64>() >= 4 * MIB)
    })?;
    let at_restart = cluster.metrics()?;
    services.garage()?.restart(DEPENDENCY_DOWN)?;
    println!(
        "xtask: Garage stopped after {} MiB were served, down {} s, started again",
        delta(&before, &at_restart, DOWNLOAD_BYTES)
            .iter()
            .sum::<u64>()
            / MIB,
        DEPENDENCY_DOWN.as_secs()
    );
    get.finish("sealdrop get")?;
    same_bytes(&file, &out.join(file_name(&file)))?;
    let later = delta(&at_restart, &cluster.metrics()?, DOWNLOAD_BYTES);
    ensure!(
        later.iter().sum::<u64>() > 0,
        "no byte was served after Garage came back: the download cannot have resumed"
    );
    if !get.stderr().is_empty() {
        println!("xtask: the client said:\n{}", indent(&get.stderr()));
    }
    checks.pass(format!(
        "with Garage restarted mid-download, `sealdrop get` resumed; {} MiB equal to what was sent",
        (160 * MIB + 11) / MIB
    ));

    step("the instances recovered without a restart");
    ensure!(
        cluster.pids() == pids,
        "an instance process changed during the restarts: {pids:?} -> {:?}",
        cluster.pids()
    );
    for instance in &cluster.instances {
        wait_ready(instance)?;
    }
    // What the instances logged while a dependency was down is checked on its own terms.
    let outage_end = cluster.log_lengths();
    cluster.outages = outage_start
        .into_iter()
        .zip(outage_end)
        .map(|(start, end)| start..end)
        .collect();
    let small = cluster.random_file("after-restarts.bin", MIB + 1, 8)?;
    let link = cluster.send(std::slice::from_ref(&small), &[])?;
    let out = cluster.dir.join("after-restarts-out");
    cluster.get(&link, &out, &[])?;
    same_bytes(&small, &out.join(file_name(&small)))?;
    checks.pass(
        "the same instance processes answer /readyz and carry a new send and get after both restarts",
    );
    Ok(())
}

/// Waits until `progressed` says the transfer is under way; fails if it ended first.
fn wait_for_progress(
    transfer: &mut Background,
    what: &str,
    mut progressed: impl FnMut() -> Result<bool>,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if let Some(status) = transfer.try_wait()? {
            bail!(
                "the {what} ended ({status}) before the restart: {}",
                transfer.stderr()
            );
        }
        if progressed()? {
            return Ok(());
        }
        ensure!(
            started.elapsed() < Duration::from_secs(120),
            "the {what} did not get going within 2 minutes"
        );
        interruptible_sleep(Duration::from_millis(20))?;
    }
}

/// The expired packages are gone, and no instance logged a purge error although every one
/// purged every second.
fn purged_everywhere_without_errors(
    cluster: &Cluster,
    checks: &mut Checks,
    expiring: &[String],
) -> Result<()> {
    step("the purge tasks of every instance");
    // Enough seconds for each instance to purge many times beside the others.
    if let Some(left) = PURGE_WATCH.checked_sub(cluster.started.elapsed()) {
        println!(
            "xtask: letting the purge tasks run {} s more",
            left.as_secs() + 1
        );
        interruptible_sleep(left)?;
    }
    let out = cluster.dir.join("expired-out");
    for link in expiring {
        let got = cluster.get_output(link, &out, &[])?;
        let stderr = String::from_utf8_lossy(&got.stderr);
        ensure!(
            !got.status.success() && stderr.contains("no package"),
            "an expired package should have been purged (404): {stderr}"
        );
    }
    let purged = cluster.metrics_of_live()?;
    let purged: BTreeMap<usize, u64> = purged
        .iter()
        .map(|(n, text)| {
            (
                *n,
                metric(text, "sealdrop_packages_purged_total").unwrap_or(0),
            )
        })
        .collect();
    println!("xtask: packages purged per instance since its last start: {purged:?}");
    checks.pass(format!(
        "the {} expired packages are gone (purged by instances {purged:?})",
        expiring.len()
    ));

    let mut problems = Vec::new();
    let mut runs = 0;
    let mut during_outages = 0;
    for (index, instance) in cluster.instances.iter().enumerate() {
        let log = std::fs::read_to_string(&instance.log).unwrap_or_default();
        let outage = cluster.outages.get(index).cloned().unwrap_or(0..0);
        let mut offset = 0u64;
        for line in log.lines() {
            let at = offset;
            offset += line.len() as u64 + 1;
            if line.contains("purge") && line.contains("\"level\":\"INFO\"") {
                runs += 1;
            }
            let bad = line.contains("\"level\":\"ERROR\"")
                || (line.contains("\"level\":\"WARN\"") && line.contains("purge"));
            if !bad {
                continue;
            }
            // While PostgreSQL or Garage was down, only "unavailable, try again" is expected:
            // a 503 with Retry-After, and purge runs skipped until it is back.
            let expected_in_outage = line.contains("dependency unavailable")
                || line.contains("purge run skipped")
                || line.contains("Status code: 503");
            if outage.contains(&at) && expected_in_outage {
                during_outages += 1;
            } else {
                problems.push(format!("instance {}: {line}", instance.number));
            }
        }
    }
    ensure!(
        problems.is_empty(),
        "errors in the instances' logs:\n{}",
        problems.join("\n")
    );
    println!(
        "xtask: {during_outages} log lines while PostgreSQL or Garage was down, each a 503 or a skipped purge"
    );
    let uptime = cluster.started.elapsed().as_secs();
    checks.pass(format!(
        "{INSTANCES} purge tasks ran every second for {uptime} s side by side: no error or purge warning in any log ({runs} runs removed something)"
    ));
    Ok(())
}

/// The services, the instances and nginx of one run.
pub(crate) struct Cluster {
    bin: PathBuf,
    pub dir: PathBuf,
    /// `https://localhost:PORT`: nginx.
    pub public_url: String,
    /// The throwaway CA that signed nginx's certificate.
    pub ca_file: PathBuf,
    /// A tenant API token (`sdt_…`).
    pub token: String,
    pub instances: Vec<Instance>,
    _nginx: Daemon,
    pub nginx_dir: PathBuf,
    started: Instant,
    /// Per instance, the span of its log written while a dependency was restarted.
    outages: Vec<std::ops::Range<u64>>,
}

impl Cluster {
    /// Starts `spec.instances` instances on a database of their own (PostgreSQL) and a
    /// prefix of their own (Garage), a tenant, and nginx in front with TLS.
    pub(crate) fn start(
        services: &mut Services,
        tools: &Tools,
        dir: &Path,
        spec: &Spec,
    ) -> Result<Self> {
        let (bin, nginx) = (&tools.bin, &tools.nginx);
        let database_url = cluster_database(services)?;
        let garage = services.garage()?;
        let mut env: Vec<(String, String)> = garage
            .env()
            .into_iter()
            .map(|(key, value)| (key.replace("SEALDROP_TEST_S3_", "SEALDROP_S3_"), value))
            .collect();
        let proxy_port = free_port()?;
        let public_url = format!("https://localhost:{proxy_port}");
        env.extend(
            [
                ("DATABASE_URL", database_url),
                ("SEALDROP_STORAGE", "s3".into()),
                ("SEALDROP_S3_PATH_STYLE", "true".into()),
                ("SEALDROP_S3_PREFIX", format!("cluster-{}/", random_hex(4)?)),
                ("SEALDROP_VERIFICATION_KEY", random_key()?),
                ("SEALDROP_ZENDESK_SESSION_KEY", random_key()?),
                ("SEALDROP_ZENDESK_TOKEN_KEY", random_key()?),
                ("SEALDROP_DELETION_SIGNING_KEY", random_key()?),
                ("SEALDROP_PUBLIC_URL", public_url.clone()),
                ("SEALDROP_TRUST_FORWARDED_FOR", "true".into()),
                ("SEALDROP_PURGE_INTERVAL_SECS", "1".into()),
                // Purged rows go in the same run, so an expired link answers 404 (gone), not
                // 410 (expired, row kept for the retention period).
                ("SEALDROP_PACKAGE_RETENTION_DAYS", "0".into()),
                ("SEALDROP_SHUTDOWN_TIMEOUT_SECS", "5".into()),
                ("SEALDROP_LOG_FORMAT", "json".into()),
                ("SEALDROP_ENV_FILE", "/dev/null".into()),
            ]
            .map(|(key, value)| (key.to_string(), value)),
        );
        env.extend(
            proc::web_env().map(|(key, path)| (key.to_string(), path.display().to_string())),
        );
        env.extend(
            spec.settings
                .iter()
                .map(|(key, value)| (key.to_string(), value.clone())),
        );
        let env = Arc::new(env);

        let mut instances = Vec::new();
        for number in 1..=spec.instances {
            let data_dir = dir.join(format!("instance-{number}"));
            std::fs::create_dir_all(&data_dir)?;
            let mut instance = Instance {
                number,
                bin: bin.to_path_buf(),
                port: free_port()?,
                data_dir: data_dir.clone(),
                log: dir.join(format!("instance-{number}.log")),
                env: env.clone(),
                daemon: None,
            };
            if number == 1 {
                // The first applies the migrations; the others find them done.
                instance.start()?;
                wait_ready(&instance)?;
            }
            instances.push(instance);
        }
        for instance in &mut instances[1..] {
            instance.start()?;
        }
        for instance in &instances {
            wait_ready(instance)?;
        }
        let started = Instant::now();

        let mut admin = instances[0].command();
        admin.args(["admin", "tenant", "create", "Cluster test"]);
        let token = proc::output(&mut admin)?.trim().to_string();
        ensure!(
            token.starts_with("sdt_"),
            "admin printed {token:?}, not a token"
        );

        let tls_dir = dir.join("tls");
        let ca_file = make_certificates(&tls_dir)?;
        let nginx_dir = dir.join("nginx");
        let ports: Vec<u16> = instances.iter().map(|i| i.port).collect();
        let nginx = start_nginx(
            nginx,
            &nginx_dir,
            &tls_dir,
            proxy_port,
            &ports,
            spec.nginx_workers,
        )?;

        Ok(Cluster {
            bin: bin.to_path_buf(),
            dir: dir.to_path_buf(),
            public_url,
            ca_file,
            token,
            instances,
            _nginx: nginx,
            nginx_dir,
            started,
            outages: Vec::new(),
        })
    }

    /// The length of every instance's log so far.
    fn log_lengths(&self) -> Vec<u64> {
        self.instances
            .iter()
            .map(|i| std::fs::metadata(&i.log).map(|m| m.len()).unwrap_or(0))
            .collect()
    }

    /// The instances' process ids (`None` for one not running).
    fn pids(&self) -> Vec<Option<u32>> {
        self.instances.iter().map(Instance::pid).collect()
    }

    /// A `sealdrop` client command: nothing of the caller's `SEALDROP_*` settings, the test
    /// CA trusted, the tenant's token.
    pub(crate) fn client(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        proc::clear_settings(&mut cmd);
        cmd.env("SEALDROP_CA_FILE", &self.ca_file)
            .env("SEALDROP_TOKEN", &self.token)
            .env("SEALDROP_URL", &self.public_url)
            .env("SEALDROP_STATE_DIR", self.dir.join("client-state"));
        cmd
    }

    /// `sealdrop send FILES EXTRA`; returns the link.
    pub(crate) fn send(&self, files: &[PathBuf], extra: &[&str]) -> Result<String> {
        let mut cmd = self.client();
        cmd.arg("send").args(files).args(extra);
        let output = run_bounded(&mut cmd, &self.dir, "send", None)?;
        ensure!(
            output.status.success(),
            "sealdrop send failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let link = String::from_utf8_lossy(&output.stdout).trim().to_string();
        ensure!(
            link.starts_with(&format!("{}/p/", self.public_url)),
            "sealdrop send printed {link:?}, not a link of {}",
            self.public_url
        );
        Ok(link)
    }

    /// `sealdrop get LINK -o OUT EXTRA` whatever its outcome.
    fn get_output(&self, link: &str, out: &Path, extra: &[&str]) -> Result<Output> {
        let mut cmd = self.client();
        cmd.args(["get", "-", "-o"])
            .arg(out)
            .args(["--retry-for", "30s"])
            .args(extra);
        run_bounded(&mut cmd, &self.dir, "get", Some(link))
    }

    /// `sealdrop get LINK -o OUT EXTRA`, which must succeed; returns the saved paths.
    fn get(&self, link: &str, out: &Path, extra: &[&str]) -> Result<Vec<String>> {
        let output = self.get_output(link, out, extra)?;
        ensure!(
            output.status.success(),
            "sealdrop get failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect())
    }

    fn spawn_send(&self, file: &Path) -> Result<Background> {
        let mut cmd = self.client();
        cmd.arg("send").arg(file).args(["--retry-for", "2m"]);
        Background::spawn(&mut cmd, &self.dir, "big-send", None)
    }

    fn spawn_get(&self, link: &str, out: &Path) -> Result<Background> {
        let mut cmd = self.client();
        cmd.args(["get", "-", "-o"])
            .arg(out)
            .args(["--retry-for", "2m"]);
        Background::spawn(&mut cmd, &self.dir, "big-get", Some(link))
    }

    /// A file of `len` pseudo-random bytes (different for each `seed`).
    pub(crate) fn random_file(&self, name: &str, len: u64, seed: u64) -> Result<PathBuf> {
        let path = self.dir.join("files").join(name);
        std::fs::create_dir_all(path.parent().expect("files/ has a parent"))?;
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut file = std::io::BufWriter::new(File::create(&path)?);
        let mut left = len;
        let mut buf = vec![0u8; MIB as usize];
        while left > 0 {
            for chunk in buf.chunks_mut(8) {
                // xorshift64*: fast, and ciphertext of it compresses as badly as any.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            let n = left.min(MIB) as usize;
            std::io::Write::write_all(&mut file, &buf[..n])?;
            left -= n as u64;
        }
        std::io::Write::flush(&mut file)?;
        Ok(path)
    }

    /// Every instance's `/metrics`, in instance order (a stopped instance counts nothing).
    fn metrics(&self) -> Result<Vec<String>> {
        self.instances
            .iter()
            .map(|instance| {
                if instance.running() {
                    instance.metrics()
                } else {
                    Ok(String::new())
                }
            })
            .collect()
    }

    /// The `/metrics` of the running instances, by instance number.
    fn metrics_of_live(&self) -> Result<BTreeMap<usize, String>> {
        self.instances
            .iter()
            .filter(|instance| instance.running())
            .map(|instance| Ok((instance.number, instance.metrics()?)))
            .collect()
    }

    /// How many mails each instance wrote to its outbox.
    fn outbox_counts(&self) -> Vec<usize> {
        self.instances
            .iter()
            .map(|instance| {
                std::fs::read_dir(instance.data_dir.join("outbox"))
                    .map(|entries| entries.count())
                    .unwrap_or(0)
            })
            .collect()
    }

    pub(crate) fn show_logs(&self) {
        for instance in &self.instances {
            println!(
                "xtask: the log of instance {} ({}):\n{}",
                instance.number,
                instance.log.display(),
                proc::tail(&instance.log, 15)
            );
        }
        println!(
            "xtask: nginx's error log:\n{}",
            proc::tail(&self.nginx_dir.join("error.log"), 15)
        );
        println!(
            "xtask: nginx's access log:\n{}",
            proc::tail(&self.nginx_dir.join("access.log"), 15)
        );
    }
}

/// A database of its own on the run's PostgreSQL; returns its URL.
fn cluster_database(services: &mut Services) -> Result<String> {
    let port = services.postgres()?.port;
    let name = format!("sealdrop_cluster_{}", random_hex(4)?);
    let createdb = setup::postgres_bin()?.join("createdb");
    proc::output(
        Command::new(createdb)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .arg(&name),
    )?;
    Ok(format!("postgres://postgres@127.0.0.1:{port}/{name}"))
}

/// 32 random bytes as base64url without padding: the shape of the shared keys.
fn random_key() -> Result<String> {
    let hex = random_hex(32)?;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("random_hex writes hex"))
        .collect();
    Ok(base64url(&bytes))
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// One `sealdrop serve`, which the stage kills and restarts.
pub(crate) struct Instance {
    pub number: usize,
    bin: PathBuf,
    pub port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    env: Arc<Vec<(String, String)>>,
    daemon: Option<Daemon>,
}

impl Instance {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        proc::clear_settings(&mut cmd);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("SEALDROP_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SEALDROP_DATA_DIR", &self.data_dir);
        cmd
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) -> Result<()> {
        let mut cmd = self.command();
        cmd.arg("serve");
        println!(
            "xtask: starting instance {} on 127.0.0.1:{} (log {})",
            self.number,
            self.port,
            self.log.display()
        );
        self.daemon = Some(Daemon::spawn(
            cmd,
            &self.log,
            &format!("sealdrop instance {}", self.number),
        )?);
        Ok(())
    }

    fn running(&self) -> bool {
        self.daemon.as_ref().is_some_and(Daemon::running)
    }

    /// The process id while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        let daemon = self.daemon.as_ref().filter(|daemon| daemon.running())?;
        daemon.pid()
    }

    /// SIGKILL: no graceful shutdown, requests in flight are cut.
    fn kill(&mut self) -> Result<()> {
        let daemon = self.daemon.take().context("the instance is not running")?;
        daemon.kill()
    }

    fn metrics(&self) -> Result<String> {
        let (status, body) = http(self.port, "GET", "/metrics", None)
            .with_context(|| format!("scraping instance {}", self.number))?;
        ensure!(status == 200, "instance {} /metrics: {status}", self.number);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

fn wait_ready(instance: &Instance) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if cleanup::interrupted() {
            bail!("interrupted");
        }
        if !instance.running() {
            bail!(
                "instance {} exited during start-up:\n{}",
                instance.number,
                proc::tail(&instance.log, 20)
            );
        }
        if http(instance.port, "GET", "/readyz", None).is_ok_and(|(status, _)| status == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "instance {} was not ready within 60 s:\n{}",
        instance.number,
        proc::tail(&instance.log, 20)
    )
}

/// A throwaway CA and a certificate for `localhost` and 127.0.0.1 signed by it, in `dir`;
/// returns the CA's file (what clients trust).
fn make_certificates(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = |name: &str| dir.join(name).display().to_string();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let openssl = |args: &[&str]| proc::output(Command::new("openssl").args(args));
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                &path("ca.key"),
                "-out",
                &path("ca.pem"),
                "-days",
                "2",
                "-subj",
                "/CN=sealdrop cluster test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    )
    .context("making the test CA")?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                &path("server.key"),
                "-out",
                &path("server.csr"),
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    )
    .context("making the server key")?;
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("server.csr"),
        "-CA",
        &path("ca.pem"),
        "-CAkey",
        &path("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &path("server.ext"),
        "-out",
        &path("server.pem"),
    ])
    .context("signing the server certificate")?;
    Ok(dir.join("ca.pem"))
}

fn start_nginx(
    nginx: &Path,
    dir: &Path,
    tls_dir: &Path,
    port: u16,
    upstreams: &[u16],
    workers: &str,
) -> Result<Daemon> {
    std::fs::create_dir_all(dir)?;
    let packaged = std::fs::read_to_string(repo_root().join("packaging/nginx/sealdrop.conf"))?;
    let site = site_config(
        &packaged,
        port,
        &tls_dir.join("server.pem"),
        &tls_dir.join("server.key"),
        upstreams,
    )?;
    std::fs::write(dir.join("sealdrop-site.conf"), site)?;
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "# The test's nginx: the packaged site (sealdrop-site.conf) in a minimal main file.
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 512; }}
http {{
    default_type application/octet-stream;
    log_format cluster '$request_method $uri $status upstream=$upstream_addr upstream_status=$upstream_status bytes=$body_bytes_sent';
    access_log {d}/access.log cluster;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/sealdrop-site.conf;
}}
"
        ),
    )?;
    let args = |cmd: &mut Command| {
        cmd.arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"));
    };
    let mut test = Command::new(nginx);
    args(&mut test);
    test.arg("-t");
    let tested = test.stdin(Stdio::null()).output()?;
    ensure!(
        tested.status.success(),
        "nginx -t refuses the test configuration:\n{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    println!(
        "xtask: nginx -t: the packaged site, rewritten for the test, is valid ({})",
        dir.join("sealdrop-site.conf").display()
    );
    let mut cmd = Command::new(nginx);
    args(&mut cmd);
    cmd.args(["-g", "daemon off;"]);
    println!("xtask: starting nginx on https://localhost:{port} in front of ports {upstreams:?}");
    let daemon = Daemon::spawn(cmd, &dir.join("nginx.out"), "nginx")?;
    proc::wait_for_port(port, Duration::from_secs(30), "nginx")?;
    Ok(daemon)
}

/// The packaged site, rewritten for the test: its upstream lists `upstreams`, it listens on
/// 127.0.0.1:`port` with the test certificate for `localhost`, the plain-HTTP redirect is
/// left out. Fails when a line it rewrites is
/// missing, so that a changed packaged file is noticed here.
fn site_config(
    packaged: &str,
    port: u16,
    cert: &Path,
    key: &Path,
    upstreams: &[u16],
) -> Result<String> {
    let mut out = String::from(
        "# packaging/nginx/sealdrop.conf, rewritten by `cargo xtask test --only cluster`.\n",
    );
    let mut depth = 0usize;
    let mut block = String::new();
    let mut rewrites = BTreeMap::<&str, usize>::new();
    for line in packaged.lines() {
        let trimmed = line.trim();
        let opens = line.matches('{').count();
        let closes = line.matches('}').count();
        if depth == 0 && opens == 0 {
            continue; // comments and blank lines between blocks
        }
        let mut rewritten = line.to_string();
        if trimmed.starts_with("server 127.0.0.1:8080 ") {
            let params = trimmed.trim_start_matches("server 127.0.0.1:8080 ");
            rewritten = upstreams
                .iter()
                .map(|p| format!("    server 127.0.0.1:{p} {params}"))
                .collect::<Vec<_>>()
                .join("\n");
            *rewrites.entry("upstream servers").or_default() += 1;
        } else if trimmed.starts_with("# server ") {
            continue;
        } else if trimmed.starts_with("listen 443 ") {
            rewritten = line.replace("listen 443 ", &format!("listen 127.0.0.1:{port} "));
            *rewrites.entry("listen").or_default() += 1;
        } else if trimmed.starts_with("listen [::]:443 ") {
            continue;
        } else if trimmed.starts_with("server_name ") && block.contains("ssl") {
            rewritten = "    server_name localhost;".to_string();
            *rewrites.entry("server_name").or_default() += 1;
        } else if trimmed.starts_with("ssl_certificate ") {
            rewritten = format!("    ssl_certificate     {};", cert.display());
            *rewrites.entry("ssl_certificate").or_default() += 1;
        } else if trimmed.starts_with("ssl_certificate_key ") {
            rewritten = format!("    ssl_certificate_key {};", key.display());
            *rewrites.entry("ssl_certificate_key").or_default() += 1;
        }
        block.push_str(&rewritten);
        block.push('\n');
        depth = depth + opens - closes;
        if depth == 0 {
            // Only the upstream and the TLS server; the port-80 redirect is not needed.
            if block.starts_with("upstream ") || block.contains("ssl_certificate") {
                out.push_str(&block);
                out.push('\n');
            }
            block.clear();
        }
    }
    for what in [
        "upstream servers",
        "listen",
        "server_name",
        "ssl_certificate",
        "ssl_certificate_key",
    ] {
        ensure!(
            rewrites.get(what) == Some(&1),
            "packaging/nginx/sealdrop.conf changed shape: the stage rewrites its {what} line(s) but found {} (update xtask/src/cluster.rs)",
            rewrites.get(what).copied().unwrap_or(0)
        );
    }
    Ok(out)
}

/// A client command running while the stage does something else.
struct Background {
    child: Child,
    name: String,
    stdout: PathBuf,
    stderr: PathBuf,
    started: Instant,
}

impl Background {
    fn spawn(cmd: &mut Command, dir: &Path, name: &str, stdin: Option<&str>) -> Result<Self> {
        let stdout = dir.join(format!("{name}.out"));
        let stderr = dir.join(format!("{name}.err"));
        println!("$ {}", proc::display(cmd));
        let mut child = cmd
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(File::create(&stdout)?)
            .stderr(File::create(&stderr)?)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped above");
            std::io::Write::write_all(&mut pipe, format!("{text}\n").as_bytes())?;
        }
        Ok(Background {
            child,
            name: name.to_string(),
            stdout,
            stderr,
            started: Instant::now(),
        })
    }

    fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr)
            .unwrap_or_default()
            .trim()
            .to_string()
    }

    /// Waits (at most [`COMMAND_TIMEOUT`]) for success; returns standard output, trimmed.
    fn finish(&mut self, what: &str) -> Result<String> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                ensure!(
                    status.success(),
                    "{what} failed ({status}): {}",
                    self.stderr()
                );
                let mut out = String::new();
                File::open(&self.stdout)?.read_to_string(&mut out)?;
                println!(
                    "xtask: {} finished in {}",
                    self.name,
                    proc::human_duration(self.started.elapsed())
                );
                return Ok(out.trim().to_string());
            }
            if self.started.elapsed() > COMMAND_TIMEOUT || cleanup::interrupted() {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "{what} did not finish within {COMMAND_TIMEOUT:?}: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a client command to its end (at most [`COMMAND_TIMEOUT`]), `stdin` as its input.
fn run_bounded(cmd: &mut Command, dir: &Path, name: &str, stdin: Option<&str>) -> Result<Output> {
    let mut background = Background::spawn(cmd, dir, name, stdin)?;
    loop {
        if let Some(status) = background.try_wait()? {
            let stdout = std::fs::read(&background.stdout)?;
            let stderr = std::fs::read(&background.stderr)?;
            return Ok(Output {
                status,
                stdout,
                stderr,
            });
        }
        if background.started.elapsed() > COMMAND_TIMEOUT || cleanup::interrupted() {
            bail!(
                "sealdrop {name} did not finish within {COMMAND_TIMEOUT:?}: {}",
                background.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interruptible_sleep(duration: Duration) -> Result<()> {
    if cleanup::interrupted() {
        bail!("interrupted");
    }
    std::thread::sleep(duration);
    Ok(())
}

/// The value of counter `series` in a scrape of `/metrics`: a sample name, optionally with
/// labels the sample must carry (`sealdrop_transfer_bytes_total{direction="download"}`),
/// summed over every sample that matches (label values as the server writes them, without
/// commas). `None` when no sample matches.
fn metric(text: &str, series: &str) -> Option<u64> {
    let (name, wanted) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.trim_end_matches('}').split(',').collect()),
        None => (series, Vec::new()),
    };
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(rest) => rest.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            let labels: Vec<&str> = labels.split(',').collect();
            if !wanted.iter().all(|w| labels.contains(w)) {
                return None;
            }
            value.trim().parse::<u64>().ok()
        })
        .reduce(|a, b| a + b)
}

/// How much counter `name` grew on each instance between two scrapes (an instance
/// restarted in between counts from zero).
fn delta(before: &[String], after: &[String], name: &str) -> Vec<u64> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let (b, a) = (metric(b, name).unwrap_or(0), metric(a, name).unwrap_or(0));
            if a >= b {
                a - b
            } else {
                a
            }
        })
        .collect()
}

/// [`delta`] for the instances still running, by instance number.
fn delta_live(
    before: &[String],
    after: &BTreeMap<usize, String>,
    name: &str,
) -> BTreeMap<usize, u64> {
    after
        .iter()
        .map(|(&number, text)| {
            let b = metric(&before[number - 1], name).unwrap_or(0);
            let a = metric(text, name).unwrap_or(0);
            (number, a.saturating_sub(b))
        })
        .collect()
}

pub(crate) fn same_bytes(sent: &Path, got: &Path) -> Result<()> {
    let mut a = File::open(sent).with_context(|| format!("opening {}", sent.display()))?;
    let mut b = File::open(got).with_context(|| format!("opening {}", got.display()))?;
    let (mut buf_a, mut buf_b) = (vec![0u8; MIB as usize], vec![0u8; MIB as usize]);
    let mut offset = 0u64;
    loop {
        let n = read_full(&mut a, &mut buf_a)?;
        let m = read_full(&mut b, &mut buf_b)?;
        ensure!(
            n == m && buf_a[..n] == buf_b[..m],
            "{} differs from {} near byte {offset}",
            got.display(),
            sent.display()
        );
        if n == 0 {
            return Ok(());
        }
        offset += n as u64;
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packaged_nginx_site_is_rewritten_for_the_test() {
        let packaged = std::fs::read_to_string(repo_root().join("packaging/nginx/sealdrop.conf"))
            .expect("the packaged nginx site");
        let site = site_config(
            &packaged,
            8443,
            Path::new("/t/server.pem"),
            Path::new("/t/server.key"),
            &[7001, 7002],
        )
        .expect("the packaged site has every line the stage rewrites");
        assert!(site.contains("server 127.0.0.1:7001 max_fails=3"), "{site}");
        assert!(site.contains("server 127.0.0.1:7002 max_fails=3"), "{site}");
        assert!(site.contains("listen 127.0.0.1:8443 ssl"), "{site}");
        assert!(
            site.contains("ssl_certificate_key /t/server.key;"),
            "{site}"
        );
        assert!(site.contains("proxy_next_upstream"), "{site}");
        assert!(
            !site.contains("8080") && !site.contains("listen 80"),
            "{site}"
        );
        assert!(!site.contains("files.example.com"), "{site}");
        assert_eq!(site.matches('{').count(), site.matches('}').count());
    }

    #[test]
    fn keys_are_base64url_without_padding() {
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(base64url(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
        assert_eq!(random_key().expect("a key").len(), 43);
    }

    #[test]
    fn counters_are_read_from_prometheus_text() {
        let text = "# HELP x\nsealdrop_parts_stored_total 12\nsealdrop_parts_stored_total_x 3\n";
        assert_eq!(metric(text, "sealdrop_parts_stored_total"), Some(12));
        let labelled = concat!(
            "# TYPE sealdrop_transfer_bytes counter\n",
            "sealdrop_transfer_bytes_total{direction=\"upload\",backend=\"s3\"} 7\n",
            "sealdrop_transfer_bytes_total{direction=\"download\",backend=\"s3\"} 40\n",
            "sealdrop_transfer_bytes_total{direction=\"download\",backend=\"folder\"} 2\n",
            "# EOF\n",
        );
        assert_eq!(metric(labelled, DOWNLOAD_BYTES), Some(42));
        assert_eq!(
            metric(
                labelled,
                r#"sealdrop_transfer_bytes_total{backend="s3",direction="upload"}"#
            ),
            Some(7)
        );
        assert_eq!(metric(labelled, "sealdrop_transfer_bytes_total"), Some(49));
        assert_eq!(metric(labelled, "sealdrop_parts_stored_total"), None);
        let before = vec![text.to_string(), String::new()];
        let after = vec![
            "sealdrop_parts_stored_total 15\n".to_string(),
            "sealdrop_parts_stored_total 2\n".to_string(),
        ];
        assert_eq!(
            delta(&before, &after, "sealdrop_parts_stored_total"),
            [3, 2]
        );
    }
}
