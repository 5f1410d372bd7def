//! `cargo xtask bench load`: many concurrent senders and recipients against 1, 2 and 3
//! `sealdrop serve` instances, on loopback, bounded in count and time.
//!
//! For each instance count it starts the cluster stage's set-up (`cluster::Cluster`): the
//! release `sealdrop` instances on one PostgreSQL and one Garage (each count its own database
//! and bucket prefix, so the three comparisons share the same backend and start empty), and
//! nginx with TLS in front, from the packaged site. Every request goes through nginx, as in
//! production: TLS, `least_conn` over the instances and the upstream keep-alive are part of
//! what is measured, and the same URL serves 1, 2 or 3 instances. (Round-robin from the load
//! generator straight to the instances would measure a set-up no operator runs.) Then:
//!
//! - `info`: `GET /api/v1/packages/{id}` with the link proof, the call a recipient's page
//!   makes first, by [oha](https://github.com/hatoo/oha) at [`CONCURRENCY`] connections, a
//!   fixed count of requests ([`INFO_REQUESTS`]); oha's JSON report gives throughput,
//!   p50/p99 latency, status codes and errors;
//! - `create`: `POST /api/v1/packages` with the tenant's API token, the same way
//!   ([`CREATE_REQUESTS`]);
//! - `info paced`, `create paced`: the same call at a fixed rate, [`PACED_SHARE`] of the
//!   better rate the two runs above reached, for [`PACED_SECS`], with oha's latency
//!   correction (a request's latency counts from when it was due, so a stall shows);
//! - `send`: [`TRANSFERS`] `sealdrop send` commands of a 256 KiB file each,
//!   [`TRANSFERS_IN_FLIGHT`] at a time (create, manifest, part, finalize, with the client's
//!   encryption), each timed from start to exit; oha cannot chain requests, the real client
//!   can;
//! - `get`: [`TRANSFERS`] `sealdrop get` of those links, as many at a time (info, open,
//!   download token, ciphertext, decryption); every file is compared with what was sent.
//!
//! Before each scenario every instance's peak RSS is reset (`5` written to
//! `/proc/PID/clear_refs`); after it, `VmHWM` in `/proc/PID/status` is that scenario's peak.
//! nginx's access log of the scenario says how many requests each instance served and which
//! answers were not 2xx.
//!
//! # Reading the table
//!
//! One row per instance count and scenario: `conc.` is oha's connections or the commands
//! running at once; `requests` the requests oha made (or the commands run); `rate` completed
//! requests per second (for `send`/`get`: commands per second and plaintext MiB/s, over the
//! wave's wall time); `p50`/`p99` the latency of one request (for `send`/`get`: of one whole
//! command, process start to exit); `errors` transport errors (refused, reset, timed out),
//! unexpected statuses, failed commands, a file that came back different, and any non-2xx
//! answer nginx logged during the scenario (a 503 the client retried still counts); the last
//! column, for each instance, how many requests nginx passed to it and its peak RSS.
//!
//! The goal (issue 17) is 0 errors and a p99 under 50 ms for the small API calls at the load
//! the machine sustains. With a fixed number of connections and no think time, oha offers
//! as much load as the servers take: those rows' rate is the saturation throughput, and by
//! Little's law their latency is about `conc. / rate`, so a p99 over 50 ms at 64
//! connections is the queue, not a slow request. The `paced` rows are the goal's test: a
//! sustained load, half the saturation rate, whose p99 should stay under 50 ms (the report
//! says whether it did). The load generator, nginx, PostgreSQL, Garage and the instances all
//! share this machine's cores (and, on a shared machine, other work: the report gives the
//! load average before and after): on a small machine more instances add processes competing
//! for the same CPU, not capacity, and the table shows where that stops paying. A p99 far
//! above p95 in a paced row is a stall (the machine busy elsewhere) rather than the service's
//! steady latency: oha's report in `TARGET/bench-load/` has every percentile.
//!
//! Bounded: oha runs a fixed count with a per-request timeout ([`REQUEST_TIMEOUT`]) and is
//! stopped after [`OHA_DEADLINE`]; a wave of commands after [`WAVE_DEADLINE`]; no new
//! scenario starts once [`BUDGET`] has passed (the table says what was skipped). Everything
//! listens on 127.0.0.1. Instances, nginx, oha, clients, the services and the temporary
//! folder are stopped and removed on every exit, Ctrl-C included (`cleanup`).
//!
//! The table is printed and written to `TARGET/bench-load.md`. docs/OPERATIONS.md ("Load")
//! holds the figures of one run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::cleanup::{self, Guard};
use crate::cluster::{self, Cluster, Spec, Tools};
use crate::proc::{self, target_dir};
use crate::services::{self, Services};
use crate::setup;

/// Instance counts compared, each on the same PostgreSQL and Garage.
const INSTANCE_COUNTS: [usize; 3] = [1, 2, 3];
/// oha's connections for the small API calls, each as fast as the answers come: the
/// throughput the service saturates at.
const CONCURRENCY: [usize; 2] = [16, 64];
/// Requests per saturating oha run of `info`.
const INFO_REQUESTS: u64 = 20_000;
/// Requests per saturating oha run of `create` (each writes a package row).
const CREATE_REQUESTS: u64 = 10_000;
/// The paced run offers this share of the best saturating rate, at a fixed rate.
const PACED_SHARE: f64 = 0.5;
/// How long the paced run lasts (its count is the rate times this).
const PACED_SECS: f64 = 5.0;
/// oha's connections in the paced run: enough that the pace never waits for a free one.
const PACED_CONNECTIONS: usize = 32;
/// `sealdrop send` (then `get`) commands per wave.
const TRANSFERS: usize = 256;
/// Commands running at once in a wave.
const TRANSFERS_IN_FLIGHT: usize = 32;
/// The file each `send` encrypts and uploads.
const FILE_SIZE: u64 = 256 * 1024;
/// oha's timeout for one request; a request over it counts as an error.
const REQUEST_TIMEOUT: &str = "10s";
/// The longest one oha run may take before it is stopped.
const OHA_DEADLINE: Duration = Duration::from_secs(40);
/// The longest one wave of commands may take before the rest are stopped.
const WAVE_DEADLINE: Duration = Duration::from_secs(90);
/// After this much time no new scenario starts.
const BUDGET: Duration = Duration::from_secs(5 * 60);
/// The p99 goal of the small API calls.
const SMALL_CALL_P99_GOAL_MS: f64 = 50.0;
const MIB: f64 = (1 << 20) as f64;

/// Runs the benchmark, prints the table and writes it to `TARGET/bench-load.md`.
pub fn run() -> Result<()> {
    let oha = setup::oha()?;
    let version = proc::output(Command::new(&oha).arg("--version"))?;
    if !version.contains(setup::OHA_VERSION) {
        println!(
            "xtask: warning: {} is {}, the report is read with the keys of oha {}",
            oha.display(),
            version.trim(),
            setup::OHA_VERSION
        );
    }
    let tools = Tools::prepare()?;
    let mut services = Services::default();
    services.postgres()?;
    services.garage()?;
    let dir = proc::temp_dir("load")?;
    let _remove_dir = Guard::new(
        format!("remove {}", dir.display()),
        services::remove_dir_action(dir.clone()),
    );

    // oha's own reports, kept for a closer look (histograms, p99.9).
    let reports = target_dir().join("bench-load");
    let _ = std::fs::remove_dir_all(&reports);
    std::fs::create_dir_all(&reports)?;
    let load_before = load_average();
    // The budget counts from here: a first build of oha or the server is not the load's.
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    for instances in INSTANCE_COUNTS {
        if started.elapsed() > BUDGET {
            skipped.push(format!(
                "{instances} instance(s): over the {BUDGET:?} budget"
            ));
            continue;
        }
        println!("\n== load: {instances} instance(s) behind nginx");
        let cluster_dir = dir.join(format!("{instances}-instances"));
        std::fs::create_dir_all(&cluster_dir)?;
        let spec = Spec {
            instances,
            // The production default, so that no purge runs during the scenarios.
            settings: vec![("SEALDROP_PURGE_INTERVAL_SECS", "3600".into())],
            // Debian's nginx.conf: one worker per core.
            nginx_workers: "auto",
        };
        let cluster = Cluster::start(&mut services, &tools, &cluster_dir, &spec)?;
        let bench = Bench {
            cluster: &cluster,
            oha: &oha,
            started,
            reports: &reports,
        };
        let result = bench.scenarios(&mut rows, &mut skipped);
        // After Ctrl-C the failure is the interrupt; the logs would only bury the message.
        if result.is_err() && !cleanup::interrupted() {
            cluster.show_logs();
        }
        result?;
    }

    let machine = format!(
        "{} 1-minute load average {load_before} before the run, {} after.",
        machine(),
        load_average()
    );
    let report = render(&rows, &skipped, &machine);
    println!("\n{report}");
    let path = target_dir().join("bench-load.md");
    std::fs::create_dir_all(target_dir())?;
    std::fs::write(&path, &report).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "xtask: the table is in {}, oha's reports in {} (the scenarios took {}, tools and \
         services not counted)",
        path.display(),
        reports.display(),
        proc::human_duration(started.elapsed())
    );
    Ok(())
}

/// One instance count's scenarios.
struct Bench<'a> {
    cluster: &'a Cluster,
    oha: &'a Path,
    started: Instant,
    /// Where oha's JSON reports are kept.
    reports: &'a Path,
}

impl Bench<'_> {
    fn scenarios(&self, rows: &mut Vec<Row>, skipped: &mut Vec<String>) -> Result<()> {
        let instances = self.cluster.instances.len();
        let over_budget = |what: &str, skipped: &mut Vec<String>| {
            let over = self.started.elapsed() > BUDGET;
            if over {
                skipped.push(format!(
                    "{instances} instance(s), {what}: over the {BUDGET:?} budget"
                ));
            }
            over
        };
        let small = self.cluster.random_file("small.txt", 1000, 1)?;
        let link = self.cluster.send(&[small], &[])?;
        let (id, proof) = link_proof(&link)?;
        let info = OhaTarget {
            name: "info",
            method: "GET",
            path: format!("/api/v1/packages/{id}"),
            headers: vec![format!("X-Sealdrop-Link-Proof: {proof}")],
            body: None,
            expected: 200,
            requests: INFO_REQUESTS,
        };
        let create = OhaTarget {
            name: "create",
            method: "POST",
            path: "/api/v1/packages".into(),
            headers: vec![format!("Authorization: Bearer {}", self.cluster.token)],
            body: Some("{}"),
            expected: 201,
            requests: CREATE_REQUESTS,
        };
        for target in [&info, &create] {
            self.preflight(target)?;
            let mut best: f64 = 0.0;
            for concurrency in CONCURRENCY {
                if over_budget(&format!("{} c={concurrency}", target.name), skipped) {
                    continue;
                }
                let row = self.oha_row(target, concurrency, None)?;
                best = best.max(row.rate_per_sec);
                rows.push(row);
            }
            if best > 0.0 && !over_budget(&format!("{} paced", target.name), skipped) {
                let rate = (best * PACED_SHARE).round().max(1.0);
                rows.push(self.oha_row(target, PACED_CONNECTIONS, Some(rate))?);
            }
        }
        if over_budget("send and get", skipped) {
            return Ok(());
        }
        let file = self.cluster.random_file("transfer.bin", FILE_SIZE, 2)?;
        let (row, links) = self.send_wave(&file)?;
        rows.push(row);
        if over_budget("get", skipped) {
            return Ok(());
        }
        rows.push(self.get_wave(&file, &links)?);
        Ok(())
    }

    /// One request first, which must answer `expected`: a wrong proof or token would
    /// otherwise show up as thousands of errors.
    fn preflight(&self, target: &OhaTarget) -> Result<()> {
        let out = self
            .cluster
            .dir
            .join(format!("{}-preflight.json", target.name));
        let report = self.oha(target, 1, 1, None, &out)?;
        ensure!(
            report.statuses == BTreeMap::from([(target.expected, 1)]),
            "{} {} should answer {} before the load starts; oha saw {:?} {:?}",
            target.method,
            target.path,
            target.expected,
            report.statuses,
            report.errors
        );
        Ok(())
    }

    /// One oha run: as fast as the answers come, or at `pace` requests per second for
    /// [`PACED_SECS`].
    fn oha_row(&self, target: &OhaTarget, concurrency: usize, pace: Option<f64>) -> Result<Row> {
        let requests = match pace {
            Some(rate) => (rate * PACED_SECS) as u64,
            None => target.requests,
        };
        let (scenario, file) = match pace {
            Some(_) => (
                format!("{} paced", target.name),
                format!("{}-paced.json", target.name),
            ),
            None => (
                target.name.to_string(),
                format!("{}-c{concurrency}.json", target.name),
            ),
        };
        println!(
            "\n-- {scenario}: {} {} x {requests} at {concurrency} connections{}",
            target.method,
            target.path,
            pace.map_or(String::new(), |rate| format!(", {rate} per second"))
        );
        let probe = Probe::start(self.cluster)?;
        let out = self.cluster.dir.join(file);
        let report = self.oha(target, requests, concurrency, pace, &out)?;
        let kept = self.reports.join(format!(
            "{}-instances-{}",
            self.cluster.instances.len(),
            out.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        std::fs::copy(&out, &kept).with_context(|| format!("keeping {}", kept.display()))?;
        let seen = probe.finish(self.cluster)?;
        let mut errors = report.failures(target.expected);
        errors.merge(&seen.errors);
        let row = Row {
            instances: self.cluster.instances.len(),
            scenario,
            concurrency,
            requests: report.requests(),
            rate: format!("{:.0} req/s", report.requests_per_sec),
            rate_per_sec: report.requests_per_sec,
            paced: pace.is_some(),
            p50_ms: report.p50_secs.map(|s| s * 1000.0),
            p99_ms: report.p99_secs.map(|s| s * 1000.0),
            errors,
            per_instance: seen.per_instance,
        };
        println!("{}", row.summary());
        Ok(row)
    }

    /// Runs oha to its end (at most [`OHA_DEADLINE`]) and reads its JSON report.
    fn oha(
        &self,
        target: &OhaTarget,
        requests: u64,
        concurrency: usize,
        pace: Option<f64>,
        out: &Path,
    ) -> Result<OhaReport> {
        let mut cmd = Command::new(self.oha);
        cmd.args(["--no-tui", "--output-format", "json", "--ipv4"])
            .args(["-t", REQUEST_TIMEOUT])
            .args(["-n", &requests.to_string(), "-c", &concurrency.to_string()])
            .arg("--cacert")
            .arg(&self.cluster.ca_file)
            .args(["-m", target.method])
            .arg("-o")
            .arg(out);
        for header in &target.headers {
            cmd.arg("-H").arg(header);
        }
        if let Some(body) = target.body {
            cmd.args(["-T", "application/json", "-d", body]);
        }
        if let Some(rate) = pace {
            // Latency from when each request was due, not when it went out: a stalled
            // server shows as latency instead of as fewer requests (coordinated omission).
            cmd.args(["-q", &rate.to_string(), "--latency-correction"]);
        }
        cmd.arg(format!("{}{}", self.cluster.public_url, target.path));
        // The display leaves out the headers: they hold the token and the proof.
        println!(
            "$ oha -n {requests} -c {concurrency} -t {REQUEST_TIMEOUT}{} -m {} -H ... {}{}",
            pace.map_or(String::new(), |rate| format!(
                " -q {rate} --latency-correction"
            )),
            target.method,
            self.cluster.public_url,
            target.path
        );
        let stderr = out.with_extension("err");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr)?)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", self.oha.display()))?;
        // Ctrl-C reaches xtask alone (oha leads its own group); its handler stops oha.
        cleanup::set_foreground(Some(child.id()));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > OHA_DEADLINE || cleanup::interrupted() {
                let _ = child.kill();
                let _ = child.wait();
                cleanup::set_foreground(None);
                bail!("oha did not finish {requests} requests within {OHA_DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        cleanup::set_foreground(None);
        ensure!(
            status.success(),
            "oha failed ({status}): {}",
            proc::tail(&stderr, 10)
        );
        let json =
            std::fs::read_to_string(out).with_context(|| format!("reading {}", out.display()))?;
        OhaReport::parse(&json).with_context(|| format!("reading oha's report {}", out.display()))
    }

    /// [`TRANSFERS`] `sealdrop send` of `file`; returns the row and the links.
    fn send_wave(&self, file: &Path) -> Result<(Row, Vec<String>)> {
        println!(
            "\n-- send: {TRANSFERS} x `sealdrop send` of {} KiB, {TRANSFERS_IN_FLIGHT} at a time",
            FILE_SIZE / 1024
        );
        let dir = self.cluster.dir.join("send");
        let jobs = (0..TRANSFERS)
            .map(|n| {
                let mut cmd = self.cluster.client();
                cmd.env("SEALDROP_STATE_DIR", dir.join(format!("state-{n}")))
                    .arg("send")
                    .arg(file)
                    .args(["--retry-for", "30s"]);
                Job { cmd, stdin: None }
            })
            .collect();
        let probe = Probe::start(self.cluster)?;
        let wave = run_wave(jobs, &dir)?;
        let seen = probe.finish(self.cluster)?;
        let prefix = format!("{}/p/", self.cluster.public_url);
        let mut errors = wave.errors();
        let links: Vec<String> = wave
            .stdout
            .iter()
            .flatten()
            .map(|out| out.trim().to_string())
            .filter(|link| {
                let ok = link.starts_with(&prefix) && link.contains('#');
                if !ok {
                    errors.add("send printed no link", 1);
                }
                ok
            })
            .collect();
        errors.merge(&seen.errors);
        let row = self.wave_row("send", &wave, errors, seen.per_instance);
        println!("{}", row.summary());
        Ok((row, links))
    }

    /// `sealdrop get` of every link; each file must equal `file`.
    fn get_wave(&self, file: &Path, links: &[String]) -> Result<Row> {
        println!(
            "\n-- get: {} x `sealdrop get`, {TRANSFERS_IN_FLIGHT} at a time",
            links.len()
        );
        let dir = self.cluster.dir.join("get");
        let jobs = links
            .iter()
            .enumerate()
            .map(|(n, link)| {
                let mut cmd = self.cluster.client();
                cmd.args(["get", "-", "-o"])
                    .arg(dir.join(format!("out-{n}")))
                    .args(["--retry-for", "30s"]);
                Job {
                    cmd,
                    stdin: Some(link.clone()),
                }
            })
            .collect();
        let probe = Probe::start(self.cluster)?;
        let wave = run_wave(jobs, &dir)?;
        let seen = probe.finish(self.cluster)?;
        let mut errors = wave.errors();
        let name = file.file_name().context("the file has a name")?;
        for (n, out) in wave.stdout.iter().enumerate() {
            if out.is_some()
                && cluster::same_bytes(file, &dir.join(format!("out-{n}")).join(name)).is_err()
            {
                errors.add("file differs from what was sent", 1);
            }
        }
        errors.merge(&seen.errors);
        let row = self.wave_row("get", &wave, errors, seen.per_instance);
        println!("{}", row.summary());
        Ok(row)
    }

    fn wave_row(
        &self,
        scenario: &'static str,
        wave: &Wave,
        errors: Tally,
        per_instance: Vec<InstanceLoad>,
    ) -> Row {
        let secs = wave.wall.as_secs_f64().max(1e-9);
        let done = wave.durations.len();
        let rate_per_sec = done as f64 / secs;
        let mut durations = wave.durations.clone();
        durations.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        Row {
            instances: self.cluster.instances.len(),
            scenario: scenario.to_string(),
            concurrency: TRANSFERS_IN_FLIGHT,
            requests: wave.stdout.len() as u64,
            rate: format!(
                "{rate_per_sec:.1} /s, {:.1} MiB/s",
                (done as u64 * FILE_SIZE) as f64 / MIB / secs
            ),
            rate_per_sec,
            paced: false,
            p50_ms: percentile(&durations, 0.50).map(ms),
            p99_ms: percentile(&durations, 0.99).map(ms),
            errors,
            per_instance,
        }
    }
}

/// One endpoint oha hammers.
struct OhaTarget {
    name: &'static str,
    method: &'static str,
    path: String,
    headers: Vec<String>,
    body: Option<&'static str>,
    /// The status every answer should have.
    expected: u16,
    requests: u64,
}

/// What oha's JSON report (`--output-format json`, oha 1.16) says of one run.
#[derive(Debug, PartialEq)]
struct OhaReport {
    /// Completed requests (any status) per second of the run.
    requests_per_sec: f64,
    /// Latency percentiles of the requests that got an answer, in seconds (`None` when none
    /// did).
    p50_secs: Option<f64>,
    p99_secs: Option<f64>,
    /// Answers by status code.
    statuses: BTreeMap<u16, u64>,
    /// Requests that got no answer, by oha's reason (`timeout`, `Connection refused ...`).
    errors: BTreeMap<String, u64>,
}

impl OhaReport {
    fn parse(json: &str) -> Result<Self> {
        let report: Value = serde_json::from_str(json).context("oha's report is not JSON")?;
        let number = |value: &Value, what: &str| -> Result<Option<f64>> {
            match value {
                Value::Null => Ok(None),
                Value::Number(n) => Ok(n.as_f64()),
                other => bail!("{what} is {other}, not a number"),
            }
        };
        let counts = |key: &str| -> Result<BTreeMap<String, u64>> {
            let Some(map) = report.get(key).and_then(Value::as_object) else {
                bail!("no `{key}` object in oha's report");
            };
            map.iter()
                .map(|(k, v)| {
                    let n = v
                        .as_u64()
                        .with_context(|| format!("{key}.{k} is {v}, not a count"))?;
                    Ok((k.clone(), n))
                })
                .collect()
        };
        let percentiles = report
            .get("latencyPercentiles")
            .context("no `latencyPercentiles` in oha's report")?;
        let statuses = counts("statusCodeDistribution")?
            .into_iter()
            .map(|(code, n)| {
                let code = code
                    .parse::<u16>()
                    .with_context(|| format!("status code {code:?}"))?;
                Ok((code, n))
            })
            .collect::<Result<_>>()?;
        Ok(OhaReport {
            requests_per_sec: number(
                report
                    .pointer("/summary/requestsPerSec")
                    .unwrap_or(&Value::Null),
                "summary.requestsPerSec",
            )?
            .context("no summary.requestsPerSec in oha's report")?,
            p50_secs: number(&percentiles["p50"], "latencyPercentiles.p50")?,
            p99_secs: number(&percentiles["p99"], "latencyPercentiles.p99")?,
            statuses,
            errors: counts("errorDistribution")?,
        })
    }

    /// Requests made: answered plus failed.
    fn requests(&self) -> u64 {
        self.statuses.values().sum::<u64>() + self.errors.values().sum::<u64>()
    }

    /// Every request that did not get `expected`, by reason.
    fn failures(&self, expected: u16) -> Tally {
        let mut tally = Tally::default();
        for (code, n) in &self.statuses {
            if *code != expected {
                tally.add(&format!("HTTP {code}"), *n);
            }
        }
        for (reason, n) in &self.errors {
            tally.add(reason, *n);
        }
        tally
    }
}

/// Errors by reason.
#[derive(Debug, Default, Clone, PartialEq)]
struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, reason: &str, n: u64) {
        *self.0.entry(reason.to_string()).or_default() += n;
    }

    fn merge(&mut self, other: &Tally) {
        for (reason, n) in &other.0 {
            self.add(reason, *n);
        }
    }

    fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// `0`, or `3 (HTTP 502: 2, timeout: 1)`.
    fn render(&self) -> String {
        if self.0.is_empty() {
            return "0".into();
        }
        let reasons: Vec<String> = self.0.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        format!("{} ({})", self.total(), reasons.join(", "))
    }
}

/// What nginx and `/proc` saw of the instances during one scenario.
struct Probe {
    log_offset: u64,
}

struct Seen {
    per_instance: Vec<InstanceLoad>,
    /// Non-2xx answers nginx logged.
    errors: Tally,
}

#[derive(Debug, Clone, Copy)]
struct InstanceLoad {
    /// Requests nginx passed to the instance (its last try, when it tried several).
    served: u64,
    /// Peak resident set during the scenario, KiB.
    peak_rss_kib: Option<u64>,
}

impl Probe {
    /// Resets every instance's peak RSS and notes where nginx's access log ends.
    fn start(cluster: &Cluster) -> Result<Probe> {
        for instance in &cluster.instances {
            if let Some(pid) = instance.pid() {
                // `5` resets VmHWM to the current RSS (proc(5), /proc/pid/clear_refs).
                if let Err(err) = std::fs::write(format!("/proc/{pid}/clear_refs"), "5") {
                    println!(
                        "xtask: warning: cannot reset the peak RSS of instance {} ({err}): \
                         its figure is the peak since it started",
                        instance.number
                    );
                }
            }
        }
        let log_offset = std::fs::metadata(access_log(cluster)).map_or(0, |m| m.len());
        Ok(Probe { log_offset })
    }

    fn finish(self, cluster: &Cluster) -> Result<Seen> {
        let log = std::fs::read(access_log(cluster))?;
        let since = log.get(self.log_offset as usize..).unwrap_or_default();
        let lines = String::from_utf8_lossy(since);
        let mut served = BTreeMap::<u16, u64>::new();
        let mut errors = Tally::default();
        for line in lines.lines() {
            let Some(entry) = AccessLine::parse(line) else {
                continue;
            };
            if !(200..300).contains(&entry.status) {
                errors.add(&format!("nginx answered {}", entry.status), 1);
            }
            if let Some(port) = entry.upstream_port {
                *served.entry(port).or_default() += 1;
            }
        }
        let per_instance = cluster
            .instances
            .iter()
            .map(|instance| InstanceLoad {
                served: served.get(&instance.port).copied().unwrap_or(0),
                peak_rss_kib: instance.pid().and_then(peak_rss_kib),
            })
            .collect();
        Ok(Seen {
            per_instance,
            errors,
        })
    }
}

fn access_log(cluster: &Cluster) -> PathBuf {
    cluster.nginx_dir.join("access.log")
}

/// `VmHWM` of a process, KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field_kib(&status, "VmHWM")
}

fn status_field_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// One line of the cluster's nginx access log:
/// `METHOD URI STATUS upstream=ADDR[, ADDR...] upstream_status=S[, S...] bytes=N`.
#[derive(Debug, PartialEq)]
struct AccessLine {
    status: u16,
    /// The port of the last upstream tried; `None` when nginx answered itself.
    upstream_port: Option<u16>,
}

impl AccessLine {
    fn parse(line: &str) -> Option<AccessLine> {
        let status = line.split_whitespace().nth(2)?.parse().ok()?;
        let upstreams = line
            .split_once(" upstream=")?
            .1
            .split_once(" upstream_status=")?
            .0;
        let last = upstreams.rsplit(", ").next()?;
        let upstream_port = last.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
        Some(AccessLine {
            status,
            upstream_port,
        })
    }
}

/// One command of a wave.
struct Job {
    cmd: Command,
    stdin: Option<String>,
}

/// The outcome of a wave of commands.
struct Wave {
    wall: Duration,
    /// How long each successful command took.
    durations: Vec<Duration>,
    /// Each command's standard output when it succeeded, in job order.
    stdout: Vec<Option<String>>,
    failures: Tally,
}

impl Wave {
    fn errors(&self) -> Tally {
        self.failures.clone()
    }
}

/// A command of a wave that is running.
struct Running {
    index: usize,
    child: Child,
    started: Instant,
}

/// Runs `jobs`, [`TRANSFERS_IN_FLIGHT`] at a time, at most [`WAVE_DEADLINE`] in all; output
/// files go to `dir`.
fn run_wave(jobs: Vec<Job>, dir: &Path) -> Result<Wave> {
    std::fs::create_dir_all(dir)?;
    let total = jobs.len();
    let running: Arc<Mutex<Vec<Running>>> = Arc::default();
    let stopper = running.clone();
    // Stops whatever still runs on an error or an interrupt.
    let _stop = Guard::new("stop the load's client commands", move || {
        let mut running = stopper
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for job in running.iter_mut() {
            let _ = job.child.kill();
            let _ = job.child.wait();
        }
    });
    let mut queue = jobs.into_iter().enumerate();
    let mut wave = Wave {
        wall: Duration::ZERO,
        durations: Vec::new(),
        stdout: vec![None; total],
        failures: Tally::default(),
    };
    let started = Instant::now();
    let mut finished = 0;
    while finished < total {
        if cleanup::interrupted() {
            bail!("interrupted");
        }
        let mut now_running = running.lock().unwrap_or_else(|p| p.into_inner());
        while now_running.len() < TRANSFERS_IN_FLIGHT {
            let Some((index, mut job)) = queue.next() else {
                break;
            };
            let child = job
                .cmd
                .stdin(if job.stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(File::create(dir.join(format!("{index}.out")))?)
                .stderr(File::create(dir.join(format!("{index}.err")))?)
                .process_group(0)
                .spawn()
                .context("starting sealdrop")?;
            let mut entry = Running {
                index,
                child,
                started: Instant::now(),
            };
            if let Some(text) = job.stdin {
                let mut pipe = entry.child.stdin.take().expect("stdin is piped above");
                pipe.write_all(format!("{text}\n").as_bytes())?;
            }
            now_running.push(entry);
        }
        let mut still = Vec::new();
        for mut job in now_running.drain(..) {
            match job.child.try_wait()? {
                None => still.push(job),
                Some(status) => {
                    let took = job.started.elapsed();
                    finished += 1;
                    if status.success() {
                        wave.durations.push(took);
                        let out = std::fs::read_to_string(dir.join(format!("{}.out", job.index)))?;
                        wave.stdout[job.index] = Some(out);
                    } else {
                        let err = proc::tail(&dir.join(format!("{}.err", job.index)), 1);
                        println!("xtask: command {} failed ({status}): {err}", job.index);
                        wave.failures.add("command failed", 1);
                    }
                }
            }
        }
        *now_running = still;
        drop(now_running);
        if started.elapsed() > WAVE_DEADLINE {
            let left = total - finished;
            wave.failures.add("not finished in time", left as u64);
            println!("xtask: {left} commands did not finish within {WAVE_DEADLINE:?}");
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    wave.wall = started.elapsed();
    Ok(wave)
}

/// The nearest-rank percentile `p` (0..=1) of sorted values.
fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `(package id, b64u(link proof))` of a link `https://HOST/p/ID#C`:
/// `A = HKDF-SHA256(ikm = C, salt = package_id, info = "sealdrop/v1/link-auth")`
/// (docs/FORMAT.md §4), by `openssl kdf`, so that xtask needs no crypto crate.
fn link_proof(link: &str) -> Result<(String, String)> {
    let (rest, secret) = link.split_once('#').context("the link has no secret")?;
    let id = rest.rsplit('/').next().context("the link has no id")?;
    let hex = |b64: &str| -> Result<String> {
        Ok(base64url_decode(b64)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    };
    let derived = proc::output(Command::new("openssl").args([
        "kdf",
        "-keylen",
        "32",
        "-kdfopt",
        "digest:SHA256",
        "-kdfopt",
        &format!("hexkey:{}", hex(secret)?),
        "-kdfopt",
        &format!("hexsalt:{}", hex(id)?),
        "-kdfopt",
        "info:sealdrop/v1/link-auth",
        "HKDF",
    ]))
    .context("deriving the link proof with `openssl kdf`")?;
    let bytes = derived
        .trim()
        .split(':')
        .map(|byte| u8::from_str_radix(byte, 16))
        .collect::<Result<Vec<u8>, _>>()
        .with_context(|| format!("openssl kdf printed {derived:?}"))?;
    ensure!(bytes.len() == 32, "openssl kdf printed {derived:?}");
    Ok((id.to_string(), cluster::base64url(&bytes)))
}

fn base64url_decode(text: &str) -> Result<Vec<u8>> {
    let mut bits = 0u32;
    let mut held = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => bail!("{text:?} is not base64url"),
        };
        bits = bits << 6 | u32::from(value);
        held += 6;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1 << held) - 1;
        }
    }
    Ok(out)
}

/// One line of the table.
struct Row {
    instances: usize,
    scenario: String,
    concurrency: usize,
    requests: u64,
    rate: String,
    /// Requests (or commands) completed per second.
    rate_per_sec: f64,
    /// Offered at a fixed rate rather than as fast as the answers came.
    paced: bool,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    errors: Tally,
    per_instance: Vec<InstanceLoad>,
}

impl Row {
    fn cells(&self) -> [String; 9] {
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        let per_instance: Vec<String> = self
            .per_instance
            .iter()
            .map(|load| {
                let rss = load
                    .peak_rss_kib
                    .map_or("?".into(), |kib| format!("{:.0}", kib as f64 / 1024.0));
                format!("{} ({rss})", load.served)
            })
            .collect();
        [
            self.instances.to_string(),
            self.scenario.clone(),
            self.concurrency.to_string(),
            self.requests.to_string(),
            self.rate.clone(),
            ms(self.p50_ms),
            ms(self.p99_ms),
            self.errors.render(),
            per_instance.join(" · "),
        ]
    }

    fn summary(&self) -> String {
        let cells = self.cells();
        format!(
            "xtask: {} requests, {}, p50 {} ms, p99 {} ms, errors {}; per instance: {}",
            cells[3], cells[4], cells[5], cells[6], cells[7], cells[8]
        )
    }
}

const HEADER: [&str; 9] = [
    "inst.",
    "scenario",
    "conc.",
    "requests",
    "rate",
    "p50 ms",
    "p99 ms",
    "errors",
    "requests served (peak RSS MiB) per instance",
];

/// The report: the machine, the table, what missed the goals.
fn render(rows: &[Row], skipped: &[String], machine: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# cargo xtask bench load\n");
    let _ = writeln!(out, "{machine}\n");
    let _ = writeln!(
        out,
        "`info` = GET /api/v1/packages/{{id}} with the link proof, `create` = POST \
         /api/v1/packages with an API token (oha, {INFO_REQUESTS} and {CREATE_REQUESTS} \
         requests as fast as answers come; `paced`: {:.0} % of the better of those two rates, \
         fixed-rate for {PACED_SECS} s, latency counted from when each request was due); \
         `send`/`get` = {TRANSFERS} `sealdrop send`/`get` of {} KiB, {TRANSFERS_IN_FLIGHT} at \
         a time, timed per command. All through nginx (TLS) on PostgreSQL + Garage.\n",
        PACED_SHARE * 100.0,
        FILE_SIZE / 1024
    );
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        HEADER
            .iter()
            .enumerate()
            .map(|(i, _)| if (2..=7).contains(&i) {
                "---:|"
            } else {
                "---|"
            })
            .collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.cells().join(" | "));
    }
    let errors: u64 = rows.iter().map(|row| row.errors.total()).sum();
    let _ = writeln!(out);
    let _ = writeln!(out, "Errors in all: {errors} (goal: 0).");
    let paced: Vec<&Row> = rows.iter().filter(|row| row.paced).collect();
    let slow: Vec<String> = paced
        .iter()
        .filter(|row| row.p99_ms.is_none_or(|p99| p99 > SMALL_CALL_P99_GOAL_MS))
        .map(|row| format!("{} on {} instance(s)", row.scenario, row.instances))
        .collect();
    if !paced.is_empty() && slow.is_empty() {
        let _ = writeln!(
            out,
            "At {:.0} % of the saturation rate (the `paced` rows) every small API call has \
             p99 under {SMALL_CALL_P99_GOAL_MS} ms (goal met).",
            PACED_SHARE * 100.0
        );
    } else if !slow.is_empty() {
        let _ = writeln!(
            out,
            "At {:.0} % of the saturation rate, p99 over {SMALL_CALL_P99_GOAL_MS} ms: {} \
             (goal missed).",
            PACED_SHARE * 100.0,
            slow.join("; ")
        );
    }
    for skip in skipped {
        let _ = writeln!(out, "Skipped: {skip}.");
    }
    out
}

/// The 1-minute load average (`/proc/loadavg`): other work on the machine shows here.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// "2 cores (MODEL), 23 GiB RAM, oha VERSION".
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram = status_field_kib(&meminfo, "MemTotal")
        .map_or("?".to_string(), |kib| format!("{:.0}", kib as f64 / MIB));
    format!(
        "Machine: {cores} cores ({model}), {ram} GiB RAM; load generator, nginx, PostgreSQL, \
         Garage and the instances share it. oha {}.",
        setup::OHA_VERSION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oha_report_with_answers_and_timeouts_is_read() {
        // oha 1.16 against a test server: 200s, 404s and requests over `-t`.
        let report = OhaReport::parse(include_str!("../testdata/oha-1.16-mixed.json"))
            .expect("a recorded report");
        assert_eq!(report.statuses, BTreeMap::from([(200, 72), (404, 78)]));
        assert_eq!(report.errors, BTreeMap::from([("timeout".to_string(), 50)]));
        assert_eq!(report.requests(), 200);
        assert!((report.requests_per_sec - 1551.46).abs() < 0.01);
        assert_eq!(report.p50_secs, Some(0.004183711));
        assert_eq!(report.p99_secs, Some(0.013379841));
        let failures = report.failures(200);
        assert_eq!(failures.total(), 128);
        assert_eq!(failures.render(), "128 (HTTP 404: 78, timeout: 50)");
    }

    #[test]
    fn oha_report_without_any_answer_has_no_latency() {
        let report = OhaReport::parse(include_str!("../testdata/oha-1.16-refused.json"))
            .expect("a recorded report");
        assert!(report.statuses.is_empty());
        assert_eq!(report.p50_secs, None);
        assert_eq!(report.p99_secs, None);
        assert_eq!(
            report.failures(200).render(),
            "5 (Connection refused (os error 111): 5)"
        );
    }

    #[test]
    fn a_report_of_another_shape_is_refused() {
        assert!(OhaReport::parse("{}").is_err());
        assert!(OhaReport::parse("Summary:\n  Success rate: 100.00%").is_err());
    }

    #[test]
    fn access_log_lines_give_status_and_last_upstream() {
        assert_eq!(
            AccessLine::parse(
                "GET /api/v1/packages/abc 200 upstream=127.0.0.1:40001 upstream_status=200 bytes=312"
            ),
            Some(AccessLine {
                status: 200,
                upstream_port: Some(40001)
            })
        );
        assert_eq!(
            AccessLine::parse(
                "PUT /x 201 upstream=127.0.0.1:1, 127.0.0.1:2 upstream_status=502, 201 bytes=9"
            ),
            Some(AccessLine {
                status: 201,
                upstream_port: Some(2)
            })
        );
        assert_eq!(
            AccessLine::parse("GET /metrics 403 upstream=- upstream_status=- bytes=0"),
            Some(AccessLine {
                status: 403,
                upstream_port: None
            })
        );
        assert_eq!(AccessLine::parse("garbage"), None);
    }

    #[test]
    fn peak_rss_is_read_from_proc_status() {
        let status =
            "Name:\tsealdrop\nVmPeak:\t  900000 kB\nVmHWM:\t   41236 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(status_field_kib(status, "VmHWM"), Some(41236));
        assert_eq!(status_field_kib(status, "VmSwap"), None);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.50), Some(50));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values[..10], 0.99), Some(10));
        assert_eq!(percentile(&[7], 0.5), Some(7));
        assert_eq!(percentile::<u32>(&[], 0.5), None);
    }

    #[test]
    fn link_proof_matches_the_format_test_vector() {
        if proc::which("openssl").is_none() {
            eprintln!("skipped: no openssl");
            return;
        }
        // crypto-core/tests/vectors/ok_one_chunk.json: package_id, link_secret, link_proof.
        let link = "https://h/p/YLqI5FHC_iuvYIgDU-bQzg#GyLBSLF7SX8e7lG452XNXsp1fhf_JSvN87fNLge352o";
        let (id, proof) = link_proof(link).expect("openssl derives the proof");
        assert_eq!(id, "YLqI5FHC_iuvYIgDU-bQzg");
        assert_eq!(proof, "HXJfoZlTC1IEK3n2Y4X37l7YlgrSQUXdPfGYpI-E4_M");
    }

    #[test]
    fn base64url_round_trips() {
        for bytes in [&b""[..], b"\xfb\xff", b"any carnal pleas", &[0u8; 32]] {
            assert_eq!(
                base64url_decode(&cluster::base64url(bytes)).expect("decodes"),
                bytes
            );
        }
        assert!(base64url_decode("a+b").is_err());
    }
}
