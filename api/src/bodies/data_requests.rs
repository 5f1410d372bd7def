//! The tenant's and a data subject's exports, and an erasure's counts: what
//! `GET /api/v1/tenant/export`, `POST /api/v1/tenant/subjects/export|erase` and the
//! `sealdrop admin tenant export` / `admin subject` commands answer. Never a secret.

use super::audit::AuditRecord;
use super::settings::SettingsValues;
use super::team::DeviceStatus;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `kind` of a tenant export.
pub const TENANT_EXPORT_KIND: &str = "sealdrop-tenant-export/1";
/// The `kind` of a data subject export.
pub const SUBJECT_EXPORT_KIND: &str = "sealdrop-subject-export/1";

/// A package's stored state, as the exports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoredState {
    /// Created; manifest and parts may be sent.
    Uploading,
    /// Finalized.
    Ready,
    /// Revoked.
    Revoked,
}

impl StoredState {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Uploading => "uploading",
            Self::Ready => "ready",
            Self::Revoked => "revoked",
        }
    }
}

/// Who created a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreatedBy {
    /// The tenant's API token (the CLI).
    TenantToken,
    /// An agent, from the sidebar.
    Agent,
    /// A customer, through the Help Center widget.
    Widget,
}

/// The tenant as its export names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantRecord {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `acme` for acme.zendesk.com; `None` for a tenant made with the CLI.
    pub zendesk_subdomain: Option<String>,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
}

/// One package's metadata: its lifecycle, sizes and recipients; never a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageRecord {
    /// Package id.
    pub id: String,
    /// Its state.
    pub state: StoredState,
    /// `tenant_token`, `agent` or `widget`.
    pub created_by: CreatedBy,
    /// Zendesk user id of the sending agent.
    pub created_by_user: Option<String>,
    /// Zendesk ticket id of an agent send.
    pub ticket_id: Option<String>,
    /// Whether opening needs an email code or an agent session.
    pub require_auth: bool,
    /// Where download receipts go.
    pub notify_sender: Option<String>,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// RFC 3339, once the upload completed.
    #[schemars(extend("format" = "date-time"))]
    pub finalized_at: Option<String>,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    /// RFC 3339, if revoked.
    #[schemars(extend("format" = "date-time"))]
    pub revoked_at: Option<String>,
    /// RFC 3339, once the purge deleted its blobs.
    #[schemars(extend("format" = "date-time"))]
    pub purged_at: Option<String>,
    /// `None`: unlimited.
    pub max_downloads: Option<u64>,
    /// Downloads started.
    pub downloads_used: u64,
    /// Files in the package.
    pub files: u64,
    /// Bytes of ciphertext of those files.
    pub ciphertext_bytes: u64,
    /// The recipients' addresses.
    pub recipients: Vec<String>,
}

/// Everything a tenant takes away: `GET /api/v1/tenant/export`, `sealdrop admin tenant
/// export`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantExport {
    /// [`TENANT_EXPORT_KIND`].
    #[schemars(extend("const" = TENANT_EXPORT_KIND))]
    pub kind: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub exported_at: String,
    /// The tenant.
    pub tenant: TenantRecord,
    /// Every setting as `GET /api/v1/settings` shows it, without the widget key.
    pub settings: SettingsValues,
    /// Every package the database still holds, oldest first.
    pub packages: Vec<PackageRecord>,
    /// Agents' registered device keys (team keys), oldest first: who, the label, the
    /// fingerprint; never the key itself.
    pub devices: Vec<DeviceRecord>,
    /// The whole audit log, oldest first.
    pub audit_events: Vec<AuditRecord>,
}

/// A registered device key (team keys), as the tenant export holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRecord {
    /// The agent's Zendesk user id.
    pub user_id: String,
    /// The device's name as the agent gave it.
    pub label: String,
    /// The device key fingerprint (docs/FORMAT.md §17), display form.
    pub fingerprint: String,
    /// pending, approved or removed (pending removal).
    pub status: DeviceStatus,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub registered_at: String,
    /// RFC 3339, when its agent removed it.
    #[schemars(extend("format" = "date-time"))]
    pub removed_at: Option<String>,
}

/// A package naming the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectPackageRecord {
    /// Package id.
    pub package: String,
    /// Its state.
    pub state: StoredState,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
}

/// A "send me a code" request for the address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequestRecord {
    /// The package.
    pub package: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    /// RFC 3339: confirmed, or retired when another code was.
    #[schemars(extend("format" = "date-time"))]
    pub used_at: Option<String>,
    /// Tries.
    pub attempts: u64,
}

/// A recipient session of the address (a confirmed code).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientSessionRecord {
    /// The package.
    pub package: String,
    /// RFC 3339: when the code was confirmed.
    #[schemars(extend("format" = "date-time"))]
    pub verified_at: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
}

/// Everything one tenant holds about one address: `POST /api/v1/tenant/subjects/export`,
/// `sealdrop admin subject export`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectExport {
    /// [`SUBJECT_EXPORT_KIND`].
    #[schemars(extend("const" = SUBJECT_EXPORT_KIND))]
    pub kind: String,
    /// RFC 3339.
    #[schemars(extend("format" = "date-time"))]
    pub exported_at: String,
    /// The tenant.
    pub tenant_id: String,
    /// The address, normalised.
    pub email: String,
    /// Packages sent to it.
    pub recipient_of: Vec<SubjectPackageRecord>,
    /// Packages whose download receipts go to it.
    pub notify_sender_of: Vec<SubjectPackageRecord>,
    /// Codes asked for it.
    pub verification_codes: Vec<CodeRequestRecord>,
    /// Codes it confirmed.
    pub recipient_sessions: Vec<RecipientSessionRecord>,
    /// Audit events whose detail names it.
    pub audit_events: Vec<AuditRecord>,
    /// When it is the contact address of the admin who granted sealdrop access to the
    /// tenant's Zendesk (told of a scheduled deletion): that admin's Zendesk user id.
    pub zendesk_grant_contact_of: Option<String>,
}

impl CreatedBy {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TenantToken => "tenant_token",
            Self::Agent => "agent",
            Self::Widget => "widget",
        }
    }

    /// Parses the stored and JSON form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::TenantToken, Self::Agent, Self::Widget]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Answer of `POST /api/v1/tenant/subjects/erase`: what the erasure deleted, cleared and
/// rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Erasure {
    /// What now stands for the address in the audit log (`erased:` and 16 hex digits); the
    /// same for the same address and tenant every time.
    #[schemars(regex(pattern = "^erased:[0-9a-f]{16}$"))]
    pub placeholder: String,
    /// `package_recipients` rows deleted.
    pub recipient_entries: u64,
    /// Packages whose `notify_sender` was this address, now cleared.
    pub notify_sender_cleared: u64,
    /// `verification_codes` rows deleted.
    pub verification_codes: u64,
    /// `recipient_sessions` rows deleted.
    pub recipient_sessions: u64,
    /// `audit_events` whose detail named the address, rewritten.
    pub audit_events_rewritten: u64,
    /// 1 when the address was the Zendesk grant's contact (the admin who granted access), now
    /// cleared.
    #[schemars(range(max = 1))]
    pub grant_contact_cleared: u64,
}

/// Body of `POST /api/v1/tenant/subjects/export`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectRequest {
    /// The address.
    #[schemars(email, length(max = 254))]
    pub email: String,
}

/// Body of `POST /api/v1/tenant/subjects/erase`: the address, and the same address typed
/// again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseRequest {
    /// The address.
    #[schemars(email, length(max = 254))]
    pub email: String,
    /// the same address, typed again
    #[schemars(email, length(max = 254))]
    pub confirm: String,
}

/// A table of the tenant export, as CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CsvTable {
    /// `setting,value` rows.
    Settings,
    /// One row per package.
    Packages,
    /// `package,email`.
    Recipients,
    /// `id,at,event,package,detail`.
    Audit,
    /// One row per registered device key (team keys).
    Devices,
}

/// Query of `GET /api/v1/tenant/export`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// json (default) or csv
    #[serde(default)]
    #[schemars(with = "super::audit::ListFormat")]
    pub format: Option<String>,
    /// with format=csv (required there): which table; settings is `setting,value` rows,
    /// packages one row per package, recipients `package,email`, audit
    /// `id,at,event,package,detail`, devices one row per registered device key
    #[serde(default)]
    #[schemars(with = "CsvTable")]
    pub table: Option<String>,
}
