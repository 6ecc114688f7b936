//! "Synchronize orders": choose keyCRM statuses, start, watch pages and orders go by,
//! cancel. The job runs in order-sync; this screen starts it and polls its progress.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use uuid::Uuid;

use super::Section;
use super::integration::{Statuses, failed};
use super::views::{Choice, DoneQuery};
use super::{Console, ConsoleError, Frame, Text, render, see_other};
use sklad_api::ApiState;
use sklad_api::sync_jobs::SyncJobView;
use sklad_domain::orders::JobKind;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sync", web::get().to(page))
        .route("/sync", web::post().to(start))
        .route("/sync/{id}/progress", web::get().to(progress))
        .route("/sync/{id}/cancel", web::post().to(cancel));
}

/// One job's row, as the page and the live fragment show it.
pub struct JobRow {
    pub job: SyncJobView,
    pub state: &'static str,
    pub running: bool,
    /// 0–100 for the progress bar (pages done of pages known).
    pub percent: i64,
    /// The job's keyCRM statuses by name.
    pub statuses: String,
}

/// keyCRM status ids by name: from `known` (id, name), else "#id".
fn status_names(ids: &[i64], known: &[(i64, Option<String>)]) -> String {
    ids.iter()
        .map(|id| {
            known
                .iter()
                .find(|(k, name)| k == id && name.is_some())
                .and_then(|(_, name)| name.clone())
                .unwrap_or_else(|| format!("#{id}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl JobRow {
    fn of(t: &Text, job: SyncJobView, known: &[(i64, Option<String>)]) -> Self {
        let running = job.state.is_active();
        let percent = match job.pages_total {
            Some(total) if total > 0 => i64::from(job.pages_done) * 100 / i64::from(total),
            _ if !running => 100,
            _ => 0,
        };
        Self {
            statuses: status_names(&job.status_ids, known),
            state: t.label(job.state.as_ref()),
            running,
            percent: percent.clamp(0, 100),
            job,
        }
    }

    pub fn pages_total(&self) -> String {
        self.job
            .pages_total
            .map_or_else(|| "?".to_owned(), |n| n.to_string())
    }

    pub fn orders_total(&self) -> String {
        self.job
            .orders_total
            .map_or_else(|| "?".to_owned(), |n| n.to_string())
    }
}

#[derive(Template)]
#[template(path = "sync.html")]
struct SyncPage {
    frame: Frame,
    t: &'static Text,
    statuses: Vec<Choice>,
    statuses_unavailable: Option<String>,
    jobs: Vec<JobRow>,
}

#[derive(Template)]
#[template(path = "sync_job.html")]
struct JobFragment {
    frame: Frame,
    t: &'static Text,
    row: JobRow,
}

async fn page(
    state: web::Data<ApiState>,
    console: Console,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let frame = console.frame_done(Section::Sync, done.done.as_deref());
    show(&state, &console, frame, StatusCode::OK).await
}

async fn show(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let t = console.t();
    let (has_key, jobs, mut known) = {
        let mut conn = state.db.conn().await?;
        let integration = sklad_db::integrations::get(&mut conn, console.account.0).await?;
        let jobs =
            sklad_db::sync_jobs::list(&mut conn, console.account.0, JobKind::Orders, 20).await?;
        let known = sklad_db::orders::statuses_in_use(&mut conn, console.account.0).await?;
        (integration.has_api_key(), jobs, known)
    };
    let statuses = Statuses::load(state, console, has_key).await;
    known.splice(0..0, statuses.all.iter().map(|s| (s.id, s.name.clone())));
    let page = SyncPage {
        frame,
        t,
        statuses: statuses.options(&[]),
        statuses_unavailable: statuses.unavailable,
        jobs: jobs
            .into_iter()
            .map(|j| JobRow::of(t, SyncJobView::from(j), &known))
            .collect(),
    };
    render(&page, status)
}

/// Starts a job for the ticked statuses (the same rules as `POST /sync-jobs`).
async fn start(
    state: web::Data<ApiState>,
    posted: super::form::Posted,
) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let started = match posted.form.ids("status_ids") {
        Ok(ids) => sklad_api::sync_jobs::start(&state, console.account, ids).await,
        Err(err) => Err(err),
    };
    match started {
        Ok(_) => Ok(see_other("/sync", Some("sync_started"))),
        Err(err) => {
            let frame = console.frame(Section::Sync, Some(failed(console.t(), &err)));
            show(&state, console, frame, err.status).await
        }
    }
}

/// The live row of one job: htmx swaps it in every second while the job runs.
async fn progress(
    state: web::Data<ApiState>,
    console: Console,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let (job, known) = {
        let mut conn = state.db.conn().await?;
        let job = sklad_db::sync_jobs::get(
            &mut conn,
            console.account.0,
            JobKind::Orders,
            id.into_inner(),
        )
        .await?;
        let known = sklad_db::orders::statuses_in_use(&mut conn, console.account.0).await?;
        (job, known)
    };
    let Some(job) = job else {
        return Err(sklad_api::error::ApiError::not_found("no such sync job").into());
    };
    let t = console.t();
    render(
        &JobFragment {
            frame: console.frame(Section::Sync, None),
            t,
            row: JobRow::of(t, SyncJobView::from(job), &known),
        },
        StatusCode::OK,
    )
}

async fn cancel(
    state: web::Data<ApiState>,
    posted: super::form::Posted,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ConsoleError> {
    let cancelled = {
        let mut conn = state.db.conn().await?;
        sklad_db::sync_jobs::cancel(
            &mut conn,
            posted.console.account.0,
            JobKind::Orders,
            id.into_inner(),
        )
        .await?
    };
    if cancelled.is_none() {
        return Err(sklad_api::error::ApiError::not_found("no such sync job").into());
    }
    Ok(see_other("/sync", Some("sync_cancelled")))
}
