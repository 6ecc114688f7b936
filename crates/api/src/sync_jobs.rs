//! "Synchronize orders" jobs and on-demand reconciliation.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sklad_db::sync_jobs::{StartError, SyncJob};
use sklad_domain::orders::{JobKind, KeycrmId, SyncJobState, is_keycrm_id};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::json::Json;
use crate::page::Page;

/// What to synchronize.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncJobRequest {
    /// keyCRM statuses whose orders are pulled (all of them, every page).
    #[schema(value_type = Vec<KeycrmId>, min_items = 1, max_items = 100)]
    pub status_ids: Vec<i64>,
}

/// The most statuses one job may name.
const MAX_STATUSES: usize = 100;

/// A job and its progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncJobView {
    pub id: Uuid,
    pub status_ids: Vec<i64>,
    pub state: SyncJobState,
    pub pages_done: i32,
    pub pages_total: Option<i32>,
    pub orders_done: i32,
    pub orders_total: Option<i32>,
    /// keyCRM requests the job has spent.
    pub requests: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<SyncJob> for SyncJobView {
    fn from(job: SyncJob) -> Self {
        Self {
            id: job.id,
            status_ids: job.status_ids,
            state: job.state,
            pages_done: job.pages_done,
            pages_total: job.pages_total,
            orders_done: job.orders_done,
            orders_total: job.orders_total,
            requests: job.requests,
            last_error: job.last_error,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }
}

/// Starts "Synchronize orders": every keyCRM order in `status_ids` comes into sklad, 50 per
/// keyCRM request, after stock pushes and webhook fetches in priority.
#[utoipa::path(
    tag = "Sync jobs",
    request_body = SyncJobRequest,
    responses(
        (status = 202, body = SyncJobView),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No keyCRM key saved, or a job is already running", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[post("/sync-jobs")]
pub async fn start_sync_job(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<SyncJobRequest>,
) -> Result<HttpResponse, ApiError> {
    let job = start(&state, account, body.into_inner().status_ids).await?;
    Ok(HttpResponse::Accepted().json(job))
}

/// Queues a job for `status_ids` (the API's and the console's one way to start one).
pub async fn start(
    state: &ApiState,
    account: AccountId,
    status_ids: Vec<i64>,
) -> Result<SyncJobView, ApiError> {
    if status_ids.len() > MAX_STATUSES || !status_ids.iter().all(|id| is_keycrm_id(*id)) {
        return Err(ApiError::validation(format!(
            "status_ids must list 1–{MAX_STATUSES} keyCRM status ids"
        )));
    }
    let mut conn = state.db.conn().await?;
    let job = sklad_db::sync_jobs::start(&mut conn, account.0, &status_ids)
        .await
        .map_err(|err| match err {
            StartError::NoStatuses => ApiError::validation(err.to_string()),
            StartError::NoApiKey => ApiError::conflict("keycrm_not_configured", err.to_string()),
            StartError::AlreadyRunning(_) => {
                ApiError::conflict("sync_job_running", err.to_string())
            }
            StartError::Db(db) => ApiError::from(db),
        })?;
    tracing::info!(account_id = %account.0, job = %job.id, "sync job queued");
    Ok(SyncJobView::from(job))
}

/// The account's recent jobs, newest first.
#[utoipa::path(
    tag = "Sync jobs",
    responses((status = 200, body = Page<SyncJobView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/sync-jobs")]
pub async fn list_sync_jobs(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let jobs = sklad_db::sync_jobs::list(&mut conn, account.0, JobKind::Orders, 50).await?;
    Ok(HttpResponse::Ok().json(Page::<SyncJobView>::whole(jobs)))
}

/// A job's state and progress.
#[utoipa::path(
    tag = "Sync jobs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SyncJobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/sync-jobs/{id}")]
pub async fn get_sync_job(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let job = sklad_db::sync_jobs::get(&mut conn, account.0, JobKind::Orders, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::not_found("no such sync job"))?;
    Ok(HttpResponse::Ok().json(SyncJobView::from(job)))
}

/// Cancels a queued or running job (a finished one is returned as it is); the job stays
/// readable.
#[utoipa::path(
    tag = "Sync jobs",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SyncJobView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[post("/sync-jobs/{id}/cancel")]
pub async fn cancel_sync_job(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let job = sklad_db::sync_jobs::cancel(&mut conn, account.0, JobKind::Orders, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::not_found("no such sync job"))?;
    Ok(HttpResponse::Ok().json(SyncJobView::from(job)))
}

/// `{"status": "requested"}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Requested {
    #[schema(example = "requested")]
    pub status: String,
}

/// Runs the reconciliation pass for this account now instead of at its next interval.
#[utoipa::path(
    tag = "Sync jobs",
    responses((status = 202, description = "Pass requested", body = Requested), (status = 401, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[post("/keycrm/reconcile")]
pub async fn request_reconcile(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    sklad_db::integrations::request_reconcile(&mut conn, account.0).await?;
    Ok(HttpResponse::Accepted().json(Requested {
        status: "requested".into(),
    }))
}
