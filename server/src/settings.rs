//! Tenant settings (docs/ZENDESK.md "Tenants and settings"): the rules over the stored
//! [`TenantSettings`] (effective limits within the server's, the role policy), the checks of
//! a change, and the widget key's rotation.
//!
//! `team_keys` (docs/FORMAT.md §16) can be turned on only once a roster is published
//! ([`crate::team`]); each switch is recorded as `team_keys_enabled` or `team_keys_disabled`.
//!
//! Every tenant has a settings row: it is made with defaults and a random widget key when a
//! Zendesk tenant is created, and on first use for tenants made by `sealdrop admin tenant
//! create` ([`load_or_create`]). Changes go through [`SettingsUpdate`], a partial object checked
//! field by field before anything is written ([`validate`]); the widget key
//! changes only by rotation ([`rotate_widget_key`]).
//!
//! The widget key (`sdw_…`) is public by design (it sits in the Help Center theme), so it is
//! stored as is and looked up by value; rotating it is how an admin cuts off a copied theme.

use std::collections::BTreeSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};
use url::Url;

pub use sealdrop_api::settings::SettingsUpdate;
use sealdrop_api::settings::{Grant, GrantState, SenderSettings, Settings, SettingsValues};
use sealdrop_api::text::{RoleName, WidgetKey};

use crate::config::Limits;
use crate::db::{AuditKind, Database, GrantStatus, ReplyLinkStyle, TenantSettings};
use crate::internal::{internal_failures, Internal};
use crate::principal::Principal;
use crate::team;
use crate::widget::WIDGET_KEY_PREFIX;
use crate::zendesk::roles::{AllowedRole, RolePolicy};

/// Most entries in `allowed_roles`.
const MAX_ROLES: usize = 50;
/// Most Help Center origins.
const MAX_ORIGINS: usize = 20;
/// Most ticket forms.
const MAX_FORMS: usize = 100;

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A field's value is not acceptable; the message names the field and says why.
    #[error("{0}")]
    Invalid(String),
    /// Team keys were to be turned on before any roster was published.
    #[error("team_keys: publish a signed roster (PUT /api/v1/team/roster) before turning team keys on; without one, no Help Center upload could be sealed.")]
    RosterRequired,
    /// A failure on the server's side.
    #[error(transparent)]
    Internal(Internal),
}

internal_failures!(SettingsError);

fn invalid(message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid(message.into())
}

impl TenantSettings {
    /// The role policy these settings describe.
    pub fn policy(&self) -> RolePolicy {
        RolePolicy::new(self.allowed_roles.clone())
    }

    /// Every setting's value, the limits as they apply under this server's.
    pub fn values(&self, limits: &Limits) -> SettingsValues {
        let days = |d: Option<i64>| d.map(|d| d.clamp(0, i64::from(u32::MAX)) as u32);
        SettingsValues {
            allowed_roles: self
                .allowed_roles
                .iter()
                .map(|r| RoleName::new(r.as_setting()))
                .collect(),
            require_auth_default: self.require_auth_default,
            default_expiry_secs: self.effective_default_expiry(limits),
            max_expiry_secs: self.effective_max_expiry(limits),
            max_file_size: self.effective_max_file_size(limits),
            help_center_origins: self.help_center_origins.clone(),
            widget_forms: self.widget_forms.clone(),
            reply_link_style: self.reply_link_style,
            package_retention_days: days(self.package_retention_days),
            audit_retention_days: days(self.audit_retention_days),
            team_keys: self.team_keys,
        }
    }

    /// What the sidebar needs to send files (`GET /api/v1/me`).
    pub fn sender_settings(&self, limits: &Limits) -> SenderSettings {
        SenderSettings {
            require_auth_default: self.require_auth_default,
            reply_link_style: self.reply_link_style,
            max_file_size: self.effective_max_file_size(limits),
            default_expiry_secs: self.effective_default_expiry(limits),
            max_expiry_secs: self.effective_max_expiry(limits),
        }
    }

    /// The tenant's largest file, within the server's limit.
    pub fn effective_max_file_size(&self, limits: &Limits) -> u64 {
        let server = limits.max_file_size;
        self.max_file_size
            .map_or(server, |s| (s.max(1) as u64).min(server))
    }

    /// The tenant's longest expiry, within the server's.
    pub fn effective_max_expiry(&self, limits: &Limits) -> u64 {
        let server = limits.max_expiry.as_secs();
        self.max_expiry_secs
            .map_or(server, |s| (s.max(1) as u64).min(server))
    }

    /// The tenant's default expiry, within its maximum.
    pub fn effective_default_expiry(&self, limits: &Limits) -> u64 {
        let default = self
            .default_expiry_secs
            .map_or(limits.default_expiry.as_secs(), |s| s.max(1) as u64);
        default.min(self.effective_max_expiry(limits))
    }
}

/// A new random widget key.
pub fn new_widget_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{WIDGET_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The tenant's settings, made with defaults (and a new widget key) if it has none yet.
pub async fn load_or_create(
    db: &Database,
    tenant_id: &str,
    now: i64,
) -> Result<TenantSettings, Internal> {
    Ok(db
        .settings_or_defaults(tenant_id, &new_widget_key(), now)
        .await?)
}

/// The effective largest file of a tenant: its setting within the server's limit (the
/// server's limit when it has no settings row).
pub async fn max_file_size(
    db: &Database,
    limits: &Limits,
    tenant_id: &str,
) -> Result<u64, Internal> {
    Ok(match db.settings(tenant_id).await? {
        Some(settings) => settings.effective_max_file_size(limits),
        None => limits.max_file_size,
    })
}

/// Every setting as `GET /api/v1/settings` shows it, with the grant's status, the
/// tenant's Zendesk subdomain and the widget loader's integrity (from
/// [`crate::widget::release::loader_integrity`]).
pub async fn view(
    db: &Database,
    limits: &Limits,
    tenant_id: &str,
    now: i64,
    widget_loader_integrity: Option<String>,
) -> Result<Settings, Internal> {
    let settings = load_or_create(db, tenant_id, now).await?;
    let status = match db.grant_status(tenant_id).await? {
        GrantStatus::Missing => GrantState::Missing,
        GrantStatus::Active => GrantState::Active,
        GrantStatus::NeedsReauthorization => GrantState::NeedsReauthorization,
    };
    Ok(Settings {
        values: settings.values(limits),
        widget_key: WidgetKey::new(settings.widget_key.clone()),
        grant: Grant { status },
        subdomain: db.subdomain_of(tenant_id).await?.map(|s| s.to_string()),
        // What "Delete all data" asks the admin to type.
        tenant_name: db.tenant(tenant_id).await?.map(|t| t.name),
        widget_loader_integrity,
    })
}

/// Checks and applies `change` for `by`, and records `settings_changed` with the names of
/// the fields sent.
pub async fn update(
    db: &Database,
    limits: &Limits,
    tenant_id: &str,
    by: &Principal,
    change: &SettingsUpdate,
    now: i64,
) -> Result<(), SettingsError> {
    let current = load_or_create(db, tenant_id, now).await?;
    let next = validate(change, &current, limits)?;
    if next.team_keys && !current.team_keys && !team::has_roster(db, tenant_id).await? {
        return Err(SettingsError::RosterRequired);
    }
    db.store_settings(&next, now).await?;
    let detail = json!({ "by": by.audit_name(), "fields": change.fields() });
    db.audit(
        tenant_id,
        None,
        AuditKind::SettingsChanged,
        Some(&detail),
        now,
    )
    .await?;
    if next.team_keys != current.team_keys {
        let kind = if next.team_keys {
            AuditKind::TeamKeysEnabled
        } else {
            AuditKind::TeamKeysDisabled
        };
        db.audit(
            tenant_id,
            None,
            kind,
            Some(&json!({ "by": by.audit_name() })),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Replaces the widget key with a new random one for `by` (recorded); returns it.
pub async fn rotate_widget_key(
    db: &Database,
    tenant_id: &str,
    by: &Principal,
    now: i64,
) -> Result<String, Internal> {
    load_or_create(db, tenant_id, now).await?;
    let key = new_widget_key();
    db.set_widget_key(tenant_id, &key, now).await?;
    let detail = json!({ "by": by.audit_name() });
    db.audit(
        tenant_id,
        None,
        AuditKind::WidgetKeyRotated,
        Some(&detail),
        now,
    )
    .await?;
    Ok(key)
}

/// Checks every present field and merges it into `current`; nothing is written. Errors
/// name the field and say what is wrong.
pub fn validate(
    change: &SettingsUpdate,
    current: &TenantSettings,
    limits: &Limits,
) -> Result<TenantSettings, SettingsError> {
    let mut next = current.clone();
    if let Some(roles) = &change.allowed_roles {
        next.allowed_roles = parse_roles(roles)?;
    }
    if let Some(v) = change.require_auth_default {
        next.require_auth_default = v;
    }
    let server_max_expiry = limits.max_expiry.as_secs();
    if let Some(v) = change.max_expiry_secs {
        next.max_expiry_secs = check_range(v, server_max_expiry, "max_expiry_secs", "seconds")?;
    }
    if let Some(v) = change.default_expiry_secs {
        next.default_expiry_secs =
            check_range(v, server_max_expiry, "default_expiry_secs", "seconds")?;
    }
    if let (Some(default), Some(max)) = (next.default_expiry_secs, next.max_expiry_secs) {
        if default > max {
            return Err(invalid(format!(
                "default_expiry_secs ({default}) must not be larger than max_expiry_secs ({max})."
            )));
        }
    }
    if let Some(v) = change.max_file_size {
        next.max_file_size = check_range(v, limits.max_file_size, "max_file_size", "bytes")?;
    }
    if let Some(origins) = &change.help_center_origins {
        if origins.len() > MAX_ORIGINS {
            return Err(invalid(format!(
                "help_center_origins: at most {MAX_ORIGINS} origins."
            )));
        }
        let mut out = BTreeSet::new();
        for origin in origins {
            out.insert(parse_origin(origin)?);
        }
        next.help_center_origins = out.into_iter().collect();
    }
    if let Some(forms) = &change.widget_forms {
        if forms.len() > MAX_FORMS {
            return Err(invalid(format!(
                "widget_forms: at most {MAX_FORMS} ticket forms."
            )));
        }
        if forms.contains(&0) {
            return Err(invalid("widget_forms: 0 is not a ticket form id."));
        }
        next.widget_forms = forms
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
    }
    if let Some(v) = change.package_retention_days {
        next.package_retention_days = check_days(v, 0, "package_retention_days")?;
    }
    if let Some(v) = change.audit_retention_days {
        next.audit_retention_days = check_days(v, 1, "audit_retention_days")?;
    }
    if let Some(on) = change.team_keys {
        next.team_keys = on;
    }
    if let Some(style) = &change.reply_link_style {
        next.reply_link_style = ReplyLinkStyle::parse(style)
            .ok_or_else(|| invalid("reply_link_style must be \"text\" or \"hyperlink\"."))?;
    }
    Ok(next)
}

/// Longest retention a tenant may choose, in days (ten years).
const MAX_RETENTION_DAYS: u64 = 3650;

fn check_days(value: Option<u64>, min: u64, field: &str) -> Result<Option<i64>, SettingsError> {
    match value {
        None => Ok(None),
        Some(v) if (min..=MAX_RETENTION_DAYS).contains(&v) => Ok(Some(v as i64)),
        Some(v) => Err(invalid(format!(
            "{field} must be between {min} and {MAX_RETENTION_DAYS} days; got {v}."
        ))),
    }
}

fn check_range(
    value: Option<u64>,
    max: u64,
    field: &str,
    unit: &str,
) -> Result<Option<i64>, SettingsError> {
    match value {
        None => Ok(None),
        Some(v) if (1..=max).contains(&v) => Ok(Some(v as i64)),
        Some(v) => Err(invalid(format!(
            "{field} must be between 1 and {max} {unit} (this server's limit); got {v}."
        ))),
    }
}

fn parse_roles(raw: &[Value]) -> Result<Vec<AllowedRole>, SettingsError> {
    if raw.len() > MAX_ROLES {
        return Err(invalid(format!(
            "allowed_roles: at most {MAX_ROLES} entries."
        )));
    }
    let mut out: Vec<AllowedRole> = Vec::new();
    for entry in raw {
        let role = match entry {
            Value::String(s) => match s.as_str() {
                "admin" => Some(AllowedRole::Admin),
                "agent" => Some(AllowedRole::Agent),
                other => custom_role_id(other.strip_prefix("custom:").unwrap_or(other)),
            },
            Value::Number(n) => n
                .as_u64()
                .filter(|id| (1..=MAX_CUSTOM_ROLE_ID).contains(id))
                .map(AllowedRole::Custom),
            _ => None,
        }
        .ok_or_else(|| {
            invalid(format!(
                "allowed_roles: {entry} is not a role; use \"admin\", \"agent\" or \"custom:<custom role id>\"."
            ))
        })?;
        if !out.contains(&role) {
            out.push(role);
        }
    }
    // Settings are changed by admins through the app; a list without admins would lock every
    // admin out of the settings themselves.
    if !out.contains(&AllowedRole::Admin) {
        return Err(invalid(
            "allowed_roles must include \"admin\": otherwise no one could open these settings again.",
        ));
    }
    Ok(out)
}

/// Largest custom role id taken: 19 digits (Zendesk ids are 64-bit), so that the document's
/// pattern for ids written as text and its maximum for numbers say the same.
const MAX_CUSTOM_ROLE_ID: u64 = 9_999_999_999_999_999_999;

/// A custom role id written as text: 1 to 19 digits, no sign, no leading zero, no spaces.
fn custom_role_id(text: &str) -> Option<AllowedRole> {
    let digits = (1..=19).contains(&text.len())
        && !text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| text.parse().ok())
        .flatten()
        .map(AllowedRole::Custom)
}

/// Normalizes a Help Center origin: `https://host[:port]`, nothing after it. Plain `http` is
/// accepted only for `localhost` and loopback addresses (the local demo).
pub fn parse_origin(raw: &str) -> Result<String, SettingsError> {
    let bad = |why: &str| invalid(format!("help_center_origins: {raw:?} {why}."));
    let url = Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let local = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    match url.scheme() {
        "https" => {}
        "http" if local => {}
        _ => return Err(bad("must be an https:// origin")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must be an origin only (no path, query or fragment)"));
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits() -> Limits {
        Limits {
            max_file_size: 1000,
            max_files: 10,
            max_manifest_size: 1 << 20,
            default_expiry: Duration::from_secs(100),
            max_expiry: Duration::from_secs(500),
        }
    }

    fn defaults() -> TenantSettings {
        TenantSettings {
            tenant_id: "t".into(),
            allowed_roles: RolePolicy::default().allowed().to_vec(),
            require_auth_default: true,
            default_expiry_secs: None,
            max_expiry_secs: None,
            max_file_size: None,
            help_center_origins: vec![],
            widget_forms: vec![],
            reply_link_style: ReplyLinkStyle::Text,
            widget_key: new_widget_key(),
            widget_quota_bytes: None,
            package_retention_days: None,
            audit_retention_days: None,
            team_keys: false,
            updated_at: 0,
        }
    }

    fn update(v: Value) -> Result<TenantSettings, SettingsError> {
        let u: SettingsUpdate = serde_json::from_value(v).expect("shape");
        validate(&u, &defaults(), &limits())
    }

    #[test]
    fn a_partial_update_changes_only_its_fields() {
        let next = update(json!({"allowed_roles": ["admin", "custom:7", 9, "agent", "admin", "12", 9_999_999_999_999_999_999u64], "widget_forms": [5, 3, 5]}))
            .expect("valid");
        assert_eq!(
            next.allowed_roles,
            vec![
                AllowedRole::Admin,
                AllowedRole::Custom(7),
                AllowedRole::Custom(9),
                AllowedRole::Agent,
                AllowedRole::Custom(12),
                AllowedRole::Custom(9_999_999_999_999_999_999),
            ]
        );
        assert_eq!(next.widget_forms, vec![3, 5]);
        assert!(next.require_auth_default, "untouched");
        let back = update(json!({"max_file_size": null})).expect("null resets");
        assert_eq!(back.max_file_size, None);
    }

    #[test]
    fn bad_values_are_refused_with_the_field_named() {
        let message = |v| match update(v) {
            Err(SettingsError::Invalid(m)) => m,
            other => panic!("expected 400, got {other:?}"),
        };
        assert!(message(json!({"allowed_roles": ["agent"]})).contains("must include \"admin\""));
        assert!(message(json!({"allowed_roles": ["owner"]})).contains("is not a role"));
        // Exactly what the OpenAPI document's pattern and bounds admit, nothing looser.
        for role in [
            json!(" agent"),
            json!("custom:0"),
            json!("custom:007"),
            json!("+5"),
            json!("custom:10000000000000000000"),
            json!(0),
            json!(10_000_000_000_000_000_000u64),
        ] {
            let change = json!({ "allowed_roles": ["admin", role] });
            assert!(message(change).contains("is not a role"), "{role}");
        }
        assert!(message(json!({"max_file_size": 1001})).contains("max_file_size"));
        assert!(message(json!({"max_expiry_secs": 0})).contains("max_expiry_secs"));
        assert!(
            message(json!({"default_expiry_secs": 300, "max_expiry_secs": 200})).contains("larger")
        );
        assert!(message(json!({"reply_link_style": "html"})).contains("reply_link_style"));
        assert!(
            message(json!({"help_center_origins": ["http://help.acme.com"]})).contains("https://")
        );
        assert!(
            message(json!({"help_center_origins": ["https://help.acme.com/path"]}))
                .contains("origin only")
        );
        assert!(
            serde_json::from_value::<SettingsUpdate>(json!({"widget_key": "sdw_x"})).is_err(),
            "rotate instead"
        );
    }

    #[test]
    fn origins_are_normalized() {
        assert_eq!(
            parse_origin("https://Help.Acme.com/").ok(),
            Some("https://help.acme.com".into())
        );
        assert_eq!(
            parse_origin("https://help.acme.com:8443").ok(),
            Some("https://help.acme.com:8443".into())
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:9000").ok(),
            Some("http://127.0.0.1:9000".into())
        );
        assert!(parse_origin("https://user:pw@help.acme.com").is_err());
        assert!(parse_origin("javascript:alert(1)").is_err());
    }

    #[test]
    fn limits_never_exceed_the_server() {
        let mut s = defaults();
        s.max_file_size = Some(5000);
        s.default_expiry_secs = Some(400);
        s.max_expiry_secs = Some(300);
        assert_eq!(s.effective_max_file_size(&limits()), 1000);
        assert_eq!(s.effective_max_expiry(&limits()), 300);
        assert_eq!(s.effective_default_expiry(&limits()), 300);
        assert!(new_widget_key().starts_with("sdw_") && new_widget_key().len() == 47);
    }
}
