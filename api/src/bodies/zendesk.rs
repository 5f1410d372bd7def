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

/// Answer of `POST /zendesk/app/session`: what the server-rendered page carried in its
/// `<meta>` elements, for the sidebar served from the app package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppSession {
    /// `ready`, `setup_required`, `reauthorization_required` or `refused`.
    pub status: String,
    /// A sentence for the user.
    pub message: String,
    /// The agent session (`sda_…`), unless refused; a setup session unless `ready`.
    pub session: Option<String>,
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
