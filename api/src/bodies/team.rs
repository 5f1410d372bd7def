//! Team keys (docs/FORMAT.md §16-§21, docs/API.md "Team keys"): agents' device keys, the
//! tenant's wrapped admin key, the signed roster, and re-wrapped manifests.
//!
//! The server stores and serves these; it checks what it can (a roster's structure, its
//! signature under the stored admin key, its tenant and sequence), but no client takes its word
//! for a key: the widget and the sidebar verify the roster against the admin key fingerprint
//! pinned outside the server.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::{PackageId, Timestamp, ZendeskUserId};

/// `b64u` of 32 bytes: an X25519 device key or an Ed25519 admin key.
pub const KEY_PATTERN: &str = "^[A-Za-z0-9_-]{43}$";
/// `b64u` of the 101-byte wrapped admin key (docs/FORMAT.md §18.3).
pub const WRAPPED_ADMIN_KEY_PATTERN: &str = "^[A-Za-z0-9_-]{135}$";
/// `b64u` of a roster: at most 1 793 bytes (docs/FORMAT.md §19.1), 2 391 characters.
pub const ROSTER_PATTERN: &str = "^[A-Za-z0-9_-]{1,2391}$";
/// A device key fingerprint in display form (docs/FORMAT.md §17).
pub const DEVICE_FINGERPRINT_PATTERN: &str = "^[0-9a-f]{4}( [0-9a-f]{4}){7}$";
/// An admin key fingerprint in compact form, as the Help Center snippet pins it.
pub const ADMIN_FINGERPRINT_PATTERN: &str = "^[0-9a-f]{32}$";

/// Body of `POST /api/v1/me/devices`: the agent's browser registers its device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The X25519 public key D, b64u of 32 bytes. Not a low-order point.
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub device_key: String,
    /// The device's name as the agent gives it ("Alice, work laptop"): 1 to 64 bytes of UTF-8,
    /// no control or bidirectional formatting character (docs/FORMAT.md §19.1).
    #[schemars(length(min = 1, max = 64))]
    pub label: String,
}

/// Where a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Registered; the current roster does not list it (not approved yet).
    Pending,
    /// The current roster lists it.
    Approved,
    /// Its agent removed it while the current roster still lists it: pending removal, until
    /// the admin signs a roster without it.
    Removed,
}

impl DeviceStatus {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Removed => "removed",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Removed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A registered device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The X25519 public key D, b64u of 32 bytes.
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub device_key: String,
    /// The agent's Zendesk user id.
    pub user_id: ZendeskUserId,
    /// The device's name as the agent gave it; show it as plain text.
    pub label: String,
    /// The device key fingerprint over the user id and D (docs/FORMAT.md §17), display form.
    /// Computed by the server, for convenience: the admin's and the agent's browsers compute it
    /// themselves before they compare.
    #[schemars(regex(pattern = DEVICE_FINGERPRINT_PATTERN))]
    pub fingerprint: String,
    /// Where it stands.
    pub status: DeviceStatus,
    /// Whether the current roster lists a device its agent removed: the admin should sign a
    /// roster without it (the same as status removed).
    pub pending_removal: bool,
    /// When the agent registered it.
    pub registered_at: Timestamp,
    /// When the agent removed it, or null.
    pub removed_at: Option<Timestamp>,
}

/// Answer of `GET /api/v1/me/devices`: the agent's own devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Devices {
    /// Oldest first.
    pub devices: Vec<Device>,
}

/// Answer of `GET /api/v1/team/devices`: every device of the tenant, for the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamDevices {
    /// Oldest first.
    pub devices: Vec<Device>,
    /// The sequence of the current roster, or null before the first.
    pub roster_sequence: Option<u64>,
}

/// Body of `PUT /api/v1/team/admin-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminKeyUpload {
    /// The admin key wrapped by the recovery code (docs/FORMAT.md §18.3), b64u of 101 bytes.
    /// It names the admin public key A.
    #[schemars(regex(pattern = WRAPPED_ADMIN_KEY_PATTERN))]
    pub wrapped_admin_key: String,
    /// Must be true to replace a stored admin key (docs/FORMAT.md §21.3, the admin key and the
    /// code both lost); otherwise a stored key is kept and the request refused.
    #[serde(default)]
    pub replace: bool,
}

/// Answer of `GET` and `PUT /api/v1/team/admin-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminKey {
    /// The admin public key A, b64u of 32 bytes.
    #[schemars(regex(pattern = KEY_PATTERN))]
    pub admin_key: String,
    /// A's fingerprint in compact form: what the Help Center snippet pins.
    #[schemars(regex(pattern = ADMIN_FINGERPRINT_PATTERN))]
    pub fingerprint: String,
    /// The wrapped admin key as stored, b64u of 101 bytes; only the recovery code opens it.
    #[schemars(regex(pattern = WRAPPED_ADMIN_KEY_PATTERN))]
    pub wrapped_admin_key: String,
    /// When it was stored.
    pub updated_at: Timestamp,
}

/// Body of `PUT /api/v1/team/roster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterUpload {
    /// The signed roster (docs/FORMAT.md §19.1), b64u.
    #[schemars(regex(pattern = ROSTER_PATTERN))]
    pub roster: String,
}

/// Answer of `GET /api/v1/team/roster`, `GET /widget/v1/roster` and `PUT
/// /api/v1/team/roster`: the current roster. Verify it before using it (docs/FORMAT.md §19.3);
/// `sequence` only repeats what the roster says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRoster {
    /// The signed roster, b64u.
    #[schemars(regex(pattern = ROSTER_PATTERN))]
    pub roster: String,
    /// Its sequence number.
    #[schemars(range(min = 1))]
    pub sequence: u64,
    /// When the server stored it.
    pub updated_at: Timestamp,
}

/// Answer of `PUT /api/v1/team/packages/{id}/manifest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rewrapped {
    /// The package.
    pub id: PackageId,
    /// Key stanzas of the stored manifest now.
    #[schemars(range(min = 1, max = 16))]
    pub stanzas: u64,
    /// Whether the stored manifest changed (false: the same bytes were stored already).
    pub replaced: bool,
}

/// A team-sealed package, in `GET /api/v1/team/packages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPackage {
    /// The package.
    pub id: PackageId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Key stanzas of its manifest (the devices it is sealed to, and the recovery key).
    #[schemars(range(min = 1, max = 16))]
    pub stanzas: u64,
}

/// Answer of `GET /api/v1/team/packages`: the tenant's finalized, live, team-sealed packages,
/// newest first (at most [`MAX_TEAM_PACKAGES`]), for the admin to re-wrap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPackages {
    /// Newest first.
    pub packages: Vec<TeamPackage>,
}

/// Most packages `GET /api/v1/team/packages` lists.
pub const MAX_TEAM_PACKAGES: usize = 1000;
