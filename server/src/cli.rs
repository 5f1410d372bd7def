//! The `sealdrop` command line: `serve` and `admin …` (`send` and `get` come from
//! `sealdrop-client` once it has its CLI). `main.rs` only calls [`main`].

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sealdrop_crypto::PackageId;

use crate::app::{AppState, Application};
use crate::clock::{rfc3339, Clock};
use crate::config::ConfigArgs;
use crate::tokens::{NewToken, TokenKind};

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
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
    Send(sealdrop_client::cli::SendArgs),
    /// Download and decrypt the files behind a secure link.
    Get(sealdrop_client::cli::GetArgs),
}

/// `sealdrop admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tenants (accounts that create packages).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Purge now: expired and revoked packages, and uploads left unfinalized for 24 hours
    /// (rows and blobs). `serve` also does this every --purge-interval-secs.
    Purge,
}

/// `sealdrop admin tenant …`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its API token (`sdt_…`) on standard output.
    ///
    /// The token is shown once and stored only as a hash: keep it somewhere safe. Use it as
    /// `Authorization: Bearer sdt_…` (or `SEALDROP_TOKEN` for `sealdrop send`).
    /// Example: TOKEN=$(sealdrop admin tenant create "Example Support")
    Create {
        /// Display name; recipients see it as the sender.
        name: String,
    },
    /// List tenants.
    List,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Admin { env_file, .. } = &cli.command {
        // Before the runtime starts any thread: this sets environment variables.
        match crate::env_file::load_for_admin(env_file.as_deref()) {
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
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => {
            crate::telemetry::init("info,sqlx=warn,aws=warn,tower_http=info", config.log_format);
            let config = config.into_config()?;
            // Selected fields only: the database URL, SMTP URL and keys may hold secrets.
            tracing::info!(
                listen = %config.listen,
                public_url = %config.public_url,
                data_dir = %config.data_dir.display(),
                database = config.database_url.split(':').next().unwrap_or("?"),
                storage = match &config.storage {
                    crate::config::StorageConfig::Folder { .. } => "folder",
                    crate::config::StorageConfig::S3(_) => "s3",
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
            crate::telemetry::init("warn", config.log_format);
            let state = AppState::connect(config.into_config()?, Clock::default()).await?;
            let result = admin(&state, command).await;
            state.db.close().await;
            result
        }
        Command::Send(args) => sealdrop_client::cli::run_send(args).await,
        Command::Get(args) => sealdrop_client::cli::run_get(args).await,
    }
}

async fn admin(state: &AppState, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Tenant(TenantCommand::Create { name }) => {
            let name = name.trim();
            if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                anyhow::bail!("a tenant name must be 1 to 200 printable characters");
            }
            let mut id = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
            let id = PackageId::from_bytes(id).to_b64u(); // same 22-char b64u shape as package ids
            let token = NewToken::generate(TokenKind::Tenant);
            let now = state.clock.now();
            let tenant = state
                .db
                .create_tenant(&id, name, token.hash().as_bytes(), now)
                .await
                .context("creating the tenant")?
                .with_context(|| format!("a tenant named {name:?} already exists"))?;
            state
                .db
                .audit(&tenant.id, None, "tenant_created", None, now)
                .await?;
            eprintln!(
                "Created tenant {:?} (id {}). Its API token, shown only once:",
                tenant.name, tenant.id
            );
            println!("{}", token.text());
            Ok(())
        }
        AdminCommand::Tenant(TenantCommand::List) => {
            let tenants = state.db.tenants().await?;
            if tenants.is_empty() {
                eprintln!("No tenants yet: create one with `sealdrop admin tenant create NAME`.");
            }
            for t in tenants {
                println!("{}\t{}\t{}", t.id, rfc3339(t.created_at), t.name);
            }
            Ok(())
        }
        AdminCommand::Purge => {
            let report = crate::purge::run_once(state).await?;
            println!(
                "purged {} expired, {} revoked, {} abandoned package(s); {} expired download token(s); {} failed",
                report.expired, report.revoked, report.abandoned, report.download_tokens, report.failed
            );
            if report.failed > 0 {
                anyhow::bail!(
                    "{} package(s) could not be purged (see the log)",
                    report.failed
                );
            }
            Ok(())
        }
    }
}
