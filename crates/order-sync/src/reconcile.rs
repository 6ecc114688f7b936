//! The reconciliation pass: per account, every `reconcile_interval`, pull the orders
//! keyCRM updated since the watermark. Orders sklad tracks are refreshed; new ones are
//! imported when their status is one of `import_status_ids`. A webhook keyCRM never
//! delivered still arrives this way, and nothing the user did not ask for is imported.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use futures::TryStreamExt;
use sklad_domain::orders::{WINDOW_MARGIN, reconcile_takes};
use sklad_keycrm::{AccountError, OrderFilter, PageOrder, Priority};
use sklad_runtime::settings::delta;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::failures::{order_failed, store};
use crate::upsert::Switches;

/// Runs passes until `cancel` fires.
pub async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    if ctx.settings.reconcile_interval.is_zero() {
        tracing::info!("reconciliation is switched off (order_sync.reconcile_interval = 0s)");
        return;
    }
    let interval = delta(ctx.settings.reconcile_interval);
    while !cancel.is_cancelled() {
        let claim = match ctx.db.conn().await {
            Ok(mut conn) => {
                sklad_db::integrations::claim_reconcile(&mut conn, TimeDelta::minutes(10)).await
            }
            Err(err) => Err(err),
        };
        match claim {
            Ok(Some(claim)) => {
                let started = Utc::now();
                let outcome = pass(
                    &ctx,
                    claim.account_id,
                    claim.watermark.unwrap_or(started - interval),
                    &cancel,
                )
                .await;
                let (watermark, next_due) = match &outcome {
                    Ok(taken) => {
                        tracing::info!(account = %claim.account_id, orders = taken, "reconciliation pass done");
                        (Some(started), started + interval)
                    }
                    Err(err) => {
                        tracing::warn!(account = %claim.account_id, error = %err, "reconciliation pass failed");
                        (None, Utc::now() + TimeDelta::minutes(1).min(interval))
                    }
                };
                if let Ok(mut conn) = ctx.db.conn().await {
                    let _ = sklad_db::integrations::finish_reconcile(
                        &mut conn,
                        claim.account_id,
                        watermark,
                        next_due,
                    )
                    .await;
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cannot claim reconciliation"),
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(ctx.poll().max(std::time::Duration::from_millis(500))) => {}
        }
    }
}

/// One pass over orders updated since `since`; returns how many orders it wrote.
async fn pass(
    ctx: &Arc<Context>,
    account: uuid::Uuid,
    since: chrono::DateTime<Utc>,
    cancel: &CancellationToken,
) -> anyhow::Result<usize> {
    let keycrm = match ctx.keycrm.for_account(account).await {
        Ok(keycrm) => keycrm,
        Err(AccountError::Db(err)) => return Err(err.into()),
        Err(_) => return Ok(0),
    };
    let switches = Switches::from(&keycrm.integration);
    let filter = OrderFilter {
        status_ids: Vec::new(),
        updated_between: Some((since - WINDOW_MARGIN, Utc::now() + WINDOW_MARGIN)),
    };
    let mut written = 0;
    let mut pages = std::pin::pin!(keycrm.client.order_pages(&filter, 1, Priority::Bulk));
    while let Some(page) = pages.try_next().await? {
        // Stopped midway, the pass keeps its watermark: the next one starts over.
        anyhow::ensure!(!cancel.is_cancelled(), "stopped by shutdown");
        let ids: Vec<i64> = page.data.iter().filter_map(PageOrder::id).collect();
        let tracked: HashSet<i64> = {
            let mut conn = ctx.db.conn().await?;
            sklad_db::orders::tracked(&mut conn, account, &ids)
                .await?
                .into_iter()
                .collect()
        };
        for order in &page.data {
            match order {
                PageOrder::Read(doc) => {
                    if !reconcile_takes(
                        tracked.contains(&doc.order.id),
                        doc.order.status_id,
                        &keycrm.integration.settings.import_status_ids,
                    ) {
                        continue;
                    }
                    store(ctx, account, doc, &switches, None, "reconcile").await?;
                    written += 1;
                }
                // Unreadable, so its status is unknown: counted if sklad tracks it.
                PageOrder::Unreadable {
                    id: Some(id),
                    reason,
                } if tracked.contains(id) => order_failed(ctx, account, *id, reason).await?,
                PageOrder::Unreadable { .. } => {}
            }
        }
    }
    Ok(written)
}
