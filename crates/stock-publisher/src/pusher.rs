//! The push loop: for each (account, keyCRM warehouse) with dirty SKUs, one
//! `PUT /offers/stocks` carrying every dirty SKU (up to 10 000) with the sum of the balances of
//! all sklad warehouses mapped to it; SKUs whose sum keyCRM already has are cleared without a
//! request. SKUs keyCRM refuses (422) are recorded and dropped from the request, which is
//! sent again without them; the rest are not blocked. A failed push defers its SKUs and keeps
//! them dirty. A mark is cleared only if it did not change while the push was in flight.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sklad_db::push_log::Push;
use sklad_domain::push::{plan_push, push_backoff};
use sklad_domain::stock::PushOutcome;
use sklad_keycrm::models::{StockItem, rejected_stock_items};
use sklad_keycrm::{AccountError, KeycrmClient, KeycrmError};
use sklad_runtime::heartbeat::Heartbeat;
use sklad_runtime::settings::delta;
use sklad_runtime::tasks::KeyedTasks;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use uuid::Uuid;

use crate::context::Context;
use crate::metrics::{DIRTY, DIRTY_OLDEST_SECONDS, FAILING, PUSH_SECONDS, PUSHES};

/// keyCRM's limit on items per `PUT /offers/stocks`.
pub const MAX_ITEMS: i64 = 10_000;
/// Rounds of dropping refused SKUs and sending the rest again.
const REJECTION_ROUNDS: usize = 3;

/// Pushes running at once in one process (each holds a dedicated connection for its lock).
const PARALLEL_TARGETS: usize = 8;

/// Runs until `cancel` fires. A push waiting for its budget slot stops; its SKUs stay
/// dirty and go with the next push, here or in another process.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    let mut pushes = KeyedTasks::new(PARALLEL_TARGETS);
    while !cancel.is_cancelled() {
        pushes.reap();
        match due(&ctx).await {
            Ok(due) => {
                for target in due {
                    let (ctx, cancel) = (ctx.clone(), cancel.clone());
                    let span = tracing::info_span!(
                        "push",
                        account_id = %target.0,
                        keycrm_warehouse_id = target.1,
                    );
                    let push = async move {
                        tokio::select! {
                            () = cancel.cancelled() => {}
                            pushed = push_target(&ctx, target.0, target.1) => {
                                if let Err(err) = pushed {
                                    tracing::warn!(error = %err, "push round failed");
                                }
                            }
                        }
                    };
                    pushes.start(target, push.instrument(span));
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot read the dirty set"),
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = ctx.push_wanted.notified() => {}
            () = tokio::time::sleep(ctx.settings.poll.max(std::time::Duration::from_millis(10))) => {}
            () = pushes.next(), if !pushes.is_empty() => {}
        }
    }
    pushes.drain().await;
}

async fn due(ctx: &Context) -> sklad_db::DbResult<Vec<(Uuid, i64)>> {
    let mut conn = ctx.db.conn().await?;
    let (dirty, oldest) = sklad_db::push_waiting::dirty_stats(&mut conn, None).await?;
    DIRTY.set(dirty);
    DIRTY_OLDEST_SECONDS.set(oldest.map_or(0, |t| (Utc::now() - t).num_seconds().max(0)));
    let failing: i64 = sklad_db::push_waiting::failing(&mut conn, None)
        .await?
        .iter()
        .map(|(_, _, skus, _, _)| *skus)
        .sum();
    FAILING.set(failing);
    let settle = delta(ctx.settings.settle);
    let max_delay = delta(ctx.settings.max_delay);
    sklad_db::stock_sync::due(&mut conn, settle, max_delay, 64).await
}

/// Pushes everything dirty for one keyCRM warehouse of one account, holding the target's
/// push lock (another pusher, in this process or another, skips it meanwhile).
pub async fn push_target(
    ctx: &Arc<Context>,
    account: Uuid,
    keycrm_warehouse: i64,
) -> anyhow::Result<()> {
    // The lock lives on a connection of its own and ends with it, however this ends.
    let mut lock = ctx.db.dedicated().await?;
    if !sklad_db::stock_sync::try_lock_target(&mut lock, account, keycrm_warehouse).await? {
        return Ok(());
    }
    let lease = delta(ctx.settings.push_lease);
    loop {
        let claimed_at = Utc::now();
        let claimed = {
            let mut conn = ctx.db.conn().await?;
            sklad_db::stock_sync::claim(&mut conn, account, keycrm_warehouse, MAX_ITEMS, lease)
                .await?
        };
        if claimed.is_empty() {
            return Ok(());
        }
        let skus: Vec<String> = claimed.iter().map(|d| d.sku.clone()).collect();
        let keycrm = match ctx.keycrm.for_account(account).await {
            Ok(keycrm) => keycrm,
            Err(AccountError::Db(err)) => return Err(err.into()),
            Err(why) => {
                let mut conn = ctx.db.conn().await?;
                sklad_db::stock_sync::defer(
                    &mut conn,
                    account,
                    keycrm_warehouse,
                    &skus,
                    Utc::now() + TimeDelta::seconds(5),
                )
                .await?;
                tracing::warn!(reason = %why, "stock push waits for the integration's settings");
                return Ok(());
            }
        };
        let plan = {
            let mut conn = ctx.db.conn().await?;
            let sums =
                sklad_db::stock_sync::sums(&mut conn, account, keycrm_warehouse, &skus).await?;
            let accepted =
                sklad_db::stock_sync::accepted(&mut conn, account, keycrm_warehouse, &skus).await?;
            plan_push(&skus, &sums, &accepted)
        };
        let started = Instant::now();
        // Waiting for the budget can outlast the lease: keep it while the push runs.
        let heartbeat = {
            let (db, skus) = (ctx.db.clone(), skus.clone());
            Heartbeat::start(ctx.settings.push_lease / 3, move || {
                let (db, skus) = (db.clone(), skus.clone());
                async move {
                    if let Ok(mut conn) = db.conn().await {
                        let _ = sklad_db::stock_sync::renew(
                            &mut conn,
                            account,
                            keycrm_warehouse,
                            &skus,
                            lease,
                        )
                        .await;
                    }
                }
            })
        };
        let outcome = send(ctx, &keycrm.client, account, keycrm_warehouse, plan.send).await;
        drop(heartbeat);
        let mut conn = ctx.db.conn().await?;
        match outcome {
            Ok(Sent { accepted, rejected }) => {
                sklad_db::stock_sync::settle(
                    &mut conn,
                    account,
                    keycrm_warehouse,
                    &accepted,
                    &rejected,
                    &claimed,
                    claimed_at,
                )
                .await?;
                PUSH_SECONDS
                    .with_label_values(&["done"])
                    .observe(started.elapsed().as_secs_f64());
            }
            Err(err) => {
                let failures = claimed.iter().map(|d| d.failures).max().unwrap_or(0) + 1;
                let wait = push_backoff(failures, ctx.settings.retry, ctx.settings.max_retry);
                sklad_db::stock_sync::fail(
                    &mut conn,
                    account,
                    keycrm_warehouse,
                    &skus,
                    Utc::now() + delta(wait),
                )
                .await?;
                tracing::warn!(failures, retry_in = ?wait, error = %err, "push failed; backing off");
                PUSH_SECONDS
                    .with_label_values(&["failed"])
                    .observe(started.elapsed().as_secs_f64());
                return Err(err.into());
            }
        }
        if i64::try_from(claimed.len()).unwrap_or(0) < MAX_ITEMS {
            return Ok(());
        }
    }
}

/// What keyCRM took and what it refused (SKU, reason).
struct Sent {
    accepted: Vec<(String, Decimal)>,
    rejected: Vec<(String, String)>,
}

/// Sends `items`; on a 422 drops the refused SKUs and sends the rest again. Logs each request.
async fn send(
    ctx: &Context,
    client: &KeycrmClient,
    account: Uuid,
    keycrm_warehouse: i64,
    items: Vec<(String, Decimal)>,
) -> Result<Sent, KeycrmError> {
    let mut items = items;
    let mut rejected = Vec::new();
    for _ in 0..REJECTION_ROUNDS {
        if items.is_empty() {
            break;
        }
        let stock: Vec<StockItem> = items
            .iter()
            .map(|(sku, quantity)| StockItem {
                sku: sku.clone(),
                quantity: *quantity,
            })
            .collect();
        let started_at = Utc::now();
        let started = Instant::now();
        let result = client.put_stocks(keycrm_warehouse, &stock).await;
        let refused: Vec<(usize, String)> = match &result {
            Err(KeycrmError::Validation(body)) => rejected_stock_items(body),
            _ => Vec::new(),
        };
        let refused_skus: Vec<(String, String)> = refused
            .iter()
            .filter_map(|(i, reason)| items.get(*i).map(|(sku, _)| (sku.clone(), reason.clone())))
            .collect();
        log(
            ctx,
            account,
            keycrm_warehouse,
            started_at,
            started,
            &items,
            &result,
            &refused_skus,
        )
        .await;
        match result {
            Ok(()) => {
                PUSHES
                    .with_label_values(&[PushOutcome::Accepted.as_ref()])
                    .inc();
                return Ok(Sent {
                    accepted: items,
                    rejected,
                });
            }
            Err(KeycrmError::Validation(_)) if !refused_skus.is_empty() => {
                PUSHES
                    .with_label_values(&[PushOutcome::Rejected.as_ref()])
                    .inc();
                let refused: HashSet<&String> = refused_skus.iter().map(|(sku, _)| sku).collect();
                items.retain(|(sku, _)| !refused.contains(sku));
                rejected.extend(refused_skus);
            }
            Err(err) => {
                PUSHES
                    .with_label_values(&[PushOutcome::Failed.as_ref()])
                    .inc();
                return Err(err);
            }
        }
    }
    if items.is_empty() {
        // keyCRM refused every SKU: nothing to send, each refusal recorded.
        return Ok(Sent {
            accepted: Vec::new(),
            rejected,
        });
    }
    Err(KeycrmError::Validation(format!(
        "keyCRM kept refusing SKUs after {REJECTION_ROUNDS} rounds; {} left to retry",
        items.len()
    )))
}

#[allow(clippy::too_many_arguments)]
async fn log(
    ctx: &Context,
    account: Uuid,
    keycrm_warehouse: i64,
    started_at: chrono::DateTime<Utc>,
    started: Instant,
    items: &[(String, Decimal)],
    result: &Result<(), KeycrmError>,
    refused: &[(String, String)],
) {
    let quantities: Map<String, Value> = items
        .iter()
        .map(|(sku, q)| (sku.clone(), json!(q.normalize().to_string())))
        .collect();
    let rejected: Map<String, Value> = refused
        .iter()
        .map(|(sku, r)| (sku.clone(), json!(r)))
        .collect();
    let (outcome, http_status, answer) = match result {
        Ok(()) => (PushOutcome::Accepted, Some(202), None),
        Err(KeycrmError::Validation(body)) => {
            (PushOutcome::Rejected, Some(422), Some(body.clone()))
        }
        Err(err) => (PushOutcome::Failed, status_of(err), Some(err.to_string())),
    };
    let push = Push {
        id: Uuid::now_v7(),
        account_id: account,
        keycrm_warehouse_id: keycrm_warehouse,
        started_at,
        duration_ms: i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX),
        items: i32::try_from(items.len()).unwrap_or(i32::MAX),
        quantities: Value::Object(quantities),
        outcome,
        http_status,
        answer,
        rejected: Value::Object(rejected),
    };
    match ctx.db.conn().await {
        Ok(mut conn) => {
            if let Err(err) = sklad_db::push_log::log_push(&mut conn, &push).await {
                tracing::warn!(error = %err, "could not log a push");
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not log a push"),
    }
}

fn status_of(err: &KeycrmError) -> Option<i32> {
    match err {
        KeycrmError::Unauthorized(s) | KeycrmError::Server(s) => Some(i32::from(*s)),
        KeycrmError::RateLimited { .. } => Some(429),
        KeycrmError::NotFound => Some(404),
        KeycrmError::Http { status, .. } => Some(i32::from(*status)),
        _ => None,
    }
}
