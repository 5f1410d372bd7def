//! Deleting a tenant's data, and the signed certificate of it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v1/tenant/deletion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionRequest {
    /// The account's name (`tenant_name` in the settings), typed by the admin.
    pub confirm: String,
}

/// Answer of `POST /api/v1/tenant/deletion`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionCertificate {
    /// The certificate: one line of JSON, signed as written.
    pub certificate: String,
    /// A readable HTML rendering of it.
    pub html: String,
    /// The server's Ed25519 public key, b64u (also at /.well-known/sealdrop-deletion-key).
    #[schemars(regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub public_key: String,
}

/// The only signature algorithm of deletion certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SignatureAlg {
    /// RFC 8032.
    Ed25519,
}

/// Answer of `GET /.well-known/sealdrop-deletion-key`: the key deletion certificates are
/// signed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeletionKey {
    /// Always Ed25519.
    pub alg: SignatureAlg,
    /// 32 bytes, base64url without padding
    #[schemars(regex(pattern = "^[A-Za-z0-9_-]{43}$"))]
    pub public_key: String,
    /// What the key signs.
    #[serde(rename = "use")]
    pub purpose: String,
}
