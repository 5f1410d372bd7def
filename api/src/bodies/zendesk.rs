//! The Zendesk side: the sidebar's sign-in form and the admin's OAuth grant.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Form body of `POST /zendesk/sidebar`, which Zendesk posts when it opens the app.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SidebarSignIn {
    /// the ZAF signed URL JWT
    #[schemars(length(min = 1))]
    pub token: String,
}

/// Body of `POST /zendesk/app/session`: what proves the user beside the app JWT (the JWT
/// proves the account; docs/ZENDESK.md "Who the packaged sidebar runs for").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSessionRequest {
    /// The credential this browser kept from an earlier proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub credential: Option<String>,
    /// A random claim (32 bytes, base64url) made by the sidebar; the same one until it is
    /// collected or expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub claim: Option<String>,
}

/// Answer of `POST /zendesk/app/session`: what the server-rendered page carried in its
/// `<meta>` elements, for the sidebar served from the app package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSession {
    /// `ready`, `setup_required`, `reauthorization_required`, `identify` (the user must
    /// confirm who they are in Zendesk first) or `refused`.
    pub status: String,
    /// A sentence for the user.
    pub message: String,
    /// The agent session (`sda_…`), unless refused or `identify`; a setup session unless
    /// `ready`.
    pub session: Option<String>,
    /// A credential to keep in this browser and send with later sign-ins, once, when this
    /// sign-in collected it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// With `identify`: the path on this server of the page to open in a popup (it carries
    /// only the claim's hash), where Zendesk asks the user to approve. Absent when the
    /// request had no usable claim (make a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identify_path: Option<String>,
}

/// Answer of `POST /zendesk/oauth/start`: where to send the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "OAuthStart")]
pub struct OAuthStarted {
    /// Zendesk's authorization page, with this grant's state.
    #[schemars(url)]
    pub authorize_url: String,
    /// How long the state is accepted.
    pub expires_in_secs: u64,
}

/// Query of `GET /zendesk/app/identify`: the popup that asks Zendesk who the user is.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct IdentifyQuery {
    /// the claim's hash, as `POST /zendesk/app/session` gave it in `identify_url`
    #[schemars(length(min = 64, max = 64), regex(pattern = "^[0-9a-f]{64}$"))]
    pub claim: String,
}

/// Query of `GET /zendesk/oauth/callback`, as Zendesk sends it.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallbackQuery {
    /// the authorization code (absent when access was denied)
    #[serde(default)]
    #[schemars(length(min = 1, max = 1024))]
    pub code: Option<String>,
    /// the value sealdrop gave Zendesk with the authorization request
    #[schemars(with = "String", length(min = 1, max = 256))]
    pub state: Option<String>,
    /// set by Zendesk when access was denied
    #[serde(default)]
    pub error: Option<String>,
}
