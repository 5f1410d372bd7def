//! The audit log as the API shows it: `GET /api/v1/audit` pages, and the events the exports
//! hold.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened: the kind of an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "AuditEventKind")]
pub enum AuditKind {
    /// A package was created.
    Created,
    /// The last part of one file arrived.
    Uploaded,
    /// The package was finalized: its link works.
    Finalized,
    /// Someone holding the link got the server secret and manifest.
    Opened,
    /// A download started (counted against the limit).
    Downloaded,
    /// A recipient confirmed an emailed code.
    Verified,
    /// The package was revoked.
    Revoked,
    /// The purge task removed the package.
    Purged,
    /// The tenant was created.
    TenantCreated,
    /// An admin changed the tenant's settings.
    SettingsChanged,
    /// An admin rotated the widget key.
    WidgetKeyRotated,
    /// An admin granted sealdrop access to Zendesk.
    ZendeskGranted,
    /// Zendesk stopped accepting the grant.
    ZendeskGrantLost,
    /// An admin erased what the tenant held about one email address (the detail names a
    /// placeholder, never the address).
    SubjectErased,
    /// The lifecycle check scheduled the tenant's deletion (its app was uninstalled or its
    /// grant stopped working); the detail names the reason and the date.
    DeletionScheduled,
    /// A scheduled deletion was cancelled: the app is installed and the grant works again.
    DeletionCancelled,
    /// The app was reinstalled: sign-ins now come from a new installation id, pinned in place
    /// of the uninstalled one.
    Reinstalled,
    /// An agent registered a device key (the detail names the agent and its fingerprint).
    DeviceRegistered,
    /// An agent removed one of their device keys.
    DeviceRemoved,
    /// An admin stored the tenant's wrapped admin key (its fingerprint in the detail).
    AdminKeySet,
    /// An admin replaced the stored admin key with another (docs/FORMAT.md §21.3).
    AdminKeyReplaced,
    /// An admin published a signed roster (its sequence and device counts in the detail).
    RosterPublished,
    /// An admin turned team keys on: Help Center uploads must be team-sealed.
    TeamKeysEnabled,
    /// An admin turned team keys off.
    TeamKeysDisabled,
    /// An admin replaced a team-sealed package's key stanzas (docs/FORMAT.md §21.2).
    PackageRewrapped,
}

impl AuditKind {
    /// Every kind, in the order of the API documentation.
    pub const ALL: [AuditKind; 25] = [
        Self::Created,
        Self::Uploaded,
        Self::Finalized,
        Self::Opened,
        Self::Downloaded,
        Self::Verified,
        Self::Revoked,
        Self::Purged,
        Self::TenantCreated,
        Self::SettingsChanged,
        Self::WidgetKeyRotated,
        Self::ZendeskGranted,
        Self::ZendeskGrantLost,
        Self::SubjectErased,
        Self::DeletionScheduled,
        Self::DeletionCancelled,
        Self::Reinstalled,
        Self::DeviceRegistered,
        Self::DeviceRemoved,
        Self::AdminKeySet,
        Self::AdminKeyReplaced,
        Self::RosterPublished,
        Self::TeamKeysEnabled,
        Self::TeamKeysDisabled,
        Self::PackageRewrapped,
    ];

    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Uploaded => "uploaded",
            Self::Finalized => "finalized",
            Self::Opened => "opened",
            Self::Downloaded => "downloaded",
            Self::Verified => "verified",
            Self::Revoked => "revoked",
            Self::Purged => "purged",
            Self::TenantCreated => "tenant_created",
            Self::SettingsChanged => "settings_changed",
            Self::WidgetKeyRotated => "widget_key_rotated",
            Self::ZendeskGranted => "zendesk_granted",
            Self::ZendeskGrantLost => "zendesk_grant_lost",
            Self::SubjectErased => "subject_erased",
            Self::DeletionScheduled => "deletion_scheduled",
            Self::DeletionCancelled => "deletion_cancelled",
            Self::Reinstalled => "reinstalled",
            Self::DeviceRegistered => "device_registered",
            Self::DeviceRemoved => "device_removed",
            Self::AdminKeySet => "admin_key_set",
            Self::AdminKeyReplaced => "admin_key_replaced",
            Self::RosterPublished => "roster_published",
            Self::TeamKeysEnabled => "team_keys_enabled",
            Self::TeamKeysDisabled => "team_keys_disabled",
            Self::PackageRewrapped => "package_rewrapped",
        }
    }

    /// Parses the stored and JSON form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// One audit event, as the audit log shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "AuditEvent")]
pub struct AuditRecord {
    /// Increasing id (use as a cursor).
    #[schemars(range(min = 1))]
    pub id: i64,
    /// When it happened (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub at: String,
    /// What happened (a kind this version does not know reads as it is).
    #[schemars(with = "AuditKind")]
    pub event: String,
    /// the package id, or null for a tenant event
    pub package: Option<String>,
    /// what happened, by kind; never a secret
    #[schemars(with = "Value")]
    pub detail: Option<Value>,
}

/// Answer of `GET /api/v1/audit`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditPage {
    /// The events.
    pub events: Vec<AuditRecord>,
    /// pass as before for the next page; null on the last
    pub next_before: Option<i64>,
}

/// How a list is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// JSON (the default).
    Json,
    /// CSV with a header row, as an attachment.
    Csv,
}

/// Either form of a time a query takes.
fn since_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            { "type": "string", "format": "date-time" },
            { "type": "string", "pattern": "^-?[0-9]{1,18}$" }
        ]
    })
}

/// Query of `GET /api/v1/audit`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// only this package's events
    #[serde(default)]
    pub package: Option<String>,
    /// only events of this kind
    #[serde(default)]
    #[schemars(with = "AuditKind")]
    pub event: Option<String>,
    /// only events at or after this time: RFC 3339 or Unix seconds
    #[serde(default)]
    #[schemars(schema_with = "since_schema")]
    pub since: Option<String>,
    /// the previous page's next_before
    #[serde(default)]
    pub before: Option<i64>,
    /// events per page: default 100, a JSON page holds at most 500 (a larger limit is cut to
    /// 500); with format=csv at most 10000 rows (the default)
    #[serde(default)]
    #[schemars(range(min = 1, max = 10_000))]
    pub limit: Option<i64>,
    /// json (default) or csv
    #[serde(default)]
    #[schemars(with = "ListFormat")]
    pub format: Option<String>,
}
