//! What sklad sent keyCRM (the push log), and the repairs: resync and reconcile.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_db::stock_sync::Push;
use sklad_domain::stock::{Drift, PushOutcome};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::page::{Page, Paging};

/// Filters of the push log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PushQuery {
    pub keycrm_warehouse_id: Option<i64>,
}

/// One `PUT /offers/stocks` sklad sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushView {
    pub id: Uuid,
    pub keycrm_warehouse_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub items: i32,
    /// `{"sku": "quantity"}` as sent.
    #[schema(value_type = Object)]
    pub quantities: Value,
    pub outcome: PushOutcome,
    pub http_status: Option<i32>,
    pub answer: Option<String>,
    /// `{"sku": "reason"}` for SKUs keyCRM refused.
    #[schema(value_type = Object)]
    pub rejected: Value,
}

impl From<Push> for PushView {
    fn from(p: Push) -> Self {
        Self {
            id: p.id,
            keycrm_warehouse_id: p.keycrm_warehouse_id,
            started_at: p.started_at,
            duration_ms: p.duration_ms,
            items: p.items,
            quantities: p.quantities,
            outcome: p.outcome,
            http_status: p.http_status,
            answer: p.answer,
            rejected: p.rejected,
        }
    }
}

/// The stock push log, newest first.
#[utoipa::path(tag = "Stock push", params(PushQuery, Paging), responses((status = 200, body = Page<PushView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/stock-pushes")]
pub async fn list_pushes(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<PushQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let paging = paging.resolve()?;
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::stock_sync::pushes(
        &mut conn,
        account.0,
        query.keycrm_warehouse_id,
        paging.0,
        paging.1,
    )
    .await?;
    Ok(HttpResponse::Ok().json(Page::<PushView>::of(rows, paging, total)))
}

/// `{"marked": n}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Resynced {
    /// (keyCRM warehouse, SKU) pairs marked to be pushed.
    pub marked: usize,
}

/// Pushes every mapped SKU again, even those keyCRM already has.
#[utoipa::path(tag = "Stock push", responses((status = 202, body = Resynced)), security(("bearer" = [])))]
#[post("/stock/resync")]
pub async fn resync(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let marked = sklad_app::maintenance::resync(&state.db, account.0).await?;
    Ok(HttpResponse::Accepted().json(Resynced { marked }))
}

/// What reconcile found; drifted SKUs are being pushed again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconcileReport {
    pub pages: u32,
    pub checked: usize,
    pub drift: Vec<Drift>,
}

/// Reads keyCRM's per-warehouse stocks back and re-pushes every SKU that differs from
/// sklad's sums.
#[utoipa::path(tag = "Stock push", responses((status = 200, body = ReconcileReport), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[post("/stock/reconcile")]
pub async fn reconcile(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let keycrm = state.client(account).await?;
    let report =
        sklad_app::maintenance::reconcile(&state.db, &keycrm.client, account.0, |_, _| {}).await?;
    Ok(HttpResponse::Ok().json(ReconcileReport {
        pages: report.pages,
        checked: report.checked,
        drift: report.drift,
    }))
}
