//! `sealdrop admin …`: operator tasks on the server's database and store.

use anyhow::Context;
use clap::Subcommand;
use sealdrop_crypto::PackageId;
use sealdrop_server::clock::rfc3339;
use sealdrop_server::tokens::{NewToken, TokenKind};
use sealdrop_server::AppState;

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

/// Runs one admin task against the server's database and store.
pub async fn run(state: &AppState, command: AdminCommand) -> anyhow::Result<()> {
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
            let report = sealdrop_server::purge::run_once(state).await?;
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
