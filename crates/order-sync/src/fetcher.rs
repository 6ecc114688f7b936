//! The fetch loop: serves the order fetch queue within the account's keyCRM budget.
//!
//! Few waiting orders are fetched one by one (`GET /order/{id}`); many are fetched as pages
//! of recently updated orders (`GET /order?filter[updated_between]`, 50 per request), keeping
//! the waiting ones and any sklad already tracks. 404 marks the order deleted; an order that
//! keeps failing is parked with the reason.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use diesel_async::AsyncConnection;
use futures::TryStreamExt;
use sklad_db::fetches::Waiting;
use sklad_domain::orders::{self, FetchPlan};
use sklad_keycrm::{AccountError, KeycrmError, OrderFilter, PageOrder, Priority};
use sklad_runtime::heartbeat::Heartbeat;
use sklad_runtime::tasks::KeyedTasks;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::context::Context;
use crate::failures::{order_failed, park, store};
use crate::metrics::{FETCH_BACKLOG, FETCH_OLDEST_SECONDS, ORDERS};
use crate::upsert::{Serves, Switches};
use sklad_keycrm::AccountClient;

/// A row queued for an order on the page: its `request_seq` and webhook ids.
type Queued = (i64, Vec<String>);

/// Rows claimed per account per round. A window of recently updated orders holds every
/// waiting order of a busy account, and a page serves only the rows its round claimed: a
/// round claiming a tenth of a 6 000-order backlog read about 4.5 useful orders per 50-order
/// page (`sklad-bench accounts`), so a round claims the whole backlog of a flood.
const CLAIM_LIMIT: i64 = 10_000;
/// Accounts served at once by one process.
const PARALLEL_ACCOUNTS: usize = 8;

/// Runs until `cancel` fires. Rounds in progress stop at their next order; what they held
/// returns to the queue when its lease runs out, for this or another worker.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    let mut rounds = KeyedTasks::new(PARALLEL_ACCOUNTS);
    while !cancel.is_cancelled() {
        rounds.reap();
        match due_accounts(&ctx).await {
            Ok(due) => {
                for account in due {
                    let (ctx, cancel) = (ctx.clone(), cancel.clone());
                    let span = tracing::info_span!("fetch_round", account_id = %account);
                    let round = async move {
                        if let Err(err) = serve_account(&ctx, account, &cancel).await {
                            tracing::warn!(error = %err, "fetch round failed");
                        }
                    };
                    rounds.start(account, round.instrument(span));
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read the fetch queue"),
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = ctx.fetch_wanted.notified() => {}
            () = tokio::time::sleep(ctx.poll()) => {}
            () = rounds.next(), if !rounds.is_empty() => {}
        }
    }
    rounds.drain().await;
}

async fn due_accounts(ctx: &Context) -> sklad_db::DbResult<Vec<Uuid>> {
    let mut conn = ctx.db.conn().await?;
    let (waiting, oldest) = sklad_db::fetches::backlog(&mut conn).await?;
    FETCH_BACKLOG.set(waiting);
    FETCH_OLDEST_SECONDS.set(oldest.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)));
    sklad_db::fetches::due_accounts(&mut conn, 32).await
}

/// Serves every due row of one account, stopping early when `cancel` fires.
async fn serve_account(
    ctx: &Arc<Context>,
    account: Uuid,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let lease = sklad_runtime::settings::delta(ctx.settings.fetch_lease);
    let rows = {
        let mut conn = ctx.db.conn().await?;
        sklad_db::fetches::claim(&mut conn, account, lease, CLAIM_LIMIT).await?
    };
    if rows.is_empty() {
        return Ok(());
    }
    let keycrm = match ctx.keycrm.for_account(account).await {
        Ok(keycrm) => keycrm,
        Err(AccountError::NoApiKey) => {
            for row in &rows {
                park(ctx, row, "the account has no keyCRM API key saved").await;
            }
            return Ok(());
        }
        Err(AccountError::NotAllowed(why)) => {
            // The operator took the account's keyCRM URL off the list: wait for new settings.
            let ids: Vec<i64> = rows.iter().map(|r| r.keycrm_order_id).collect();
            let mut conn = ctx.db.conn().await?;
            let until = Utc::now() + chrono::TimeDelta::minutes(5);
            sklad_db::fetches::postpone(&mut conn, account, &ids, &why.to_string(), until).await?;
            return Ok(());
        }
        Err(AccountError::Db(err)) => return Err(err.into()),
    };
    let switches = Switches::from(&keycrm.integration);
    let mut waiting: HashMap<i64, Waiting> =
        rows.into_iter().map(|r| (r.keycrm_order_id, r)).collect();
    // The claimed rows' lease is renewed while this round serves them (single fetches at
    // keyCRM's pace can outlast it); each leaves `held` once served.
    let held: Arc<Mutex<HashSet<i64>>> = Arc::new(Mutex::new(waiting.keys().copied().collect()));
    let _heartbeat = {
        let (db, held) = (ctx.db.clone(), held.clone());
        let lease = sklad_runtime::settings::delta(ctx.settings.fetch_lease);
        Heartbeat::start(ctx.settings.fetch_lease / 3, move || {
            let (db, held) = (db.clone(), held.clone());
            async move {
                let ids: Vec<i64> = held
                    .lock()
                    .map(|h| h.iter().copied().collect())
                    .unwrap_or_default();
                if let Ok(mut conn) = db.conn().await {
                    let _ = sklad_db::fetches::renew(&mut conn, account, &ids, lease).await;
                }
            }
        })
    };
    let served = |id: i64| {
        if let Ok(mut held) = held.lock() {
            held.remove(&id);
        }
    };

    let facts: Vec<orders::Waiting> = waiting
        .values()
        .map(|r| orders::Waiting {
            requested_at: r.requested_at,
            event_updated_at: r.event_updated_at,
        })
        .collect();
    if let FetchPlan::UpdatedWindow { from, to } =
        orders::plan_fetch(&facts, ctx.settings.batch_threshold, Utc::now())
    {
        fetch_window(ctx, account, &keycrm, &switches, &mut waiting, from, to).await?;
        let left: HashSet<i64> = waiting.keys().copied().collect();
        if let Ok(mut held) = held.lock() {
            held.retain(|id| left.contains(id));
        }
    }
    for row in waiting.into_values() {
        if cancel.is_cancelled() {
            break;
        }
        let span = tracing::info_span!(
            "order",
            keycrm_order_id = row.keycrm_order_id,
            webhook_ids = %row.message_ids.join(","),
        );
        let id = row.keycrm_order_id;
        let outcome = fetch_one(ctx, account, &keycrm, &switches, row)
            .instrument(span)
            .await;
        served(id);
        outcome?;
    }
    Ok(())
}

/// Pages through orders updated in `[from, to]`, serving waiting rows; stops when single
/// fetches of what is still missing would be cheaper than the pages left.
async fn fetch_window(
    ctx: &Arc<Context>,
    account: Uuid,
    keycrm: &AccountClient,
    switches: &Switches,
    waiting: &mut HashMap<i64, Waiting>,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let filter = OrderFilter {
        status_ids: Vec::new(),
        updated_between: Some((from, to)),
    };
    let mut pages = std::pin::pin!(keycrm.client.order_pages(&filter, 1, Priority::Normal));
    loop {
        // Read before the page is asked for: events requested later may be newer than it.
        let asked_at = {
            let mut conn = ctx.db.conn().await?;
            sklad_db::fetches::clock(&mut conn).await?
        };
        let current = match pages.try_next().await {
            Ok(Some(current)) => current,
            Ok(None) => return Ok(()),
            Err(err) => {
                // Whatever is still waiting is tried one by one (and fails there if keyCRM is down).
                tracing::warn!(%account, error = %err, "window fetch failed");
                return Ok(());
            }
        };
        let ids: Vec<i64> = current.data.iter().filter_map(PageOrder::id).collect();
        let (tracked, queued): (HashSet<i64>, HashMap<i64, Queued>) = {
            let mut conn = ctx.db.conn().await?;
            (
                sklad_db::orders::tracked(&mut conn, account, &ids)
                    .await?
                    .into_iter()
                    .collect(),
                sklad_db::fetches::waiting_among(&mut conn, account, &ids, asked_at)
                    .await?
                    .into_iter()
                    .map(|(id, seq, webhooks)| (id, (seq, webhooks)))
                    .collect(),
            )
        };
        for doc in &current.data {
            let Some(id) = doc.id() else {
                tracing::warn!("keyCRM sent an order without a readable id; skipped");
                continue;
            };
            // Serve this round's rows, rows queued since (no need to fetch them again), and
            // refresh orders sklad tracks; skip the rest of the page.
            let serves = match waiting.remove(&id) {
                Some(row) => Some((row.request_seq, row.message_ids)),
                None => queued.get(&id).cloned(),
            };
            if serves.is_none() && !tracked.contains(&id) {
                continue;
            }
            let webhooks = serves
                .as_ref()
                .map(|(_, w)| w.join(","))
                .unwrap_or_default();
            let span = tracing::info_span!("order", keycrm_order_id = id, webhook_ids = %webhooks);
            let served = async {
                match doc {
                    PageOrder::Read(doc) => {
                        let serves = serves.map(|(request_seq, _)| Serves { request_seq });
                        store(ctx, account, doc, switches, serves, "webhook").await
                    }
                    PageOrder::Unreadable { reason, .. } => {
                        order_failed(ctx, account, id, reason).await
                    }
                }
            };
            served.instrument(span).await?;
        }
        let number = current.current_page.unwrap_or(1);
        let pages_left = current.page_count().unwrap_or(number) - number;
        if !orders::keep_paging(pages_left, waiting.len()) {
            return Ok(());
        }
    }
}

async fn fetch_one(
    ctx: &Arc<Context>,
    account: Uuid,
    keycrm: &AccountClient,
    switches: &Switches,
    row: Waiting,
) -> anyhow::Result<()> {
    let serves = Some(Serves {
        request_seq: row.request_seq,
    });
    match keycrm
        .client
        .order(row.keycrm_order_id, Priority::Normal)
        .await
    {
        Ok(doc) => store(ctx, account, &doc, switches, serves, "webhook").await?,
        Err(KeycrmError::NotFound) => {
            let mut conn = ctx.db.conn().await?;
            let keycrm_id = row.keycrm_order_id;
            let had = conn
                .transaction::<_, sklad_db::DbError, _>(async |conn| {
                    sklad_db::orders::lock_order(conn, account, keycrm_id).await?;
                    let had = sklad_db::orders::mark_deleted(conn, account, keycrm_id).await?;
                    // What it held goes back to what can be promised.
                    crate::shipping::release_deleted(conn, account, keycrm_id).await?;
                    sklad_db::fetches::complete(conn, account, keycrm_id, row.request_seq).await?;
                    Ok(had)
                })
                .await?;
            ORDERS
                .with_label_values(&["webhook", "deleted_in_keycrm"])
                .inc();
            tracing::info!(tracked = had, "keyCRM has no such order");
        }
        // sklad's own database, keyCRM saying "too many requests" (the whole key waits), or
        // an account keyCRM will not serve (now flagged): not this order's fault, so no
        // attempt is counted.
        Err(err @ KeycrmError::Budget(_)) => return Err(err.into()),
        Err(err) if err.blocks_account() || matches!(err, KeycrmError::RateLimited { .. }) => {
            let mut conn = ctx.db.conn().await?;
            // Short: a flagged account is not claimed anyway, and a busy key has its own pace.
            let until = Utc::now() + chrono::TimeDelta::seconds(5);
            sklad_db::fetches::postpone(
                &mut conn,
                account,
                &[row.keycrm_order_id],
                &err.to_string(),
                until,
            )
            .await?;
        }
        Err(err) => order_failed(ctx, account, row.keycrm_order_id, &err.to_string()).await?,
    }
    Ok(())
}
