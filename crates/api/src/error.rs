//! API errors: always [`ErrorBody`] JSON, never internals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sklad_app::integration::SettingsError;
use sklad_app::maintenance::MaintenanceError;
use sklad_app::movements::MovementError;
use sklad_app::takeover::TakeOverError;
use sklad_db::DbError;
use sklad_db::stock::Refused;
use sklad_keycrm::{AccountError, KeycrmError};
pub use sklad_runtime::http::ErrorBody;

/// An error with its HTTP status and stable code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (answers that know when to come back).
    pub retry_after: Option<u64>,
    /// The values the message names, by name (the console words the code with them).
    pub params: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            params: Vec::new(),
        }
    }

    /// Adds a value the message names (`sku`, `warehouse`, `field`...).
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    /// A value this error names.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin token is required: Authorization: Bearer <token>",
        )
    }

    /// Too many failed attempts from this address: come back after `wait`.
    pub fn too_many_attempts(wait: std::time::Duration) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed attempts from this address; wait and try again",
        );
        err.retry_after = Some(wait.as_secs().max(1));
        err
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
    }

    /// A body that does not fit its type: 422 `validation_failed` naming the field (its
    /// path, `lines[2].quantity`) in the message and as the `field` parameter.
    pub fn invalid_body(err: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        if path.is_empty() || path == "." {
            return Self::validation(inner);
        }
        Self::validation(format!("{path}: {inner}")).with("field", path)
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

    fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database is unavailable; retry later",
        )
    }

    /// 409 `keycrm_not_configured`: the action needs a saved API key.
    pub fn no_api_key() -> Self {
        Self::conflict(
            "keycrm_not_configured",
            "save a keyCRM API key in the integration settings first",
        )
    }

    /// A unique violation means "already exists" (409 with `code`, naming the `field` that
    /// must differ); anything else as usual.
    pub fn duplicate(
        code: &'static str,
        what: &'static str,
        field: &'static str,
    ) -> impl Fn(DbError) -> ApiError {
        move |err| {
            if err.is_unique_violation() {
                ApiError::conflict(code, format!("{what} already exists")).with("field", field)
            } else {
                ApiError::from(err)
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = ErrorBody::new(self.code, self.message.clone())
            .with_params(&self.params)
            .response(self.status);
        if let Some(seconds) = self.retry_after
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(actix_web::http::header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        DbError::from(err).into()
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        if err.is_not_found() {
            return Self::not_found("not found");
        }
        if err.is_out_of_range() {
            return Self::validation("a value does not fit what sklad stores");
        }
        match err {
            DbError::Unavailable(why) => {
                tracing::error!(error = %why, "database unavailable");
                Self::unavailable()
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
            err @ KeycrmError::NotKeycrm { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "keycrm_wrong_url",
                err.to_string(),
            ),
            err @ KeycrmError::NotAllowed(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "keycrm_not_allowed",
                err.to_string(),
            ),
            err @ KeycrmError::Busy { .. } => {
                let seconds = err.retry_after().map_or(1, |d| d.as_secs().max(1));
                Self {
                    retry_after: Some(seconds),
                    ..Self::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "keycrm_budget_spent",
                        err.to_string(),
                    )
                }
            }
            KeycrmError::Budget(why) => {
                tracing::error!(error = %why, "keyCRM budget unavailable");
                Self::unavailable()
            }
            other => Self::new(
                StatusCode::BAD_GATEWAY,
                "keycrm_unavailable",
                format!("keyCRM did not answer usefully: {other}"),
            ),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::NoApiKey => Self::no_api_key(),
            AccountError::NotAllowed(why) => Self::conflict("keycrm_not_allowed", why.to_string()),
            AccountError::Db(err) => err.into(),
        }
    }
}

impl From<SettingsError> for ApiError {
    fn from(err: SettingsError) -> Self {
        match err {
            SettingsError::Malformed(why) => Self::validation(format!("invalid settings: {why}")),
            SettingsError::Invalid(why) => Self::validation(why),
            SettingsError::NotTakenOver { uncounted } => {
                Self::conflict("stock_not_taken_over", err.to_string()).with("uncounted", uncounted)
            }
            SettingsError::Stale(stale) => stale.into(),
            SettingsError::Keycrm(err) => err.into(),
            SettingsError::Db(err) => err.into(),
        }
    }
}

impl From<TakeOverError> for ApiError {
    fn from(err: TakeOverError) -> Self {
        match err {
            TakeOverError::NothingMapped => Self::conflict("nothing_mapped", err.to_string()),
            TakeOverError::NeedsInto {
                keycrm_warehouse_id,
                ..
            } => Self::validation(err.to_string()).with("keycrm_warehouse_id", keycrm_warehouse_id),
            TakeOverError::NotMapped(id) => {
                Self::validation(err.to_string()).with("keycrm_warehouse_id", id)
            }
            TakeOverError::IntoNotMapped { warehouse_id, .. } => {
                Self::validation(err.to_string()).with("warehouse_id", warehouse_id)
            }
            TakeOverError::Keycrm(err) => err.into(),
            TakeOverError::Refused(err) => err.into(),
            TakeOverError::Db(err) => err.into(),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(err: Refused) -> Self {
        match err {
            Refused::UnknownWarehouse(id) => Self::not_found(format!("no such warehouse: {id}")),
            Refused::UnknownProduct(id) => Self::not_found(format!("no such product: {id}")),
            Refused::NegativeBalance {
                ref warehouse_name,
                ref sku,
                balance,
                ..
            } => Self::conflict("negative_balance", err.to_string())
                .with("sku", sku)
                .with("warehouse", warehouse_name)
                .with("balance", balance),
            Refused::AlreadyShipped => {
                Self::conflict("already_shipped", "the order was already shipped")
            }
            Refused::AlreadyReturned => {
                Self::conflict("already_returned", "the order was already returned")
            }
            Refused::AlreadyReversed => {
                Self::conflict("already_reversed", "the movement was already reversed")
            }
            err @ Refused::OutOfRange => Self::validation(err.to_string()),
            Refused::Db(db) => db.into(),
        }
    }
}

impl From<MovementError> for ApiError {
    fn from(err: MovementError) -> Self {
        match err {
            MovementError::Invalid(why) => Self::validation(why),
            MovementError::Rule(rule) => rule.into(),
            MovementError::NoSuchOrder => Self::not_found("no such order"),
            MovementError::UnknownSku { line, ref sku } => {
                Self::new(StatusCode::NOT_FOUND, "unknown_sku", err.to_string())
                    .with("line", line)
                    .with("sku", sku)
            }
            MovementError::NoSuchMovement => Self::not_found("no such movement"),
            MovementError::Short {
                ref warehouse,
                ref lines,
            } => Self::conflict("short_of_stock", err.to_string())
                .with("warehouse", warehouse)
                .with("lines", sklad_app::movements::short_list(lines)),
            err @ MovementError::ThroughDocument(_) => {
                Self::conflict("reverse_through_document", err.to_string())
            }
            MovementError::Refused(refused) => refused.into(),
        }
    }
}

impl From<sklad_domain::stock::MovementError> for ApiError {
    fn from(rule: sklad_domain::stock::MovementError) -> Self {
        use sklad_domain::stock::MovementError as Rule;
        let coded = |code| Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, rule.to_string());
        match rule {
            Rule::NoLines => coded("no_lines"),
            Rule::NotPositive(line) => coded("quantity_not_positive").with("line", line),
            Rule::NegativeCount(line) => coded("count_negative").with("line", line),
            Rule::ZeroCorrection(line) => coded("zero_correction").with("line", line),
            Rule::SameWarehouse => coded("same_warehouse"),
            Rule::MissingWarehouse(field) => coded("missing_warehouse").with("field", field),
            Rule::TooManyLines => coded("too_many_lines"),
            Rule::OutOfRange(line) => coded("quantity_out_of_range").with("line", line),
            Rule::FromProductionOrders | Rule::FromReversedMovement => coded("validation_failed"),
        }
    }
}

impl From<MaintenanceError> for ApiError {
    fn from(err: MaintenanceError) -> Self {
        match err {
            MaintenanceError::Keycrm(err) => err.into(),
            MaintenanceError::Db(err) => err.into(),
        }
    }
}
