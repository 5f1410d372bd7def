//! Email verification of a recipient: ask for a code, confirm it for a session.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::{RecipientSessionToken, Timestamp};

/// Body of `POST …/verification`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The recipient's address.
    #[schemars(email, length(max = 254))]
    pub email: String,
}

/// What `POST …/verification` says, whether or not the address is a recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    /// A code went out if the address is one of the package's recipients.
    SentIfRecipient,
}

/// Answer of `POST …/verification` (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequested {
    /// Always `sent_if_recipient`: the answer does not tell who is a recipient.
    pub status: CodeStatus,
}

/// Body of `POST …/verification/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The address the code went to.
    #[schemars(email, length(max = 254))]
    pub email: String,
    /// 8 digits; spaces and dashes are ignored
    #[schemars(regex(pattern = "^[ -]*([0-9][ -]*){8}$"))]
    pub code: String,
}

/// Answer of `POST …/verification/confirm`: a session for this package.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RecipientSession")]
pub struct RecipientSessionGrant {
    /// for X-Sealdrop-Recipient-Session
    pub recipient_session: RecipientSessionToken,
    /// When the session ends.
    pub expires_at: Timestamp,
}
