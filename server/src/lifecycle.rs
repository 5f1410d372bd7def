//! The lifecycle of Zendesk tenants: an account that uninstalled the app, or whose grant no
//! longer works, is deleted after a grace period unless it comes back.
//!
//! [`run_once`] (every `--lifecycle-interval-secs` in `sealdrop serve`, daily by default, and
//! `sealdrop admin lifecycle check`) looks at every tenant that came from Zendesk and asks
//! Zendesk, through the tenant's grant, for its pinned installation
//! (`GET /api/v2/apps/installations/{id}`):
//!
//! - **Installed, grant working**: nothing to do; a scheduled deletion is cancelled
//!   (`deletion_cancelled`).
//! - **Uninstalled** (`404`): the installation is marked `uninstalled_at`, and the tenant's
//!   deletion is scheduled.
//! - **No working grant** (none was made, Zendesk answers `401`/`403`, or an admin must
//!   authorize again): nothing can confirm the app is still there, so the deletion is
//!   scheduled too.
//! - **The grant cannot read installations** (made before sealdrop asked for `apps:read`), or
//!   Zendesk could not be reached: nothing changes; the next run asks again.
//!
//! ## The rule
//!
//! A tenant is deleted once it has been unusable (uninstalled, or without a working grant)
//! **and** inactive for the grace period (`--uninstall-grace-days`, 30 by default), and its
//! admin has been told a grace period ahead:
//!
//! ```text
//! delete_at = max(detected_at, last_active_at) + grace
//! ```
//!
//! `detected_at` is when a check first saw the problem (so the admin always gets the whole
//! grace period after the mail), `last_active_at` the tenant's last verified sidebar sign-in
//! or package made by an agent or its API token (Help Center uploads and downloads by
//! recipients do not count: they are not the tenant using sealdrop). Activity while scheduled
//! pushes the date later, never earlier; the schedule keeps its first reason and detection
//! time for as long as the tenant stays unusable.
//!
//! When a deletion is scheduled, the admin who granted sealdrop's access (the address Zendesk
//! gave for them at the grant, `zendesk_grants.granted_by_email`) is mailed the date, the reason
//! and how to keep the account. A notice that could not be sent is tried again on every run,
//! and a deletion whose admin has an address but was not told yet waits for the notice. When
//! the date comes and the tenant is still unusable, the deletion runs as
//! `sealdrop admin tenant delete` does ([`crate::deletion`]: every row and stored object, a
//! signed certificate), and the admin is mailed that it is done, the certificate attached.
//!
//! Reinstalling the app within the grace period cancels the deletion: the first sidebar
//! sign-in from the new installation re-pins it ([`crate::agents::sign_in`]); so does a
//! working grant again (an admin authorizing once more), at the next check.
//!
//! Safe on many instances at once: scheduling, each notice and each deletion are claimed with
//! a conditional write, so one instance does each (a deletion claimed by an instance that died
//! is taken over after an hour).

use std::time::Duration;

use sealdrop_zendesk::Subdomain;

use crate::agents::{self, InstallationStatus, Zendesk};
use crate::db::{Database, DeletionReason, LifecycleTenant};
use crate::deletion::{self, DeletionKey};
use crate::mail::{DeletionScheduledNotice, Mailer};
use crate::storage::Storage;

/// After this long, a deletion started by another instance is taken to have died with it.
const DELETION_CLAIM_STALE_SECS: i64 = 3600;

/// What the check needs of the server.
#[derive(Debug, Clone, Copy)]
pub struct Services<'a> {
    /// The database.
    pub db: &'a Database,
    /// The Zendesk client and keys.
    pub zendesk: &'a Zendesk,
    /// The blob store (a deletion empties the tenant's prefixes).
    pub storage: &'a dyn Storage,
    /// Signs certificates of deletion.
    pub deletion_key: &'a DeletionKey,
    /// Sends the notices.
    pub mailer: &'a Mailer,
    /// The server's public URL without a trailing slash: the certificates' issuer.
    pub issuer: &'a str,
}

/// What the check did with one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The app is installed and the grant works: nothing to do.
    Installed,
    /// The app is installed and the grant works again: the scheduled deletion was cancelled.
    Cancelled,
    /// The grant may not read app installations (made before sealdrop asked for
    /// `apps:read`): nothing was concluded; an admin should authorize again.
    Unverifiable,
    /// The deletion was scheduled by this run.
    Scheduled {
        /// Why.
        reason: DeletionReason,
        /// When (Unix seconds).
        delete_at: i64,
        /// Whether the admin was mailed.
        notified: bool,
    },
    /// The deletion was scheduled before and is not due yet.
    Pending {
        /// Why.
        reason: DeletionReason,
        /// When (Unix seconds).
        delete_at: i64,
        /// Whether the admin was mailed.
        notified: bool,
    },
    /// Due, but the admin has an address and was not told yet: kept until a notice goes out.
    WaitingForNotice {
        /// Why.
        reason: DeletionReason,
    },
    /// Due, and deleted.
    Deleted {
        /// Whether the admin was mailed that it is done.
        notified: bool,
    },
    /// Zendesk could not be asked, or the tenant could not be handled; tried again next run.
    Failed(String),
}

/// One tenant's line in the report.
#[derive(Debug, Clone)]
pub struct TenantOutcome {
    /// The tenant.
    pub tenant_id: String,
    /// Its name.
    pub tenant_name: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What one run did, tenant by tenant.
#[derive(Debug, Clone, Default)]
pub struct LifecycleReport {
    /// Every Zendesk tenant looked at, oldest first.
    pub tenants: Vec<TenantOutcome>,
}

impl LifecycleReport {
    /// How many tenants had an outcome `matches` accepts.
    pub fn count(&self, matches: impl Fn(&Outcome) -> bool) -> usize {
        self.tenants.iter().filter(|t| matches(&t.outcome)).count()
    }

    /// Tenants that could not be handled.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }
}

/// Runs the check once over every Zendesk tenant. A tenant that fails is reported and the run
/// goes on; only reading the list of tenants fails the run.
pub async fn run_once(
    services: &Services<'_>,
    grace: Duration,
    now: impl Fn() -> i64 + Copy,
) -> anyhow::Result<LifecycleReport> {
    let grace = i64::try_from(grace.as_secs()).unwrap_or(i64::MAX);
    let mut report = LifecycleReport::default();
    for tenant in services.db.lifecycle_tenants().await? {
        let outcome = check_tenant(services, &tenant, grace, now)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(tenant = %tenant.id, error = %format!("{e:#}"), "lifecycle check failed for a tenant; next run tries again");
                Outcome::Failed(format!("{e:#}"))
            });
        report.tenants.push(TenantOutcome {
            tenant_id: tenant.id,
            tenant_name: tenant.name,
            outcome,
        });
    }
    let acted = report.count(|o| !matches!(o, Outcome::Installed));
    if acted > 0 {
        tracing::info!(
            tenants = report.tenants.len(),
            scheduled = report.count(|o| matches!(o, Outcome::Scheduled { .. })),
            cancelled = report.count(|o| matches!(o, Outcome::Cancelled)),
            deleted = report.count(|o| matches!(o, Outcome::Deleted { .. })),
            failed = report.failed(),
            "lifecycle check finished"
        );
    }
    Ok(report)
}

async fn check_tenant(
    s: &Services<'_>,
    tenant: &LifecycleTenant,
    grace: i64,
    now: impl Fn() -> i64 + Copy,
) -> anyhow::Result<Outcome> {
    let subdomain = Subdomain::parse(&tenant.subdomain)
        .map_err(|_| anyhow::anyhow!("{:?} is not a Zendesk subdomain", tenant.subdomain))?;
    let Some(installation) = s.db.installation(&tenant.id).await? else {
        return Ok(Outcome::Failed("no installation is recorded".into()));
    };
    let started = now();
    let status = match agents::installation_status(
        s.db,
        s.zendesk,
        &tenant.id,
        &subdomain,
        installation.installation_id,
        started,
    )
    .await
    {
        Ok(status) => status,
        Err(e) => return Ok(Outcome::Failed(format!("asking Zendesk: {e}"))),
    };
    if status != InstallationStatus::NoGrant {
        fill_in_admin_email(s, &tenant.id, &subdomain, started).await;
    }
    let (reason, detected_at) = match status {
        InstallationStatus::Installed => {
            let scheduled = tenant.schedule.is_some() || installation.uninstalled_at.is_some();
            return Ok(
                if scheduled && s.db.cancel_scheduled_deletion(&tenant.id, started).await? {
                    tracing::info!(tenant = %tenant.id, "app installed and grant working: scheduled deletion cancelled");
                    Outcome::Cancelled
                } else {
                    Outcome::Installed
                },
            );
        }
        InstallationStatus::NoAppsScope => {
            tracing::warn!(tenant = %tenant.id, %subdomain, "the grant may not read app installations (granted before apps:read); an admin should authorize sealdrop again");
            return Ok(Outcome::Unverifiable);
        }
        InstallationStatus::Uninstalled => {
            s.db.mark_uninstalled(&tenant.id, installation.installation_id, started)
                .await?;
            (
                DeletionReason::Uninstalled,
                installation.uninstalled_at.unwrap_or(started),
            )
        }
        InstallationStatus::NoGrant => (DeletionReason::NoGrant, started),
    };

    // Once scheduled, the schedule keeps its reason and detection time while the tenant stays
    // unusable; only its date moves, later, with activity.
    let (reason, detected_at) = tenant
        .schedule
        .as_ref()
        .map_or((reason, detected_at), |s| (s.reason, s.detected_at));
    let delete_at = detected_at.max(tenant.last_active_at).saturating_add(grace);
    let newly = match &tenant.schedule {
        None => {
            let newly =
                s.db.schedule_deletion(&tenant.id, reason, detected_at, delete_at, started)
                    .await?;
            if newly {
                tracing::info!(tenant = %tenant.id, reason = reason.as_str(), delete_at = %crate::clock::rfc3339(delete_at), "tenant deletion scheduled");
            }
            newly
        }
        Some(existing) => {
            if existing.delete_at != delete_at {
                s.db.reschedule_deletion(&tenant.id, delete_at).await?;
            }
            false
        }
    };
    let admin_email =
        s.db.grant_admin(&tenant.id)
            .await?
            .and_then(|(_, email)| email);
    let already_told = tenant
        .schedule
        .as_ref()
        .is_some_and(|s| s.notified_at.is_some());
    let notified = already_told
        || match &admin_email {
            Some(to) => {
                notify_scheduled(s, &tenant.id, to, &subdomain, reason, delete_at, started).await?
            }
            None => false,
        };
    if now() < delete_at {
        return Ok(if newly {
            Outcome::Scheduled {
                reason,
                delete_at,
                notified,
            }
        } else {
            Outcome::Pending {
                reason,
                delete_at,
                notified,
            }
        });
    }
    if admin_email.is_some() && !notified {
        tracing::warn!(tenant = %tenant.id, "deletion due but its admin was not told yet; waiting for the notice to go out");
        return Ok(Outcome::WaitingForNotice { reason });
    }
    let at = now();
    if !s
        .db
        .claim_scheduled_deletion(&tenant.id, at, at - DELETION_CLAIM_STALE_SECS)
        .await?
    {
        // Another instance is deleting it right now.
        return Ok(Outcome::Pending {
            reason,
            delete_at,
            notified,
        });
    }
    let text = deletion::delete_tenant(
        s.db,
        s.storage,
        s.deletion_key,
        s.issuer,
        &tenant.id,
        now,
        &mut |_| {},
    )
    .await?;
    let key = s.deletion_key.public_b64u();
    let certificate = deletion::verify(&text, &key)
        .map_err(|e| anyhow::anyhow!("the certificate just signed does not verify: {e}"))?;
    tracing::info!(tenant = %tenant.id, %subdomain, reason = reason.as_str(), "scheduled tenant deletion done");
    let notified = match &admin_email {
        Some(to) => {
            let key_url = format!("{}{}", s.issuer, deletion::WELL_KNOWN_PATH);
            let host = format!("{subdomain}.zendesk.com");
            match s
                .mailer
                .deletion_done(to, &host, &certificate, &text, &key_url)
                .await
            {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(tenant = %tenant.id, error = %format!("{e:#}"), "could not mail the admin that the deletion is done");
                    false
                }
            }
        }
        None => false,
    };
    Ok(Outcome::Deleted { notified })
}

/// Mails the admin about the scheduled deletion, unless another run already did (or is doing
/// it). `true` when the admin has been told.
async fn notify_scheduled(
    s: &Services<'_>,
    tenant_id: &str,
    to: &str,
    subdomain: &Subdomain,
    reason: DeletionReason,
    delete_at: i64,
    now: i64,
) -> anyhow::Result<bool> {
    if !s.db.claim_deletion_notice(tenant_id, now).await? {
        return Ok(true);
    }
    let host = format!("{subdomain}.zendesk.com");
    let notice = DeletionScheduledNotice {
        zendesk_host: &host,
        reason,
        delete_at,
    };
    match s.mailer.deletion_scheduled(to, &notice).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(tenant = %tenant_id, error = %format!("{e:#}"), "could not mail the admin about the scheduled deletion; next run tries again");
            s.db.release_deletion_notice(tenant_id).await?;
            Ok(false)
        }
    }
}

/// Grants made before the admin's email was kept have none: ask Zendesk while the grant works.
async fn fill_in_admin_email(s: &Services<'_>, tenant_id: &str, subdomain: &Subdomain, now: i64) {
    let admin = match s.db.grant_admin(tenant_id).await {
        Ok(Some((admin, None))) => admin,
        _ => return,
    };
    match agents::granting_admin_email(s.db, s.zendesk, tenant_id, subdomain, admin, now).await {
        Ok(Some(email)) => {
            if let Err(e) = s.db.set_grant_admin_email(tenant_id, &email).await {
                tracing::warn!(tenant = %tenant_id, error = %e, "could not record the admin's email");
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(tenant = %tenant_id, error = %e, "could not read the granting admin's email")
        }
    }
}
