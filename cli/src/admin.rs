//! `sealdrop admin …`: operator tasks on the server's database and store.

use anyhow::Context;
use clap::Subcommand;
use sealdrop_server::clock::rfc3339;
use sealdrop_server::{tenants, AppState};

/// `sealdrop admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tenants (accounts that create packages).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Purge now: the blobs of expired, revoked and downloaded-out packages, uploads left
    /// unfinalized for 24 hours, package rows and audit events past their retention
    /// (docs/DATA.md). `serve` also does this every --purge-interval-secs.
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
            let (tenant, token) = tenants::create(&state.db, &name, state.clock.now())
                .await
                .context("creating the tenant")?;
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
            let report = state.purge().await?;
            println!(
                "purged the blobs of {} expired, {} revoked, {} downloaded-out package(s) and {} abandoned upload(s); \
                 deleted {} package row(s) past their retention, {} audit event(s) past theirs, {} expired download token(s); {} failed",
                report.expired,
                report.revoked,
                report.downloaded_out,
                report.abandoned,
                report.rows_deleted,
                report.audit_events,
                report.download_tokens,
                report.failed
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
