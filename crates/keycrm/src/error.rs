//! Errors at the keyCRM boundary.

use std::time::Duration;

/// What went wrong asking keyCRM. [`KeycrmError::is_transient`] tells retries apart from
/// answers that will not change.
#[derive(Debug, thiserror::Error)]
pub enum KeycrmError {
    #[error("keyCRM rejected the API key (HTTP {0})")]
    Unauthorized(u16),
    #[error("not found in keyCRM")]
    NotFound,
    #[error("keyCRM rejected the request (HTTP 422): {0}")]
    Validation(String),
    #[error("keyCRM rate limit (HTTP 429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("keyCRM server error (HTTP {0})")]
    Server(u16),
    #[error("keyCRM unreachable: {0}")]
    Transport(String),
    #[error("keyCRM answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("keyCRM sent a body sklad cannot read: {0}")]
    Decode(String),
    #[error("keyCRM request budget unavailable: {0}")]
    Budget(String),
}

impl KeycrmError {
    /// Worth retrying: rate limits, server errors, transport failures, budget hiccups.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            KeycrmError::RateLimited { .. }
                | KeycrmError::Server(_)
                | KeycrmError::Transport(_)
                | KeycrmError::Budget(_)
        )
    }

    /// The wait keyCRM asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            KeycrmError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Short label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            KeycrmError::Unauthorized(_) => "unauthorized",
            KeycrmError::NotFound => "not_found",
            KeycrmError::Validation(_) => "validation",
            KeycrmError::RateLimited { .. } => "rate_limited",
            KeycrmError::Server(_) => "server_error",
            KeycrmError::Transport(_) => "transport",
            KeycrmError::Http { .. } => "http_error",
            KeycrmError::Decode(_) => "decode",
            KeycrmError::Budget(_) => "budget",
        }
    }
}
