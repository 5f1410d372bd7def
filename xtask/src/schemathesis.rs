//! The `schemathesis` test stage: the server against its own OpenAPI document.
//!
//! It starts the Zendesk simulator and `sealdrop serve` on the embedded default (SQLite, a
//! blob folder, mail to the outbox), makes one of every credential the document names, and
//! runs schemathesis ([`setup::SCHEMATHESIS_VERSION`], in its own venv) with every check and
//! every phase, stateful included, against `GET /api/v1/openapi.json`:
//!
//! - a tenant API token (`sdt_`), and two more tenants, one whose data is erased and one that
//!   is deleted, so that those operations cannot take anything away from the others;
//! - the Zendesk admin's agent session (`sda_`) and the widget key, the way the admin gets
//!   them: sidebar sign-in through the simulator, the OAuth grant, the Help Center origin
//!   (`demo_setup`);
//! - a package still uploading (its id and upload token) and one to revoke;
//! - a finalized package sent with `sealdrop send --require-auth`: the link proof derived from
//!   its link, a recipient session from a code read in the outbox, a download token.
//!
//! tests/schemathesis/schemathesis.toml maps them to the document's security schemes and
//! operations (as `ST_*` variables) and says what a schema cannot. The stage fails on any
//! failure, on an operation of the OpenAPI document that was not tested, and on one that only
//! ever got 401/403 (no working credential). Its counts are operations: passed, and failed
//! (with any failure, or not tested). `GET /api/v1/openapi.json` is the one operation left
//! out: schemathesis does not test the operation it reads the document from (server/tests/
//! api_ops.rs does).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::cleanup::{self, Guard};
use crate::demo_setup::{self, request};
use crate::proc::{self, free_port, http, repo_root, Counts, Daemon};
use crate::services;
use crate::setup;

/// Fixed, so that a run can be repeated exactly (`SEALDROP_SCHEMATHESIS_SEED` to try others).
const DEFAULT_SEED: u64 = 20_261_205;
/// Test cases per operation and phase (`SEALDROP_SCHEMATHESIS_EXAMPLES` to change it).
const DEFAULT_EXAMPLES: u32 = 100;
/// The recipient of the finalized package, who confirms a code.
const RECIPIENT: &str = "recipient@example.com";
/// The name of the tenant `POST /api/v1/tenant/deletion` deletes (its `confirm`).
const DOOMED_TENANT: &str = "Schemathesis doomed";
/// HKDF `info` of the link proof (docs/FORMAT.md, crypto-core's `LABEL_LINK_AUTH`).
const LABEL_LINK_AUTH: &[u8] = b"sealdrop/v1/link-auth";

/// Runs the stage: builds nothing (the caller built `bin_dir`'s `sealdrop` and `zendesk-sim`).
pub fn run(bin_dir: &Path) -> Result<(Counts, bool)> {
    let schemathesis = setup::schemathesis()?;
    let dir = proc::temp_dir("schemathesis")?;
    let _remove_dir = Guard::new(
        format!("remove {}", dir.display()),
        services::remove_dir_action(dir.clone()),
    );
    // The reports and logs outlive the run (CI keeps them), each run's replacing the last's.
    let reports = proc::target_dir().join("schemathesis");
    if reports.exists() {
        std::fs::remove_dir_all(&reports)
            .with_context(|| format!("removing {}", reports.display()))?;
    }
    std::fs::create_dir_all(&reports)?;
    println!(
        "xtask: schemathesis's reports and the server's log go to {}",
        reports.display()
    );
    let world = World::start(bin_dir, &dir, &reports)?;
    let result = world
        .credentials()
        .and_then(|env| run_schemathesis(&schemathesis, &world, &env));
    if result.as_ref().map_or(true, |(_, ok)| !ok) {
        world.show_problems();
    }
    result
}

/// The simulator and the server, and where they are.
struct World {
    bin_dir: PathBuf,
    /// Temporary: the data folder, the client's files.
    dir: PathBuf,
    /// Kept: reports and logs.
    reports: PathBuf,
    data_dir: PathBuf,
    server_url: String,
    sim_url: String,
    server_log: PathBuf,
    server: Daemon,
    _sim: Daemon,
}

impl World {
    fn start(bin_dir: &Path, dir: &Path, reports: &Path) -> Result<Self> {
        let port = free_port()?;
        let sim_port = free_port()?;
        let server_url = format!("http://127.0.0.1:{port}");
        let sim_url = format!("http://127.0.0.1:{sim_port}");

        // The simulator prints its ZAF signing key on stdout; the server verifies with it.
        let key_file = dir.join("zendesk-sim-public-key.pem");
        let mut sim = Command::new(bin_dir.join("zendesk-sim"));
        sim.args(["--listen", &format!("127.0.0.1:{sim_port}")])
            .args(["--sealdrop-url", &format!("{server_url}/")])
            .arg("--auto-approve")
            .stdout(std::fs::File::create(&key_file)?)
            .stderr(std::fs::File::create(reports.join("zendesk-sim.log"))?);
        println!("$ {}", proc::display(&sim));
        let sim = Daemon::start(sim, "the Zendesk simulator")?;
        proc::wait_for_port(sim_port, Duration::from_secs(60), "the Zendesk simulator")?;
        wait_for_key(&key_file)?;

        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir)?;
        let server_log = reports.join("sealdrop.log");
        let mut serve = server_command(bin_dir, &data_dir);
        serve
            .arg("serve")
            .env("SEALDROP_LISTEN", format!("127.0.0.1:{port}"))
            .env("SEALDROP_PUBLIC_URL", &server_url)
            .env("SEALDROP_ZENDESK_BASE_URL", format!("{sim_url}/"))
            .env("SEALDROP_ZENDESK_APP_PUBLIC_KEY", &key_file)
            .env("NO_COLOR", "1")
            .envs(proc::web_env());
        println!("$ {} (log {})", proc::display(&serve), server_log.display());
        let server = Daemon::spawn(serve, &server_log, "sealdrop serve")?;
        let world = World {
            bin_dir: bin_dir.to_path_buf(),
            dir: dir.to_path_buf(),
            reports: reports.to_path_buf(),
            data_dir,
            server_url,
            sim_url,
            server_log,
            server,
            _sim: sim,
        };
        world.wait_ready(port)?;
        Ok(world)
    }

    fn wait_ready(&self, port: u16) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if cleanup::interrupted() {
                bail!("interrupted");
            }
            if !self.server.running() {
                bail!(
                    "sealdrop serve exited during start-up:\n{}",
                    proc::tail(&self.server_log, 20)
                );
            }
            if http(port, "GET", "/readyz", None).is_ok_and(|(status, _)| status == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "sealdrop serve was not ready within 60 s:\n{}",
            proc::tail(&self.server_log, 20)
        )
    }

    /// The warnings and errors of the server's log (the rest is one line per request).
    fn show_problems(&self) {
        let log = std::fs::read_to_string(&self.server_log).unwrap_or_default();
        let problems: Vec<String> = log
            .lines()
            .map(proc::strip_ansi)
            .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
            .collect();
        println!(
            "\n-- warnings and errors in the server's log ({}): {}",
            self.server_log.display(),
            if problems.is_empty() { "none" } else { "" }
        );
        for line in &problems[problems.len().saturating_sub(30)..] {
            println!("{line}");
        }
    }

    /// `sealdrop admin tenant create NAME`; returns the API token.
    fn tenant(&self, name: &str) -> Result<String> {
        let mut admin = server_command(&self.bin_dir, &self.data_dir);
        admin.args(["admin", "tenant", "create", name]);
        let token = proc::output(&mut admin)?.trim().to_string();
        ensure!(
            token.starts_with("sdt_"),
            "`sealdrop admin tenant create` printed no token"
        );
        Ok(token)
    }

    /// Makes every credential and the ids they open; returns them as the `ST_*` variables
    /// tests/schemathesis/schemathesis.toml reads.
    fn credentials(&self) -> Result<Vec<(&'static str, String)>> {
        println!("\n-- credentials: tenants, the Zendesk admin, packages");
        let token = self.tenant("Schemathesis")?;
        let erase_token = self.tenant("Schemathesis erasure")?;
        let doomed_token = self.tenant(DOOMED_TENANT)?;
        let zendesk = demo_setup::connect(&self.server_url, &self.sim_url)
            .context("connecting the simulated Zendesk account")?;
        // A signed token for the sidebar, left unused: schemathesis's sign-in cases send it.
        let zaf_token =
            demo_setup::zaf_token(&self.sim_url, demo_setup::admin_user(&self.sim_url)?)?;
        // The packaged sidebar's sign-in: the account's app secret in the installation's
        // settings, and one app JWT the proxy signed, left unused like the ZAF token.
        let mut secret = server_command(&self.bin_dir, &self.data_dir);
        secret.args(["admin", "tenant", "app-secret", "acme"]);
        let secret = proc::output(&mut secret)?.trim().to_string();
        demo_setup::set_app_secret(&self.sim_url, &secret)?;
        let app_jwt = demo_setup::app_jwt(&self.sim_url, demo_setup::admin_user(&self.sim_url)?)?;
        println!("xtask: tenants made; the simulated Zendesk admin granted access and has a session and a widget key");

        let ready = self.send_ready_package(&token)?;
        let proof = Headers(vec![("X-Sealdrop-Link-Proof", ready.proof.clone())]);
        let recipient_session = self.recipient_session(&ready.id, &proof)?;
        // A second code, left unused: schemathesis's confirm cases send it (fuzzing fills the
        // body fields from the config), so that operation gets its 200 once.
        let code = self.code(&ready.id, &proof)?;
        let started = self.call(
            "POST",
            &format!("/api/v1/packages/{}/download", ready.id),
            &proof.with("X-Sealdrop-Recipient-Session", &recipient_session),
            None,
            200,
        )?;
        let download_token = string(&started, "download_token")?;
        println!(
            "xtask: package {} is finalized, with a link proof, a recipient session and a download token",
            ready.id
        );

        let bearer = Headers(vec![("Authorization", format!("Bearer {token}"))]);
        let uploading = self.call("POST", "/api/v1/packages", &bearer, Some(&json!({})), 201)?;
        let to_revoke = self.call("POST", "/api/v1/packages", &bearer, Some(&json!({})), 201)?;
        println!("xtask: package {} is uploading, with its upload token; package {} is there to be revoked",
            string(&uploading, "id")?, string(&to_revoke, "id")?);

        Ok(vec![
            ("ST_TENANT_TOKEN", token),
            ("ST_ERASE_TOKEN", erase_token),
            ("ST_DOOMED_TOKEN", doomed_token),
            ("ST_DOOMED_NAME", DOOMED_TENANT.to_string()),
            ("ST_AGENT_SESSION", zendesk.admin_session),
            ("ST_WIDGET_KEY", zendesk.widget_key),
            ("ST_WIDGET_ORIGIN", self.sim_url.clone()),
            ("ST_ZAF_TOKEN", zaf_token),
            ("ST_APP_JWT", app_jwt),
            ("ST_READY_ID", ready.id),
            ("ST_LINK_PROOF", ready.proof),
            ("ST_RECIPIENT_SESSION", recipient_session),
            ("ST_RECIPIENT", RECIPIENT.to_string()),
            ("ST_CODE", code),
            ("ST_DOWNLOAD_TOKEN", download_token),
            ("ST_UPLOAD_ID", string(&uploading, "id")?),
            ("ST_UPLOAD_TOKEN", string(&uploading, "upload_token")?),
            ("ST_REVOKE_ID", string(&to_revoke, "id")?),
        ])
    }

    /// `sealdrop send FILE --to RECIPIENT --require-auth`: a finalized package; its id and
    /// link proof.
    fn send_ready_package(&self, token: &str) -> Result<ReadyPackage> {
        let file = self.dir.join("hello.txt");
        std::fs::write(&file, "Sent to schemathesis.\n")?;
        let mut send = Command::new(self.bin_dir.join("sealdrop"));
        proc::clear_settings(&mut send);
        send.arg("send")
            .arg(&file)
            .args(["--to", RECIPIENT, "--require-auth"])
            .env("SEALDROP_URL", &self.server_url)
            .env("SEALDROP_TOKEN", token)
            .env("SEALDROP_STATE_DIR", self.dir.join("send-state"));
        let link = proc::output(&mut send)?.trim().to_string();
        let (id, secret) = link
            .split_once("/p/")
            .and_then(|(_, rest)| rest.split_once('#'))
            .with_context(|| format!("sealdrop send printed {link:?}, not a link"))?;
        Ok(ReadyPackage {
            id: id.to_string(),
            proof: link_proof(id, secret)?,
        })
    }

    /// A code sent to [`RECIPIENT`] traded for a recipient session.
    fn recipient_session(&self, id: &str, proof: &Headers) -> Result<String> {
        let code = self.code(id, proof)?;
        let confirmed = self.call(
            "POST",
            &format!("/api/v1/packages/{id}/verification/confirm"),
            proof,
            Some(&json!({ "email": RECIPIENT, "code": code })),
            200,
        )?;
        string(&confirmed, "recipient_session")
    }

    /// A code sent to [`RECIPIENT`] for package `id`, read from the outbox.
    fn code(&self, id: &str, proof: &Headers) -> Result<String> {
        let outbox = self.data_dir.join("outbox");
        let before = mails(&outbox).len();
        self.call(
            "POST",
            &format!("/api/v1/packages/{id}/verification"),
            proof,
            Some(&json!({ "email": RECIPIENT })),
            202,
        )?;
        // Mail goes out in the background.
        let start = Instant::now();
        let mail = loop {
            let all = mails(&outbox);
            if all.len() > before {
                break all.last().cloned().expect("more than zero mails");
            }
            ensure!(
                start.elapsed() < Duration::from_secs(30),
                "no verification mail in {} after 30 s",
                outbox.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let text = std::fs::read_to_string(&mail)?;
        code_in(&text).with_context(|| format!("no code in {}", mail.display()))
    }

    /// One request to the server; fails unless it answers `expected`. Returns the JSON body.
    fn call(
        &self,
        method: &str,
        path: &str,
        headers: &Headers,
        body: Option<&Value>,
        expected: u16,
    ) -> Result<Value> {
        let body = body.map(Value::to_string);
        let mut all: Vec<(&str, &str)> = headers.0.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if body.is_some() {
            all.push(("Content-Type", "application/json"));
        }
        let answer = request(
            method,
            &format!("{}{path}", self.server_url),
            &all,
            body.as_deref(),
        )?;
        ensure!(
            answer.status == expected,
            "{method} {path} answered {} (expected {expected}): {}",
            answer.status,
            answer.body
        );
        serde_json::from_str(&answer.body).with_context(|| format!("{method} {path}: not JSON"))
    }
}

/// Request headers, owned.
struct Headers(Vec<(&'static str, String)>);

impl Headers {
    fn with(&self, name: &'static str, value: &str) -> Headers {
        let mut all = self.0.clone();
        all.push((name, value.to_string()));
        Headers(all)
    }
}

struct ReadyPackage {
    id: String,
    proof: String,
}

/// `sealdrop` with only the settings the stage gives it: the data folder, no settings file.
fn server_command(bin_dir: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin_dir.join("sealdrop"));
    proc::clear_settings(&mut cmd);
    cmd.env("SEALDROP_DATA_DIR", data_dir)
        .env("SEALDROP_ENV_FILE", "/dev/null");
    cmd
}

/// Waits until the simulator has written its public key (it prints it right after binding).
fn wait_for_key(key_file: &Path) -> Result<()> {
    for _ in 0..300 {
        if std::fs::read_to_string(key_file).is_ok_and(|pem| pem.contains("END PUBLIC KEY")) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!(
        "the Zendesk simulator did not print its public key to {}",
        key_file.display()
    )
}

/// The link proof `A = HKDF-SHA256(C, salt = package id, info = "sealdrop/v1/link-auth")`
/// (docs/FORMAT.md) of the link secret `secret` and package `id`, both base64url, as the
/// 43 base64url characters of `X-Sealdrop-Link-Proof`. If this ever disagrees with
/// crypto-core, the set-up's first request with it fails (404).
fn link_proof(id: &str, secret: &str) -> Result<String> {
    let id = URL_SAFE_NO_PAD
        .decode(id)
        .context("the package id is not base64url")?;
    let secret = URL_SAFE_NO_PAD
        .decode(secret)
        .context("the link secret is not base64url")?;
    let mut proof = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&id), &secret)
        .expand(LABEL_LINK_AUTH, &mut proof)
        .map_err(|_| anyhow::anyhow!("HKDF-SHA256 gives 32 bytes"))?;
    Ok(URL_SAFE_NO_PAD.encode(proof))
}

/// The `.eml` files of an outbox folder, oldest first (their names start with the time).
fn mails(outbox: &Path) -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default();
    all.sort();
    all
}

/// The 8-digit code of a verification mail (the first 8 digits after "code is:").
fn code_in(mail: &str) -> Option<String> {
    let after = &mail[mail.find("code is:")? + "code is:".len()..];
    let start = after.find(|c: char| c.is_ascii_digit())?;
    let digits: String = after[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (digits.len() == 8).then_some(digits)
}

fn string(value: &Value, field: &str) -> Result<String> {
    value[field]
        .as_str()
        .map(str::to_string)
        .with_context(|| format!("no {field} in {value}"))
}

/// `schemathesis run` against the server's document; returns operation counts and the verdict.
fn run_schemathesis(
    schemathesis: &Path,
    world: &World,
    env: &[(&'static str, String)],
) -> Result<(Counts, bool)> {
    let seed = env_number("SEALDROP_SCHEMATHESIS_SEED", DEFAULT_SEED)?;
    let examples = env_number(
        "SEALDROP_SCHEMATHESIS_EXAMPLES",
        u64::from(DEFAULT_EXAMPLES),
    )?;
    let junit = world.reports.join("junit.xml");
    let events = world.reports.join("events.ndjson");
    let mut cmd = Command::new(schemathesis);
    cmd.current_dir(&world.dir)
        .arg("--config-file")
        .arg(repo_root().join("tests/schemathesis/schemathesis.toml"))
        .arg("run")
        .arg(format!("{}{OPENAPI_PATH}", world.server_url))
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--seed", &seed.to_string()])
        .args(["--max-examples", &examples.to_string()])
        // Nothing carried over from an earlier run: the same seed gives the same cases.
        .args(["--generation-database", "none"])
        .args(["--report", "junit,ndjson", "--report-junit-path"])
        .arg(&junit)
        .arg("--report-ndjson-path")
        .arg(&events)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1");
    println!(
        "\n-- schemathesis {} (seed {seed}, {examples} examples per operation and phase)",
        setup::SCHEMATHESIS_VERSION
    );
    let (_, success) = proc::run_counted(&mut cmd)?;
    let report = std::fs::read_to_string(&junit)
        .with_context(|| format!("schemathesis wrote no report to {}", junit.display()))?;
    let results = operation_results(&report);
    let documented = documented_operations()?;
    let untested: Vec<&String> = documented
        .iter()
        .filter(|op| !results.iter().any(|(name, _)| name == *op))
        .collect();
    let events = std::fs::File::open(&events)
        .with_context(|| format!("schemathesis wrote no events to {}", events.display()))?;
    let let_in = let_in(std::io::BufReader::new(events))?;
    let locked_out: Vec<&String> = documented
        .iter()
        .filter(|op| !let_in.contains(*op))
        .collect();
    let failed: Vec<&String> = results
        .iter()
        .filter(|(_, outcome)| *outcome != Outcome::Passed)
        .map(|(name, _)| name)
        .collect();
    // Other cases (the stateful phase's) count when they fail.
    // An operation passes when schemathesis tested it, found nothing, and let it in; other
    // failing cases (the stateful phase's) count as failed operations too.
    let not_passed: BTreeSet<&String> = failed
        .iter()
        .chain(&untested)
        .chain(&locked_out)
        .copied()
        .collect();
    let passed = documented
        .iter()
        .filter(|op| !not_passed.contains(op))
        .count();
    println!(
        "\nxtask: schemathesis tested {} of the document's {} operations ({OPENAPI_PATH}, which it reads the document from, aside); {} with a failure",
        documented.len() - untested.len(),
        documented.len() + 1,
        failed.len()
    );
    for name in &failed {
        println!("xtask:   failed: {name}");
    }
    for name in &untested {
        println!("xtask:   not tested: {name}");
    }
    println!(
        "xtask: operations whose valid requests never got past their credentials (only 401/403): {}",
        if locked_out.is_empty() { "none" } else { "" }
    );
    for name in &locked_out {
        println!("xtask:   locked out: {name}");
    }
    println!(
        "xtask: {passed} operations passed, {} did not",
        not_passed.len()
    );
    let counts = Counts {
        passed: passed as u64,
        failed: not_passed.len() as u64,
        seen: true,
    };
    // A non-zero exit without a failing operation is an error of schemathesis itself.
    Ok((counts, success && not_passed.is_empty()))
}

/// The operations (`METHOD /path`) a valid request of which got past its credentials: a
/// positive case answered with anything but 401 or 403, read from schemathesis's NDJSON events.
/// An operation missing here was not tested for lack of a working credential. (schemathesis's
/// own `missing_auth` warning is a heuristic over each scenario, 90% of 401/403 without a 2xx,
/// which operations that cannot succeed without real ciphertext trip now and then.)
fn let_in(events: impl BufRead) -> Result<BTreeSet<String>> {
    let mut let_in = BTreeSet::new();
    for line in events.lines() {
        let line = line?;
        if !line.starts_with("{\"ScenarioFinished\"") {
            continue;
        }
        let event: Value = serde_json::from_str(&line).context("an NDJSON event")?;
        let recorder = &event["ScenarioFinished"]["recorder"];
        let (Some(cases), Some(interactions)) = (
            recorder["cases"].as_object(),
            recorder["interactions"].as_object(),
        ) else {
            continue;
        };
        for (id, case) in cases {
            let case = &case["value"];
            if case["meta"]["generation"]["mode"] != "positive" {
                continue;
            }
            let status = interactions
                .get(id)
                .and_then(|interaction| interaction["response"]["status_code"].as_u64());
            if status.is_some_and(|status| status != 401 && status != 403) {
                if let (Some(method), Some(path)) = (case["method"].as_str(), case["path"].as_str())
                {
                    let_in.insert(format!("{} {path}", method.to_uppercase()));
                }
            }
        }
    }
    Ok(let_in)
}

/// Where the server serves its OpenAPI document (schemathesis leaves that operation out of
/// the run when it reads the document from it).
const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// `METHOD /path` of every operation of the OpenAPI document (generated by `sealdrop-api`)
/// but [`OPENAPI_PATH`].
fn documented_operations() -> Result<Vec<String>> {
    Ok(sealdrop_api::openapi::operations()
        .into_iter()
        .filter(|(_, path)| *path != OPENAPI_PATH)
        .map(|(method, path)| format!("{method} {path}"))
        .collect())
}

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(text) if !text.is_empty() => text
            .parse()
            .with_context(|| format!("{name}={text} is not a number")),
        _ => Ok(default),
    }
}

/// How one test case of schemathesis's JUnit report ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// The operations of schemathesis's JUnit report (one `<testcase>` each, named `METHOD
/// /path`; the stateful phase's failures come as a case of their own, which counts as an
/// operation that failed) and how each ended.
fn operation_results(xml: &str) -> Vec<(String, Outcome)> {
    let mut results = Vec::new();
    for case in xml.split("<testcase ").skip(1) {
        let Some(name) = case
            .split_once("name=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| unescape(name))
        else {
            continue;
        };
        // The case's own content runs to its end tag (or ends at once: `/>`).
        let body = case.split_once("</testcase>").map_or("", |(body, _)| body);
        let outcome = if body.contains("<failure") || body.contains("<error") {
            Outcome::Failed
        } else if body.contains("<skipped") {
            Outcome::Skipped
        } else {
            Outcome::Passed
        };
        results.push((name, outcome));
    }
    results
}

/// XML attribute text as written (`&amp;` and friends).
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_proof_is_the_one_of_crypto_cores_test_vectors() {
        let vectors = repo_root().join("crypto-core/tests/vectors");
        let mut checked = 0;
        for entry in std::fs::read_dir(&vectors).expect("crypto-core/tests/vectors") {
            let path = entry.expect("a directory entry").path();
            if !path.is_file() {
                continue; // team/: rosters and recovery codes, no links
            }
            let text = std::fs::read_to_string(&path).expect("a vector file");
            let vector: Value = serde_json::from_str(&text).expect("a JSON vector");
            let (Some(id), Some(secret), Some(expected)) = (
                vector["package_id"].as_str(),
                vector["link_secret"].as_str(),
                vector["intermediate"]["link_proof"].as_str(),
            ) else {
                continue;
            };
            assert_eq!(
                link_proof(id, secret).expect("valid input"),
                expected,
                "{}",
                path.display()
            );
            checked += 1;
        }
        assert!(checked > 0, "no vector with a link proof");
    }

    #[test]
    fn the_code_is_read_from_the_mail_text() {
        let mail = "Subject: Your sealdrop verification code\r\n\r\n\
                    Your sealdrop verification code is:\r\n\r\n    04718253\r\n\r\nIt expires in 10 minutes.";
        assert_eq!(code_in(mail).as_deref(), Some("04718253"));
        assert_eq!(code_in("no code here"), None);
    }

    #[test]
    fn junit_cases_are_operations_with_their_outcome() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<testsuites errors="0" failures="1" skipped="1" tests="3" time="8.1">
  <testsuite name="schemathesis" errors="0" failures="1" skipped="1" tests="3">
    <testcase name="GET /healthz" time="0.02" />
    <testcase name="PUT /api/v1/settings" time="1.5">
      <failure type="failure" message="ST202">Schema-valid request rejected</failure>
    </testcase>
    <testcase name="GET /a?b=&amp;" time="0.1"><skipped message="no"/></testcase>
  </testsuite>
</testsuites>"#;
        assert_eq!(
            operation_results(xml),
            [
                ("GET /healthz".to_string(), Outcome::Passed),
                ("PUT /api/v1/settings".to_string(), Outcome::Failed),
                ("GET /a?b=&".to_string(), Outcome::Skipped),
            ]
        );
    }

    #[test]
    fn an_operation_is_let_in_when_a_valid_request_gets_past_its_credentials() {
        let case = |method: &str, path: &str, mode: &str| json!({"value": {"method": method, "path": path, "meta": {"generation": {"mode": mode}}}});
        let answer = |status: u16| json!({"response": {"status_code": status}});
        let event = json!({"ScenarioFinished": {"recorder": {
            "label": "x",
            "cases": {
                "a": case("POST", "/api/v1/packages/{id}/finalize", "positive"),
                "b": case("GET", "/api/v1/me", "positive"),
                "c": case("PUT", "/api/v1/settings", "negative"),
                "d": case("GET", "/api/v1/audit", "positive"),
            },
            "interactions": {"a": answer(409), "b": answer(401), "c": answer(400), "d": answer(200)},
        }}});
        let text = format!("{{\"Initialize\": {{}}}}\n{event}\n");
        let found = let_in(text.as_bytes()).expect("events");
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["GET /api/v1/audit", "POST /api/v1/packages/{id}/finalize"]
        );
    }

    #[test]
    fn every_documented_operation_but_the_document_is_listed() {
        let operations = documented_operations().expect("server/openapi.json");
        assert!(operations.contains(&"HEAD /api/v1/packages/{id}/files/{file}".to_string()));
        assert!(!operations.iter().any(|op| op.ends_with(OPENAPI_PATH)));
    }
}
