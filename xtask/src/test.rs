//! `cargo xtask test`: every test of the project, stage by stage, with a summary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::cleanup;
use crate::cluster;
use crate::deb;
use crate::fuzz;
use crate::proc::{self, cargo, human_duration, repo_root, Counts};
use crate::schemathesis;
use crate::services::{self, Services};
use crate::setup;
use crate::testbuild::{self, TestBinary};
use crate::wasm;
use crate::zendesk_app;

struct Stage {
    name: &'static str,
    about: &'static str,
    run: fn(&mut Ctx) -> Result<Ran>,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "fmt",
        about: "formatting: cargo fmt --all -- --check",
        run: fmt,
    },
    Stage {
        name: "clippy",
        about: "lints: cargo clippy --all-targets -D warnings, native and wasm32",
        run: clippy,
    },
    Stage {
        name: "unit",
        about: "native unit, vector and property tests of every crate but the server and CLI",
        run: unit,
    },
    Stage {
        name: "app",
        about: "the Zendesk app: package-app's zip and the assembled app folder through check-app and Zendesk's own validator",
        run: app_stage,
    },
    Stage {
        name: "fuzz",
        about: "every cargo-fuzz target (crypto format, team keys, Range, forwarded headers, JSON bodies), 30 s each",
        run: fuzz_stage,
    },
    Stage {
        name: "server-sqlite",
        about: "the server and CLI suites on the embedded default: SQLite + local folder",
        run: server_sqlite,
    },
    Stage {
        name: "server-pg-s3",
        about: "the server and CLI suites on Postgres + S3 (Garage) + real SMTP",
        run: server_pg_s3,
    },
    Stage {
        name: "wasm",
        about:
            "sealdrop-widget's tests (vectors included) compiled to wasm32, in headless Chromium",
        run: wasm_tests,
    },
    Stage {
        name: "e2e",
        about: "browser end-to-end tests: node --test tests/e2e/ (real server, SMTP, Chromium)",
        run: e2e,
    },
    Stage {
        name: "schemathesis",
        about: "the API against its OpenAPI document: schemathesis, every check and phase, every credential",
        run: schemathesis_stage,
    },
    Stage {
        name: "deb",
        about: "the Debian package: cargo deb, dpkg -i, systemd-analyze, run as the unit, purge",
        run: deb_package,
    },
    Stage {
        name: "cluster",
        about: "3 release instances behind nginx (TLS) on Postgres + Garage: spread, caps, kills, restarts",
        run: cluster_stage,
    },
];

fn usage() -> String {
    let mut text = String::from(
        "\
Runs every test of sealdrop, stage by stage, installing or starting what each stage needs.

USAGE
    cargo xtask test [--only STAGE[,STAGE]] [--skip STAGE[,STAGE]] [--keep-going]

STAGES (in order)
",
    );
    for stage in STAGES {
        text.push_str(&format!("    {:<15} {}\n", stage.name, stage.about));
    }
    text.push_str(
        "
OPTIONS
    --only STAGE      Run only these stages (repeat or separate with commas).
    --skip STAGE      Run all stages but these.
    --keep-going      Run the remaining stages after one fails (default: stop at the first).
    -h, --help        Print this text.

OUTPUT
    Each stage prints a header and the commands it runs. At the end a table shows every stage's
    result, passed/failed test counts and duration; the very last line is `N passed, N failed`,
    the sum over all stages (libtest `test result:` lines, node's `# pass`/`# fail`, the
    cluster stage's checks and the schemathesis stage's operations). A stage
    that fails without reporting a failing test (fmt, clippy, a build error) counts as one
    failure, so that line never reads `0 failed` when something broke. The exit status is
    non-zero when anything failed.

EXAMPLES
    cargo xtask test                        # everything, as CI does
    cargo xtask test --only fmt,clippy      # quick check before committing
    cargo xtask test --only server-pg-s3    # the server on Postgres + Garage + SMTP
    cargo xtask test --skip e2e --keep-going

SERVICES
    server-pg-s3 starts PostgreSQL, Garage and an SMTP capture server in temporary folders and
    passes them to the tests as SEALDROP_TEST_DATABASE_URL, SEALDROP_TEST_S3_{ENDPOINT,BUCKET,
    REGION,ACCESS_KEY_ID,SECRET_ACCESS_KEY}, SEALDROP_TEST_SMTP_URL and
    SEALDROP_TEST_SMTP_CAPTURE_DIR. server-sqlite clears them. `cargo xtask services up`
    starts the same services for a test you run by hand.

SCHEMATHESIS
    schemathesis installs schemathesis (pinned, in a venv under ~/.cache/sealdrop), starts
    `sealdrop serve` (the native build's, on SQLite + a folder) and the Zendesk simulator,
    makes every credential of the OpenAPI document (tenant tokens, the Zendesk admin's agent
    session and widget key through the simulator, an uploading package's upload token, a
    finalized package's link proof, recipient session and download token) and runs
    `schemathesis run` with every check and every phase, stateful included, against
    /api/v1/openapi.json, configured by tests/schemathesis/schemathesis.toml. It fails on
    any failure, an operation not tested, or one that only ever got 401/403. Its counts are
    operations. A fixed seed and 100 examples per operation and phase; change them with
    SEALDROP_SCHEMATHESIS_SEED and SEALDROP_SCHEMATHESIS_EXAMPLES. About a minute. The JUnit
    and NDJSON reports and the server's log stay in <target>/schemathesis/.

APP
    app packages the Zendesk app (package-app), unpacks the zip and runs check-app on it and on
    agent-app/ (marketplace mode): no error, no warning. check-app must give each app of
    xtask/src/zendesk_app/fixtures.rs the verdict Zendesk's own validator (the
    zendesk_apps_support gem) gave it, recorded in xtask/zendesk_validator/expected.txt. With
    ZENDESK_APPS_SUPPORT_DIR naming a checkout or git repository of the gem's source (not part
    of this repository), it installs Debian's Ruby packages when missing and runs the gem itself
    through xtask/zendesk_validator/validate.rb on the zip, the folder and every fixture: any
    error or warning on the first two fails, and so does any verdict differing from the recorded
    one (SEALDROP_RECORD_ZENDESK_VERDICTS=1 records the gem's instead). A few seconds.

DEB
    deb builds the Debian package (cargo deb, after the browser package), installs it with
    dpkg -i, checks its unit with systemd-analyze, runs the installed binary the way the unit
    does, runs `sealdrop admin` with the packaged settings, then removes and purges it. It
    needs root (else it is skipped) and refuses to run where a sealdrop package, user or
    /var/lib/sealdrop already exists, since purging would delete them.

FUZZ
    fuzz builds the targets under fuzz/ with libFuzzer's coverage instrumentation from stable
    flags (no nightly; in <target>/fuzz) and runs each from its seeds in fuzz/seeds/ for 30 s
    (SEALDROP_FUZZ_SECONDS to change it). A crash fails the stage; its input is kept under
    <target>/fuzz-crashes/ and the log says how to replay it. fuzz/README.md has longer runs.

CLUSTER
    cluster builds the release binary (the deb stage's build, when it ran), starts Postgres,
    Garage and three `sealdrop serve` instances sharing them and the shared keys, and nginx
    with the packaged site (packaging/nginx/sealdrop.conf, rewritten for a test CA's
    certificate and local ports) in front. Through https it sends and gets with the
    `sealdrop` command (--ca-file): parts and downloads spread over the instances, the
    hourly code cap holds across them, purges run side by side without errors, and an
    instance killed with SIGKILL mid-upload and another mid-download does not stop the
    client, and PostgreSQL restarted mid-upload and Garage mid-download do not either (the
    same instance processes recover on their own). It installs nginx with apt-get when missing. About two minutes.
",
    );
    text
}

#[derive(Debug)]
struct Options {
    only: Vec<String>,
    skip: Vec<String>,
    keep_going: bool,
}

fn parse(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options {
        only: Vec::new(),
        skip: Vec::new(),
        keep_going: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        match flag {
            "-h" | "--help" => return Ok(None),
            "--keep-going" | "-k" => options.keep_going = true,
            "--only" | "--skip" => {
                let Some(value) = inline.or_else(|| args.next().cloned()) else {
                    bail!("{flag} needs a stage name; stages: {}", stage_names());
                };
                let list = if flag == "--only" {
                    &mut options.only
                } else {
                    &mut options.skip
                };
                for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    if !STAGES.iter().any(|s| s.name == name) {
                        bail!("unknown stage `{name}`; stages: {}", stage_names());
                    }
                    list.push(name.to_string());
                }
            }
            other => bail!("unknown option `{other}`; see `cargo xtask test --help`"),
        }
    }
    Ok(Some(options))
}

fn stage_names() -> String {
    STAGES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// What a stage did when it did not error out.
enum Ran {
    /// The stage ran its commands; `ok` is false when one of them failed.
    Tests { counts: Counts, ok: bool },
    /// Nothing to run yet (for example no e2e test files); says why.
    Skipped(String),
}

enum Outcome {
    Passed(Counts),
    Failed(Counts, String),
    Skipped(String),
    NotRun,
}

struct Row {
    name: &'static str,
    outcome: Outcome,
    duration: Duration,
}

/// State shared by the stages of one run.
struct Ctx {
    services: Services,
    /// The native test build: not yet run, failed (`Some(None)`), or its executables.
    tests: Option<Option<Vec<TestBinary>>>,
}

pub fn main(args: &[String]) -> Result<ExitCode> {
    let Some(options) = parse(args)? else {
        print!("{}", usage());
        return Ok(ExitCode::SUCCESS);
    };
    let selected: Vec<&Stage> = STAGES
        .iter()
        .filter(|s| options.only.is_empty() || options.only.iter().any(|n| n == s.name))
        .filter(|s| !options.skip.iter().any(|n| n == s.name))
        .collect();
    if selected.is_empty() {
        bail!(
            "--only/--skip leave no stage to run; stages: {}",
            stage_names()
        );
    }

    let mut ctx = Ctx {
        services: Services::default(),
        tests: None,
    };
    let mut rows = Vec::new();
    let mut stop = false;
    let total = selected.len();
    let run_start = Instant::now();
    for (i, stage) in selected.iter().enumerate() {
        if stop || cleanup::interrupted() {
            rows.push(Row {
                name: stage.name,
                outcome: Outcome::NotRun,
                duration: Duration::ZERO,
            });
            continue;
        }
        header(&format!(
            "[{}/{total}] {}: {}",
            i + 1,
            stage.name,
            stage.about
        ));
        let start = Instant::now();
        let outcome = match (stage.run)(&mut ctx) {
            Ok(Ran::Tests { counts, ok: true }) => Outcome::Passed(counts),
            Ok(Ran::Tests { counts, ok: false }) => {
                Outcome::Failed(counts, "a command failed (see above)".into())
            }
            Ok(Ran::Skipped(why)) => Outcome::Skipped(why),
            Err(err) => {
                eprintln!("\nxtask: stage {} failed: {err:#}", stage.name);
                Outcome::Failed(Counts::default(), format!("{err:#}"))
            }
        };
        let duration = start.elapsed();
        let verdict = match &outcome {
            Outcome::Passed(_) => "passed",
            Outcome::Failed(..) => "FAILED",
            Outcome::Skipped(_) => "skipped",
            Outcome::NotRun => "not run",
        };
        println!(
            "\nxtask: stage {} {verdict} in {}",
            stage.name,
            human_duration(duration)
        );
        if matches!(outcome, Outcome::Failed(..)) && !options.keep_going {
            stop = true;
        }
        rows.push(Row {
            name: stage.name,
            outcome,
            duration,
        });
    }
    // Stop the services before printing the summary so their shutdown noise stays above it.
    drop(ctx);

    let (passed, failed) = summary(&rows, run_start.elapsed());
    if rows
        .iter()
        .any(|row| matches!(row.outcome, Outcome::NotRun))
        && !cleanup::interrupted()
    {
        println!("(stopped at the first failing stage; --keep-going runs the others too)");
    }
    println!("{passed} passed, {failed} failed");
    let any_failed = rows
        .iter()
        .any(|row| matches!(row.outcome, Outcome::Failed(..)));
    Ok(if any_failed || failed > 0 || cleanup::interrupted() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn header(title: &str) {
    let rule = "=".repeat(78);
    println!("\n{rule}\n== {title}\n{rule}");
}

/// Prints the table; returns the totals for the last line.
fn summary(rows: &[Row], elapsed: Duration) -> (u64, u64) {
    header("summary");
    println!(
        "{:<15} {:<8} {:>7} {:>7} {:>9}  note",
        "stage", "result", "passed", "failed", "time"
    );
    let (mut passed, mut failed) = (0, 0);
    for row in rows {
        let (result, counts, note) = match &row.outcome {
            Outcome::Passed(c) => ("ok", Some(*c), String::new()),
            Outcome::Failed(c, why) => {
                // A failure with no failing test counted (build error, fmt, clippy) is one.
                let mut c = *c;
                if c.failed == 0 {
                    c.failed = 1;
                }
                ("FAILED", Some(c), first_line(why))
            }
            Outcome::Skipped(why) => ("skipped", None, why.clone()),
            Outcome::NotRun => ("not run", None, String::new()),
        };
        let (p, f) = match counts {
            Some(c) if c.seen || c.failed > 0 => {
                passed += c.passed;
                failed += c.failed;
                (c.passed.to_string(), c.failed.to_string())
            }
            _ => ("-".into(), "-".into()),
        };
        let time = if matches!(row.outcome, Outcome::NotRun) {
            "-".into()
        } else {
            human_duration(row.duration)
        };
        println!(
            "{:<15} {:<8} {:>7} {:>7} {:>9}  {}",
            row.name, result, p, f, time, note
        );
    }
    println!(
        "{:<15} {:<8} {:>7} {:>7} {:>9}",
        "total",
        "",
        passed,
        failed,
        human_duration(elapsed)
    );
    (passed, failed)
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 70 {
        format!("{}...", line.chars().take(67).collect::<String>())
    } else {
        line.to_string()
    }
}

fn counted(cmd: &mut Command) -> Result<Ran> {
    let (counts, ok) = proc::run_counted(cmd)?;
    Ok(Ran::Tests { counts, ok })
}

/// Runs several commands as one stage: counts add up, the stage fails if any failed, and
/// later commands still run so that one report shows every problem.
fn counted_all(cmds: Vec<Command>) -> Result<Ran> {
    let mut total = Counts::default();
    let mut all_ok = true;
    for mut cmd in cmds {
        if cleanup::interrupted() {
            bail!("interrupted");
        }
        let (counts, ok) = proc::run_counted(&mut cmd)?;
        total.add(counts);
        all_ok &= ok;
    }
    Ok(Ran::Tests {
        counts: total,
        ok: all_ok,
    })
}

fn has_package(dir: &str) -> bool {
    repo_root().join(dir).join("Cargo.toml").is_file()
}

fn fmt(_: &mut Ctx) -> Result<Ran> {
    setup::rust_component("rustfmt", "fmt")?;
    let color = if std::io::stdout().is_terminal() {
        "--color=always"
    } else {
        "--color=never"
    };
    let mut cmd = cargo();
    cmd.args(["fmt", "--all", "--", "--check", color]);
    counted(&mut cmd)
}

fn clippy(_: &mut Ctx) -> Result<Ran> {
    setup::rust_component("clippy", "clippy")?;
    let mut cmds = Vec::new();
    let mut native = cargo();
    native.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    cmds.push(native);
    if has_package("widget-wasm") {
        setup::wasm_target()?;
        // The browser-only code is compiled out natively; lint it where it compiles.
        let mut wasm = cargo();
        wasm.args([
            "clippy",
            "-p",
            "sealdrop-widget",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        cmds.push(wasm);
    }
    counted_all(cmds)
}

fn app_stage(_: &mut Ctx) -> Result<Ran> {
    let (counts, ok) = zendesk_app::stage::run()?;
    Ok(Ran::Tests { counts, ok })
}

fn fuzz_stage(_: &mut Ctx) -> Result<Ran> {
    let (counts, ok) = fuzz::run_all()?;
    Ok(Ran::Tests { counts, ok })
}

fn without_service_env(cmd: &mut Command) -> &mut Command {
    for var in services::ALL_VARS {
        cmd.env_remove(var);
    }
    cmd
}

/// The packages whose tests need a database and a blob store: the server's suite and the
/// `sealdrop` command's (which starts `sealdrop serve`). They run in the server stages.
const SERVER_PACKAGES: &[&str] = &["sealdrop-server", "sealdrop-cli"];

fn is_server_suite(binary: &TestBinary) -> bool {
    SERVER_PACKAGES.contains(&binary.package.as_str())
}

/// The native test executables, built once per run (see `testbuild`); `None` when the build
/// failed.
fn test_binaries(ctx: &mut Ctx) -> Result<Option<Vec<TestBinary>>> {
    if ctx.tests.is_none() {
        ctx.tests = Some(testbuild::build()?);
    }
    Ok(ctx.tests.clone().flatten())
}

/// Runs test executables one after the other (all of them, like --no-fail-fast).
fn run_binaries<'a>(
    binaries: impl IntoIterator<Item = &'a TestBinary>,
    env: &[(String, String)],
) -> Result<Ran> {
    let mut counts = Counts::default();
    let mut ok = true;
    for binary in binaries {
        if cleanup::interrupted() {
            bail!("interrupted");
        }
        println!("\n-- {}", testbuild::short(binary));
        let mut cmd = testbuild::command(binary);
        without_service_env(&mut cmd).envs(env.iter().cloned());
        let (c, success) = proc::run_counted(&mut cmd)?;
        counts.add(c);
        ok &= success;
    }
    Ok(Ran::Tests { counts, ok })
}

fn build_failed() -> Ran {
    println!("xtask: the native build failed (errors above); no native test ran");
    Ran::Tests {
        counts: Counts::default(),
        ok: false,
    }
}

fn unit(ctx: &mut Ctx) -> Result<Ran> {
    let Some(binaries) = test_binaries(ctx)? else {
        return Ok(build_failed());
    };
    let Ran::Tests { mut counts, mut ok } =
        run_binaries(binaries.iter().filter(|b| !is_server_suite(b)), &[])?
    else {
        unreachable!("run_binaries always runs");
    };
    // Doc tests of every crate (the server's included: they need no database).
    println!("\n-- doc tests");
    let (doc_counts, doc_ok) = proc::run_counted(without_service_env(&mut testbuild::doc_tests()))?;
    counts.add(doc_counts);
    ok &= doc_ok;
    Ok(Ran::Tests { counts, ok })
}

fn server_binaries(binaries: &[TestBinary]) -> Result<Vec<&TestBinary>> {
    let server: Vec<&TestBinary> = binaries.iter().filter(|b| is_server_suite(b)).collect();
    if server.is_empty() {
        bail!(
            "the build produced no test executable for {}",
            SERVER_PACKAGES.join(" or ")
        );
    }
    Ok(server)
}

fn server_sqlite(ctx: &mut Ctx) -> Result<Ran> {
    let Some(binaries) = test_binaries(ctx)? else {
        return Ok(build_failed());
    };
    println!("xtask: no SEALDROP_TEST_* variables: the suite runs on SQLite + a local folder");
    run_binaries(server_binaries(&binaries)?, &[])
}

fn server_pg_s3(ctx: &mut Ctx) -> Result<Ran> {
    // Build first, so that the services do not sit idle through a long compile.
    let Some(binaries) = test_binaries(ctx)? else {
        return Ok(build_failed());
    };
    ctx.services.postgres()?;
    ctx.services.garage()?;
    ctx.services.smtp()?;
    println!(
        "xtask: tests see SEALDROP_TEST_DATABASE_URL, SEALDROP_TEST_S3_*, SEALDROP_TEST_SMTP_*"
    );
    let env = ctx.services.env();
    run_binaries(server_binaries(&binaries)?, &env)
}

fn schemathesis_stage(ctx: &mut Ctx) -> Result<Ran> {
    // The server and the simulator come out of the same build as the native tests.
    if test_binaries(ctx)?.is_none() {
        return Ok(build_failed());
    }
    let bin_dir = proc::target_dir().join("debug");
    for binary in ["sealdrop", "zendesk-sim"] {
        if !bin_dir.join(binary).is_file() {
            bail!("the build left no {}", bin_dir.join(binary).display());
        }
    }
    let (counts, ok) = schemathesis::run(&bin_dir)?;
    Ok(Ran::Tests { counts, ok })
}

fn deb_package(_: &mut Ctx) -> Result<Ran> {
    if let Some(why) = deb::unavailable() {
        println!("xtask: skipping the deb stage: it {why}");
        return Ok(Ran::Skipped(why));
    }
    let (counts, ok) = deb::run()?;
    Ok(Ran::Tests { counts, ok })
}

fn cluster_stage(ctx: &mut Ctx) -> Result<Ran> {
    if let Some(why) = cluster::unavailable() {
        println!("xtask: skipping the cluster stage: it {why}");
        return Ok(Ran::Skipped(why));
    }
    let (counts, ok) = cluster::run(&mut ctx.services)?;
    Ok(Ran::Tests { counts, ok })
}

fn wasm_tests(_: &mut Ctx) -> Result<Ran> {
    if !has_package("widget-wasm") {
        return Ok(Ran::Skipped("no widget-wasm crate".into()));
    }
    setup::wasm_target()?;
    let bindgen_dir = setup::wasm_bindgen()?;
    setup::chromium()?;
    let widget = repo_root().join("widget-wasm");
    if !widget.join("webdriver.json").is_file() {
        println!("xtask: warning: widget-wasm/webdriver.json is missing; Chromium runs without the project's flags");
    }
    // chromedriver gives each Chromium a profile under TMPDIR and leaves it there when the
    // runner stops it; a folder of the stage's own, removed afterwards, keeps /tmp clean.
    let scratch =
        std::env::temp_dir().join(format!("sealdrop-wasm-chromium-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let mut cmd = cargo();
    cmd.current_dir(&widget)
        .env("TMPDIR", &scratch)
        .args([
            "test",
            "-p",
            "sealdrop-widget",
            "--target",
            "wasm32-unknown-unknown",
            "--no-fail-fast",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            bindgen_dir.join("wasm-bindgen-test-runner"),
        )
        .env("CHROMEDRIVER", setup::CHROMEDRIVER)
        // Browser-only tests must not silently fall back to Node.
        .env_remove("WASM_BINDGEN_USE_BROWSER")
        .env_remove("GECKODRIVER")
        .env_remove("SAFARIDRIVER");
    let ran = counted(&mut cmd);
    let _ = std::fs::remove_dir_all(&scratch);
    ran
}

/// Test files `node --test` would pick up in tests/e2e (outside node_modules and lib/).
fn e2e_test_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "node_modules" | "lib" | "artifacts") {
                    walk(&path, out);
                }
            } else if is_node_test_file(&name) {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    files
}

fn is_node_test_file(name: &str) -> bool {
    let Some(stem) = [".mjs", ".js", ".cjs"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
    else {
        return false;
    };
    stem == "test"
        || stem.starts_with("test-")
        || stem.ends_with(".test")
        || stem.ends_with("-test")
        || stem.ends_with("_test")
}

fn e2e(ctx: &mut Ctx) -> Result<Ran> {
    let dir = repo_root().join("tests/e2e");
    let mut files = e2e_test_files(&dir);
    // SEALDROP_E2E_FILES=team,sidebar-package runs only the files whose names contain one of
    // those words (while working on them; CI runs every file).
    if let Ok(only) = std::env::var("SEALDROP_E2E_FILES") {
        let words: Vec<&str> = only
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        files.retain(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            words.iter().any(|w| name.contains(w))
        });
        println!("xtask: SEALDROP_E2E_FILES={only}: {} file(s)", files.len());
    }
    if files.is_empty() {
        println!("xtask: no e2e test files yet in tests/e2e (name them *.test.mjs)");
        return Ok(Ran::Skipped("no e2e test files yet".into()));
    }
    setup::npm_packages(&dir)?;
    setup::chromium()?;

    // The binaries the tests drive (the server, the Zendesk simulator) come out of the same
    // build as the native tests, so after those stages nothing recompiles.
    if test_binaries(ctx)?.is_none() {
        return Ok(build_failed());
    }
    let bin_dir = proc::target_dir().join("debug");
    if !bin_dir.join("sealdrop").is_file() {
        bail!("the build left no {}", bin_dir.join("sealdrop").display());
    }
    if has_package("widget-wasm") {
        wasm::build()?;
    }
    // The Zendesk app as Zendesk gets it, its domainWhitelist naming the local server, for the
    // simulator to serve the sidebar from (docs/ZENDESK.md "Sidebar from the app package").
    let app_dir = crate::zendesk_app::assemble::assemble(
        &proc::target_dir().join("e2e-agent-app"),
        Some("127.0.0.1"),
        &repo_root().join("widget-wasm/pkg"),
    )?;
    let smtp_env = ctx.services.smtp()?.env();
    let artifacts = proc::target_dir().join("e2e-artifacts");
    std::fs::create_dir_all(&artifacts)?;

    let mut cmd = Command::new("node");
    cmd.current_dir(&dir)
        .args(["--test", "--test-reporter=tap"])
        .args(files.iter().map(|f| f.strip_prefix(&dir).unwrap_or(f)))
        .envs(smtp_env)
        .env("SEALDROP_BIN", bin_dir.join("sealdrop"))
        .env("SEALDROP_BIN_DIR", &bin_dir)
        .env("SEALDROP_REPO_ROOT", repo_root())
        .envs(proc::web_env())
        .env("SEALDROP_E2E_ARTIFACTS", &artifacts)
        .env("SEALDROP_E2E_APP_DIR", &app_dir)
        .env("CHROMIUM", setup::CHROMIUM);
    println!(
        "xtask: screenshots of failing tests go to {}",
        artifacts.display()
    );
    counted(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_and_skip_accept_lists_and_repeats() {
        let options = parse(&args(&[
            "--only",
            "fmt,clippy",
            "--only=unit",
            "--skip",
            "e2e",
            "--keep-going",
        ]))
        .expect("valid options")
        .expect("not --help");
        assert_eq!(options.only, ["fmt", "clippy", "unit"]);
        assert_eq!(options.skip, ["e2e"]);
        assert!(options.keep_going);
    }

    #[test]
    fn unknown_stage_is_rejected_with_the_list_of_stages() {
        let err = parse(&args(&["--only", "nope"])).expect_err("an unknown stage is an error");
        assert!(err.to_string().contains("server-pg-s3"), "{err}");
    }

    #[test]
    fn node_test_file_names_follow_node_conventions() {
        assert!(is_node_test_file("upload.test.mjs"));
        assert!(is_node_test_file("test-upload.js"));
        assert!(is_node_test_file("upload_test.cjs"));
        assert!(!is_node_test_file("browser.mjs"));
        assert!(!is_node_test_file("package.json"));
    }
}
