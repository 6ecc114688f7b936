//! What sklad sent keyCRM (the push log), what it would send (the preview), and the
//! repairs: resync and reconcile.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_db::push_log::Push;
use sklad_domain::push::Drift;
use sklad_domain::stock::PushOutcome;
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
    let (rows, total) = sklad_db::push_log::pushes(
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
    /// SKUs that differed and are being sent again.
    pub drift: Vec<Drift>,
    /// SKUs that differ but sklad never counted in a warehouse mapped there: left as keyCRM
    /// has them (take keyCRM's quantities over, or count them).
    pub uncounted: Vec<Drift>,
}

impl From<sklad_app::maintenance::Report> for ReconcileReport {
    fn from(report: sklad_app::maintenance::Report) -> Self {
        Self {
            pages: report.pages,
            checked: report.checked,
            drift: report.drift,
            uncounted: report.uncounted,
        }
    }
}

/// Reads keyCRM's per-warehouse stocks back and re-pushes every SKU that differs from
/// sklad's sums, except SKUs sklad never counted there (listed in `uncounted`).
#[utoipa::path(tag = "Stock push", responses((status = 200, body = ReconcileReport), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[post("/stock/reconcile")]
pub async fn reconcile(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run_reconcile(&state, account).await?))
}

/// Compares keyCRM's quantities with sklad's sums and re-sends what drifted (the API's and
/// the console's one way).
pub async fn run_reconcile(
    state: &ApiState,
    account: AccountId,
) -> Result<ReconcileReport, ApiError> {
    let keycrm = state.client(account).await?;
    let report =
        sklad_app::maintenance::reconcile(&state.db, &keycrm.client, account.0, |_, _| {}).await?;
    Ok(ReconcileReport::from(report))
}

/// Options of the preview.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PreviewQuery {
    /// Also read keyCRM's current quantities (every page of `GET /offers/stocks`, at bulk
    /// priority in the key's budget).
    #[serde(default)]
    pub read_back: bool,
    /// Also show what a resync would send (every SKU of the mapped warehouses).
    #[serde(default)]
    pub resync: bool,
}

/// One SKU of a preview.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewLineView {
    pub sku: String,
    /// What sklad would send: the sum over the mapped sklad warehouses, less their buffers.
    pub quantity: Decimal,
    /// What keyCRM last accepted from sklad (absent: never pushed).
    pub last_accepted: Option<Decimal>,
    /// What keyCRM holds now (with `read_back` only).
    pub in_keycrm: Option<Decimal>,
}

/// What one keyCRM warehouse would receive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewTargetView {
    pub keycrm_warehouse_id: i64,
    /// The next push: marked SKUs whose sum differs from what keyCRM last accepted.
    pub next_push: Vec<PreviewLineView>,
    /// Marked SKUs the next push skips: keyCRM already has their sum.
    pub unchanged: Vec<String>,
    /// What a resync would send (with `resync` only).
    pub resync: Vec<PreviewLineView>,
}

/// The preview: per mapped keyCRM warehouse.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    pub data: Vec<PreviewTargetView>,
    /// keyCRM pages read back (0 without `read_back`).
    pub keycrm_pages: u32,
}

impl From<sklad_app::maintenance::PreviewLine> for PreviewLineView {
    fn from(l: sklad_app::maintenance::PreviewLine) -> Self {
        Self {
            sku: l.sku,
            quantity: l.quantity.normalize(),
            last_accepted: l.last_accepted.map(|d| d.normalize()),
            in_keycrm: l.in_keycrm,
        }
    }
}

/// What the next stock push would send each mapped keyCRM warehouse (and, if asked, what a
/// resync would send and what keyCRM holds now). Sends nothing.
#[utoipa::path(tag = "Stock push", params(PreviewQuery), responses((status = 200, body = Preview), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[get("/stock/preview")]
pub async fn preview(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<PreviewQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run_preview(&state, account, query.into_inner()).await?))
}

/// What the next push would send (the API's and the console's one way).
pub async fn run_preview(
    state: &ApiState,
    account: AccountId,
    query: PreviewQuery,
) -> Result<Preview, ApiError> {
    let keycrm = if query.read_back {
        Some(state.client(account).await?)
    } else {
        None
    };
    let (targets, pages) = sklad_app::maintenance::preview(
        &state.db,
        keycrm.as_ref().map(|k| &k.client),
        account.0,
        query.resync,
    )
    .await?;
    let data = targets
        .into_iter()
        .map(|t| PreviewTargetView {
            keycrm_warehouse_id: t.keycrm_warehouse_id,
            next_push: t.next_push.into_iter().map(Into::into).collect(),
            unchanged: t.unchanged,
            resync: t.resync.into_iter().map(Into::into).collect(),
        })
        .collect();
    Ok(Preview {
        data,
        keycrm_pages: pages,
    })
}
