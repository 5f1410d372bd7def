//! A tenant's settings: what `GET /api/v1/settings` shows, the change `PUT /api/v1/settings`
//! takes, the sender's share of them in `GET /api/v1/me`, and the widget key rotation. What
//! each value of a change may be is the server's to check (`sealdrop_server::settings::validate`),
//! since it depends on the server's own limits; the bounds written here are those limits'
//! ceilings, which the document a server serves narrows to its own.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::text::{RoleName, Timestamp, WidgetKey, ZendeskUserId};

/// Reads `null` as `Some(None)` and an absent field (with `#[serde(default)]`) as `None`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Reads a present value as `Some`, and refuses `null` where the field has no default to go
/// back to (silently ignoring it would answer 200 for a change that did nothing).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "null is not a value here; leave the field out to keep it as it is",
        )),
    }
}

/// Body of `PUT /api/v1/settings`. Only the fields present change; null on a limit goes back to
/// the server's value (null elsewhere is refused). The server's own limits bound the expiries
/// and the file size (the document a server serves carries its limits). default_expiry_secs
/// must not exceed max_expiry_secs, as they are after the change.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// admin, agent or custom:{id} (a number, or a string of one, is a custom role id); must
    /// include admin
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "allowed_roles_schema")]
    pub allowed_roles: Option<Vec<Value>>,
    /// Outgoing "Require authentication" preset.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "bool")]
    pub require_auth_default: Option<bool>,
    /// null: the server's
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<u64>", range(min = 1, max = 2_592_000))]
    pub default_expiry_secs: Option<Option<u64>>,
    /// null: the server's
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<u64>", range(min = 1, max = 2_592_000))]
    pub max_expiry_secs: Option<Option<u64>>,
    /// bytes; null: the server's
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<u64>", range(min = 1, max = 10_737_418_240u64))]
    pub max_file_size: Option<Option<u64>>,
    /// https:// origins (http:// for localhost), without path
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Vec<String>", length(max = 20), inner(regex(pattern = ORIGIN_PATTERN)))]
    pub help_center_origins: Option<Vec<String>>,
    /// Ticket form ids the widget protects; [] = every form.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Vec<u64>", length(max = 100), inner(range(min = 1)))]
    pub widget_forms: Option<Vec<u64>>,
    /// How the sidebar writes a link into a reply.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "ReplyLinkStyle")]
    pub reply_link_style: Option<String>,
    /// Days a purged package's row is kept; null for the server's.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<u64>", range(min = 0, max = 3650))]
    pub package_retention_days: Option<Option<u64>>,
    /// Days audit events are kept; null for the server's.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<u64>", range(min = 1, max = 3650))]
    pub audit_retention_days: Option<Option<u64>>,
    /// Team keys (docs/FORMAT.md §16): Help Center uploads must be team-sealed. Turning them
    /// on needs a stored roster (409 roster_required otherwise).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "bool")]
    pub team_keys: Option<bool>,
}

/// What a Help Center origin looks like: `https://` and a host name (or `http://` for
/// localhost), an optional port, no path.
pub const ORIGIN_PATTERN: &str = r"^(https://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?|http://(localhost|127\.0\.0\.1|\[::1\]))(:[0-9]{1,4})?/?$";

fn allowed_roles_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "maxItems": 50,
        "contains": { "const": "admin" },
        "items": {
            "anyOf": [
                { "type": "string", "pattern": "^(admin|agent|custom:[1-9][0-9]{0,18}|[1-9][0-9]{0,18})$" },
                { "type": "integer", "minimum": 1, "maximum": 9_999_999_999_999_999_999u64 }
            ]
        }
    })
}

/// How the sidebar writes a link into a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyLinkStyle {
    /// The URL as text.
    Text,
    /// A hyperlink with the file names as its text.
    Hyperlink,
}

impl ReplyLinkStyle {
    /// The stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Hyperlink => "hyperlink",
        }
    }

    /// Parses the stored and JSON form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "text" => Some(Self::Text),
            "hyperlink" => Some(Self::Hyperlink),
            _ => None,
        }
    }
}

/// Whether the tenant's Zendesk grant works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// No admin granted access yet.
    Missing,
    /// Roles are confirmed through it.
    Active,
    /// Zendesk refused it; an admin must grant again.
    NeedsReauthorization,
}

/// The grant, in [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// Whether it works.
    pub status: GrantState,
}

/// Every setting's value, as the tenant export holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsValues {
    /// admin, agent or custom:{id}; always includes admin
    pub allowed_roles: Vec<RoleName>,
    /// Outgoing "Require authentication" preset.
    pub require_auth_default: bool,
    /// Seconds, within the maximum.
    #[schemars(range(min = 1))]
    pub default_expiry_secs: u64,
    /// Seconds, within the server's.
    #[schemars(range(min = 1))]
    pub max_expiry_secs: u64,
    /// Bytes, within the server's.
    #[schemars(range(min = 1))]
    pub max_file_size: u64,
    /// The Help Center origins the widget may be used from.
    pub help_center_origins: Vec<String>,
    /// Ticket form ids the widget protects; [] = every form.
    #[schemars(inner(range(min = 1)))]
    pub widget_forms: Vec<u64>,
    /// How the sidebar writes a link into a reply.
    pub reply_link_style: ReplyLinkStyle,
    /// Days a purged package's row is kept (null: the server's, 7 by default).
    pub package_retention_days: Option<u32>,
    /// Days audit events are kept (null: the server's, 365 by default).
    #[schemars(range(min = 1))]
    pub audit_retention_days: Option<u32>,
    /// Whether Help Center uploads must be team-sealed (docs/FORMAT.md §16).
    pub team_keys: bool,
}

/// Every setting, as `GET /api/v1/settings` and `PUT /api/v1/settings` answer: the values,
/// the widget key, the grant's state and the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(extend("additionalProperties" = false))]
pub struct Settings {
    /// The values.
    #[serde(flatten)]
    pub values: SettingsValues,
    /// the public widget key
    pub widget_key: WidgetKey,
    /// The Zendesk grant.
    pub grant: Grant,
    /// the Zendesk account, null for a tenant made with the CLI
    pub subdomain: Option<String>,
    /// The account's name: what "Delete all data" asks the admin to type.
    pub tenant_name: Option<String>,
    /// The Subresource Integrity hash (`sha384-…`) of this server's Help Center widget loader:
    /// the snippet's `integrity` (docs/ZENDESK.md "Help Center widget"); null when the widget
    /// is not built on this server. `cargo xtask package-app` prints the same for a release.
    pub widget_loader_integrity: Option<String>,
}

/// What the sidebar needs to send files, in [`Me`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SenderSettings {
    /// Outgoing "Require authentication" preset.
    pub require_auth_default: bool,
    /// How the sidebar writes a link into a reply.
    pub reply_link_style: ReplyLinkStyle,
    /// Bytes.
    #[schemars(range(min = 1))]
    pub max_file_size: u64,
    /// Seconds.
    #[schemars(range(min = 1))]
    pub default_expiry_secs: u64,
    /// Seconds.
    #[schemars(range(min = 1))]
    pub max_expiry_secs: u64,
}

/// Where a signed-in agent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// The role is confirmed and allowed.
    Ready,
    /// No grant yet: an admin must grant access.
    SetupRequired,
    /// The grant stopped working: an admin must grant again.
    ReauthorizationRequired,
}

/// Answer of `GET /api/v1/me`: who the session is, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Me {
    /// The tenant's id.
    pub tenant: String,
    /// The Zendesk account.
    pub subdomain: String,
    /// the Zendesk user id
    pub user_id: ZendeskUserId,
    /// admin, agent or custom:{id}; null until confirmed
    pub role: Option<RoleName>,
    /// Whether the confirmed role is admin.
    pub is_admin: bool,
    /// Where the agent stands.
    pub status: AgentStatus,
    /// When the session ends.
    pub session_expires_at: Timestamp,
    /// What the sidebar needs to send files.
    pub settings: SenderSettings,
}

/// Answer of `POST /api/v1/settings/widget-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "WidgetKey")]
pub struct NewWidgetKey {
    /// the new public widget key
    pub widget_key: WidgetKey,
}

impl SettingsUpdate {
    /// The names of the fields this change sends.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("allowed_roles", self.allowed_roles.is_some()),
            ("require_auth_default", self.require_auth_default.is_some()),
            ("default_expiry_secs", self.default_expiry_secs.is_some()),
            ("max_expiry_secs", self.max_expiry_secs.is_some()),
            ("max_file_size", self.max_file_size.is_some()),
            ("help_center_origins", self.help_center_origins.is_some()),
            ("widget_forms", self.widget_forms.is_some()),
            ("reply_link_style", self.reply_link_style.is_some()),
            (
                "package_retention_days",
                self.package_retention_days.is_some(),
            ),
            ("audit_retention_days", self.audit_retention_days.is_some()),
            ("team_keys", self.team_keys.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::decode_json;

    #[test]
    fn null_resets_a_limit_and_is_refused_elsewhere() {
        let u: SettingsUpdate = decode_json(br#"{"max_file_size": null}"#).expect("limit reset");
        assert_eq!(u.max_file_size, Some(None));
        assert_eq!(u.fields(), ["max_file_size"]);
        // Found by fuzz/json_bodies: `null` on these was read as "absent" and answered 200.
        for field in [
            "allowed_roles",
            "require_auth_default",
            "help_center_origins",
            "widget_forms",
            "reply_link_style",
            "team_keys",
        ] {
            let body = format!(r#"{{"{field}": null}}"#);
            let error = decode_json::<SettingsUpdate>(body.as_bytes()).expect_err(field);
            assert_eq!(
                error,
                format!("The request body does not fit this endpoint: {field}: null is not a value here; leave the field out to keep it as it is."),
            );
        }
    }
}
