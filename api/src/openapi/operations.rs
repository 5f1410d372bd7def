//! Every operation of the API, in the order docs/API.md tells them.

use serde_json::json;

use super::builder::{op, Operation};
use super::security::Scheme;
use crate::bodies::{
    audit, data_requests, deletion, packages, settings, team, verification, widget, zendesk,
};

/// Why an agent's own device operations refuse a credential (403).
const DEVICE_FORBIDDEN: &str =
    "forbidden: a tenant token (device keys belong to agents), or an agent whose role is not allowed";

/// Every operation.
pub(super) fn all() -> Vec<Operation> {
    vec![
    op("get", "/healthz", "Liveness")
        .public()
        .other(200, "the process runs", &[("text/plain", json!({
            "type": "string"
        }))]),
    op("get", "/readyz", "Readiness: database and storage answer")
        .public()
        .other(200, "ready", &[("text/plain", json!({
            "type": "string"
        }))])
        .other(503, "not ready", &[("text/plain", json!({
            "type": "string"
        }))]),
    op("get", "/metrics", "Prometheus metrics")
        .security(&[&[], &[Scheme::MetricsToken]])
        .other(200, "OpenMetrics 1.0.0 text (application/openmetrics-text; version=1.0.0; charset=utf-8), ending in # EOF", &[("application/openmetrics-text", json!({
            "type": "string"
        }))])
        .error(401, "unauthorized: the server runs with --metrics-token and the request lacks it"),
    op("get", "/api/v1/openapi.json", "This document")
        .public()
        .other(200, "OpenAPI 3.1", &[("application/json", json!({
            "type": "object"
        }))]),
    op("post", "/api/v1/packages", "Create a package")
        .description("With a widget key (and an allowed Origin) the package is an anonymous Help Center upload: require_auth is forced on and recipients, notify_sender and max_downloads are refused. A body of the wrong shape is a 400 whose message names the field, e.g. `max_downloads: invalid type: string \"five\", expected u32`.")
        .security(&[&[Scheme::TenantToken], &[Scheme::AgentSession], &[Scheme::WidgetKey]])
        .param(json!({
            "name": "Origin",
            "in": "header",
            "required": false,
            "description": "With a widget key: the Help Center page's origin, which browsers send (one of the tenant's Help Center origins).",
            "schema": {
                "type": "string"
            }
        }))
        .json_body::<packages::CreateRequest>(false)
        .json::<packages::CreatedPackage>(201, "created")
        .error(400, "bad_request: the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), or a recipient or notify_sender address that is not valid")
        .error(401, "unauthorized: no credential, or a token that is not valid (the message names the header to send)")
        .error(403, "forbidden: a widget key without an allowed Origin, or an agent whose role is not allowed")
        .error(413, "payload_too_large: the JSON body is over 64 KiB, or the tenant's Help Center storage quota is used up")
        .error(429, "rate_limited: the widget's hourly caps, or Zendesk rate limiting an agent session's role check")
        .internal()
        .unavailable(),
    op("get", "/api/v1/packages", "The packages this agent sent (newest first, 100 at most)")
        .security(&[&[Scheme::AgentSession]])
        .query::<packages::SentQuery>()
        .json::<packages::SentPackages>(200, "the agent's packages")
        .error(400, "bad_request: mine=1 missing, or another query parameter")
        .error(401, "unauthorized: no credential, or a token that is not valid (the message names the header to send)")
        .error(403, "forbidden: a tenant token (not an agent), or an agent whose role is not allowed")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("get", "/api/v1/packages/{id}", "Public info")
        .security(&[&[Scheme::LinkProof]])
        .path_param("PackageId")
        .json::<packages::PackageInfo>(200, "info")
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no X-Sealdrop-Link-Proof, or one that is not 43 base64url characters")
        .error(404, "not_found: no package at this link: unknown or not finalized, or a wrong link proof (indistinguishable)")
        .error(410, "expired, revoked or download_limit_reached")
        .internal()
        .unavailable(),
    op("delete", "/api/v1/packages/{id}", "Revoke: blobs deleted, row kept until purged")
        .security(&[&[Scheme::TenantToken], &[Scheme::AgentSession], &[Scheme::UploadToken]])
        .path_param("PackageId")
        .other(204, "revoked (or already revoked)", &[])
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no credential, or one that is not valid")
        .error(403, "forbidden: the upload token after finalize, or an agent whose role is not allowed")
        .error(404, "not_found: no such package for this credential (another tenant's package does not exist for you)")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("put", "/api/v1/packages/{id}/manifest", "Set the manifest")
        .security(&[&[Scheme::UploadToken]])
        .path_param("PackageId")
        .param(json!({
            "name": "X-Sealdrop-Link-Verifier",
            "in": "header",
            "required": true,
            "schema": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_-]{43}$"
            },
            "description": "b64u(SHA-256(A)), 43 characters: what the server keeps to check link proofs"
        }))
        .bytes_body("application/octet-stream", json!({
            "type": "string",
            "format": "binary",
            "maxLength": 1048576
        }))
        .json::<packages::ManifestStored>(200, "stored (or identical bytes already stored)")
        .error(400, "bad_request: the bytes are not a manifest of this package (unparsable, another package id, a ciphertext size no plaintext has), a missing or malformed X-Sealdrop-Link-Verifier, or a bad path; or team_sealed_required: the tenant has team keys on and this Help Center upload's manifest has a link stanza")
        .error(401, "unauthorized: no X-Sealdrop-Upload-Token, or one that is not sdu_…")
        .error(404, "not_found: no package with this id for this upload token (indistinguishable)")
        .error(409, "conflict: different bytes after a part was uploaded, or the package is finalized")
        .error(410, "expired or revoked")
        .error(413, "payload_too_large: over 1 MiB, more files than the server allows, a file over max_file_size, or over the widget's limits")
        .internal()
        .unavailable(),
    op("put", "/api/v1/packages/{id}/files/{file}/parts/{part}", "Upload a part (idempotent)")
        .security(&[&[Scheme::UploadToken]])
        .path_param("PackageId")
        .path_param("FileIndex")
        .path_param("PartIndex")
        .param(json!({
            "name": "X-Sealdrop-Sha256",
            "in": "header",
            "required": true,
            "schema": {
                "type": "string",
                "pattern": "^[0-9A-Fa-f]{64}$"
            },
            "description": "hex(SHA-256(body)): the part is stored only if the body hashes to it"
        }))
        .bytes_body("application/octet-stream", json!({
            "type": "string",
            "format": "binary"
        }))
        .json::<packages::PartStored>(200, "already held with the same bytes")
        .json::<packages::PartStored>(201, "stored")
        .error(400, "bad_request: a body of the wrong length for this part, a missing or malformed X-Sealdrop-Sha256 or Content-Length, or a bad path")
        .error(401, "unauthorized: no X-Sealdrop-Upload-Token, or one that is not sdu_…")
        .error(404, "not_found: no package with this id for this upload token, or no such file or part in its manifest")
        .error(409, "conflict: no manifest yet, the package is finalized, or the part is held with different bytes")
        .error(410, "expired or revoked")
        .error(413, "payload_too_large: over the widget's limits")
        .error(422, "checksum_mismatch: the body does not hash to X-Sealdrop-Sha256; nothing was stored")
        .internal()
        .unavailable(),
    op("get", "/api/v1/packages/{id}/parts", "Parts the server holds")
        .security(&[&[Scheme::UploadToken]])
        .path_param("PackageId")
        .json::<packages::PartsListing>(200, "held parts per file")
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no X-Sealdrop-Upload-Token, or one that is not sdu_…")
        .error(404, "not_found: no package with this id for this upload token (indistinguishable)")
        .error(409, "conflict: the package is finalized (the upload token stopped working)")
        .error(410, "revoked: the package was revoked")
        .internal()
        .unavailable(),
    op("post", "/api/v1/packages/{id}/finalize", "Finalize the upload")
        .security(&[&[Scheme::UploadToken]])
        .path_param("PackageId")
        .json::<packages::Finalized>(200, "finalized (also on a repeated call)")
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no X-Sealdrop-Upload-Token, or one that is not sdu_…")
        .error(404, "not_found: no package with this id for this upload token (indistinguishable)")
        .error(409, "incomplete_upload (missing lists the parts not held), or conflict: no manifest yet")
        .error(410, "expired or revoked")
        .internal()
        .unavailable(),
    op("post", "/api/v1/packages/{id}/open", "Get the server secret and manifest")
        .security(&[&[Scheme::LinkProof, Scheme::RecipientSession], &[Scheme::LinkProof, Scheme::AgentSession], &[Scheme::LinkProof]])
        .path_param("PackageId")
        .json::<packages::Opened>(200, "what decryption needs")
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no or malformed link proof; or verification_required: the package requires a recipient session for it, or an allowed agent session of its tenant")
        .error(403, "forbidden: an agent session whose role is not allowed")
        .error(404, "not_found: no package at this link: unknown or not finalized, or a wrong link proof (indistinguishable)")
        .error(410, "expired, revoked or download_limit_reached")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("post", "/api/v1/packages/{id}/download", "Start a download (takes one from the limit; idempotent with Idempotency-Key)")
        .description("Atomically takes one download from the package's limit and answers a download token (24 h, or the package's expiry if sooner). With an Idempotency-Key the package has seen within that first token's lifetime, it answers a new download token expiring with the first and takes nothing: a retry after a lost answer does not use up another download. Keys are bound to the package and stored only as SHA-256.")
        .security(&[&[Scheme::LinkProof, Scheme::RecipientSession], &[Scheme::LinkProof, Scheme::AgentSession], &[Scheme::LinkProof]])
        .path_param("PackageId")
        .param(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {
                "type": "string",
                "pattern": "^([A-Za-z0-9_-]{22,64}|\"[A-Za-z0-9_-]{22,64}\")$"
            },
            "description": "random per download start, sent again on its retries: 16 random bytes in base64url (22 characters) recommended; 22 to 64 base64url characters, optionally double-quoted"
        }))
        .json::<packages::DownloadGrant>(200, "download token")
        .error(400, "bad_request: a malformed Idempotency-Key, or a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(401, "unauthorized: no or malformed link proof; or verification_required: the package requires a recipient session for it, or an allowed agent session of its tenant")
        .error(403, "forbidden: an agent session whose role is not allowed")
        .error(404, "not_found: no package at this link: unknown or not finalized, or a wrong link proof (indistinguishable)")
        .error(410, "expired, revoked or download_limit_reached")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    ciphertext(false),
    ciphertext(true),
    op("get", "/api/v1/audit", "The tenant's audit log, newest first")
        .description("The tenant API token, or a Zendesk admin's agent session (other agents: 403).")
        .security(&[&[Scheme::TenantToken], &[Scheme::AgentSession]])
        .query::<audit::AuditQuery>()
        .json::<audit::AuditPage>(200, "events (JSON, or CSV with format=csv)")
        .or_as("text/csv", json!({
            "type": "string"
        }))
        .error(400, "bad_request: an unknown event or format, a since that is not a time, a limit out of range, or another query parameter")
        .error(401, "unauthorized: no credential, or a token that is not valid (the message names the header to send)")
        .error(403, "forbidden: an agent session of a non-admin")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("post", "/api/v1/packages/{id}/verification", "Send me a code (recipient verification)")
        .description("Always 202 for a well-formed address, whether or not it is a recipient; only recipients get mail. Codes: 8 digits, 10 minutes, one use.")
        .security(&[&[Scheme::LinkProof]])
        .path_param("PackageId")
        .json_body::<verification::CodeRequest>(true)
        .json::<verification::CodeRequested>(202, "sent if the address is a recipient")
        .error(400, "bad_request: the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), an address that is not valid, or a bad path")
        .error(401, "unauthorized: no X-Sealdrop-Link-Proof, or one that is not 43 base64url characters")
        .error(404, "not_found: no package at this link: unknown or not finalized, or a wrong link proof (indistinguishable)")
        .error(409, "conflict: the package does not require verification (nothing to verify; no allowance spent)")
        .error(410, "expired, revoked or download_limit_reached")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .error(429, "rate_limited: per hour, 5 codes per address and package, 20 per address and tenant, 50 per address, 30 per package")
        .internal()
        .unavailable(),
    op("post", "/api/v1/packages/{id}/verification/confirm", "Confirm a code: get a recipient session")
        .security(&[&[Scheme::LinkProof]])
        .path_param("PackageId")
        .json_body::<verification::ConfirmRequest>(true)
        .json::<verification::RecipientSessionGrant>(200, "recipient session for this package (1 h, or the package's expiry if sooner)")
        .error(400, "bad_request: the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), an address that is not valid, a code that is not 8 digits, or a bad path")
        .error(401, "unauthorized: a wrong, expired, used or dead code (always the same message), or no or malformed link proof")
        .error(404, "not_found: no package at this link: unknown or not finalized, or a wrong link proof (indistinguishable)")
        .error(409, "conflict: the package does not require verification")
        .error(410, "expired, revoked or download_limit_reached")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("get", "/api/v1/me", "The signed-in agent and what the sidebar needs")
        .description("Any agent session, setup sessions included (status says what is missing).")
        .security(&[&[Scheme::AgentSession]])
        .json::<settings::Me>(200, "the agent")
        .error(401, "unauthorized: no agent session, or an expired or invalid one")
        .error(403, "forbidden: the agent's Zendesk role is not allowed")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("get", "/api/v1/settings", "The tenant's settings")
        .tenant_admin()
        .json::<settings::Settings>(200, "every setting, the grant status and the subdomain")
        .internal()
        .unavailable(),
    op("put", "/api/v1/settings", "Change the tenant's settings")
        .description("A partial object: only fields present change; null on a limit goes back to the server's. Unknown fields are refused; errors name the field.")
        .tenant_admin()
        .json_body::<settings::SettingsUpdate>(true)
        .json::<settings::Settings>(200, "the new settings")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), or a value out of range (default_expiry_secs over max_expiry_secs, an origin that is not one, a role list without admin)")
        .error(409, "roster_required: team_keys turned on before any roster was published")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("post", "/api/v1/settings/widget-key", "Rotate the widget key (the old one stops working at once)")
        .tenant_admin()
        .json::<settings::NewWidgetKey>(200, "the new key")
        .internal()
        .unavailable(),
    op("get", "/api/v1/me/devices", "The signed-in agent's device keys (team keys)")
        .description("Oldest first, with status: pending (no roster lists it yet), approved (the current roster lists it) or removed (its agent removed it and the current roster still lists it: pending removal).")
        .agent_own(DEVICE_FORBIDDEN)
        .json::<team::Devices>(200, "the agent's devices")
        .internal()
        .unavailable(),
    op("post", "/api/v1/me/devices", "Register this browser's device key (team keys)")
        .description("The agent's browser registers its X25519 public key and a label under the agent's Zendesk user; it stays pending until the admin signs a roster listing it (docs/FORMAT.md §21.1). The answer's fingerprint is the server's computation; the agent's screen shows its own. At most 8 devices per agent and 100 per account.")
        .agent_own(DEVICE_FORBIDDEN)
        .json_body::<team::NewDevice>(true)
        .json::<team::Device>(201, "registered, pending")
        .error(400, "bad_request: no body, the body is not JSON, not an object, a field is missing, unknown or of the wrong type, or a label that is not 1 to 64 bytes without control or bidirectional formatting characters; invalid_device_key: not 32 bytes of base64url, or a low-order X25519 point")
        .error(409, "device_key_registered: this key is registered already; too_many_devices: the agent or the account has as many devices as it may")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("delete", "/api/v1/me/devices/{device_key}", "Remove one of the agent's device keys (team keys)")
        .description("A pending device goes at once; one the current roster lists stays, removed (pending removal), until the admin signs a roster without it. Removing it again answers 204 and changes nothing.")
        .agent_own(DEVICE_FORBIDDEN)
        .param(json!({
            "name": "device_key",
            "in": "path",
            "required": true,
            "description": "The device key, b64u of 32 bytes.",
            "schema": {
                "type": "string",
                "pattern": team::KEY_PATTERN
            }
        }))
        .other(204, "removed, or pending removal", &[])
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(404, "not_found: the agent has no device with this key")
        .internal()
        .unavailable(),
    op("get", "/api/v1/team/devices", "Every device key of the account, for its admin (team keys)")
        .description("With each device's agent, label, fingerprint and status; pending_removal marks roster devices their agents removed, for the admin to sign a roster without them.")
        .tenant_admin()
        .json::<team::TeamDevices>(200, "the account's devices and the current roster's sequence")
        .internal()
        .unavailable(),
    op("get", "/api/v1/team/admin-key", "The admin key wrapped by the recovery code (team keys)")
        .description("For the admin's browser to unwrap with the recovery code (docs/FORMAT.md §18.3); the server cannot open it.")
        .tenant_admin()
        .json::<team::AdminKey>(200, "the stored admin key")
        .error(404, "not_found: no admin key is stored yet")
        .internal()
        .unavailable(),
    op("put", "/api/v1/team/admin-key", "Store the admin key wrapped by the recovery code (team keys)")
        .description("The server checks the blob's layout (docs/FORMAT.md §18.3) and that its admin key can verify signatures. A stored key is replaced only with replace: true (the admin key and the code both lost, §21.3), recorded as admin_key_replaced; the same bytes again change nothing. The roster stays; the next must be signed by the new key.")
        .tenant_admin()
        .json_body::<team::AdminKeyUpload>(true)
        .json::<team::AdminKey>(200, "stored")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type; invalid_admin_key_blob: not a wrapped admin key, or its key cannot verify a signature")
        .error(409, "admin_key_exists: another admin key is stored and replace is not true")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("get", "/api/v1/team/roster", "The account's current signed roster (team keys)")
        .description("Any allowed agent (or the tenant token). Verify it before use (docs/FORMAT.md §19.3): the server stores and serves it, it does not vouch for it.")
        .security(&[&[Scheme::TenantToken], &[Scheme::AgentSession]])
        .json::<team::TeamRoster>(200, "the roster")
        .error(401, "unauthorized: no credential, or a token that is not valid (the message names the header to send)")
        .error(403, "forbidden: an agent whose role is not allowed")
        .error(404, "not_found: no roster is published yet")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable(),
    op("put", "/api/v1/team/roster", "Publish a signed roster (team keys)")
        .description("Checked as a client checks it where the server can (docs/FORMAT.md §19.3): structure, the signature under the stored admin key, the tenant (the Zendesk subdomain), no low-order key, a sequence greater than the stored roster's, and every device registered for its user. Devices it lists become approved; approved or removed devices it leaves out are deleted.")
        .tenant_admin()
        .json_body::<team::RosterUpload>(true)
        .json::<team::TeamRoster>(200, "published")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type; invalid_roster, admin_key_mismatch, roster_signature_invalid or roster_tenant_mismatch: the roster fails a check (the message says which)")
        .error(409, "admin_key_required: no admin key is stored; roster_rolled_back: the sequence is not greater than the stored roster's; conflict: the account has no Zendesk subdomain, or the admin key was replaced meanwhile")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("get", "/api/v1/team/packages", "The account's team-sealed packages, for its admin to re-wrap (team keys)")
        .description("Finalized Help Center uploads that have not expired and have no link stanza, newest first, at most 1000: the packages the admin's browser re-wraps after a device left the roster (docs/FORMAT.md §21.2).")
        .tenant_admin()
        .json::<team::TeamPackages>(200, "the packages")
        .internal()
        .unavailable(),
    op("get", "/api/v1/team/packages/{id}/manifest", "A team-sealed package's manifest, for its admin to re-wrap (team keys)")
        .description("Only team-sealed packages (no link stanza): their manifests open with a device key or the recovery code, nothing the server or the link holds.")
        .tenant_admin()
        .path_param("PackageId")
        .other(200, "the manifest bytes", &[("application/octet-stream", json!({
            "type": "string",
            "format": "binary"
        }))])
        .error(400, "bad_request: a path segment that does not decode (percent-encoded bytes that are not UTF-8)")
        .error(404, "not_found: no package with this id in this account")
        .error(409, "not_team_sealed: the package has a link stanza; conflict: it is not finalized")
        .error(410, "expired or revoked")
        .internal()
        .unavailable(),
    op("put", "/api/v1/team/packages/{id}/manifest", "Re-wrap a team-sealed package: replace its key stanzas (team keys)")
        .description("The new manifest must parse, be team-sealed, and differ from the stored one in its key stanzas only (same package id, commitment, file table and metadata ciphertext; docs/FORMAT.md §21.2). It replaces the stored manifest atomically; the file ciphertexts stay. Recorded as package_rewrapped; the same bytes again change nothing.")
        .tenant_admin()
        .path_param("PackageId")
        .bytes_body("application/octet-stream", json!({
            "type": "string",
            "format": "binary",
            "maxLength": 1048576
        }))
        .json::<team::Rewrapped>(200, "re-wrapped (or the same bytes were stored)")
        .error(400, "bad_request: the bytes are not a manifest, or a bad path; rewrap_mismatch: the manifest has a link stanza, or differs from the stored one beyond its stanzas")
        .error(404, "not_found: no package with this id in this account")
        .error(409, "not_team_sealed: the stored package has a link stanza (only team-sealed packages are re-wrapped); conflict: it is not finalized, or its manifest changed meanwhile")
        .error(410, "expired or revoked")
        .error(413, "payload_too_large: over 1 MiB")
        .internal()
        .unavailable(),
    op("get", "/widget/v1/loader.js", "The Help Center widget loader script")
        .description("Public; <script src=… integrity=\"sha384-…\" crossorigin=\"anonymous\" data-key=\"sdw_…\" data-admin-key=\"…\" async>. The release's loader byte for byte (its integrity is `widget_loader_integrity` in the settings); cached 5 minutes; carries the SHA-384 of every file it loads.")
        .public()
        .other(200, "JavaScript", &[("text/javascript", json!({
            "type": "string"
        }))])
        .error(404, "not_found: the widget is not built on this server (cargo xtask wasm)"),
    op("get", "/widget/v1/config", "The widget's settings for its key")
        .description("Readable by any origin (so the widget can show why it was refused); the key's tenant must list the request's Origin among its Help Center origins.")
        .security(&[&[Scheme::WidgetKey]])
        .param(json!({
            "name": "Origin",
            "in": "header",
            "required": true,
            "description": "The Help Center page's origin, which browsers send: one of the tenant's Help Center origins.",
            "schema": {
                "type": "string"
            }
        }))
        .json::<widget::WidgetConfig>(200, "widget settings")
        .error(401, "unauthorized: no widget key, or one that is not valid")
        .error(403, "forbidden: no Origin, or one that is not among the tenant's Help Center origins")
        .internal()
        .unavailable(),
    op("get", "/widget/v1/roster", "The tenant's signed team roster, for its widget key")
        .description("The widget seals Help Center uploads to it only after verifying it against the admin key fingerprint pinned in the snippet (docs/FORMAT.md §19.3); the server is not trusted for that. Readable by any origin, like the config; the key's tenant must list the request's Origin among its Help Center origins.")
        .security(&[&[Scheme::WidgetKey]])
        .param(json!({
            "name": "Origin",
            "in": "header",
            "required": true,
            "description": "The Help Center page's origin, which browsers send: one of the tenant's Help Center origins.",
            "schema": {
                "type": "string"
            }
        }))
        .json::<team::TeamRoster>(200, "the roster")
        .error(401, "unauthorized: no widget key, or one that is not valid")
        .error(403, "forbidden: no Origin, or one that is not among the tenant's Help Center origins")
        .error(404, "not_found: no roster is published yet")
        .internal()
        .unavailable(),
    op("post", "/zendesk/sidebar", "Agent sign-in (ZAF signed URL): the sidebar page")
        .description("Zendesk posts the app's signed URL token. The answer is the sidebar page with <meta> elements sealdrop-status (ready, setup_required, reauthorization_required or refused), sealdrop-message and, unless refused, sealdrop-session (sda_…). Framed only by the tenant's Zendesk (CSP frame-ancestors). See docs/ZENDESK.md.")
        .public()
        .form_body::<zendesk::SidebarSignIn>()
        .page(200, "signed in: status ready, setup_required or reauthorization_required")
        .page(400, "refused: no token form field (not opened by Zendesk)")
        .page(401, "the token does not verify (the page says why)")
        .page(403, "the agent's role is not allowed (no session)")
        .page(429, "Zendesk is rate limiting sealdrop")
        .page(500, "server error")
        .page(503, "no Zendesk app public key is configured"),
    op("post", "/zendesk/app/session", "Agent sign-in for the sidebar served from the app package")
        .description("Zendesk's app proxy posts the app JWT it signed with the tenant's shared secret (ZAF client.request with secure: true and jwt). Claims: iss {subdomain}.zendesk.com, aud sealdrop, sub (user id), installation_id, jti (single use), iat/exp at most 300 s apart. The JWT proves the account, not the user (the app's script chooses the claims), so the body carries the user's proof: a credential kept from an earlier proof, or a claim the user approves once in Zendesk (status identify with identify_path, the popup). The answer carries what the server-rendered sidebar page carried in its <meta> elements. See docs/ZENDESK.md \"Sidebar from the app package\" and \"Who the packaged sidebar runs for\".")
        .security(&[&[Scheme::ZendeskAppJwt]])
        .json_body::<zendesk::AppSessionRequest>(false)
        .json::<zendesk::AppSession>(200, "signed in: status ready, setup_required or reauthorization_required, with a session (and, once, a credential to keep); or status identify: the user must confirm in Zendesk first")
        .error(400, "bad_request: the body is not an AppSessionRequest")
        .error(401, "unauthorized: no app JWT, or one that does not verify, has expired or was used already")
        .json::<zendesk::AppSession>(403, "the agent's role is not allowed: status refused, no session")
        .error(404, "not_found: no app shared secret is set up for this Zendesk account")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop")
        .internal()
        .unavailable(),
    op("get", "/zendesk/app/identify", "The popup where a packaged sidebar's user confirms who they are")
        .description("Opened by the packaged sidebar with the identify_path that POST /zendesk/app/session gave (it carries only the SHA-256 of the sidebar's claim). Redirects to Zendesk's OAuth consent (PKCE, scope users:read); the callback (GET /zendesk/oauth/callback) proves the claim only if Zendesk's GET /api/v2/users/me names the user the app JWT named, and revokes that token at once.")
        .public()
        .query::<zendesk::IdentifyQuery>()
        .other(303, "to Zendesk's consent page", &[])
        .page(404, "the claim is unknown, already proven or expired")
        .page(500, "server error")
        .unavailable(),
    oauth_start("get", "Begin the admin's Zendesk API grant (PKCE)"),
    oauth_start("post", "Begin the admin's Zendesk API grant (PKCE); same as GET"),
    op("get", "/zendesk/oauth/callback", "Zendesk's OAuth redirect: finishes the grant (browser page)")
        .description("The pending request (by SHA-256 of state, single use, 10 minutes) is taken, the code exchanged, the grant checked to be an admin's and stored sealed. A state made by GET /zendesk/app/identify instead proves that popup's claim when Zendesk names the same user (403 when it names another).")
        .public()
        .query::<zendesk::CallbackQuery>()
        .page(200, "access granted (or who the user is confirmed): close the window")
        .page(400, "not a callback Zendesk makes: no state, or neither code nor error, or a parameter given twice")
        .page(403, "access denied in Zendesk, the grant was not made by an admin, or Zendesk named another user than the identity claim's")
        .page(404, "this authorization is unknown, already used or expired")
        .page(500, "server error")
        .page(502, "Zendesk did not complete the exchange or say who granted it")
        .unavailable(),
    op("get", "/p/{id}", "The recipient page")
        .description("The same static page for every package: the link secret stays in the URL fragment, which browsers never send. Strict CSP, no framing.")
        .public()
        .param(json!({
            "name": "id",
            "in": "path",
            "required": true,
            "description": "The package id; the page reads it (and the secret in the fragment) in the browser.",
            "schema": {
                "type": "string"
            }
        }))
        .page(200, "the page"),
    op("get", "/.well-known/sealdrop-deletion-key", "The Ed25519 public key that signs certificates of deletion")
        .description("Anyone can check a certificate of deletion (`sealdrop admin certificate verify FILE`, or any Ed25519 implementation: the signature covers the `certificate` member as serialized) against this key. See docs/DATA.md.")
        .public()
        .json::<deletion::DeletionKey>(200, "the key"),
    op("post", "/api/v1/tenant/deletion", "Delete all of the tenant's data and get a signed certificate of deletion")
        .description("Zendesk admins (agent session, role confirmed now) or the tenant's API token. Deletes every package (blobs, then rows; each store prefix listed and found empty), the audit log, settings, API tokens and Zendesk rows, then signs a certificate with the server's Ed25519 key (public key at /.well-known/sealdrop-deletion-key). Interrupted, asking again finishes it (as the CLI's `sealdrop admin tenant delete`). The credential stops working with it.")
        .tenant_admin()
        .json_body::<deletion::DeletionRequest>(true)
        .json::<deletion::DeletionCertificate>(200, "deleted; the certificate (one line of JSON, signed as written), a readable HTML rendering and the public key")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), or confirm is not the account's name (nothing deleted)")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("get", "/api/v1/tenant/export", "Export the tenant: settings, package metadata and the audit log (JSON, or one table as CSV)")
        .description("Zendesk admins (agent session, role confirmed now) or the tenant's API token. The JSON holds every table: the tenant, its settings (without the widget key), every package the database still holds (id, state, creator, times, download counts, file count, ciphertext bytes, recipients) and the whole audit log, oldest first. Never ciphertext, manifests, server secrets, link verifiers, token or code hashes. `format=csv` answers one table, named by `table` (CSV with a header row, CRLF line ends; cells a spreadsheet would run as a formula start with `'`). The same from a shell: `sealdrop admin tenant export ID`.")
        .tenant_admin()
        .query::<data_requests::ExportQuery>()
        .json::<data_requests::TenantExport>(200, "the export (JSON), or one table of it (CSV, as an attachment named sealdrop-TABLE.csv)")
        .or_as("text/csv", json!({
            "type": "string"
        }))
        .error(400, "bad_request: an unknown format or table, format=csv without table, table without format=csv, or another query parameter")
        .internal()
        .unavailable(),
    op("post", "/api/v1/tenant/subjects/export", "Everything the tenant holds about one email address")
        .description("Zendesk admins or the tenant's API token. The address travels in the body, never in a URL. Lists the tenant's packages naming it as a recipient or as the sender's notification address, its verification code requests and recipient sessions (times and tries; never a code or a hash), and the audit events whose detail names it. Nothing of another tenant. The same from a shell: `sealdrop admin subject export ID EMAIL`.")
        .tenant_admin()
        .json_body::<data_requests::SubjectRequest>(true)
        .json::<data_requests::SubjectExport>(200, "what the tenant holds about the address")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), or an address that is not valid")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    op("post", "/api/v1/tenant/subjects/erase", "Erase one email address from the tenant's data")
        .description("Zendesk admins or the tenant's API token. `confirm` must be the same address typed again. In one transaction: deletes the address's recipient entries, verification code requests and recipient sessions in this tenant, clears it where it was a package's notification address, replaces it in the audit log by a stable placeholder (`erased:` and 16 hex digits of an HMAC under the server's verification key, per tenant) and records `subject_erased` (who, the placeholder and the counts; never the address). Erasing again finds nothing and answers the same placeholder. The same from a shell: `sealdrop admin subject erase ID EMAIL --yes`.")
        .tenant_admin()
        .json_body::<data_requests::EraseRequest>(true)
        .json::<data_requests::Erasure>(200, "erased; what was deleted, cleared and rewritten")
        .error(400, "bad_request: no body, the body is not JSON, not an object, or a field is missing, unknown or of the wrong type (the message names it), an address that is not valid, or confirm differs from email (nothing erased)")
        .error(413, "payload_too_large: the JSON body is over 64 KiB")
        .internal()
        .unavailable(),
    ]
}

/// `GET` and `HEAD` of a file's ciphertext: the same credentials, parameters and answers, and
/// `HEAD` without the body.
fn ciphertext(head: bool) -> Operation {
    let binary = json!({ "type": "string", "format": "binary" });
    let content: Vec<(&'static str, serde_json::Value)> = if head {
        Vec::new()
    } else {
        vec![("application/octet-stream", binary)]
    };
    let path = "/api/v1/packages/{id}/files/{file}";
    let op = if head {
        op("head", path, "File size and range support")
            .description("As GET, without the body (an error's status and headers, no body).")
    } else {
        op("get", path, "File ciphertext (Range supported)")
    };
    op
        .security(&[&[Scheme::DownloadToken]])
        .path_param("PackageId")
        .path_param("FileIndex")
        .param(json!({
            "name": "Range",
            "in": "header",
            "required": false,
            "description": "One range: bytes=a-b (a <= b), bytes=a- or bytes=-n",
            "schema": {
                "type": "string",
                "pattern": "^bytes=([0-9]{1,19}-[0-9]{0,19}|-[0-9]{1,19})$"
            }
        }))
        .other(200, if head { "headers only" } else { "whole file" }, &content)
        .with_headers(json!({
            "Accept-Ranges": {
                "schema": {
                    "type": "string",
                    "const": "bytes"
                }
            }
        }))
        .other(206, if head { "headers only, for the range" } else { "the range" }, &content)
        .with_headers(json!({
            "Accept-Ranges": {
                "schema": {
                    "type": "string",
                    "const": "bytes"
                }
            },
            "Content-Range": {
                "description": "bytes FIRST-LAST/SIZE",
                "schema": {
                    "type": "string",
                    "pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"
                }
            }
        }))
        .error(400, "bad_request: a Range that is not one range of the three forms (or whose last byte is before its first), or a bad path")
        .error(401, "unauthorized: no download token, or one that is not valid for this package (unknown, expired, another package's)")
        .error(404, "not_found: the package has no such file")
        .error(410, "expired or revoked")
        .error(416, "range_not_satisfiable: the range starts at or past the end of the file")
        .with_headers(json!({
            "Content-Range": {
                "description": "bytes */SIZE",
                "schema": {
                    "type": "string",
                    "pattern": "^bytes \\*/[0-9]+$"
                }
            }
        }))
        .internal()
        .unavailable()
}

/// `GET` and `POST /zendesk/oauth/start`, which answer alike.
fn oauth_start(method: &'static str, summary: &'static str) -> Operation {
    op(method, "/zendesk/oauth/start", summary)
        .description("Answers the URL for the page to open in a new window (the session travels in a header, never in a URL). Without a working grant any signed-in user may start; with one, only a confirmed admin.")
        .security(&[&[Scheme::AgentSession]])
        .json::<zendesk::OAuthStarted>(200, "where to send the admin")
        .error(401, "unauthorized: no agent session, or an expired or invalid one")
        .error(403, "forbidden: a working grant exists and the caller is not a Zendesk admin")
        .error(429, "rate_limited: Zendesk is rate limiting sealdrop (an agent session's role check)")
        .internal()
        .unavailable()
}
