//! The credentials, as OpenAPI security schemes, and the path parameters several paths share.

use serde_json::{json, Map, Value};

/// A credential the API takes (docs/API.md "Credentials").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A tenant API token, `Authorization: Bearer sdt_…`, from `sealdrop admin tenant create NAME`.
    TenantToken,
    /// One package's upload token, `sdu_` and 43 base64url characters, from POST /api/v1/packages; it stops working at finalize.
    UploadToken,
    /// The link proof A = HKDF-SHA256(link secret, package id, "sealdrop/v1/link-auth") as 43 base64url characters (docs/FORMAT.md); anyone holding the secure link can derive it. A wrong proof is answered like an unknown package (404).
    LinkProof,
    /// A download token, `sdd_` and 43 base64url characters, from POST …/download; valid for that package only, 24 h.
    DownloadToken,
    /// A Zendesk agent session, `Authorization: Bearer sda_…`, from POST /zendesk/sidebar (1 h); the agent's role is checked on every call.
    AgentSession,
    /// The tenant's public Help Center widget key, `sdw_` and 43 base64url characters; the request's Origin must be one of the tenant's Help Center origins.
    WidgetKey,
    /// A recipient session, `sdr_` and 43 base64url characters, from POST …/verification/confirm; valid for that package only, 1 h.
    RecipientSession,
    /// The operator's metrics token, when the server runs with --metrics-token; without it /metrics is open.
    MetricsToken,
    /// The app JWT, `Authorization: Bearer <JWT>`: HS256 signed by Zendesk's app proxy with the tenant's shared secret (the app's secure setting), for the sidebar served from the app package; used only to obtain an agent session (docs/ZENDESK.md "Sidebar from the app package").
    ZendeskAppJwt,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 9] = [
        Scheme::TenantToken,
        Scheme::UploadToken,
        Scheme::LinkProof,
        Scheme::DownloadToken,
        Scheme::AgentSession,
        Scheme::WidgetKey,
        Scheme::RecipientSession,
        Scheme::MetricsToken,
        Scheme::ZendeskAppJwt,
    ];

    /// Its name in the document.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::TenantToken => "tenantToken",
            Scheme::UploadToken => "uploadToken",
            Scheme::LinkProof => "linkProof",
            Scheme::DownloadToken => "downloadToken",
            Scheme::AgentSession => "agentSession",
            Scheme::WidgetKey => "widgetKey",
            Scheme::RecipientSession => "recipientSession",
            Scheme::MetricsToken => "metricsToken",
            Scheme::ZendeskAppJwt => "zendeskAppJwt",
        }
    }

    fn definition(self) -> Value {
        match self {
            Scheme::TenantToken => json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "sdt_ and 43 base64url characters",
                "description": "A tenant API token, `Authorization: Bearer sdt_…`, from `sealdrop admin tenant create NAME`."
            }),
            Scheme::UploadToken => json!({
                "type": "apiKey",
                "in": "header",
                "name": "X-Sealdrop-Upload-Token",
                "description": "One package's upload token, `sdu_` and 43 base64url characters, from POST /api/v1/packages; it stops working at finalize."
            }),
            Scheme::LinkProof => json!({
                "type": "apiKey",
                "in": "header",
                "name": "X-Sealdrop-Link-Proof",
                "description": "The link proof A = HKDF-SHA256(link secret, package id, \"sealdrop/v1/link-auth\") as 43 base64url characters (docs/FORMAT.md); anyone holding the secure link can derive it. A wrong proof is answered like an unknown package (404)."
            }),
            Scheme::DownloadToken => json!({
                "type": "apiKey",
                "in": "header",
                "name": "X-Sealdrop-Download-Token",
                "description": "A download token, `sdd_` and 43 base64url characters, from POST …/download; valid for that package only, 24 h."
            }),
            Scheme::AgentSession => json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "sda_ and a signed JWT",
                "description": "A Zendesk agent session, `Authorization: Bearer sda_…`, from POST /zendesk/sidebar (1 h); the agent's role is checked on every call."
            }),
            Scheme::WidgetKey => json!({
                "type": "apiKey",
                "in": "header",
                "name": "X-Sealdrop-Widget-Key",
                "description": "The tenant's public Help Center widget key, `sdw_` and 43 base64url characters; the request's Origin must be one of the tenant's Help Center origins."
            }),
            Scheme::RecipientSession => json!({
                "type": "apiKey",
                "in": "header",
                "name": "X-Sealdrop-Recipient-Session",
                "description": "A recipient session, `sdr_` and 43 base64url characters, from POST …/verification/confirm; valid for that package only, 1 h."
            }),
            Scheme::MetricsToken => json!({
                "type": "http",
                "scheme": "bearer",
                "description": "The operator's metrics token, when the server runs with --metrics-token; without it /metrics is open."
            }),
            Scheme::ZendeskAppJwt => json!({
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT (HS256)",
                "description": "The app JWT, `Authorization: Bearer <JWT>`: HS256 signed by Zendesk's app proxy with the tenant's shared secret (the app's secure setting), for the sidebar served from the app package; used only to obtain an agent session (docs/ZENDESK.md \"Sidebar from the app package\")."
            }),
        }
    }
}

/// `components/securitySchemes`.
pub(super) fn schemes() -> Map<String, Value> {
    Scheme::ALL
        .iter()
        .map(|s| (s.name().to_owned(), s.definition()))
        .collect()
}

/// `components/parameters`: the path parameters of package, file and part.
pub(super) fn path_parameters() -> Value {
    json!({
        "PackageId": {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The package id: b64u of 16 bytes, 22 characters. Ids are not secret.",
            "schema": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{22}$"
            }
        },
        "FileIndex": {
            "name": "file",
            "in": "path",
            "required": true,
            "description": "A file's index in the manifest, from 0.",
            "schema": {
                "type": "integer",
                "minimum": 0,
                "maximum": u32::MAX
            }
        },
        "PartIndex": {
            "name": "part",
            "in": "path",
            "required": true,
            "description": "A part's index within its file, from 0 (part p holds ciphertext chunks [p*128, (p+1)*128)).",
            "schema": {
                "type": "integer",
                "minimum": 0,
                "maximum": u32::MAX
            }
        }
    })
}
