//! Identifiers, credentials and times as they travel in bodies: newtypes over their text, so
//! a field says what it holds, the OpenAPI document says what it looks like (its pattern), and
//! a credential never prints itself (`Debug` shows its kind only) and is wiped when dropped.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Defines a newtype over the text of a wire value, with its JSON Schema pattern.
/// `secret`: `Debug` redacts it and dropping it wipes it.
macro_rules! wire_text {
    ($(#[$doc:meta])* $name:ident, $pattern:literal, public) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);
        wire_text!(@common $name, $pattern);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $pattern:literal, secret) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
        #[zeroize(drop)]
        #[serde(transparent)]
        pub struct $name(String);
        wire_text!(@common $name, $pattern);
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(redacted)"))
            }
        }
    };
    (@common $name:ident, $pattern:literal) => {
        impl $name {
            /// The pattern every value matches (in the OpenAPI document too).
            pub const PATTERN: &'static str = $pattern;

            /// Wraps text the caller made or checked; the receiving side checks it anyway.
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }

            /// The text, as sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl JsonSchema for $name {
            fn inline_schema() -> bool {
                true
            }
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

wire_text!(
    /// A package id: b64u of 16 bytes, 22 characters. Ids are not secret.
    PackageId,
    "^[A-Za-z0-9_-]{22}$",
    public
);
wire_text!(
    /// The server secret `S`, b64u of 32 bytes.
    ServerSecretText,
    "^[A-Za-z0-9_-]{43}$",
    secret
);
wire_text!(
    /// One package's upload token (`sdu_…`), until finalize.
    UploadToken,
    "^sdu_[A-Za-z0-9_-]{43}$",
    secret
);
wire_text!(
    /// A download token (`sdd_…`), for one package's ciphertext.
    DownloadToken,
    "^sdd_[A-Za-z0-9_-]{43}$",
    secret
);
wire_text!(
    /// A recipient session (`sdr_…`), for one package.
    RecipientSessionToken,
    "^sdr_[A-Za-z0-9_-]{43}$",
    secret
);
wire_text!(
    /// A tenant's public Help Center widget key (`sdw_…`). Public (it is in the theme), but
    /// it names the tenant, so it is kept out of logs all the same.
    WidgetKey,
    "^sdw_[A-Za-z0-9_-]{43}$",
    secret
);
wire_text!(
    /// A role as sealdrop names it: `admin`, `agent`, or `custom:{id}` (a Zendesk custom role).
    RoleName,
    "^(admin|agent|custom:[1-9][0-9]*)$",
    public
);
wire_text!(
    /// A Zendesk user id, in decimal.
    ZendeskUserId,
    "^[0-9]+$",
    public
);

/// A moment, written RFC 3339 in UTC to the second (`2026-01-02T03:04:05Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The moment `unix` seconds after the epoch.
    pub fn from_unix(unix: i64) -> Self {
        Self(unix)
    }

    /// Seconds after the epoch.
    pub fn unix(self) -> i64 {
        self.0
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-01-02T03:04:05Z`).
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&rfc3339(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| Self(t.timestamp()))
            .map_err(|e| serde::de::Error::custom(format!("not an RFC 3339 time: {e}")))
    }
}

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "date-time" })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_never_prints_and_a_time_round_trips() {
        let token = UploadToken::new("sdu_secretsecret");
        assert_eq!(format!("{token:?}"), "UploadToken(redacted)");
        assert_eq!(
            serde_json::to_string(&token).unwrap(),
            "\"sdu_secretsecret\""
        );

        let t = Timestamp::from_unix(1_767_323_045);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-01-02T03:04:05Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        let err = serde_json::from_str::<Timestamp>("\"yesterday\"").unwrap_err();
        assert!(err.to_string().starts_with("not an RFC 3339 time"), "{err}");
    }
}
