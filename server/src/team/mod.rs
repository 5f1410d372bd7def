//! Team keys on the server (docs/FORMAT.md §16-§21, docs/API.md "Team keys"): the server
//! stores and serves what the tenant's browsers make, and checks what it can.
//!
//! - **Device keys** ([`register_device`], [`remove_device`]): an agent's browser registers
//!   its X25519 public key `D` and a label under the agent's Zendesk user; it is pending until
//!   a roster lists it (approved). An agent removing a device the roster lists leaves it
//!   *removed* (pending removal) until the admin signs a roster without it; a device no roster
//!   needs any more is deleted.
//! - **The admin key** ([`set_admin_key`]): the Ed25519 admin key wrapped by the recovery code
//!   (§18.3). The server cannot open it; it hands it back to the admin's browser. Replacing a
//!   stored one needs `replace` and is audited (§21.3).
//! - **The roster** ([`publish_roster`]): the server checks it as a client would where it
//!   can (§19.3): structure, the signature under the *stored* admin key, the tenant (the
//!   Zendesk subdomain), a sequence greater than the stored one, and that every device it
//!   lists is registered for its user. It cannot check the pin (the fingerprint in the Help
//!   Center theme): that is the widget's and the sidebar's own check, which is why the server
//!   serving a roster proves nothing to them.
//! - **Re-wrapping** ([`rewrap`]): a team-sealed package's manifest replaced by one that
//!   differs in its stanzas only (§21.2).
//! - **The `team_keys` setting**, kept in [`crate::settings`]: with it on, a Help Center
//!   upload whose manifest is not team-sealed is refused ([`check_upload`]).
//!
//! **Architecture Invariant:** nothing here holds or derives a secret. Device keys and the
//! admin key are public keys, the wrapped admin key needs the recovery code, the roster is
//! signed by a key the server never has; the server is never a source of keys to seal to.

mod rewrap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sealdrop_api::team::{
    AdminKey, AdminKeyUpload, Device, DeviceStatus, Devices, NewDevice, RosterUpload, TeamDevices,
    TeamRoster,
};
use sealdrop_api::text::{Timestamp, ZendeskUserId};
use sealdrop_crypto::format::admin_key_blob::AdminKeyBlob;
use sealdrop_crypto::format::roster::check_label;
use sealdrop_crypto::{AdminPublicKey, Error as CryptoError, Fingerprint, VerifiedRoster};
use sealdrop_crypto::{Manifest, X25519Recipient, MAX_ROSTER_SIZE};
use serde_json::json;

pub use rewrap::{manifest, rewrap, team_packages, Rewrap};

use crate::db::team::{self, AdminKeyStored, Registered, Removed, RosterRefused, TeamDevice};
use crate::db::{CreatedBy, Database, Package};
use crate::internal::{internal_failures, Internal};
use crate::principal::Principal;

/// Most devices one agent may have registered at once (pending, approved or pending removal).
pub const MAX_DEVICES_PER_AGENT: u64 = 8;
/// Most devices one tenant may have registered at once: a roster lists at most 15, the rest
/// wait for approval or removal.
pub const MAX_DEVICES_PER_TENANT: u64 = 100;

/// Why a team-keys request was refused. Each message is for the person whose browser asked.
#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// The device key is not 32 bytes of base64url, or is a low-order point.
    #[error("{0}")]
    InvalidDeviceKey(String),
    /// The label breaks a rule of docs/FORMAT.md §19.1.
    #[error("label: {0}.")]
    InvalidLabel(String),
    /// The tenant holds this device key already.
    #[error("This device key is registered already; a browser registers its key once.")]
    DeviceKeyRegistered,
    /// The agent or the tenant has as many devices as it may.
    #[error("{0}")]
    TooManyDevices(String),
    /// The agent has no device with this key.
    #[error("You have no device with this key.")]
    NoSuchDevice,
    /// The wrapped admin key is not one, or names a key that cannot verify.
    #[error("The wrapped admin key is not valid: {0}.")]
    InvalidAdminKeyBlob(String),
    /// An admin key is stored and the request did not ask to replace it.
    #[error("An admin key is stored already; replacing it (when the admin key and the recovery code are both lost) needs \"replace\": true.")]
    AdminKeyExists,
    /// No admin key is stored.
    #[error("No admin key is stored for this account yet.")]
    NoAdminKey,
    /// A roster came before any admin key.
    #[error("Store the admin key (PUT /api/v1/team/admin-key) before the first roster.")]
    AdminKeyRequired,
    /// The roster is not well-formed (or lists an unregistered device, or a low-order key).
    #[error("The roster is not valid: {0}.")]
    InvalidRoster(String),
    /// The roster names another admin key than the stored one.
    #[error("The roster is signed for another admin key than the one stored for this account.")]
    AdminKeyMismatch,
    /// The signature does not verify under the stored admin key.
    #[error("The roster's signature does not verify under the stored admin key.")]
    RosterSignatureInvalid,
    /// The roster is for another tenant.
    #[error("The roster is for {found:?}, not for this account ({expected:?}).")]
    RosterTenantMismatch {
        /// This tenant's subdomain.
        expected: String,
        /// The roster's.
        found: String,
    },
    /// The sequence is not greater than the stored roster's.
    #[error("The roster's sequence {offered} is not greater than the stored roster's ({stored}): sign the next roster from the current one.")]
    RosterRolledBack {
        /// The stored roster's sequence.
        stored: u64,
        /// The one offered.
        offered: u64,
    },
    /// The tenant has no Zendesk account, which a roster names.
    #[error("Team keys need a Zendesk account: a roster names the account's subdomain.")]
    NoZendeskAccount,
    /// No roster is stored.
    #[error("No roster is published for this account yet.")]
    NoRoster,
    /// No package with this id in this tenant.
    #[error("No package with this id.")]
    UnknownPackage,
    /// The package was revoked.
    #[error("This package was revoked by its sender.")]
    Revoked,
    /// The package has expired.
    #[error("This package has expired.")]
    Expired,
    /// The request contradicts the package's state (message says how).
    #[error("{0}")]
    Conflict(String),
    /// The stored manifest has a link stanza: nothing to re-wrap.
    #[error("This package is not team-sealed (it has a link stanza); only team-sealed packages are re-wrapped. Protect it by sending it again as a new package.")]
    NotTeamSealed,
    /// The bytes are not a manifest.
    #[error("The manifest is not valid: {0}.")]
    InvalidManifest(String),
    /// The new manifest is not the stored one with other stanzas.
    #[error("A re-wrapped manifest must be team-sealed and differ from the stored one in its key stanzas only: {0}.")]
    RewrapMismatch(&'static str),
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(TeamError);

/// A device as the API shows it.
fn device_view(device: &TeamDevice) -> Device {
    let key = X25519Recipient::from_bytes(device.device_key);
    Device {
        device_key: key.to_b64u(),
        user_id: ZendeskUserId::new(device.user_id.to_string()),
        label: device.label.clone(),
        fingerprint: Fingerprint::of_device(device.user_id, &key).to_display(),
        status: device.status,
        pending_removal: device.status == DeviceStatus::Removed,
        registered_at: Timestamp::from_unix(device.created_at),
        removed_at: device.removed_at.map(Timestamp::from_unix),
    }
}

/// Parses a device key: 32 bytes of base64url that are not a low-order point.
fn parse_device_key(text: &str) -> Result<X25519Recipient, TeamError> {
    let key = X25519Recipient::parse_b64u(text.trim()).map_err(|_| {
        TeamError::InvalidDeviceKey(
            "The device key must be 32 bytes in base64url without padding (43 characters).".into(),
        )
    })?;
    if key.is_low_order() {
        return Err(TeamError::InvalidDeviceKey(
            "The device key is a low-order X25519 point: nothing sealed to it would be secret."
                .into(),
        ));
    }
    Ok(key)
}

/// Registers agent `user_id`'s device (pending until a roster lists it), records
/// `device_registered`.
pub async fn register_device(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
    request: &NewDevice,
    now: i64,
) -> Result<Device, TeamError> {
    let key = parse_device_key(&request.device_key)?;
    check_label(&request.label).map_err(|e| match e {
        CryptoError::InvalidRoster(why) => TeamError::InvalidLabel(why.into()),
        other => TeamError::InvalidLabel(other.to_string()),
    })?;
    let fingerprint = Fingerprint::of_device(user_id, &key);
    let detail = json!({
        "by": format!("agent:{user_id}"),
        "fingerprint": fingerprint.to_display(),
    });
    let new = team::NewDevice {
        tenant_id,
        device_key: key.as_bytes(),
        user_id,
        label: &request.label,
        max_per_user: MAX_DEVICES_PER_AGENT,
        max_per_tenant: MAX_DEVICES_PER_TENANT,
    };
    match db.register_device(&new, &detail, now).await? {
        Registered::Stored => {}
        Registered::KeyTaken => return Err(TeamError::DeviceKeyRegistered),
        Registered::TooManyForUser => {
            return Err(TeamError::TooManyDevices(format!(
                "You have {MAX_DEVICES_PER_AGENT} devices registered, the most an agent may have; remove one you no longer use first."
            )))
        }
        Registered::TooManyForTenant => {
            return Err(TeamError::TooManyDevices(format!(
                "This account has {MAX_DEVICES_PER_TENANT} devices registered, the most it may have; an admin should approve or drop waiting devices first."
            )))
        }
    }
    Ok(device_view(&TeamDevice {
        device_key: *key.as_bytes(),
        user_id,
        label: request.label.clone(),
        status: DeviceStatus::Pending,
        created_at: now,
        removed_at: None,
    }))
}

/// Agent `user_id`'s devices, oldest first.
pub async fn own_devices(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
) -> Result<Devices, Internal> {
    let devices = db.team_devices(tenant_id, Some(user_id)).await?;
    Ok(Devices {
        devices: devices.iter().map(device_view).collect(),
    })
}

/// Removes agent `user_id`'s device `raw_key`: at once if no roster lists it, else it is
/// pending removal until the admin signs a roster without it. Records `device_removed`;
/// removing it again changes nothing.
pub async fn remove_device(
    db: &Database,
    tenant_id: &str,
    user_id: u64,
    raw_key: &str,
    now: i64,
) -> Result<(), TeamError> {
    let key = X25519Recipient::parse_b64u(raw_key.trim()).map_err(|_| TeamError::NoSuchDevice)?;
    let detail = json!({
        "by": format!("agent:{user_id}"),
        "fingerprint": Fingerprint::of_device(user_id, &key).to_display(),
    });
    match db
        .remove_device(tenant_id, user_id, key.as_bytes(), &detail, now)
        .await?
    {
        Removed::NotFound => Err(TeamError::NoSuchDevice),
        Removed::Deleted | Removed::PendingRemoval | Removed::Already => Ok(()),
    }
}

/// Every device of the tenant, for its admin: fingerprints, users, labels, and which roster
/// devices their agents removed (pending removal: sign a roster without them).
pub async fn team_devices(db: &Database, tenant_id: &str) -> Result<TeamDevices, Internal> {
    let devices = db.team_devices(tenant_id, None).await?;
    let keys = db.team_keys(tenant_id).await?;
    Ok(TeamDevices {
        devices: devices.iter().map(device_view).collect(),
        roster_sequence: keys.and_then(|k| k.roster).map(|r| r.sequence),
    })
}

fn admin_key_view(admin_key: &[u8; 32], wrapped: &[u8], updated_at: i64) -> AdminKey {
    let key = AdminPublicKey::from_bytes(*admin_key);
    AdminKey {
        admin_key: key.to_b64u(),
        fingerprint: key.fingerprint().to_compact(),
        wrapped_admin_key: URL_SAFE_NO_PAD.encode(wrapped),
        updated_at: Timestamp::from_unix(updated_at),
    }
}

/// The stored wrapped admin key, for the admin's browser to open with the recovery code.
pub async fn admin_key(db: &Database, tenant_id: &str) -> Result<AdminKey, TeamError> {
    let keys = db
        .team_keys(tenant_id)
        .await?
        .ok_or(TeamError::NoAdminKey)?;
    Ok(admin_key_view(
        &keys.admin_key,
        &keys.wrapped_admin_key,
        keys.admin_key_updated_at,
    ))
}

/// Stores the tenant's wrapped admin key for `by` after checking its layout (docs/FORMAT.md
/// §18.3) and that the key it names can verify signatures. A stored key is replaced only with
/// `replace` (recorded as `admin_key_replaced`); the same bytes again change nothing.
pub async fn set_admin_key(
    db: &Database,
    tenant_id: &str,
    by: &Principal,
    upload: &AdminKeyUpload,
    now: i64,
) -> Result<AdminKey, TeamError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(upload.wrapped_admin_key.trim())
        .map_err(|_| TeamError::InvalidAdminKeyBlob("it is not base64url".into()))?;
    let blob = AdminKeyBlob::parse(&bytes).map_err(|e| match e {
        CryptoError::InvalidAdminKeyBlob(why) => TeamError::InvalidAdminKeyBlob(why.into()),
        other => TeamError::InvalidAdminKeyBlob(other.to_string()),
    })?;
    let admin_key = AdminPublicKey::from_bytes(*blob.admin_key());
    if !admin_key.is_usable() {
        return Err(TeamError::InvalidAdminKeyBlob(
            "its admin key is not an Ed25519 public key that can verify a signature".into(),
        ));
    }
    let mut detail = json!({
        "by": by.audit_name(),
        "fingerprint": admin_key.fingerprint().to_compact(),
    });
    let stored = db.team_keys(tenant_id).await?;
    if let (Some(stored), Some(fields)) = (&stored, detail.as_object_mut()) {
        fields.insert(
            "previous_fingerprint".into(),
            AdminPublicKey::from_bytes(stored.admin_key)
                .fingerprint()
                .to_compact()
                .into(),
        );
    }
    match db
        .set_admin_key(
            tenant_id,
            admin_key.as_bytes(),
            &bytes,
            upload.replace,
            &detail,
            now,
        )
        .await?
    {
        AdminKeyStored::Exists => return Err(TeamError::AdminKeyExists),
        AdminKeyStored::First | AdminKeyStored::Replaced { .. } => {
            tracing::info!(tenant = %tenant_id, fingerprint = %admin_key.fingerprint().to_compact(), "admin key stored");
        }
        AdminKeyStored::Unchanged => {}
    }
    self::admin_key(db, tenant_id).await
}

/// The crypto core's roster errors as the server answers them.
fn roster_error(error: CryptoError, expected_tenant: &str, bytes: &[u8]) -> TeamError {
    match error {
        CryptoError::InvalidRoster(why) => TeamError::InvalidRoster(why.into()),
        CryptoError::UnsupportedVersion(v) => {
            TeamError::InvalidRoster(format!("roster version {v} is not supported"))
        }
        CryptoError::AdminKeyMismatch => TeamError::AdminKeyMismatch,
        CryptoError::RosterSignatureInvalid => TeamError::RosterSignatureInvalid,
        CryptoError::RosterTenantMismatch => TeamError::RosterTenantMismatch {
            expected: expected_tenant.to_owned(),
            found: sealdrop_crypto::Roster::parse(bytes)
                .map(|r| r.content().tenant().to_owned())
                .unwrap_or_default(),
        },
        CryptoError::RosterRolledBack {
            highest_seen,
            offered,
        } => TeamError::RosterRolledBack {
            stored: highest_seen,
            offered,
        },
        other => TeamError::InvalidRoster(other.to_string()),
    }
}

/// Publishes a signed roster for `by` (docs/FORMAT.md §19): checked as a client checks it
/// where the server can (structure, signature under the stored admin key, the tenant's
/// Zendesk subdomain, low-order keys, a sequence greater than the stored one) and against the
/// registered devices; then the devices it lists are approved and those it leaves out lose
/// their approval. Records `roster_published`.
pub async fn publish_roster(
    db: &Database,
    tenant_id: &str,
    by: &Principal,
    upload: &RosterUpload,
    now: i64,
) -> Result<TeamRoster, TeamError> {
    let text = upload.roster.trim();
    // A base64url text longer than the largest roster's cannot be one; refuse before decoding.
    if text.len() > MAX_ROSTER_SIZE.div_ceil(3) * 4 {
        return Err(TeamError::InvalidRoster(
            "larger than the largest possible roster".into(),
        ));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| TeamError::InvalidRoster("it is not base64url".into()))?;
    let keys = db
        .team_keys(tenant_id)
        .await?
        .ok_or(TeamError::AdminKeyRequired)?;
    let subdomain = db
        .subdomain_of(tenant_id)
        .await?
        .ok_or(TeamError::NoZendeskAccount)?;
    let admin_key = AdminPublicKey::from_bytes(keys.admin_key);
    let stored = keys.roster.as_ref().map(|r| r.sequence);
    let verified =
        VerifiedRoster::verify(&bytes, &admin_key.fingerprint(), subdomain.as_str(), stored)
            .map_err(|e| roster_error(e, subdomain.as_str(), &bytes))?;
    let sequence = verified.content().sequence();
    if let Some(stored) = stored.filter(|s| sequence <= *s) {
        return Err(TeamError::RosterRolledBack {
            stored,
            offered: sequence,
        });
    }
    let devices: Vec<([u8; 32], u64)> = verified
        .content()
        .devices()
        .iter()
        .map(|d| (*d.device_key(), d.user_id()))
        .collect();
    let detail = json!({
        "by": by.audit_name(),
        "sequence": sequence,
        "fingerprint": admin_key.fingerprint().to_compact(),
    });
    let roster = team::NewRoster {
        tenant_id,
        admin_key: admin_key.as_bytes(),
        bytes: &bytes,
        sequence,
        devices: &devices,
    };
    match db.publish_roster(&roster, &detail, now).await? {
        Ok(changes) => {
            tracing::info!(tenant = %tenant_id, sequence, devices = changes.devices, "roster published");
        }
        Err(RosterRefused::AdminKeyChanged) => {
            return Err(TeamError::Conflict(
                "The admin key was replaced while this roster was checked; sign the roster with the new admin key.".into(),
            ))
        }
        Err(RosterRefused::RolledBack { stored }) => {
            return Err(TeamError::RosterRolledBack {
                stored,
                offered: sequence,
            })
        }
        Err(RosterRefused::UnknownDevice {
            device_key,
            user_id,
        }) => {
            let fingerprint =
                Fingerprint::of_device(user_id, &X25519Recipient::from_bytes(device_key));
            return Err(TeamError::InvalidRoster(format!(
                "device {fingerprint} is not registered for user {user_id} in this account"
            )));
        }
    }
    self::roster(db, tenant_id).await
}

/// The current roster, as stored. Clients verify it themselves (docs/FORMAT.md §19.3).
pub async fn roster(db: &Database, tenant_id: &str) -> Result<TeamRoster, TeamError> {
    let stored = db
        .team_keys(tenant_id)
        .await?
        .and_then(|k| k.roster)
        .ok_or(TeamError::NoRoster)?;
    Ok(TeamRoster {
        roster: URL_SAFE_NO_PAD.encode(&stored.bytes),
        sequence: stored.sequence,
        updated_at: Timestamp::from_unix(stored.updated_at),
    })
}

/// Whether the tenant has a published roster (team keys can be turned on only then).
pub async fn has_roster(db: &Database, tenant_id: &str) -> Result<bool, Internal> {
    Ok(db
        .team_keys(tenant_id)
        .await?
        .is_some_and(|k| k.roster.is_some()))
}

/// Whether a manifest may be stored for `package`: with team keys on, a Help Center upload
/// must be team-sealed (docs/FORMAT.md §20.1). Agents' and tokens' own sends keep the link.
pub async fn check_upload(
    db: &Database,
    package: &Package,
    manifest: &Manifest,
) -> Result<UploadCheck, Internal> {
    if package.created_by != CreatedBy::Widget || manifest.is_team_sealed() {
        return Ok(UploadCheck::Allowed);
    }
    let required = db
        .settings(&package.tenant_id)
        .await?
        .is_some_and(|s| s.team_keys);
    Ok(if required {
        UploadCheck::TeamSealedRequired
    } else {
        UploadCheck::Allowed
    })
}

/// What [`check_upload`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadCheck {
    /// The manifest may be stored.
    Allowed,
    /// Team keys are on and the Help Center upload has a link stanza.
    TeamSealedRequired,
}
