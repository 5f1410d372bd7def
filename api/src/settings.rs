//! `PUT /api/v1/settings`: the body's shape. What each value may be is the server's to check
//! (`sealdrop_server::settings::validate`), since it depends on the server's own limits.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

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

/// Body of `PUT /api/v1/settings`: only the fields present change. `null` on a limit goes
/// back to the server's value; `null` elsewhere is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsUpdate {
    /// `admin`, `agent`, `custom:{id}` (a bare number is read as a custom role id).
    #[serde(default, deserialize_with = "present")]
    pub allowed_roles: Option<Vec<Value>>,
    /// Outgoing "Require authentication" preset.
    #[serde(default, deserialize_with = "present")]
    pub require_auth_default: Option<bool>,
    /// Seconds, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    pub default_expiry_secs: Option<Option<u64>>,
    /// Seconds, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    pub max_expiry_secs: Option<Option<u64>>,
    /// Bytes, or `null`.
    #[serde(default, deserialize_with = "nullable")]
    pub max_file_size: Option<Option<u64>>,
    /// Origins (`https://help.acme.com`).
    #[serde(default, deserialize_with = "present")]
    pub help_center_origins: Option<Vec<String>>,
    /// Ticket form ids.
    #[serde(default, deserialize_with = "present")]
    pub widget_forms: Option<Vec<u64>>,
    /// `text` or `hyperlink`.
    #[serde(default, deserialize_with = "present")]
    pub reply_link_style: Option<String>,
    /// Days a purged package's row is kept, or `null` for the server's.
    #[serde(default, deserialize_with = "nullable")]
    pub package_retention_days: Option<Option<u64>>,
    /// Days audit events are kept, or `null` for the server's.
    #[serde(default, deserialize_with = "nullable")]
    pub audit_retention_days: Option<Option<u64>>,
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
