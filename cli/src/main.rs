//! The `sealdrop` command: `serve` and `admin …` over the server library
//! (`sealdrop-server`), `send` and `get` over the client library (`sealdrop-client`).
//! Everything the command does lives in those libraries; this crate parses the command line
//! and prints.
#![forbid(unsafe_code)]

mod admin;
mod env_file;
mod transfer;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealdrop_server::clock::Clock;
use sealdrop_server::config::{ConfigArgs, StorageConfig};
use sealdrop_server::{AppState, Application};

use crate::admin::AdminCommand;

/// sealdrop: end-to-end encrypted file transfer for Zendesk.
///
/// Files are encrypted on the sender's machine; this server only ever stores ciphertext and
/// hands out what a recipient needs once they prove they hold the secure link.
///
/// Quick start on one machine (SQLite and a local folder in ./sealdrop-data):
///
///   sealdrop admin tenant create "Example Support"   # prints an API token (sdt_…)
///   sealdrop serve                                     # http://127.0.0.1:8080
///
/// Every setting is a flag or an environment variable (shown in `sealdrop serve --help`);
/// `admin` reads the same settings as `serve`, so run both with the same environment. On a
/// machine where the Debian package is installed, `admin` also reads the service's settings
/// file, /etc/sealdrop/sealdrop.env (see `sealdrop admin --help`).
#[derive(Debug, Parser)]
#[command(
    name = "sealdrop",
    version,
    about,
    long_about,
    // Keeps the quick start's two commands on their own lines (clap joins a paragraph's lines).
    verbatim_doc_comment,
    propagate_version = true
)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (API, recipient pages, purge task) until SIGINT/SIGTERM.
    ///
    /// Applies database migrations at start-up. On SIGTERM it stops accepting connections
    /// and lets in-flight requests finish (up to --shutdown-timeout-secs).
    Serve {
        /// Server settings.
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Operator tasks on the server's database and store (same settings as `serve`).
    ///
    /// Reads the settings file of the installed service first, so that `admin` reaches the
    /// same database and store: /etc/sealdrop/sealdrop.env when it exists, or --env-file.
    /// Variables already in the environment, and flags, win over the file.
    Admin {
        /// Settings file to read (`KEY=value` lines, as systemd's `EnvironmentFile=`).
        /// Default: /etc/sealdrop/sealdrop.env when it exists; /dev/null reads none.
        #[arg(long, global = true, env = "SEALDROP_ENV_FILE", value_name = "PATH")]
        env_file: Option<std::path::PathBuf>,
        /// Server settings.
        #[command(flatten)]
        config: ConfigArgs,
        /// The task.
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Encrypt files here, upload them, and print a secure link (needs SEALDROP_URL and
    /// SEALDROP_TOKEN, or --server and --token).
    Send(transfer::SendArgs),
    /// Download and decrypt the files behind a secure link.
    Get(transfer::GetArgs),
}

/// Runs the command line; returns the process exit code.
fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Admin { env_file, .. } = &cli.command {
        // Before the runtime starts any thread: this sets environment variables.
        match env_file::load_for_admin(env_file.as_deref()) {
            // Parse again: clap reads the environment while parsing.
            Ok(true) => cli = Cli::parse(),
            Ok(false) => {}
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line.
async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            sealdrop_server::telemetry::init(
                "info,sqlx=warn,aws=warn,tower_http=info",
                config.log_format,
            );
            let config = config.into_config()?;
            // Selected fields only: the database URL, SMTP URL and keys may hold secrets.
            tracing::info!(
                listen = %config.listen,
                public_url = %config.public_url,
                data_dir = %config.data_dir.display(),
                database = config.database_url.split(':').next().unwrap_or("?"),
                storage = match &config.storage {
                    StorageConfig::Folder { .. } => "folder",
                    StorageConfig::S3(_) => "s3",
                },
                "starting"
            );
            let app = Application::build(config).await?;
            tracing::info!(address = %app.local_addr()?, "listening");
            app.run_until_stopped().await
        }
        Command::Admin {
            config, command, ..
        } => {
            sealdrop_server::telemetry::init("warn", config.log_format);
            let state = AppState::connect(config.into_config()?, Clock::default()).await?;
            let result = admin::run(&state, command).await;
            state.db.close().await;
            result
        }
        Command::Send(args) => transfer::run_send(args).await,
        Command::Get(args) => transfer::run_get(args).await,
    }
}
