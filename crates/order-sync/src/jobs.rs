//! Jobs that page through keyCRM at bulk priority (stock pushes and webhook fetches go
//! first): "Synchronize orders" (every order in the chosen statuses, through the same upsert
//! path) and catalogue imports ([`crate::catalogue`]), which the periodic pass also queues.
//! Progress is stored after each page, so a job resumes where it stopped: a worker that dies
//! stops renewing its lease and another takes the job on.

use std::sync::Arc;

use chrono::TimeDelta;
use futures::TryStreamExt;
use sklad_db::sync_jobs::{PageDone, SyncJob};
use sklad_domain::orders::JobKind;
use sklad_keycrm::{AccountClient, AccountError, KeycrmError, OrderFilter, PageOrder, Priority};
use sklad_runtime::settings::delta;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Context;
use crate::failures::{order_failed, store};
use crate::upsert::Switches;

/// Runs jobs until `cancel` fires; the page in progress finishes first.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    let owner = Uuid::now_v7();
    let mut next_catalogue_pass = tokio::time::Instant::now();
    while !cancel.is_cancelled() {
        if ctx.catalogue_refresh > std::time::Duration::ZERO
            && tokio::time::Instant::now() >= next_catalogue_pass
        {
            // At most a minute apart, more often when the interval itself is shorter.
            let every = ctx.catalogue_refresh.min(CATALOGUE_PASS).max(ctx.poll());
            next_catalogue_pass = tokio::time::Instant::now() + every;
            queue_catalogue_refresh(&ctx).await;
        }
        let claimed = match ctx.db.conn().await {
            Ok(mut conn) => sklad_db::sync_jobs::claim_next(&mut conn, owner, lease(&ctx)).await,
            Err(err) => Err(err),
        };
        match claimed {
            Ok(Some(job)) => {
                tracing::info!(job = %job.id, account = %job.account_id, page = job.next_page, "running sync job");
                if let Err(err) = run_job(&ctx, owner, job, &cancel).await {
                    tracing::warn!(error = %err, "sync job interrupted");
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cannot claim sync jobs"),
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(ctx.poll()) => {}
        }
    }
}

/// How often, at most, the periodic catalogue pass looks for accounts due a refresh.
const CATALOGUE_PASS: std::time::Duration = std::time::Duration::from_secs(60);

/// Queues a catalogue import for each account whose last one is older than
/// `catalogue.refresh_interval` (only accounts that imported their catalogue once).
async fn queue_catalogue_refresh(ctx: &Context) {
    let interval = delta(ctx.catalogue_refresh);
    let queued = match ctx.db.conn().await {
        Ok(mut conn) => sklad_db::sync_jobs::queue_due_catalogue(&mut conn, interval).await,
        Err(err) => Err(err),
    };
    match queued {
        Ok(0) => {}
        Ok(n) => tracing::info!(accounts = n, "periodic catalogue imports queued"),
        Err(err) => tracing::warn!(error = %err, "cannot queue periodic catalogue imports"),
    }
}

pub(crate) fn lease(ctx: &Context) -> TimeDelta {
    delta(ctx.settings.job_lease)
}

/// Records a failed page and returns the error that ends this run: keyCRM being only busy
/// counts no failure (the job waits out its lease); anything else does.
pub(crate) async fn page_failed(
    ctx: &Context,
    owner: Uuid,
    job: &SyncJob,
    err: KeycrmError,
) -> anyhow::Error {
    if matches!(err, KeycrmError::RateLimited { .. }) {
        return err.into();
    }
    let recorded = match ctx.db.conn().await {
        Ok(mut conn) => {
            sklad_db::sync_jobs::record_failure(
                &mut conn,
                job.id,
                owner,
                &err.to_string(),
                ctx.settings.job_max_failures,
                TimeDelta::seconds(5),
            )
            .await
        }
        Err(db) => Err(db),
    };
    match recorded {
        Ok(()) => err.into(),
        Err(db) => db.into(),
    }
}

async fn run_job(
    ctx: &Arc<Context>,
    owner: Uuid,
    job: SyncJob,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let keycrm = match ctx.keycrm.for_account(job.account_id).await {
        Ok(keycrm) => keycrm,
        Err(AccountError::Db(err)) => return Err(err.into()),
        Err(why) => {
            let mut conn = ctx.db.conn().await?;
            sklad_db::sync_jobs::record_failure(
                &mut conn,
                job.id,
                owner,
                &why.to_string(),
                1,
                TimeDelta::zero(),
            )
            .await?;
            return Ok(());
        }
    };
    match job.kind {
        JobKind::Orders => orders(ctx, owner, &job, keycrm, cancel).await,
        JobKind::Catalogue => crate::catalogue::run(ctx, owner, &job, keycrm, cancel).await,
    }
}

async fn orders(
    ctx: &Arc<Context>,
    owner: Uuid,
    job: &SyncJob,
    keycrm: AccountClient,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let switches = Switches::from(&keycrm.integration);
    let filter = OrderFilter {
        status_ids: job.status_ids.clone(),
        updated_between: None,
    };
    let first = u32::try_from(job.next_page.max(1)).unwrap_or(1);
    let mut pages = std::pin::pin!(keycrm.client.order_pages(&filter, first, Priority::Bulk));
    let mut number = job.next_page.max(1);
    while !cancel.is_cancelled() {
        let current = match pages.try_next().await {
            Ok(Some(current)) => current,
            Ok(None) => return Ok(()),
            Err(err) => return Err(page_failed(ctx, owner, job, err).await),
        };
        for order in &current.data {
            match order {
                PageOrder::Read(doc) => {
                    store(ctx, job.account_id, doc, &switches, None, "sync_job").await?
                }
                PageOrder::Unreadable {
                    id: Some(id),
                    reason,
                } => order_failed(ctx, job.account_id, *id, reason).await?,
                PageOrder::Unreadable { id: None, reason } => {
                    tracing::warn!(%reason, "an order without a readable id was skipped")
                }
            }
        }
        let last_page = !current.has_next() || current.data.is_empty();
        let done = PageDone {
            page: number,
            orders: i32::try_from(current.data.len()).unwrap_or(i32::MAX),
            pages_total: current.page_count().and_then(|p| i32::try_from(p).ok()),
            orders_total: current.total.and_then(|t| i32::try_from(t).ok()),
            requests: 1,
            last_page,
            ..PageDone::default()
        };
        let mut conn = ctx.db.conn().await?;
        if !sklad_db::sync_jobs::record_page(&mut conn, job.id, owner, done, lease(ctx)).await? {
            tracing::info!(job = %job.id, "sync job cancelled or taken over; stopping");
            return Ok(());
        }
        if last_page {
            tracing::info!(job = %job.id, pages = number, "sync job done");
            return Ok(());
        }
        number += 1;
    }
    Ok(())
}
