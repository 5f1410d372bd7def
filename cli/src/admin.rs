//! `sealdrop admin …`: operator tasks on the server's database and store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use sealdrop_server::clock::rfc3339;
use sealdrop_server::data_requests::{self, Table};
use sealdrop_server::lifecycle::Outcome;
use sealdrop_server::{deletion, tenants, AppState};

/// `sealdrop admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tenants (accounts that create packages).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Data-subject requests: export or erase what one tenant holds about one email address.
    #[command(subcommand)]
    Subject(SubjectCommand),
    /// Purge now: the blobs of expired, revoked and downloaded-out packages, uploads left
    /// unfinalized for 24 hours, package rows and audit events past their retention
    /// (docs/DATA.md). `serve` also does this every --purge-interval-secs.
    Purge,
    /// The lifecycle of Zendesk tenants whose app was uninstalled (docs/OPERATIONS.md).
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// Certificates of deletion (see `sealdrop admin tenant delete`).
    #[command(subcommand)]
    Certificate(CertificateCommand),
}

/// `sealdrop admin lifecycle …`
#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Run the lifecycle check now, as `serve` does every --lifecycle-interval-secs.
    ///
    /// Asks Zendesk, through each Zendesk tenant's grant, whether its app installation still
    /// exists. A tenant whose app was uninstalled, or whose grant no longer works, is scheduled
    /// for deletion at max(first seen, last activity) + --uninstall-grace-days, and its admin
    /// is mailed; one that came back (reinstalled, authorized again) has its deletion
    /// cancelled; one whose date has come is deleted with a signed certificate, mailed to its
    /// admin. Prints one line per tenant that is not simply installed, then a summary; exits 1
    /// when some tenant could not be checked (Zendesk unreachable, say).
    Check,
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

/// How `sealdrop admin tenant export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document with every table.
    Json,
    /// One CSV file per table in a folder.
    Csv,
}

/// `sealdrop admin subject …`
#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Print, as JSON, everything a tenant holds about one email address.
    ///
    /// The tenant's packages that name the address as a recipient or as the sender's
    /// notification address, its verification code requests and recipient sessions (times
    /// and tries; never a code or a hash) and the audit events whose detail names it. Nothing
    /// of another tenant. The same as POST /api/v1/tenant/subjects/export.
    #[command(after_help = "Examples:
  sealdrop admin subject export 3kT0… alice@example.com
  sealdrop admin subject export 3kT0… alice@example.com --out alice.json")]
    Export {
        /// The tenant's id (`sealdrop admin tenant list`; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// The email address (case and surrounding spaces do not matter).
        email: String,
        /// Write the JSON to this file (readable by you only) instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase one email address from a tenant's data, keeping its audit log whole.
    ///
    /// In one transaction: deletes the address's recipient entries, verification code
    /// requests and recipient sessions in this tenant (it can no longer be sent a code for
    /// those packages), clears it where it was a package's notification address, replaces it
    /// in the audit log by a placeholder (`erased:` and 16 hex digits, the same every time for
    /// this address and tenant) and records `subject_erased` without the address. Another
    /// tenant's data is not touched. Prints what it changed, as JSON. Run `subject export`
    /// first if the person asked for a copy. The same as POST /api/v1/tenant/subjects/erase.
    #[command(after_help = "Examples:
  sealdrop admin subject export 3kT0… alice@example.com --out alice.json
  sealdrop admin subject erase 3kT0… alice@example.com --yes")]
    Erase {
        /// The tenant's id (`sealdrop admin tenant list`; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// The email address (case and surrounding spaces do not matter).
        email: String,
        /// Confirm: without it nothing is erased.
        #[arg(long)]
        yes: bool,
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
    /// Print the shared secret of a Zendesk account's sealdrop app (made on first use), for
    /// its Zendesk admin to paste into the app's secure setting `shared_secret`.
    ///
    /// The sidebar served from the app package signs in through Zendesk's proxy with a JWT
    /// made from this secret (docs/ZENDESK.md "Sidebar from the app package"). The account's
    /// tenant is made when it has none yet. `--rotate` makes a new one: every sidebar holding
    /// the old one fails at its next sign-in until the setting is updated.
    /// Example: sealdrop admin tenant app-secret acme
    AppSecret {
        /// The Zendesk subdomain (`acme` for acme.zendesk.com).
        subdomain: String,
        /// Replace the secret with a new one.
        #[arg(long)]
        rotate: bool,
    },
    /// Export a tenant: its settings, the metadata of its packages, its agents' device keys
    /// and its audit log.
    ///
    /// Package metadata is ids, state, creator, times, download counts, file counts,
    /// ciphertext sizes and recipients; never ciphertext, manifests, server secrets, link
    /// verifiers, token or code hashes, or the widget key. JSON is one document with every
    /// table (standard output, or --out FILE); CSV is one file per table in the folder --out
    /// names: settings.csv, packages.csv, recipients.csv, audit.csv, devices.csv. The files
    /// name people (recipient addresses, in the audit log too; agents' device labels): they
    /// are written readable by you only.
    /// The same as GET /api/v1/tenant/export.
    #[command(after_help = "Examples:
  sealdrop admin tenant export 3kT0… > acme-export.json
  sealdrop admin tenant export 3kT0… --out acme-export.json
  sealdrop admin tenant export 3kT0… --format csv --out acme-export/")]
    Export {
        /// The tenant's id (`sealdrop admin tenant list`; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
        id: String,
        /// `json`: one document; `csv`: one file per table.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// json: the file to write (default: standard output). csv: the folder to write the
        /// tables in (made if missing; required).
        #[arg(long, value_name = "FILE|DIR")]
        out: Option<PathBuf>,
    },
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
        /// The tenant's id (`sealdrop admin tenant list`; it may start with `-`).
        #[arg(allow_hyphen_values = true)]
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
        AdminCommand::Tenant(TenantCommand::AppSecret { subdomain, rotate }) => {
            let subdomain = sealdrop_server::zendesk::Subdomain::parse(&subdomain)
                .map_err(|_| anyhow::anyhow!("{subdomain:?} is not a Zendesk subdomain"))?;
            let (tenant_id, secret) = sealdrop_server::agents::make_app_secret_for(
                &state.db,
                &state.zendesk,
                &subdomain,
                rotate,
                state.clock.now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("making the app secret")?;
            eprintln!(
                "The sealdrop app secret of {subdomain}.zendesk.com (tenant {tenant_id}); paste it into the app's shared_secret setting:"
            );
            println!("{}", secret.expose());
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
        AdminCommand::Tenant(TenantCommand::Export { id, format, out }) => {
            let export = data_requests::tenant_export(
                &state.db,
                &state.config.limits,
                &id,
                state.clock.now(),
            )
            .await
            .with_context(|| format!("exporting tenant {id}"))?;
            match (format, out) {
                (ExportFormat::Json, out) => {
                    let text = serde_json::to_string_pretty(&export)?;
                    write_or_print(out.as_deref(), &text)?;
                }
                (ExportFormat::Csv, None) => anyhow::bail!(
                    "--format csv writes one file per table: name a folder with --out DIR"
                ),
                (ExportFormat::Csv, Some(dir)) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("making {}", dir.display()))?;
                    for table in Table::ALL {
                        let path = dir.join(format!("{}.csv", table.as_str()));
                        write_private(
                            &path,
                            &sealdrop_server::data_requests::export_csv(&export, table)?,
                        )?;
                        eprintln!("wrote {}", path.display());
                    }
                }
            }
            eprintln!(
                "Exported tenant {:?}: {} package(s), {} audit event(s).",
                export.tenant.name,
                export.packages.len(),
                export.audit_events.len()
            );
            Ok(())
        }
        AdminCommand::Subject(SubjectCommand::Export { id, email, out }) => {
            let export = data_requests::subject_export(
                &state.db,
                &state.verification_key,
                &id,
                &email,
                state.clock.now(),
            )
            .await
            .with_context(|| format!("exporting what tenant {id} holds about the address"))?;
            write_or_print(out.as_deref(), &serde_json::to_string_pretty(&export)?)
        }
        AdminCommand::Subject(SubjectCommand::Erase { id, email, yes }) => {
            if !yes {
                anyhow::bail!(
                    "this erases {email:?} from tenant {id} (recipient entries, codes, sessions; \
                     the audit log keeps a placeholder); run again with --yes to confirm"
                );
            }
            let erasure = data_requests::erase_subject(
                &state.db,
                &state.verification_key,
                &id,
                &email,
                "operator",
                state.clock.now(),
            )
            .await
            .with_context(|| format!("erasing the address from tenant {id}"))?;
            let c = &erasure;
            eprintln!(
                "Erased: {} recipient entr(ies), {} notification address(es), {} code request(s), \
                 {} recipient session(s); {} audit event(s) now say {}.",
                c.recipient_entries,
                c.notify_sender_cleared,
                c.verification_codes,
                c.recipient_sessions,
                c.audit_events_rewritten,
                erasure.placeholder
            );
            println!("{}", serde_json::to_string(&erasure)?);
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
        AdminCommand::Lifecycle(LifecycleCommand::Check) => {
            let report = state.lifecycle_check().await?;
            for t in &report.tenants {
                let line = match &t.outcome {
                    Outcome::Installed => continue,
                    Outcome::Cancelled => "installed again: scheduled deletion cancelled".into(),
                    Outcome::Unverifiable => "cannot see app installations (granted before \
                         sealdrop asked for apps:read): an admin should authorize sealdrop again"
                        .into(),
                    Outcome::Scheduled {
                        reason,
                        delete_at,
                        notified,
                    } => format!(
                        "{}: deletion scheduled for {}; admin {}",
                        reason.as_str(),
                        rfc3339(*delete_at),
                        told(*notified)
                    ),
                    Outcome::Pending {
                        reason,
                        delete_at,
                        notified,
                    } => format!(
                        "{}: deletion scheduled for {}; admin {}",
                        reason.as_str(),
                        rfc3339(*delete_at),
                        told(*notified)
                    ),
                    Outcome::WaitingForNotice { reason } => format!(
                        "{}: deletion due, waiting until its admin can be mailed",
                        reason.as_str()
                    ),
                    Outcome::Deleted { notified } => format!(
                        "deleted with a certificate (sealdrop admin tenant delete prints it again); admin {}",
                        told(*notified)
                    ),
                    Outcome::Failed(why) => format!("not checked: {why}"),
                };
                println!("{}\t{}\t{line}", t.tenant_id, t.tenant_name);
            }
            println!(
                "checked {} Zendesk tenant(s): {} scheduled, {} cancelled, {} deleted, {} failed",
                report.tenants.len(),
                report.count(|o| matches!(o, Outcome::Scheduled { .. })),
                report.count(|o| matches!(o, Outcome::Cancelled)),
                report.count(|o| matches!(o, Outcome::Deleted { .. })),
                report.failed()
            );
            if report.failed() > 0 {
                anyhow::bail!(
                    "{} tenant(s) could not be checked (see above)",
                    report.failed()
                );
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

/// How a notice went, for the lifecycle lines.
fn told(notified: bool) -> &'static str {
    if notified {
        "mailed"
    } else {
        "not mailed (no address known, or the mail failed)"
    }
}

/// Writes `text` (and a line end) to `out`, readable by the user only, or prints it.
fn write_or_print(out: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            write_private(path, format!("{text}\n").as_bytes())?;
            eprintln!("wrote {}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// Writes a file that names people: on Unix a file it makes is readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}
