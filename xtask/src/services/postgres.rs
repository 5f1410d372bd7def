//! A throwaway PostgreSQL cluster: `initdb` + `pg_ctl` in a temporary folder, on a free port,
//! trust authentication on 127.0.0.1 only, no system service.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cleanup::Guard;
use crate::proc::{self, free_port, temp_dir};
use crate::setup;

#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    pg: PgTool,
    data: PathBuf,
    log: PathBuf,
    options: String,
    _guard: Guard,
}

impl Postgres {
    pub fn start() -> Result<Self> {
        let bin = setup::postgres_bin()?;
        let dir = temp_dir("postgres")?;
        let data = dir.join("data");
        let log = dir.join("postgres.log");
        // initdb refuses to run as root; run the server as the `postgres` system user then.
        let run_as = if proc::is_root() {
            if proc::output(Command::new("id").args(["-u", "postgres"])).is_err() {
                bail!("running as root, but there is no `postgres` user to run PostgreSQL as (the Debian postgresql package creates it)");
            }
            proc::output(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
            )?;
            Some("postgres")
        } else {
            None
        };
        let pg = PgTool {
            bin,
            run_as,
            cwd: dir.clone(),
        };
        let port = free_port()?;
        println!(
            "xtask: starting PostgreSQL on 127.0.0.1:{port} in {}",
            dir.display()
        );

        // Register the clean-up before anything can fail half-way.
        let stop = {
            let pg = pg.clone();
            let data = data.clone();
            let remove = super::remove_dir_action(dir.clone());
            move || {
                if data.join("postmaster.pid").exists() {
                    let _ = pg
                        .command("pg_ctl")
                        .arg("-D")
                        .arg(&data)
                        .args(["-m", "immediate", "-w", "stop"])
                        .output();
                }
                remove();
            }
        };
        let guard = Guard::new("PostgreSQL", stop);

        proc::output(pg.command("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .context("initdb")?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.display()
        );
        let postgres = Self {
            port,
            pg,
            data,
            log,
            options,
            _guard: guard,
        };
        postgres.pg_ctl_start()?;
        Ok(postgres)
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let started = proc::output(
            self.pg
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "60", "-o", &self.options, "start"]),
        );
        if let Err(err) = started {
            bail!(
                "{err:#}\n--- {} ---\n{}",
                self.log.display(),
                proc::tail(&self.log, 30)
            );
        }
        proc::wait_for_port(self.port, Duration::from_secs(30), "PostgreSQL")
    }

    /// Stops the server the hard way (`pg_ctl -m immediate`: every connection cut, as in a
    /// crash or a failover), keeps it down for `down`, and starts it again on the same data.
    pub fn restart(&self, down: Duration) -> Result<()> {
        proc::output(self.pg.command("pg_ctl").arg("-D").arg(&self.data).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
        .context("pg_ctl stop")?;
        std::thread::sleep(down);
        self.pg_ctl_start()
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SEALDROP_TEST_DATABASE_URL".into(), self.url())]
    }
}

/// Runs PostgreSQL's tools from `bin`, as `run_as` when set.
#[derive(Debug, Clone)]
struct PgTool {
    bin: PathBuf,
    run_as: Option<&'static str>,
    cwd: PathBuf,
}

impl PgTool {
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(&program);
                cmd
            }
            None => Command::new(&program),
        };
        // A folder the postgres user may enter (it cannot enter /root).
        cmd.current_dir(existing(&self.cwd));
        cmd
    }
}

fn existing(dir: &Path) -> PathBuf {
    if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
