//! A single-node Garage (S3-compatible store) in a temporary folder on free ports, with one
//! bucket and one key allowed to read, write and own it.
//!
//! Written against Garage 2.x's CLI (`layout assign -z -c`, `layout apply --version`,
//! `key create`, `bucket allow --read --write --owner`).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::cleanup::Guard;
use crate::proc::{self, free_port, random_hex, temp_dir};
use crate::setup;

const REGION: &str = "garage";
const BUCKET: &str = "sealdrop-test";
const KEY_NAME: &str = "sealdrop-test";

#[derive(Debug)]
pub struct Garage {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    secret_access_key: String,
    s3_port: u16,
    cli: GarageCli,
    _guard: Guard,
}

impl Garage {
    pub fn start() -> Result<Self> {
        let bin = setup::garage()?;
        let dir = temp_dir("garage")?;
        let config = dir.join("garage.toml");
        let log = dir.join("garage.log");
        let rpc_port = free_port()?;
        let s3_port = free_port()?;
        let admin_port = free_port()?;
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:{rpc_port}"
rpc_public_addr = "127.0.0.1:{rpc_port}"
rpc_secret = "{rpc_secret}"

[s3_api]
s3_region = "{REGION}"
api_bind_addr = "127.0.0.1:{s3_port}"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:{admin_port}"
"#,
                meta = dir.join("meta").display(),
                data = dir.join("data").display(),
                rpc_secret = random_hex(32)?,
            ),
        )?;
        println!(
            "xtask: starting Garage (S3) on 127.0.0.1:{s3_port} in {}",
            dir.display()
        );
        let child = spawn_server(&bin, &config, &log)?;
        let child = Arc::new(Mutex::new(child));
        let guard = {
            let child = child.clone();
            let remove = super::remove_dir_action(dir.clone());
            Guard::new("Garage", move || {
                if let Ok(mut child) = child.lock() {
                    super::stop_child(&mut child, Duration::from_secs(10));
                }
                remove();
            })
        };
        let cli = GarageCli {
            bin,
            config,
            log: log.clone(),
            child,
        };
        let (access_key_id, secret_access_key) = cli
            .configure()
            .with_context(|| format!("setting up Garage (its log: {})", log.display()))?;
        proc::wait_for_port(s3_port, Duration::from_secs(30), "Garage's S3 API")?;
        Ok(Self {
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            bucket: BUCKET.into(),
            region: REGION.into(),
            access_key_id,
            secret_access_key,
            s3_port,
            cli,
            _guard: guard,
        })
    }

    /// Stops the server (SIGTERM, then SIGKILL), keeps it down for `down`, and starts it
    /// again on the same folder and ports: the bucket, the key and every object remain.
    pub fn restart(&self, down: Duration) -> Result<()> {
        let mut child = self
            .cli
            .child
            .lock()
            .map_err(|_| anyhow::anyhow!("Garage's process lock is poisoned"))?;
        super::stop_child(&mut child, Duration::from_secs(10));
        std::thread::sleep(down);
        *child = spawn_server(&self.cli.bin, &self.cli.config, &self.cli.log)?;
        drop(child);
        proc::wait_for_port(self.s3_port, Duration::from_secs(30), "Garage's S3 API")
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SEALDROP_TEST_S3_ENDPOINT".into(), self.endpoint.clone()),
            ("SEALDROP_TEST_S3_BUCKET".into(), self.bucket.clone()),
            ("SEALDROP_TEST_S3_REGION".into(), self.region.clone()),
            (
                "SEALDROP_TEST_S3_ACCESS_KEY_ID".into(),
                self.access_key_id.clone(),
            ),
            (
                "SEALDROP_TEST_S3_SECRET_ACCESS_KEY".into(),
                self.secret_access_key.clone(),
            ),
        ]
    }
}

/// `garage server`, its output appended to `log`.
fn spawn_server(bin: &PathBuf, config: &PathBuf, log: &PathBuf) -> Result<Child> {
    let log_file = File::options().create(true).append(true).open(log)?;
    Command::new(bin)
        .arg("-c")
        .arg(config)
        .arg("server")
        .env("RUST_LOG", "garage=warn")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

#[derive(Debug)]
struct GarageCli {
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    child: Arc<Mutex<Child>>,
}

impl GarageCli {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-c").arg(&self.config).args(args);
        cmd.env("RUST_LOG", "garage=warn");
        cmd
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        proc::output(&mut self.command(args))
    }

    fn server_died(&self) -> Option<String> {
        let mut child = self.child.lock().ok()?;
        let status = child.try_wait().ok()??;
        Some(format!(
            "the Garage server exited ({status}):\n{}",
            proc::tail(&self.log, 30)
        ))
    }

    /// Lays out the single node, creates the key and the bucket; returns the key's id and secret.
    fn configure(&self) -> Result<(String, String)> {
        let node_id = self.wait_for_node_id()?;
        // `node id` reads the key from disk, so it can answer before the RPC port listens:
        // the first command that needs RPC waits for it.
        self.run_once_rpc_answers(&["layout", "assign", "-z", "dc1", "-c", "1G", &node_id])?;
        self.run(&["layout", "apply", "--version", "1"])?;
        self.wait_until_healthy()?;
        let created = self.run(&["key", "create", KEY_NAME])?;
        let access_key_id =
            field(&created, "Key ID").context("`garage key create` printed no `Key ID:` line")?;
        let secret = field(&created, "Secret key")
            .context("`garage key create` printed no `Secret key:` line")?;
        self.run(&["bucket", "create", BUCKET])?;
        self.run(&[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_NAME,
        ])?;
        Ok((access_key_id, secret))
    }

    /// Runs a command that needs Garage's RPC, retrying for up to 30 s while the server is
    /// still starting (connection refused).
    fn run_once_rpc_answers(&self, args: &[&str]) -> Result<String> {
        let start = Instant::now();
        loop {
            match self.run(args) {
                Ok(out) => return Ok(out),
                Err(err) => {
                    if let Some(died) = self.server_died() {
                        bail!(died);
                    }
                    let starting = format!("{err:#}").contains("Connection refused");
                    if !starting || start.elapsed() > Duration::from_secs(30) {
                        return Err(err);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_for_node_id(&self) -> Result<String> {
        let start = Instant::now();
        loop {
            if let Some(died) = self.server_died() {
                bail!(died);
            }
            // Prints "<hex id>@127.0.0.1:<port>".
            match self.run(&["node", "id", "-q"]) {
                Ok(out) => {
                    if let Some(id) = out.trim().split('@').next().filter(|id| !id.is_empty()) {
                        return Ok(id.to_string());
                    }
                }
                Err(err) if start.elapsed() > Duration::from_secs(30) => {
                    return Err(err.context("Garage did not answer on its RPC port within 30 s"))
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// After the first layout is applied, tables take a moment to become writable.
    fn wait_until_healthy(&self) -> Result<()> {
        let start = Instant::now();
        loop {
            let out = self.run(&["status"]).unwrap_or_default();
            if !out.contains("NO ROLE ASSIGNED") && out.contains("HEALTHY NODES") {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("Garage's layout did not settle within 30 s:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The value of a `Name: value` line in Garage's CLI output.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| value.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_fields_are_read_from_cli_output() {
        let out = "==== ACCESS KEY INFORMATION ====\nKey ID:              GK3515373e4c851ebaad366558\nKey name:            sealdrop-test\nSecret key:          7d37d0\n";
        assert_eq!(
            field(out, "Key ID").as_deref(),
            Some("GK3515373e4c851ebaad366558")
        );
        assert_eq!(field(out, "Secret key").as_deref(), Some("7d37d0"));
    }
}
