//! keyCRM integration settings, the webhook link and keyCRM's order statuses.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sklad_db::integrations::{Integration, IntegrationChange, KeycrmCredentials};
use sklad_keycrm::{KeycrmClient, Priority, RetryPolicy};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};

/// The keyCRM integration as the settings page shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    /// The saved API key, masked (`••••••••abcd`); `null` when none is saved. Write-only:
    /// the key itself is never returned.
    pub api_key: Option<String>,
    pub api_key_set: bool,
    /// keyCRM API base URL.
    pub base_url: String,
    /// "Enable integration": webhooks are processed only while this is on.
    pub enabled: bool,
    /// Store keyCRM order payments as bank transactions.
    pub receive_payments: bool,
    /// keyCRM statuses that move an order to the archive.
    pub archive_status_ids: Vec<i64>,
    /// keyCRM statuses whose new orders the reconciliation pass imports: the same statuses
    /// as your keyCRM trigger that calls the webhook.
    pub import_status_ids: Vec<i64>,
    /// "Do not change product information" of products sklad already has.
    pub keep_product_info: bool,
    /// "Send stock balances to keyCRM".
    pub stock_push_enabled: bool,
    /// keyCRM requests per minute allowed for this API key (keyCRM's limit is 60).
    pub requests_per_minute: i32,
    /// The secret link to paste into keyCRM's "Send Webhook" automation action.
    pub webhook_url: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A change to the settings; omitted fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationUpdate {
    /// A new keyCRM API key. It is checked against keyCRM before it is saved.
    pub api_key: Option<String>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub receive_payments: Option<bool>,
    pub archive_status_ids: Option<Vec<i64>>,
    pub import_status_ids: Option<Vec<i64>>,
    pub keep_product_info: Option<bool>,
    pub stock_push_enabled: Option<bool>,
    pub requests_per_minute: Option<i32>,
}

/// A new webhook link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookLink {
    pub webhook_url: String,
}

/// A keyCRM order status, for choosing archive and sync statuses.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeycrmStatus {
    pub id: i64,
    pub name: Option<String>,
    pub alias: Option<String>,
    pub group_id: Option<i64>,
    pub is_active: Option<bool>,
    pub is_closing_order: Option<bool>,
}

/// `{"data": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeycrmStatuses {
    pub data: Vec<KeycrmStatus>,
}

impl ApiState {
    fn webhook_url(&self, token: &SecretString) -> String {
        format!(
            "{}/webhooks/keycrm/{}",
            self.public_ingress_url.trim_end_matches('/'),
            token.expose_secret()
        )
    }

    async fn view(
        &self,
        account: AccountId,
        integration: Integration,
    ) -> Result<IntegrationView, ApiError> {
        let mut conn = self.db.conn().await?;
        let token = sklad_db::webhook_tokens::current(&mut conn, &self.secrets, account.0).await?;
        Ok(IntegrationView {
            api_key: integration.api_key_mask,
            api_key_set: integration.api_key_fingerprint.is_some(),
            base_url: integration.base_url,
            enabled: integration.enabled,
            receive_payments: integration.receive_payments,
            archive_status_ids: integration.archive_status_ids,
            import_status_ids: integration.import_status_ids,
            keep_product_info: integration.keep_product_info,
            stock_push_enabled: integration.stock_push_enabled,
            requests_per_minute: integration.requests_per_minute,
            webhook_url: token.as_ref().map(|t| self.webhook_url(t)),
            updated_at: integration.updated_at,
        })
    }

    fn client(&self, credentials: &KeycrmCredentials, retry: RetryPolicy) -> KeycrmClient {
        KeycrmClient::new(self.http.clone(), self.budget.clone(), credentials, retry)
    }
}

/// The account's keyCRM integration settings.
#[utoipa::path(
    tag = "keyCRM integration",
    responses(
        (status = 200, body = IntegrationView),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[get("/integrations/keycrm")]
pub async fn get_integration(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let integration = {
        let mut conn = state.db.conn().await?;
        sklad_db::integrations::get(&mut conn, account.0).await?
    };
    Ok(HttpResponse::Ok().json(state.view(account, integration).await?))
}

/// Changes the settings. A new API key is verified with keyCRM (`GET /order/status`) first;
/// a key keyCRM rejects is not saved (422 `keycrm_rejected_key`).
#[utoipa::path(
    tag = "keyCRM integration",
    request_body = IntegrationUpdate,
    responses(
        (status = 200, body = IntegrationView),
        (status = 400, description = "Malformed JSON or unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 422, description = "Invalid value, or keyCRM rejected the key", body = ErrorBody),
        (status = 502, description = "keyCRM could not be asked about the key", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[put("/integrations/keycrm")]
pub async fn put_integration(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<IntegrationUpdate>,
) -> Result<HttpResponse, ApiError> {
    let update = body.into_inner();
    validate(&update)?;
    let current = {
        let mut conn = state.db.conn().await?;
        sklad_db::integrations::get(&mut conn, account.0).await?
    };
    let api_key = update
        .api_key
        .map(|k| SecretString::from(k.trim().to_owned()));
    let has_key = api_key.is_some() || current.api_key_fingerprint.is_some();
    if update.enabled == Some(true) && !has_key {
        return Err(ApiError::validation(
            "save a keyCRM API key before enabling the integration",
        ));
    }
    if let Some(key) = &api_key {
        let candidate = KeycrmCredentials {
            base_url: update
                .base_url
                .clone()
                .unwrap_or_else(|| current.base_url.clone()),
            fingerprint: state.secrets.fingerprint(key.expose_secret()),
            api_key: key.clone(),
            requests_per_minute: u32::try_from(
                update
                    .requests_per_minute
                    .unwrap_or(current.requests_per_minute),
            )
            .unwrap_or(1),
        };
        // Someone is waiting: a couple of quick attempts, not the workers' patient schedule.
        state
            .client(&candidate, RetryPolicy::interactive())
            .order_statuses_page(1, 1, Priority::Normal)
            .await?;
    }
    let change = IntegrationChange {
        api_key,
        base_url: update.base_url.map(|u| u.trim_end_matches('/').to_owned()),
        enabled: update.enabled,
        receive_payments: update.receive_payments,
        archive_status_ids: update.archive_status_ids.map(dedup),
        import_status_ids: update.import_status_ids.map(dedup),
        keep_product_info: update.keep_product_info,
        stock_push_enabled: update.stock_push_enabled,
        requests_per_minute: update.requests_per_minute,
    };
    let saved = {
        let mut conn = state.db.conn().await?;
        let saved =
            sklad_db::integrations::update(&mut conn, &state.secrets, account.0, change).await?;
        if saved.stock_push_enabled && !current.stock_push_enabled {
            // Switched on: every mapped SKU's sum goes to keyCRM.
            sklad_db::stock_sync::mark_all_mapped(&mut conn, account.0, false).await?;
        }
        saved
    };
    tracing::info!(account_id = %account.0, "keyCRM integration settings changed");
    Ok(HttpResponse::Ok().json(state.view(account, saved).await?))
}

fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn validate(update: &IntegrationUpdate) -> Result<(), ApiError> {
    if let Some(key) = &update.api_key {
        let key = key.trim();
        if key.is_empty() || key.len() > 512 || key.chars().any(char::is_whitespace) {
            return Err(ApiError::validation(
                "api_key must be 1–512 characters without spaces",
            ));
        }
    }
    if let Some(base) = &update.base_url {
        let ok = url::Url::parse(base)
            .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .unwrap_or(false);
        if !ok {
            return Err(ApiError::validation("base_url must be an http(s) URL"));
        }
    }
    if let Some(rpm) = update.requests_per_minute
        && !(1..=6000).contains(&rpm)
    {
        return Err(ApiError::validation(
            "requests_per_minute must be between 1 and 6000",
        ));
    }
    for (field, ids) in [
        ("archive_status_ids", &update.archive_status_ids),
        ("import_status_ids", &update.import_status_ids),
    ] {
        if let Some(ids) = ids
            && (ids.iter().any(|id| *id <= 0) || ids.len() > 1000)
        {
            return Err(ApiError::validation(format!(
                "{field} must be positive keyCRM status ids"
            )));
        }
    }
    Ok(())
}

/// Issues a new webhook link; the old one stops working at once. Paste the new link into
/// keyCRM's automation.
#[utoipa::path(
    tag = "keyCRM integration",
    responses((status = 200, body = WebhookLink), (status = 401, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[post("/integrations/keycrm/webhook-token/rotate")]
pub async fn rotate_webhook_token(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let token = {
        let mut conn = state.db.conn().await?;
        sklad_db::webhook_tokens::issue(&mut conn, &state.secrets, account.0).await?
    };
    tracing::info!(account_id = %account.0, "webhook link rotated");
    Ok(HttpResponse::Ok().json(WebhookLink {
        webhook_url: state.webhook_url(&SecretString::from(token)),
    }))
}

/// keyCRM's order statuses (every page), for choosing archive and sync statuses.
#[utoipa::path(
    tag = "keyCRM integration",
    responses(
        (status = 200, body = KeycrmStatuses),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No keyCRM API key saved", body = ErrorBody),
        (status = 502, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[get("/keycrm/statuses")]
pub async fn keycrm_statuses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let credentials = {
        let mut conn = state.db.conn().await?;
        sklad_db::integrations::credentials(&mut conn, &state.secrets, account.0).await?
    }
    .ok_or_else(|| {
        ApiError::conflict(
            "keycrm_not_configured",
            "save a keyCRM API key in the integration settings first",
        )
    })?;
    let statuses = state
        .client(&credentials, state.keycrm_retry)
        .order_statuses()
        .await?;
    let data = statuses
        .into_iter()
        .map(|s| KeycrmStatus {
            id: s.id,
            name: s.name,
            alias: s.alias,
            group_id: s.group_id,
            is_active: s.is_active,
            is_closing_order: s.is_closing_order,
        })
        .collect();
    Ok(HttpResponse::Ok().json(KeycrmStatuses { data }))
}
