//! An SMTP server that accepts every message and writes it as an `.eml` file into a capture
//! folder (`scripts/smtp_capture.py`, aiosmtpd in a venv).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::cleanup::Guard;
use crate::proc::{self, free_port, repo_root, temp_dir};
use crate::setup;

#[derive(Debug)]
pub struct Smtp {
    pub port: u16,
    pub capture_dir: PathBuf,
    _guard: Guard,
}

impl Smtp {
    pub fn start() -> Result<Self> {
        let python = setup::smtp_python()?;
        let dir = temp_dir("smtp")?;
        let capture_dir = dir.join("mail");
        std::fs::create_dir_all(&capture_dir)?;
        let log = dir.join("smtp.log");
        let port = free_port()?;
        println!(
            "xtask: starting the SMTP capture server on 127.0.0.1:{port}, mail goes to {}",
            capture_dir.display()
        );
        let log_file = File::create(&log)?;
        let child = Command::new(python)
            .arg(repo_root().join("scripts/smtp_capture.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--dir"])
            .arg(&capture_dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            // Its own process group: a terminal Ctrl-C reaches xtask, which stops it cleanly.
            .process_group(0)
            .spawn()
            .context("starting scripts/smtp_capture.py")?;
        let guard = {
            let mut child = child;
            let remove = super::remove_dir_action(dir.clone());
            Guard::new("SMTP capture server", move || {
                super::stop_child(&mut child, Duration::from_secs(5));
                remove();
            })
        };
        if let Err(err) =
            proc::wait_for_port(port, Duration::from_secs(30), "the SMTP capture server")
        {
            anyhow::bail!("{err}\n--- {} ---\n{}", log.display(), proc::tail(&log, 30));
        }
        Ok(Self {
            port,
            capture_dir,
            _guard: guard,
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SEALDROP_TEST_SMTP_URL".into(), self.url()),
            (
                "SEALDROP_TEST_SMTP_CAPTURE_DIR".into(),
                self.capture_dir.display().to_string(),
            ),
        ]
    }
}
