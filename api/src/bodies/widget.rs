//! The Help Center widget's configuration.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Answer of `GET /widget/v1/config` (widget key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetConfig {
    /// ticket form ids the widget protects; [] = every form
    #[schemars(inner(range(min = 1)))]
    pub forms: Vec<u64>,
    /// The largest plaintext file the widget accepts, in bytes.
    #[schemars(range(min = 1))]
    pub max_file_size: u64,
    /// ciphertext chunks per upload part
    #[schemars(extend("const" = 128))]
    pub part_chunks: u64,
    /// Whether the tenant has team keys on: uploads must be team-sealed to the roster of
    /// `GET /widget/v1/roster`, verified against the snippet's pinned admin key fingerprint
    /// (docs/FORMAT.md §20); a link-sealed manifest is refused.
    pub team_keys: bool,
    /// The Zendesk account (its subdomain), null for a tenant made with the CLI: the tenant a
    /// roster must name (docs/FORMAT.md §19.3 step 4).
    pub tenant: Option<String>,
}
