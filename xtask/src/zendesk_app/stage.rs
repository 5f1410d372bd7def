//! The `app` stage of `cargo xtask test`: the Zendesk app as Zendesk will see it.
//!
//! 1. `package-app`'s zip, unpacked, and the assembled app folder (`agent-app/` with the
//!    sidebar under `assets/`) pass check-app in marketplace
//!    mode with no error and no warning.
//! 2. check-app gives every fixture (fixtures.rs) the verdict recorded in
//!    `xtask/zendesk_validator/expected.txt`.
//! 3. Where the gem's source is on the machine (`ZENDESK_APPS_SUPPORT_DIR`: a checkout of
//!    github.com/zendesk/zendesk_apps_support, or its bare git repository, from which the
//!    commit the port follows is taken), Zendesk's real validator runs under Debian's Ruby
//!    (installed with apt-get when missing) through `xtask/zendesk_validator/validate.rb`: on
//!    the unpacked zip and on `agent-app/` it must report nothing, as check-app does, and on
//!    every fixture the recorded verdict (`SEALDROP_RECORD_ZENDESK_VERDICTS=1` records what it
//!    says instead). The gem's source is not part of this repository; without it this step is
//!    skipped, and says so.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::fixtures::{self, FIXTURES};
use super::validations::{GEM_COMMIT, GEM_VERSION};
use crate::proc::{self, repo_root, Checks, Counts};
use crate::setup;

/// Where the gem's source is named.
const GEM_ENV: &str = "ZENDESK_APPS_SUPPORT_DIR";
/// Set to 1 to rewrite expected.txt from the real gem.
const RECORD_ENV: &str = "SEALDROP_RECORD_ZENDESK_VERDICTS";
/// What validate.rb needs (see its header).
const RUBY_PACKAGES: &[&str] = &[
    "ruby",
    "ruby-i18n",
    "ruby-erubis",
    "ruby-marcel",
    "ruby-ipaddress",
    "ruby-nokogiri",
    "ruby-loofah",
];

pub fn run() -> Result<(Counts, bool)> {
    Ok(Checks::run(scenario))
}

fn scenario(c: &mut Checks) -> Result<()> {
    let work = proc::target_dir().join("zendesk-app");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    // The app Zendesk gets: agent-app/ with the sidebar assembled into assets/ (it needs the
    // wasm core, built here when no build is there).
    let pkg = repo_root().join("widget-wasm/pkg");
    if !pkg.join("sealdrop_widget_bg.wasm").is_file() {
        crate::wasm::build()?;
    }
    let app = super::assemble::assemble(&work.join("app"), None, &pkg)?;

    // 1. The package and the folder, through check-app.
    let (zip, count) = super::package(&app)?;
    let unpacked = work.join("zip");
    unzip(&zip, &unpacked)?;
    c.pass(format!(
        "package-app wrote {} ({count} files)",
        zip.display()
    ));
    for (what, dir) in [
        ("the packaged zip", &unpacked),
        ("the assembled app folder", &app),
    ] {
        let report = super::check(dir)?;
        if !report.errors.is_empty() || !report.unexpected_warnings().is_empty() {
            bail!(
                "check-app on {what}: {:#?} {:#?}",
                report.errors,
                report.warnings
            );
        }
        c.pass(format!(
            "check-app: {what} has no error and no warning but the expected {:?}",
            super::EXPECTED_WARNINGS
        ));
    }

    // 2. The fixtures, through check-app.
    let recording = std::env::var(RECORD_ENV).is_ok_and(|v| v == "1");
    let expected = fixtures::expected()?;
    let fixture_dir = work.join("fixtures");
    let mut port = BTreeMap::new();
    let mut wrong = Vec::new();
    for f in FIXTURES {
        let dir = fixture_dir.join(f.name);
        fixtures::build(f, &repo_root().join("agent-app"), &dir)?;
        let got = super::check_as(&dir, f.marketplace)?.zendesk_verdict();
        if expected.get(f.name) != Some(&got) {
            wrong.push(format!(
                "{}: expected.txt says {:?}, check-app {got:?}",
                f.name,
                expected.get(f.name)
            ));
        }
        port.insert(f.name, got);
    }
    if !wrong.is_empty() && !recording {
        bail!(
            "check-app disagrees with the recorded verdicts:\n{}",
            wrong.join("\n")
        );
    }
    if wrong.is_empty() {
        c.pass(format!(
            "check-app gives the {} fixtures the verdicts Zendesk's validator gave",
            FIXTURES.len()
        ));
    }

    // 3. Zendesk's own validator.
    let Some(gem) = gem_source(&work)? else {
        println!(
            "xtask: Zendesk's validator not run: {GEM_ENV} names no copy of the \
             zendesk_apps_support gem's source (github.com/zendesk/zendesk_apps_support at \
             {GEM_COMMIT}, or a checkout of version {GEM_VERSION}); check-app's port ran alone"
        );
        return Ok(());
    };
    ruby()?;
    let mut jobs: Vec<(String, PathBuf, bool)> = vec![
        ("zip".into(), unpacked.clone(), true),
        ("agent-app".into(), app.clone(), true),
    ];
    for f in FIXTURES {
        jobs.push((f.name.into(), fixture_dir.join(f.name), f.marketplace));
    }
    let verdicts = validate(&gem, &jobs)?;
    for (what, name) in [
        ("the packaged zip", "zip"),
        ("the assembled app folder", "agent-app"),
    ] {
        let got: Vec<&String> = verdicts[name]
            .iter()
            .filter(|v| {
                !super::EXPECTED_WARNINGS
                    .iter()
                    .any(|k| **v == format!("warning {k}"))
            })
            .collect();
        if !got.is_empty() {
            bail!("Zendesk's validator on {what} (marketplace mode): {got:?}");
        }
        c.pass(format!(
            "Zendesk's validator: {what} has no error and no warning but the expected ones, as check-app says"
        ));
    }
    let by_fixture: BTreeMap<&str, Vec<String>> = FIXTURES
        .iter()
        .map(|f| (f.name, verdicts[f.name].clone()))
        .collect();
    if recording {
        fixtures::record(&by_fixture)?;
        println!(
            "xtask: recorded the verdicts in {}",
            fixtures::expected_path().display()
        );
    }
    let expected = fixtures::expected()?;
    let version = std::fs::read_to_string(gem.join("lib/zendesk_apps_support/version.rb"))?;
    let same_version = version.contains(&format!("'{GEM_VERSION}'"));
    let mut wrong = Vec::new();
    for f in FIXTURES {
        let got = &by_fixture[f.name];
        if expected.get(f.name) != Some(got) {
            wrong.push(format!(
                "{}: expected.txt says {:?}\n   Zendesk's validator gives {got:?}\n   (line: {})",
                f.name,
                expected.get(f.name),
                fixtures::line(f.name, got)
            ));
        }
    }
    if !wrong.is_empty() {
        let advice = if same_version {
            String::new()
        } else {
            format!(
                "\n(the gem in {GEM_ENV} is not version {GEM_VERSION}, which validations.rs \
                 ports; port the change, then record with {RECORD_ENV}=1)"
            )
        };
        bail!(
            "Zendesk's validator disagrees with expected.txt:\n{}{advice}",
            wrong.join("\n")
        );
    }
    c.pass(format!(
        "Zendesk's validator gives the {} fixtures the recorded verdicts",
        FIXTURES.len()
    ));
    let differ: Vec<String> = FIXTURES
        .iter()
        .filter(|f| port[f.name] != by_fixture[f.name])
        .map(|f| {
            format!(
                "{}: Zendesk's validator {:?}, check-app {:?}",
                f.name, by_fixture[f.name], port[f.name]
            )
        })
        .collect();
    if !differ.is_empty() {
        bail!(
            "check-app disagrees with Zendesk's validator:\n{}",
            differ.join("\n")
        );
    }
    c.pass("check-app and Zendesk's validator agree on every fixture");
    Ok(())
}

/// Unpacks the zip `package-app` wrote.
fn unzip(zip: &Path, into: &Path) -> Result<()> {
    let file = std::fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let mut archive = zip::ZipArchive::new(file).context("reading the zip")?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let Some(name) = entry.enclosed_name() else {
            bail!("the zip holds an unsafe path {:?}", entry.name());
        };
        let to = into.join(name);
        if entry.is_dir() {
            std::fs::create_dir_all(&to)?;
            continue;
        }
        std::fs::create_dir_all(to.parent().expect("a file has a folder"))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        std::fs::write(&to, bytes)?;
    }
    Ok(())
}

/// The gem's source: `ZENDESK_APPS_SUPPORT_DIR` as a checkout (with lib/), or a git
/// repository from which the ported commit is extracted into `work/gem`.
fn gem_source(work: &Path) -> Result<Option<PathBuf>> {
    let Some(dir) = std::env::var_os(GEM_ENV).map(PathBuf::from) else {
        return Ok(None);
    };
    if dir.join("lib/zendesk_apps_support.rb").is_file() {
        println!("xtask: Zendesk's validator from {}", dir.display());
        return Ok(Some(dir));
    }
    let git_dir = if dir.join(".git").exists() {
        dir.join(".git")
    } else {
        dir.clone()
    };
    let out = work.join("gem");
    std::fs::create_dir_all(&out)?;
    let archive = work.join("gem.tar");
    proc::run(
        Command::new("git")
            .arg("--git-dir")
            .arg(&git_dir)
            .args(["archive", "--output"])
            .arg(&archive)
            .args([GEM_COMMIT, "lib", "config", "LICENSE"]),
    )
    .with_context(|| {
        format!(
            "{GEM_ENV}={} is neither a checkout of zendesk_apps_support nor a git repository \
             holding {GEM_COMMIT}",
            dir.display()
        )
    })?;
    proc::run(
        Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&out),
    )?;
    println!(
        "xtask: Zendesk's validator from {} at {GEM_COMMIT}",
        dir.display()
    );
    Ok(Some(out))
}

/// Debian's Ruby and the packages validate.rb needs.
fn ruby() -> Result<()> {
    let missing: Vec<&str> = RUBY_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if !missing.is_empty() {
        setup::apt_install(&missing, "Ruby, for Zendesk's app validator")?;
    }
    Ok(())
}

/// Runs validate.rb once over every folder; returns each one's sorted verdict.
fn validate(gem: &Path, jobs: &[(String, PathBuf, bool)]) -> Result<BTreeMap<String, Vec<String>>> {
    let script = repo_root().join("xtask/zendesk_validator/validate.rb");
    let mut cmd = Command::new("ruby");
    cmd.arg(&script).arg("--gem").arg(gem);
    for (_, dir, marketplace) in jobs {
        cmd.arg(if *marketplace {
            "--marketplace"
        } else {
            "--private"
        })
        .arg(dir);
    }
    println!(
        "xtask: ruby {} ... ({} folders)",
        script.display(),
        jobs.len()
    );
    let out = cmd.output().context("running ruby")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let log = proc::target_dir().join("zendesk-app/validate.log");
    std::fs::write(&log, stdout.as_bytes())?;
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!(
            "validate.rb failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        );
    }
    let by_dir: BTreeMap<PathBuf, &str> = jobs
        .iter()
        .map(|(name, dir, _)| (dir.clone(), name.as_str()))
        .collect();
    let mut verdicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if let Some(header) = line.strip_prefix("== ") {
            let dir = header.rsplit_once(" (").map_or(header, |(d, _)| d);
            let name = by_dir
                .get(Path::new(dir))
                .with_context(|| format!("validate.rb reports on an unknown folder {dir}"))?;
            verdicts.insert((*name).to_owned(), Vec::new());
            current = Some((*name).to_owned());
        } else if let Some((kind, rest)) = line
            .strip_prefix("error: ")
            .map(|r| ("error", r))
            .or_else(|| line.strip_prefix("warning: ").map(|r| ("warning", r)))
        {
            let key = rest.split_once(": ").map_or(rest, |(k, _)| k);
            let name = current
                .as_ref()
                .context("validate.rb output before a header")?;
            verdicts
                .get_mut(name)
                .expect("a header opened it")
                .push(format!("{kind} {key}"));
        }
    }
    for (name, _, _) in jobs {
        let Some(v) = verdicts.get_mut(name) else {
            bail!("validate.rb said nothing of {name} (see {})", log.display());
        };
        v.sort();
    }
    println!("xtask: its full output is in {}", log.display());
    Ok(verdicts)
}
