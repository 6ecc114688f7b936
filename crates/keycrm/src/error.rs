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
    /// The API key's requests per minute are spent for longer than an interactive caller
    /// waits; nothing was sent.
    #[error("the keyCRM request budget of this API key is spent; retry in {}s", retry_after.as_secs().max(1))]
    Busy { retry_after: Duration },
    /// What answered is not keyCRM's API (an HTML page, a web server's 404): the base URL is
    /// wrong. Never taken as "this order does not exist".
    #[error("the keyCRM base URL does not lead to keyCRM's API (HTTP {status}): {answer}")]
    NotKeycrm { status: u16, answer: String },
    /// The base URL is not one the operator allows (`keycrm.allowed_base_urls`); the key was
    /// not sent.
    #[error("{0} is not a keyCRM URL this sklad allows (keycrm.allowed_base_urls)")]
    NotAllowed(String),
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

    /// keyCRM will not take this account's requests until someone changes its settings: the
    /// key was refused, or the base URL leads elsewhere.
    pub fn blocks_account(&self) -> bool {
        matches!(
            self,
            KeycrmError::Unauthorized(_)
                | KeycrmError::NotKeycrm { .. }
                | KeycrmError::NotAllowed(_)
        )
    }

    /// The wait keyCRM asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            KeycrmError::RateLimited { retry_after } => *retry_after,
            KeycrmError::Busy { retry_after } => Some(*retry_after),
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
            KeycrmError::Busy { .. } => "busy",
            KeycrmError::NotKeycrm { .. } => "not_keycrm",
            KeycrmError::NotAllowed(_) => "not_allowed",
        }
    }
}
