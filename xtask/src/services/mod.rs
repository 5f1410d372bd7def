//! Real services for the test suites, started in temporary folders on free ports and
//! stopped (folders removed) when xtask exits, however it exits.
//!
//! `cargo xtask services up` starts all three and prints the `SEALDROP_TEST_*` variables the
//! server's tests and the e2e helpers read.

pub mod garage;
pub mod postgres;
pub mod smtp;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

use crate::cleanup;

pub use garage::Garage;
pub use postgres::Postgres;
pub use smtp::Smtp;

/// The services of one xtask run; each is started at most once, when first asked for.
#[derive(Debug, Default)]
pub struct Services {
    postgres: Option<Postgres>,
    garage: Option<Garage>,
    smtp: Option<Smtp>,
}

impl Services {
    pub fn postgres(&mut self) -> Result<&Postgres> {
        if self.postgres.is_none() {
            self.postgres = Some(Postgres::start()?);
        }
        Ok(self.postgres.as_ref().expect("started just above"))
    }

    pub fn garage(&mut self) -> Result<&Garage> {
        if self.garage.is_none() {
            self.garage = Some(Garage::start()?);
        }
        Ok(self.garage.as_ref().expect("started just above"))
    }

    pub fn smtp(&mut self) -> Result<&Smtp> {
        if self.smtp.is_none() {
            self.smtp = Some(Smtp::start()?);
        }
        Ok(self.smtp.as_ref().expect("started just above"))
    }

    /// The `SEALDROP_TEST_*` variables of the services started so far.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        if let Some(pg) = &self.postgres {
            vars.extend(pg.env());
        }
        if let Some(garage) = &self.garage {
            vars.extend(garage.env());
        }
        if let Some(smtp) = &self.smtp {
            vars.extend(smtp.env());
        }
        vars
    }
}

/// Every variable name the services may set, so that a stage can clear stale ones.
pub const ALL_VARS: &[&str] = &[
    "SEALDROP_TEST_DATABASE_URL",
    "SEALDROP_TEST_S3_ENDPOINT",
    "SEALDROP_TEST_S3_BUCKET",
    "SEALDROP_TEST_S3_REGION",
    "SEALDROP_TEST_S3_ACCESS_KEY_ID",
    "SEALDROP_TEST_S3_SECRET_ACCESS_KEY",
    "SEALDROP_TEST_SMTP_URL",
    "SEALDROP_TEST_SMTP_CAPTURE_DIR",
];

const USAGE: &str = "\
USAGE
    cargo xtask services up [postgres] [garage] [smtp]

Starts the named services (all three when none is named) in temporary folders on free
ports, prints `export SEALDROP_TEST_...=...` lines, and waits. Ctrl-C stops them and
removes their folders. In another shell, paste the lines and run for example
    cargo test -p sealdrop-server
to run the server suite against Postgres + Garage (S3) + real SMTP.
";

pub fn main(args: &[String]) -> Result<()> {
    let (sub, names) = match args.split_first() {
        Some((sub, names)) => (sub.as_str(), names),
        None => ("--help", &[][..]),
    };
    if sub != "up" {
        print!("{USAGE}");
        if sub == "--help" || sub == "-h" || sub == "help" {
            return Ok(());
        }
        bail!("unknown `services` subcommand `{sub}`");
    }
    let all = names.is_empty();
    let wanted = |name: &str| all || names.iter().any(|n| n == name);
    if let Some(unknown) = names
        .iter()
        .find(|n| !["postgres", "garage", "smtp"].contains(&n.as_str()))
    {
        bail!("unknown service `{unknown}` (postgres, garage, smtp)");
    }
    let mut services = Services::default();
    if wanted("postgres") {
        services.postgres()?;
    }
    if wanted("garage") {
        services.garage()?;
    }
    if wanted("smtp") {
        services.smtp()?;
    }
    println!("\n# Services are up. Paste these lines into another shell:");
    for (key, value) in services.env() {
        println!("export {key}='{value}'");
    }
    println!("# Press Ctrl-C to stop them and remove their folders.");
    while !cleanup::interrupted() {
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Asks `child` to stop (SIGTERM), then kills it if it is still there after `grace`.
pub(crate) fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while start.elapsed() < grace {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A guard that removes `dir` when dropped or on interrupt (after the service stopped).
pub(crate) fn remove_dir_action(dir: std::path::PathBuf) -> impl FnOnce() + Send + 'static {
    move || {
        if let Err(err) = std::fs::remove_dir_all(&dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                eprintln!("xtask: warning: cannot remove {}: {err}", dir.display());
            }
        }
    }
}
