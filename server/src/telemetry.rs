//! Logging: `tracing` to standard error, human-readable by default, JSON lines with
//! `--log-format json` (`SEALDROP_LOG_FORMAT=json`); the filter comes from `RUST_LOG`. Nothing logged may contain a
//! secret: handlers log ids and counts, never headers or bodies.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber (a no-op if one is already installed).
pub fn init(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let json = format == LogFormat::Json;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
