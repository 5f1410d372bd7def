//! Progress reporting, so the CLI can draw bars and tests can stay quiet.

use std::time::Duration;

/// Receives progress of one transfer. Every method has an empty default.
///
/// Called from async code, possibly from several in-flight parts at once: keep methods cheap
/// and never block.
pub trait Progress: Send + Sync {
    /// The transfer starts; `total` plaintext bytes across all files.
    fn start(&self, total: u64) {
        let _ = total;
    }

    /// Work moves on to the file `name` (a display name, already sanitized).
    fn file(&self, name: &str) {
        let _ = name;
    }

    /// `bytes` more plaintext bytes are done (sent, or received and authenticated).
    fn advance(&self, bytes: u64) {
        let _ = bytes;
    }

    /// A request failed for a reason that may pass; it is retried after `delay`.
    fn retrying(&self, reason: &str, delay: Duration) {
        let _ = (reason, delay);
    }

    /// Something the user may want to know, e.g. that an upload resumes.
    fn note(&self, text: &str) {
        let _ = text;
    }

    /// The transfer is over (successfully or not).
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
