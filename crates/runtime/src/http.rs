//! The JSON error body every sklad HTTP service answers with, so a client reads one shape
//! whichever service it called.

use std::collections::BTreeMap;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every non-2xx answer: `{"error": {"code", "message", "params"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// What went wrong, for people (in English).
    pub message: String,
    /// The values the message names (`sku`, `warehouse`, `balance`, `field`, `line`...), so
    /// a client can say the same in its user's language, next to the field concerned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl ErrorBody {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
                params: BTreeMap::new(),
            },
        }
    }

    /// The body with the values its message names.
    pub fn with_params<'a>(
        mut self,
        params: impl IntoIterator<Item = &'a (&'static str, String)>,
    ) -> Self {
        self.error.params = params
            .into_iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self
    }

    /// The answer carrying this body.
    pub fn response(&self, status: StatusCode) -> HttpResponse {
        HttpResponse::build(status).json(self)
    }
}
