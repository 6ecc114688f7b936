//! keyCRM integration settings, the webhook link and keyCRM's order statuses.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sklad_db::integrations::{Integration, IntegrationSettings};
use utoipa::ToSchema;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::json::Json;
use crate::page::Page;
use crate::versions::{IF_MATCH_DOC, IfMatch, tagged};

/// The keyCRM integration as the settings page shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IntegrationView {
    #[serde(flatten)]
    pub settings: IntegrationSettings,
    /// The saved API key, masked (`••••••••abcd`); `null` when none is saved. Write-only:
    /// the key itself is never returned.
    pub api_key: Option<String>,
    pub api_key_set: bool,
    /// The secret link to paste into keyCRM's "Send Webhook" automation action.
    pub webhook_url: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// keyCRM refused the saved key: sklad does no keyCRM work for this account until the
    /// settings are saved again (with a working key).
    pub key_rejected_at: Option<DateTime<Utc>>,
    /// The base URL answered like something that is not keyCRM's API: work waits for new
    /// settings.
    pub misconfigured_at: Option<DateTime<Utc>>,
    /// What keyCRM (or whatever answered) said then.
    pub keycrm_answer: Option<String>,
    /// Send it back as `If-Match` to change the settings (the `ETag` of the `GET`).
    #[schema(example = "5d41402abc4b2a76")]
    pub version: String,
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

impl From<sklad_keycrm::models::OrderStatus> for KeycrmStatus {
    fn from(s: sklad_keycrm::models::OrderStatus) -> Self {
        Self {
            id: s.id,
            name: s.name,
            alias: s.alias,
            group_id: s.group_id,
            is_active: s.is_active,
            is_closing_order: s.is_closing_order,
        }
    }
}

impl ApiState {
    pub fn webhook_url(&self, token: &SecretString) -> String {
        format!(
            "{}/webhooks/keycrm/{}",
            self.public_ingress_url.trim_end_matches('/'),
            token.expose_secret()
        )
    }

    pub async fn view(
        &self,
        account: AccountId,
        integration: Integration,
    ) -> Result<IntegrationView, ApiError> {
        let mut conn = self.db.conn().await?;
        let token = sklad_db::webhook_tokens::current(&mut conn, &self.secrets, account.0).await?;
        Ok(IntegrationView {
            version: sklad_app::versions::settings(&integration),
            api_key_set: integration.has_api_key(),
            api_key: integration.api_key_mask,
            settings: integration.settings,
            webhook_url: token.as_ref().map(|t| self.webhook_url(t)),
            updated_at: integration.updated_at,
            key_rejected_at: integration.key_rejected_at,
            misconfigured_at: integration.misconfigured_at,
            keycrm_answer: integration.flag_answer,
        })
    }
}

/// The account's keyCRM integration settings; the `ETag` is what a change sends back as
/// `If-Match`.
#[utoipa::path(
    tag = "keyCRM integration",
    responses(
        (status = 200, body = IntegrationView, headers(("ETag" = String, description = "the settings' version"))),
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
    let view = state.view(account, integration).await?;
    Ok(tagged(HttpResponse::Ok(), &view.version).json(view))
}

/// Changes the settings made from the version `If-Match` names: send any of them (see
/// `IntegrationUpdate`); the rest stay. A new `api_key` is verified with keyCRM
/// (`GET /order/status`) first; a key keyCRM rejects is not saved (422
/// `keycrm_rejected_key`).
#[utoipa::path(
    tag = "keyCRM integration",
    request_body = crate::openapi::IntegrationUpdate,
    params(("If-Match" = String, Header, description = IF_MATCH_DOC)),
    responses(
        (status = 200, body = IntegrationView, headers(("ETag" = String, description = "the new version"))),
        (status = 400, description = "Malformed JSON, a wrong type or an unknown field", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`stock_not_taken_over`: switching sending on would replace quantities keyCRM holds for SKUs sklad never counted (`params.uncounted` says how many); take them over first or confirm with `overwrite_uncounted`", body = ErrorBody),
        (status = 422, description = "Invalid value, or keyCRM rejected the key", body = ErrorBody),
        (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody),
        (status = 502, description = "keyCRM could not be asked about the key", body = ErrorBody),
        (status = 412, description = "Someone else saved the settings since that version (`edited_meanwhile`)", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[put("/integrations/keycrm")]
pub async fn put_integration(
    state: web::Data<ApiState>,
    account: AccountId,
    if_match: IfMatch,
    body: Json<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let saved =
        sklad_app::integration::update(&state.keycrm, account.0, body.into_inner(), &if_match.0)
            .await?;
    let view = state.view(account, saved).await?;
    Ok(tagged(HttpResponse::Ok(), &view.version).json(view))
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
    Ok(HttpResponse::Ok().json(rotate(&state, account).await?))
}

/// The longest a rotation waits for the ingress processes to drop the old link (one that
/// stopped answering is no longer waited for once its heartbeat is old).
const LINK_CHANGE_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Issues the account's new webhook link (the API's and the console's one way).
pub async fn rotate(state: &ApiState, account: AccountId) -> Result<WebhookLink, ApiError> {
    let token = {
        let mut conn = state.db.conn().await?;
        sklad_db::webhook_tokens::issue(&mut conn, &state.secrets, account.0).await?
    };
    // The answer says the old link is dead: wait until every live ingress has dropped it.
    sklad_db::token_acks::wait_applied(&state.db, LINK_CHANGE_WAIT).await?;
    tracing::info!(account_id = %account.0, "webhook link rotated");
    Ok(WebhookLink {
        webhook_url: state.webhook_url(&SecretString::from(token)),
    })
}

/// keyCRM's order statuses (every page), for choosing archive and sync statuses.
#[utoipa::path(
    tag = "keyCRM integration",
    responses(
        (status = 200, body = Page<KeycrmStatus>),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No keyCRM API key saved", body = ErrorBody),
        (status = 422, description = "keyCRM rejected the saved key", body = ErrorBody),
        (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody),
        (status = 502, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[get("/keycrm/statuses")]
pub async fn keycrm_statuses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let keycrm = state.client(account).await?;
    let statuses = keycrm.client.order_statuses().await?;
    Ok(HttpResponse::Ok().json(Page::<KeycrmStatus>::whole(statuses)))
}
