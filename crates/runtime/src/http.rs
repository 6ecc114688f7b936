//! The JSON error body every sklad HTTP service answers with, so a client reads one shape
//! whichever service it called.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every non-2xx answer: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }

    /// The answer carrying this body.
    pub fn response(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(self)
    }
}
