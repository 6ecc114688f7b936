//! API errors: always JSON `{"error": {"code", "message"}}`, never internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;
use sklad_db::DbError;
use sklad_keycrm::KeycrmError;
use utoipa::ToSchema;

/// The error body of every non-2xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// An error with its HTTP status and stable code.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin token is required: Authorization: Bearer <token>",
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({"error": {"code": self.code, "message": self.message}}))
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_not_found() {
            return Self::not_found("not found");
        }
        match err {
            DbError::Unavailable(why) => {
                tracing::error!(error = %why, "database unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
            other => {
                tracing::error!(error = %other, "database error");
                Self::internal()
            }
        }
    }
}

impl From<KeycrmError> for ApiError {
    fn from(err: KeycrmError) -> Self {
        match err {
            KeycrmError::Unauthorized(status) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "keycrm_rejected_key",
                format!(
                    "keyCRM rejected the API key (HTTP {status}); copy it again from keyCRM: Settings → API"
                ),
            ),
            KeycrmError::Budget(why) => {
                tracing::error!(error = %why, "keyCRM budget unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; retry later",
                )
            }
            other => Self::new(
                StatusCode::BAD_GATEWAY,
                "keycrm_unavailable",
                format!("keyCRM did not answer usefully: {other}"),
            ),
        }
    }
}
