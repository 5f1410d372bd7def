//! Data requests: what a tenant takes away with it, and what it holds about one person.
//!
//! - [`tenant_export`]: the tenant's settings, the metadata of every package (ids, state,
//!   times, sizes, file counts, recipients), its agents' device keys (user, label,
//!   fingerprint, status; not the key) and its whole audit log, as JSON
//!   ([`TenantExport`]) or as one CSV per table ([`Table`], [`export_csv`]).
//! - [`subject_export`]: for one email address within one tenant, everything stored about it:
//!   the packages naming it as a recipient or as the sender's notification address, its code
//!   requests and recipient sessions (times and tries, never a hash), and the audit events
//!   whose detail names it ([`SubjectExport`]).
//! - [`erase_subject`]: deletes those recipient entries, code requests and sessions, clears the
//!   notification address, and replaces the address in the audit events by a stable
//!   placeholder, `erased:` and 16 hex digits of
//!   [`VerificationKey::erased_subject`](crate::verification::VerificationKey::erased_subject),
//!   all in one transaction that also appends `subject_erased` (counts and the placeholder,
//!   never the address). Events keep their order, kinds and packages: the log stays whole,
//!   the person is no longer in it.
//!
//! **Never exported:** ciphertext and manifests, the server secrets `S`, link verifiers,
//! token hashes, code and address HMACs, the widget key, Zendesk grants. The queries behind
//! an export do not select those columns (`db::data_requests`).
//!
//! Not covered: the hourly rate counters (`rate_counters`) hold only HMACs of an address and
//! are gone within two hours; erasing them would let anyone reset the caps on codes, so they
//! stay. The mail outbox folder of a server without SMTP (`<data-dir>/outbox`, a development
//! set-up) is outside the database and is not searched.

mod csv;

use std::collections::HashMap;

use serde_json::{json, Value};

pub use sealdrop_api::audit::AuditRecord;
pub use sealdrop_api::data_requests::{
    CodeRequestRecord, DeviceRecord, Erasure, PackageRecord, RecipientSessionRecord, SubjectExport,
    SubjectPackageRecord, TenantExport, TenantRecord, SUBJECT_EXPORT_KIND, TENANT_EXPORT_KIND,
};
use sealdrop_api::data_requests::{CreatedBy, StoredState};
use sealdrop_crypto::{Fingerprint, X25519Recipient};

pub use self::csv::{audit_csv, export_csv, Table};
use crate::clock::rfc3339;
use crate::config::Limits;
use crate::db::data_requests::{ErasedCounts, PackageMetadata, Subject, SubjectPackage};
use crate::db::{AuditEvent, Database, PackageState};
use crate::internal::{internal_failures, Internal};
use crate::settings;
use crate::verification::{EmailAddress, VerificationKey};

/// Why a data request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DataRequestError {
    /// No tenant with this id.
    #[error("no tenant with id {0:?}")]
    UnknownTenant(String),
    /// The address is not a plausible email address.
    #[error("That is not a valid email address.")]
    InvalidEmail,
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(DataRequestError);

impl From<&AuditEvent> for AuditRecord {
    fn from(e: &AuditEvent) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.created_at),
            event: e.event.clone(),
            package: e.package_id.clone(),
            detail: e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }
}

fn stored_state(state: PackageState) -> StoredState {
    match state {
        PackageState::Uploading => StoredState::Uploading,
        PackageState::Ready => StoredState::Ready,
        PackageState::Revoked => StoredState::Revoked,
    }
}

fn package_record(p: PackageMetadata, recipients: Vec<String>) -> Result<PackageRecord, Internal> {
    let created_by = CreatedBy::parse(&p.created_by).ok_or_else(|| {
        Internal::from(anyhow::anyhow!(
            "package {} has an unknown creator {:?}",
            p.id,
            p.created_by
        ))
    })?;
    Ok(PackageRecord {
        id: p.id,
        state: stored_state(p.state),
        created_by,
        created_by_user: p.created_by_user,
        ticket_id: p.ticket_id,
        require_auth: p.require_auth,
        notify_sender: p.notify_sender,
        created_at: rfc3339(p.created_at),
        finalized_at: p.finalized_at.map(rfc3339),
        expires_at: rfc3339(p.expires_at),
        revoked_at: p.revoked_at.map(rfc3339),
        purged_at: p.purged_at.map(rfc3339),
        max_downloads: p.max_downloads,
        downloads_used: p.downloads_used,
        files: p.files,
        ciphertext_bytes: p.ciphertext_bytes,
        recipients,
    })
}

async fn tenant_record(db: &Database, tenant_id: &str) -> Result<TenantRecord, DataRequestError> {
    let tenant = db
        .tenant(tenant_id)
        .await?
        .ok_or_else(|| DataRequestError::UnknownTenant(tenant_id.to_owned()))?;
    Ok(TenantRecord {
        id: tenant.id,
        name: tenant.name,
        zendesk_subdomain: db.subdomain_of(tenant_id).await?.map(|s| s.to_string()),
        created_at: rfc3339(tenant.created_at),
    })
}

/// The export of tenant `tenant_id`.
pub async fn tenant_export(
    db: &Database,
    limits: &Limits,
    tenant_id: &str,
    now: i64,
) -> Result<TenantExport, DataRequestError> {
    let tenant = tenant_record(db, tenant_id).await?;
    // Without the widget key: public by design, but a credential of the widget, not part of
    // what is taken away.
    let settings = settings::load_or_create(db, tenant_id, now)
        .await?
        .values(limits);
    let mut recipients: HashMap<String, Vec<String>> = HashMap::new();
    for (package, email) in db.tenant_recipients(tenant_id).await? {
        recipients.entry(package).or_default().push(email);
    }
    let packages = db
        .package_metadata(tenant_id)
        .await?
        .into_iter()
        .map(|p| {
            let of_package = recipients.remove(&p.id).unwrap_or_default();
            package_record(p, of_package)
        })
        .collect::<Result<_, _>>()?;
    let devices = db
        .team_devices(tenant_id, None)
        .await?
        .iter()
        .map(|d| DeviceRecord {
            user_id: d.user_id.to_string(),
            label: d.label.clone(),
            fingerprint: Fingerprint::of_device(
                d.user_id,
                &X25519Recipient::from_bytes(d.device_key),
            )
            .to_display(),
            status: d.status,
            registered_at: rfc3339(d.created_at),
            removed_at: d.removed_at.map(rfc3339),
        })
        .collect();
    let audit_events = db
        .all_audit_events(tenant_id)
        .await?
        .iter()
        .map(AuditRecord::from)
        .collect();
    Ok(TenantExport {
        kind: TENANT_EXPORT_KIND.to_owned(),
        exported_at: rfc3339(now),
        tenant,
        settings,
        packages,
        devices,
        audit_events,
    })
}

impl From<SubjectPackage> for SubjectPackageRecord {
    fn from(p: SubjectPackage) -> Self {
        Self {
            package: p.id,
            state: stored_state(p.state),
            created_at: rfc3339(p.created_at),
            expires_at: rfc3339(p.expires_at),
        }
    }
}

/// Whether `text` is the address `email` (normalised), whatever its case.
fn is_address(text: &str, email: &EmailAddress) -> bool {
    text.trim().eq_ignore_ascii_case(email.as_str())
}

/// Whether any string in `value` is the address.
fn names(value: &Value, email: &EmailAddress) -> bool {
    match value {
        Value::String(s) => is_address(s, email),
        Value::Array(items) => items.iter().any(|v| names(v, email)),
        Value::Object(fields) => fields.values().any(|v| names(v, email)),
        _ => false,
    }
}

/// Replaces every string in `value` that is the address by `placeholder`.
fn replace(value: &mut Value, email: &EmailAddress, placeholder: &str) {
    match value {
        Value::String(s) if is_address(s, email) => *s = placeholder.to_owned(),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| replace(v, email, placeholder)),
        Value::Object(fields) => fields
            .values_mut()
            .for_each(|v| replace(v, email, placeholder)),
        _ => {}
    }
}

/// The address as JSON writes it, which is how an audit detail holding it contains it.
fn json_needle(email: &EmailAddress) -> String {
    Value::String(email.as_str().to_owned()).to_string()
}

fn parse_email(raw: &str) -> Result<EmailAddress, DataRequestError> {
    EmailAddress::parse(raw).ok_or(DataRequestError::InvalidEmail)
}

/// Everything tenant `tenant_id` holds about `raw_email`.
pub async fn subject_export(
    db: &Database,
    key: &VerificationKey,
    tenant_id: &str,
    raw_email: &str,
    now: i64,
) -> Result<SubjectExport, DataRequestError> {
    let email = parse_email(raw_email)?;
    let tenant = tenant_record(db, tenant_id).await?;
    let address = email.as_str();
    let audit_events = db
        .audit_events_containing(tenant_id, &json_needle(&email))
        .await?
        .iter()
        .filter(|e| {
            e.detail
                .as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .is_some_and(|d| names(&d, &email))
        })
        .map(AuditRecord::from)
        .collect();
    Ok(SubjectExport {
        kind: SUBJECT_EXPORT_KIND.to_owned(),
        exported_at: rfc3339(now),
        tenant_id: tenant.id,
        email: address.to_owned(),
        recipient_of: db
            .packages_with_recipient(tenant_id, address)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        notify_sender_of: db
            .packages_notifying(tenant_id, address)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
        verification_codes: db
            .code_requests(tenant_id, &key.email_hash(&email))
            .await?
            .into_iter()
            .map(|c| CodeRequestRecord {
                package: c.package_id,
                requested_at: rfc3339(c.created_at),
                expires_at: rfc3339(c.expires_at),
                used_at: c.used_at.map(rfc3339),
                attempts: c.attempts,
            })
            .collect(),
        recipient_sessions: db
            .recipient_sessions_of(tenant_id, address)
            .await?
            .into_iter()
            .map(|s| RecipientSessionRecord {
                package: s.package_id,
                verified_at: rfc3339(s.created_at),
                expires_at: rfc3339(s.expires_at),
            })
            .collect(),
        audit_events,
        zendesk_grant_contact_of: db.grant_contact(tenant_id, address).await?,
    })
}

/// The placeholder of an erased address in tenant `tenant_id`'s audit log.
pub fn placeholder(key: &VerificationKey, tenant_id: &str, email: &EmailAddress) -> String {
    let tag = key.erased_subject(tenant_id, email);
    format!("erased:{}", hex::encode(&tag[..8]))
}

/// Erases `raw_email` from tenant `tenant_id` (see the module's documentation) and records
/// `subject_erased` for `by` (`tenant_token`, `agent:{id}` or `operator`).
pub async fn erase_subject(
    db: &Database,
    key: &VerificationKey,
    tenant_id: &str,
    raw_email: &str,
    by: &str,
    now: i64,
) -> Result<Erasure, DataRequestError> {
    let email = parse_email(raw_email)?;
    tenant_record(db, tenant_id).await?;
    let placeholder = placeholder(key, tenant_id, &email);
    let email_hash = key.email_hash(&email);
    let rewrite = |detail: &str| {
        let mut value: Value = serde_json::from_str(detail).ok()?;
        if !names(&value, &email) {
            return None;
        }
        replace(&mut value, &email, &placeholder);
        Some(value.to_string())
    };
    let record = |counts: &ErasedCounts| {
        let mut detail = json!({ "by": by, "subject": placeholder });
        if let (Some(fields), Value::Object(counts)) = (detail.as_object_mut(), json!(counts)) {
            fields.extend(counts);
        }
        detail
    };
    let counts = db
        .erase_subject(
            Subject {
                tenant_id,
                email: email.as_str(),
                email_hash: &email_hash,
            },
            &json_needle(&email),
            &rewrite,
            &record,
            now,
        )
        .await?;
    tracing::info!(
        tenant = %tenant_id,
        subject = %placeholder,
        recipient_entries = counts.recipient_entries,
        audit_events = counts.audit_events_rewritten,
        "subject erased"
    );
    Ok(Erasure {
        placeholder,
        recipient_entries: counts.recipient_entries,
        notify_sender_cleared: counts.notify_sender_cleared,
        verification_codes: counts.verification_codes,
        recipient_sessions: counts.recipient_sessions,
        audit_events_rewritten: counts.audit_events_rewritten,
        grant_contact_cleared: counts.grant_contact_cleared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> EmailAddress {
        EmailAddress::parse(s).expect("valid address")
    }

    #[test]
    fn an_address_is_found_and_replaced_wherever_it_is_a_value() {
        let alice = email("alice@example.com");
        let mut detail = json!({
            "recipient": "Alice@Example.com",
            "list": ["bob@example.com", "alice@example.com"],
            "note": "alice@example.com.evil",
        });
        assert!(names(&detail, &alice));
        assert!(!names(&json!({ "recipient": "bob@example.com" }), &alice));
        replace(&mut detail, &alice, "erased:0011");
        assert_eq!(
            detail,
            json!({
                "recipient": "erased:0011",
                "list": ["bob@example.com", "erased:0011"],
                "note": "alice@example.com.evil",
            })
        );
        assert_eq!(json_needle(&alice), "\"alice@example.com\"");
    }

    #[test]
    fn placeholders_are_stable_per_tenant_and_hide_the_address() {
        let key = VerificationKey::generate();
        let alice = email("alice@example.com");
        let first = placeholder(&key, "t1", &alice);
        assert_eq!(first, placeholder(&key, "t1", &email("ALICE@example.com")));
        assert_ne!(first, placeholder(&key, "t2", &alice));
        assert_ne!(first, placeholder(&key, "t1", &email("bob@example.com")));
        assert!(first.starts_with("erased:") && first.len() == "erased:".len() + 16);
        assert!(!first.contains("alice"));
    }
}
