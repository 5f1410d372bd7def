//! Header names of the API (docs/API.md "Credentials" and the upload and download
//! endpoints), lower-case as HTTP/2 writes them.

/// The upload token of one package (`sdu_…`).
pub const UPLOAD_TOKEN: &str = "x-sealdrop-upload-token";
/// The link proof `b64u(A)`.
pub const LINK_PROOF: &str = "x-sealdrop-link-proof";
/// A download token (`sdd_…`).
pub const DOWNLOAD_TOKEN: &str = "x-sealdrop-download-token";
/// A recipient session (`sdr_…`).
pub const RECIPIENT_SESSION: &str = "x-sealdrop-recipient-session";
/// The Help Center widget key (`sdw_…`).
pub const WIDGET_KEY: &str = "x-sealdrop-widget-key";
/// `hex(SHA-256(body))` of a part.
pub const SHA256: &str = "x-sealdrop-sha256";
/// `b64u(SHA-256(A))`, sent with the manifest.
pub const LINK_VERIFIER: &str = "x-sealdrop-link-verifier";
/// Names one download start, so that its retries count once.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
