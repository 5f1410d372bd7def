//! `sealdrop admin …`: operator tasks on the server's database and store.

use anyhow::Context;
use clap::Subcommand;
use sealdrop_server::clock::rfc3339;
use sealdrop_server::{deletion, tenants, AppState};

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
    /// Certificates of deletion (see `sealdrop admin tenant delete`).
    #[command(subcommand)]
    Certificate(CertificateCommand),
}

/// `sealdrop admin certificate …`
#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Check a certificate of deletion against this server's deletion key: exits 0 and prints
    /// what it certifies when it verifies, 1 with the reason when any byte was changed, it is
    /// forged, or it was signed by another server.
    Verify {
        /// The certificate file (`sealdrop admin tenant delete --certificate FILE`).
        file: std::path::PathBuf,
        /// Also write a readable HTML rendering of it here.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
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
    /// Delete a tenant with every row and stored object, and issue a signed certificate of
    /// deletion (printed, and written to --certificate).
    ///
    /// Counts what the tenant holds first, deletes every package (blobs, then rows), lists
    /// the store to prove each package's prefix empty, deletes the audit log, settings, API
    /// tokens and Zendesk rows, then signs the certificate with the server's Ed25519 key
    /// (public key at /.well-known/sealdrop-deletion-key). Interrupted, it finishes when run
    /// again; run again after it finished, it prints the same certificate.
    /// Example: sealdrop admin tenant delete 3kT0… --yes --certificate acme-deleted.json
    Delete {
        /// The tenant's id (`sealdrop admin tenant list`).
        id: String,
        /// Confirm: without it nothing is deleted.
        #[arg(long)]
        yes: bool,
        /// Write the certificate to this file.
        #[arg(long, value_name = "FILE")]
        certificate: Option<std::path::PathBuf>,
        /// Also write a readable HTML rendering of the certificate here.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
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
        AdminCommand::Tenant(TenantCommand::Delete {
            id,
            yes,
            certificate,
            html,
        }) => {
            if !yes {
                anyhow::bail!(
                    "this deletes tenant {id} with every package, stored object and audit event; \
                     run again with --yes to confirm"
                );
            }
            let mut last_shown = None;
            let text = deletion::delete_tenant(
                &state.db,
                state.storage.as_ref(),
                &state.deletion_key,
                state.config.public_url.as_str().trim_end_matches('/'),
                &id,
                || state.clock.now(),
                &mut |left| {
                    if last_shown.is_none_or(|shown: u64| shown >= left + 100 || left == 0) {
                        eprintln!("deleting: {left} package(s) left");
                        last_shown = Some(left);
                    }
                },
            )
            .await
            .with_context(|| format!("deleting tenant {id}"))?;
            let verified = deletion::verify(&text, &state.deletion_key.public_b64u())
                .context("checking the certificate just signed")?;
            if let Some(path) = &certificate {
                std::fs::write(path, format!("{text}\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(path) = &html {
                std::fs::write(
                    path,
                    deletion::to_html(&verified, &state.deletion_key.public_b64u()),
                )
                .with_context(|| format!("writing {}", path.display()))?;
            }
            eprintln!(
                "Deleted tenant {:?}: {} package(s), {} part(s), {} byte(s), {} audit event(s). Certificate:",
                verified.tenant_name,
                verified.deleted.packages,
                verified.deleted.parts,
                verified.deleted.bytes,
                verified.deleted.audit_events
            );
            println!("{text}");
            Ok(())
        }
        AdminCommand::Certificate(CertificateCommand::Verify { file, html }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let key = state.deletion_key.public_b64u();
            let certificate = deletion::verify(&text, &key)
                .with_context(|| format!("{} does not verify", file.display()))?;
            if let Some(path) = &html {
                std::fs::write(path, deletion::to_html(&certificate, &key))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            println!(
                "valid: tenant {:?} ({}) deleted by {} at {}: {} package(s), {} part(s), {} byte(s), {} audit event(s); {} store prefix(es) found empty",
                certificate.tenant_name,
                certificate.tenant_id,
                certificate.issuer,
                certificate.finished_at,
                certificate.deleted.packages,
                certificate.deleted.parts,
                certificate.deleted.bytes,
                certificate.deleted.audit_events,
                certificate.store_prefixes_found_empty.len()
            );
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
