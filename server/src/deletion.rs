//! Deleting a tenant and everything it holds, with a signed certificate of deletion.
//!
//! [`delete_tenant`] counts what the tenant holds and records that count first
//! (`tenant_deletions`), then deletes every package (blobs, then rows), checks that the store
//! holds nothing under any of those packages' prefixes, deletes the audit log and the tenant
//! itself, and signs a [`Certificate`] with the server's Ed25519 deletion key. Every step is
//! idempotent: a deletion killed midway and run again finishes, and certifies the counts taken
//! at its first start. A finished deletion run again returns its certificate.
//!
//! The certificate file is one line of JSON, `{"certificate": {…}, "public_key": "…",
//! "signature": "…"}`, written exactly as `serde_json` writes that value; the signature covers
//! the `certificate` member as `serde_json` writes it. [`verify`] re-serializes the file and
//! refuses it unless the bytes are the same, so any changed byte fails verification, whether
//! it changes a value or only the layout. The public key is served at
//! [`WELL_KNOWN_PATH`].

use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::clock::rfc3339;
use crate::db::deletions::TenantTotals;
use crate::db::Database;
use crate::internal::{internal_failures, Internal};
use crate::storage::{BlobKey, Storage};

/// Where the server serves its deletion public key.
pub const WELL_KNOWN_PATH: &str = "/.well-known/sealdrop-deletion-key";

/// Packages deleted per database round.
const BATCH: i64 = 200;

/// The server's Ed25519 key for deletion certificates.
pub struct DeletionKey(Ed25519KeyPair);

impl std::fmt::Debug for DeletionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeletionKey(public {})", self.public_b64u())
    }
}

impl DeletionKey {
    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> anyhow::Result<Self> {
        let seed = Zeroizing::new(seed.to_vec());
        Ed25519KeyPair::from_seed_unchecked(&seed)
            .map(Self)
            .map_err(|_| anyhow::anyhow!("the deletion signing key must be 32 bytes"))
    }

    /// The public key, base64url.
    pub fn public_b64u(&self) -> String {
        b64u(self.0.public_key().as_ref())
    }

    /// `GET /.well-known/sealdrop-deletion-key`.
    pub fn well_known(&self) -> Value {
        json!({ "alg": "Ed25519", "public_key": self.public_b64u(), "use": "sealdrop deletion certificates" })
    }
}

fn b64u(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64u(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
}

/// What a certificate states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// Always `sealdrop-deletion-certificate/1`.
    pub kind: String,
    /// The server that deleted (its public URL).
    pub issuer: String,
    /// The tenant's id.
    pub tenant_id: String,
    /// The tenant's name.
    pub tenant_name: String,
    /// When the deletion started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// What was deleted.
    pub deleted: TenantTotals,
    /// The store's prefixes that were listed after deletion and found empty.
    pub store_prefixes_found_empty: Vec<String>,
}

/// Why a deletion or a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    /// No tenant with this id, and no deletion of it on record.
    #[error("no tenant with id {0:?}")]
    UnknownTenant(String),
    /// The store still holds objects of the tenant after deleting them.
    #[error("the store still holds {0} object(s) of the tenant after deleting them; run the deletion again")]
    StoreNotEmpty(usize),
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(DeletionError);

/// Deletes tenant `tenant_id` with every row and stored object, and returns the signed
/// certificate (the file's text). `progress` hears how many packages are left.
pub async fn delete_tenant(
    db: &Database,
    storage: &dyn Storage,
    key: &DeletionKey,
    issuer: &str,
    tenant_id: &str,
    now: impl Fn() -> i64,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<String, DeletionError> {
    let record = match db.deletion(tenant_id).await? {
        Some(record) => record,
        None => {
            let tenant = db
                .tenant(tenant_id)
                .await?
                .ok_or_else(|| DeletionError::UnknownTenant(tenant_id.to_owned()))?;
            let totals = db.tenant_totals(tenant_id).await?;
            db.start_deletion(tenant_id, &tenant.name, &totals, now())
                .await?;
            db.deletion(tenant_id)
                .await?
                .ok_or_else(|| DeletionError::UnknownTenant(tenant_id.to_owned()))?
        }
    };
    if let Some(certificate) = record.certificate {
        return Ok(certificate);
    }
    let mut prefixes = Vec::new();
    // Packages left now (fewer than at the start when an earlier run was interrupted).
    let mut left = db.tenant_totals(tenant_id).await?.packages;
    loop {
        let ids = db.tenant_package_ids(tenant_id, BATCH).await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            let prefix = BlobKey::package(&id)?;
            storage.delete_prefix(&prefix).await?;
            let remaining = storage.list(&prefix).await?;
            if !remaining.is_empty() {
                return Err(DeletionError::StoreNotEmpty(remaining.len()));
            }
            db.delete_package(&id).await?;
            prefixes.push(format!("{}/", prefix.as_str()));
            left = left.saturating_sub(1);
            progress(left);
        }
    }
    db.delete_tenant_rows(tenant_id).await?;
    prefixes.sort();
    let certificate = Certificate {
        kind: "sealdrop-deletion-certificate/1".into(),
        issuer: issuer.to_owned(),
        tenant_id: record.tenant_id.clone(),
        tenant_name: record.tenant_name.clone(),
        started_at: rfc3339(record.started_at),
        finished_at: rfc3339(now()),
        deleted: record.totals,
        store_prefixes_found_empty: prefixes,
    };
    let text = sign(key, &certificate)?;
    db.finish_deletion(tenant_id, &text, now()).await?;
    tracing::info!(tenant = %tenant_id, "tenant deleted; certificate issued");
    Ok(text)
}

/// The certificate file's text: one line of JSON with the certificate, the public key and the
/// signature over the certificate as serialized.
pub fn sign(key: &DeletionKey, certificate: &Certificate) -> Result<String, DeletionError> {
    let body = serde_json::to_value(certificate).map_err(anyhow::Error::new)?;
    let signed = serde_json::to_string(&body).map_err(anyhow::Error::new)?;
    let signature = key.0.sign(signed.as_bytes());
    let file = json!({
        "certificate": body,
        "public_key": key.public_b64u(),
        "signature": b64u(signature.as_ref()),
    });
    Ok(serde_json::to_string(&file).map_err(anyhow::Error::new)?)
}

/// Why a certificate does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not the JSON a certificate file holds.
    #[error("this is not a sealdrop deletion certificate ({0})")]
    Malformed(String),
    /// The bytes were changed (layout or content) after signing.
    #[error(
        "the file was changed after it was signed (it is not byte for byte what the server wrote)"
    )]
    Altered,
    /// Signed with another key than the one expected.
    #[error("the certificate was signed by another key ({0}) than this server's")]
    OtherKey(String),
    /// The signature does not match the certificate.
    #[error("the signature does not match the certificate: it was forged or changed")]
    BadSignature,
}

/// Checks a certificate file's text against `expected_key` (base64url), returning what it
/// certifies.
pub fn verify(text: &str, expected_key: &str) -> Result<Certificate, VerifyError> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let file: Value =
        serde_json::from_str(text).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let canonical =
        serde_json::to_string(&file).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if canonical != text {
        return Err(VerifyError::Altered);
    }
    let field = |name: &str| {
        file.get(name)
            .ok_or_else(|| VerifyError::Malformed(format!("no {name}")))
    };
    let body = field("certificate")?;
    let key = field("public_key")?
        .as_str()
        .ok_or_else(|| VerifyError::Malformed("public_key is not text".into()))?;
    let signature = field("signature")?
        .as_str()
        .and_then(unb64u)
        .ok_or_else(|| VerifyError::Malformed("signature is not base64url".into()))?;
    if key != expected_key {
        return Err(VerifyError::OtherKey(key.to_owned()));
    }
    let public = unb64u(key).ok_or_else(|| VerifyError::Malformed("bad public_key".into()))?;
    let signed = serde_json::to_string(body).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    UnparsedPublicKey::new(&ED25519, public)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| VerifyError::BadSignature)?;
    serde_json::from_value(body.clone()).map_err(|e| VerifyError::Malformed(e.to_string()))
}

/// A readable HTML rendering of a verified certificate, for people.
pub fn to_html(certificate: &Certificate, public_key: &str) -> String {
    use crate::html::escape;
    let d = &certificate.deleted;
    let rows = [
        (
            "Tenant",
            format!("{} ({})", certificate.tenant_name, certificate.tenant_id),
        ),
        ("Deleted by", certificate.issuer.clone()),
        ("Started", certificate.started_at.clone()),
        ("Finished", certificate.finished_at.clone()),
        ("Packages", d.packages.to_string()),
        ("Stored parts", d.parts.to_string()),
        ("Ciphertext bytes", d.bytes.to_string()),
        ("Audit events", d.audit_events.to_string()),
        ("Recipient sessions", d.recipient_sessions.to_string()),
        ("API tokens", d.api_tokens.to_string()),
        (
            "Store prefixes listed and found empty",
            certificate.store_prefixes_found_empty.len().to_string(),
        ),
        ("Signed with (Ed25519)", public_key.to_owned()),
    ];
    let body: String = rows
        .iter()
        .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(v)))
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Certificate of deletion</title>\
         <style>body{{font:16px system-ui,sans-serif;max-width:44em;margin:2em auto;color:#2f3941}}\
         th{{text-align:left;padding:.3em 1em .3em 0;vertical-align:top}}td{{font-family:monospace;word-break:break-all}}</style>\
         </head><body><h1>Certificate of deletion</h1><p>Every row and stored object of this tenant was deleted. \
         The signed file this page was made from verifies with <code>sealdrop admin certificate verify FILE</code>.</p>\
         <table>{body}</table></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate() -> Certificate {
        Certificate {
            kind: "sealdrop-deletion-certificate/1".into(),
            issuer: "https://files.example".into(),
            tenant_id: "t1".into(),
            tenant_name: "Acme <Support>".into(),
            started_at: rfc3339(1_800_000_000),
            finished_at: rfc3339(1_800_000_060),
            deleted: TenantTotals {
                packages: 3,
                parts: 7,
                bytes: 1234,
                audit_events: 20,
                recipient_sessions: 1,
                api_tokens: 1,
            },
            store_prefixes_found_empty: vec!["packages/a/".into()],
        }
    }

    #[test]
    fn a_signed_certificate_verifies_and_any_changed_byte_fails() {
        let key = DeletionKey::from_seed(&[7u8; 32]).expect("key");
        let text = sign(&key, &certificate()).expect("signed");
        assert_eq!(verify(&text, &key.public_b64u()), Ok(certificate()));
        assert!(verify(&format!("{text}\n"), &key.public_b64u()).is_ok());
        for at in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
            let Ok(changed) = String::from_utf8(bytes) else {
                continue;
            };
            assert!(
                verify(&changed, &key.public_b64u()).is_err(),
                "byte {at} changed and it still verified"
            );
        }
        let other = DeletionKey::from_seed(&[8u8; 32]).expect("key");
        assert!(matches!(
            verify(&text, &other.public_b64u()),
            Err(VerifyError::OtherKey(_))
        ));
        // Re-signed by another key with the expected key's name in it: refused.
        let forged = sign(&other, &certificate())
            .expect("signed")
            .replace(&other.public_b64u(), &key.public_b64u());
        assert_eq!(
            verify(&forged, &key.public_b64u()),
            Err(VerifyError::BadSignature)
        );
        let html = to_html(&certificate(), &key.public_b64u());
        assert!(html.contains("Acme &lt;Support&gt;"), "{html}");
    }
}
