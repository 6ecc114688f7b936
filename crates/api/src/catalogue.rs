//! Catalogue imports: keyCRM's offers become sklad's products, as a job with progress that
//! can be cancelled (order-sync runs it, 50 offers per keyCRM request at bulk priority).

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sklad_db::sync_jobs::{StartError, SyncJob};
use sklad_domain::orders::{JobKind, SyncJobState};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::page::Page;

/// An import and its progress.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CatalogueImportView {
    pub id: Uuid,
    pub state: SyncJobState,
    /// Queued by the periodic refresh (`catalogue.refresh_interval`), not by a person.
    pub periodic: bool,
    pub pages_done: i32,
    /// Known after the first page.
    pub pages_total: Option<i32>,
    /// Offers read so far.
    pub offers_done: i32,
    pub offers_total: Option<i32>,
    /// Products created.
    pub created: i32,
    /// Products changed to match keyCRM.
    pub updated: i32,
    /// Products that already said what keyCRM says.
    pub unchanged: i32,
    /// keyCRM requests spent.
    pub requests: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<SyncJob> for CatalogueImportView {
    fn from(job: SyncJob) -> Self {
        Self {
            id: job.id,
            state: job.state,
            periodic: job.periodic,
            pages_done: job.pages_done,
            pages_total: job.pages_total,
            offers_done: job.orders_done,
            offers_total: job.orders_total,
            created: job.created,
            updated: job.updated,
            unchanged: job.unchanged,
            requests: job.requests,
            last_error: job.last_error,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
        }
    }
}

/// Starts importing keyCRM's catalogue: every offer becomes (or updates) one product; a
/// second import changes nothing and says so (`unchanged`). Webhook fetches and stock pushes
/// go first in the key's budget.
#[utoipa::path(
    tag = "Catalogue",
    responses(
        (status = 202, body = CatalogueImportView),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No keyCRM key saved (`keycrm_not_configured`), or an import is already running (`catalogue_import_running`)", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[post("/catalogue-imports")]
pub async fn start_catalogue_import(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Accepted().json(start(&state, account).await?))
}

/// Queues an import (the API's and the console's one way).
pub async fn start(state: &ApiState, account: AccountId) -> Result<CatalogueImportView, ApiError> {
    let mut conn = state.db.conn().await?;
    let job = sklad_db::sync_jobs::start_catalogue(&mut conn, account.0)
        .await
        .map_err(|err| match err {
            StartError::NoApiKey | StartError::NoStatuses => {
                ApiError::conflict("keycrm_not_configured", err.to_string())
            }
            StartError::AlreadyRunning(id) => ApiError::conflict(
                "catalogue_import_running",
                format!("catalogue import {id} is still running; cancel it or wait"),
            ),
            StartError::Db(db) => ApiError::from(db),
        })?;
    tracing::info!(account_id = %account.0, job = %job.id, "catalogue import queued");
    Ok(CatalogueImportView::from(job))
}

/// The account's recent imports, newest first.
#[utoipa::path(
    tag = "Catalogue",
    responses((status = 200, body = Page<CatalogueImportView>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/catalogue-imports")]
pub async fn list_catalogue_imports(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let views = recent(&state, account, 50).await?;
    Ok(HttpResponse::Ok().json(Page::<CatalogueImportView>::whole(views)))
}

/// The account's newest imports.
pub async fn recent(
    state: &ApiState,
    account: AccountId,
    limit: i64,
) -> Result<Vec<CatalogueImportView>, ApiError> {
    let mut conn = state.db.conn().await?;
    Ok(
        sklad_db::sync_jobs::list(&mut conn, account.0, JobKind::Catalogue, limit)
            .await?
            .into_iter()
            .map(CatalogueImportView::from)
            .collect(),
    )
}

/// One import and its progress.
#[utoipa::path(
    tag = "Catalogue",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CatalogueImportView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/catalogue-imports/{id}")]
pub async fn get_catalogue_import(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let job = sklad_db::sync_jobs::get(&mut conn, account.0, JobKind::Catalogue, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::not_found("no such catalogue import"))?;
    Ok(HttpResponse::Ok().json(CatalogueImportView::from(job)))
}

/// Cancels a queued or running import: the page being written is undone with it, the
/// pages before stay imported (a finished import is returned as it is).
#[utoipa::path(
    tag = "Catalogue",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CatalogueImportView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[post("/catalogue-imports/{id}/cancel")]
pub async fn cancel_catalogue_import(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let job =
        sklad_db::sync_jobs::cancel(&mut conn, account.0, JobKind::Catalogue, id.into_inner())
            .await?
            .ok_or_else(|| ApiError::not_found("no such catalogue import"))?;
    Ok(HttpResponse::Ok().json(CatalogueImportView::from(job)))
}
