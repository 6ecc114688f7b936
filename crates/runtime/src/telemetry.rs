//! Structured logs through `tracing-subscriber`.

use tracing_subscriber::{EnvFilter, fmt};

use crate::settings::LogSettings;

/// Installs the global subscriber: JSON lines (or pretty text) filtered by `RUST_LOG`, else
/// by `log.filter`. Safe to call more than once; later calls are ignored (tests do this).
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if settings.format == "pretty" {
        builder.pretty().try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            // Every enclosing span's fields (webhook id, account, order) on every line, so
            // one id found with grep shows each step it went through.
            .with_span_list(true)
            .try_init()
    };
}
