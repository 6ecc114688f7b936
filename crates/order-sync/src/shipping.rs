//! Orders move stock: an order in one of the account's ship statuses ships once from its
//! ship warehouse; when a line is short it waits, and is tried again until stock covers it.

use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use sklad_app::movements::MovementError;
use sklad_db::orders::OrderRef;
use sklad_db::stock::Refused;
use sklad_db::{DbError, DbResult};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Context;
use crate::metrics::SHIPMENTS;
use crate::upsert::{ShipRule, Switches};

/// Waiting orders tried per pass, oldest first.
const WAITING_BATCH: i64 = 500;

/// Stock follows the order's status (called inside the order's transaction, under its lock,
/// so redelivery and concurrent writers ship it once): in a ship status, the order ships;
/// when the warehouse cannot cover a line, it waits with the reason instead. An order that
/// is not in a ship status, unshipped, stops waiting.
pub(crate) async fn follow_status(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order_id: Uuid,
    (keycrm_id, status_id): (i64, Option<i64>),
    rule: Option<&ShipRule>,
) -> DbResult<()> {
    let due = rule.filter(|r| status_id.is_some_and(|s| r.status_ids.contains(&s)));
    let Some(rule) = due else {
        return sklad_db::orders::set_shipment_waiting(conn, account, order_id, None).await;
    };
    let shipped =
        sklad_app::movements::ship(conn, account, OrderRef::Id(order_id), rule.warehouse_id).await;
    let waiting = match shipped {
        Ok(recorded) => {
            SHIPMENTS.with_label_values(&["shipped"]).inc();
            tracing::info!(
                keycrm_order_id = keycrm_id,
                movement_id = %recorded.movement.id,
                "order shipped on its status"
            );
            return Ok(());
        }
        Err(MovementError::Refused(Refused::AlreadyShipped)) => return Ok(()),
        Err(MovementError::Refused(Refused::Db(err))) => return Err(err),
        Err(why) => why.to_string(),
    };
    SHIPMENTS.with_label_values(&["waiting"]).inc();
    tracing::info!(keycrm_order_id = keycrm_id, reason = %waiting, "order waits to ship");
    sklad_db::orders::set_shipment_waiting(conn, account, order_id, Some(&waiting)).await
}

/// Tries the waiting orders again every `order_sync.waiting_shipments_interval`.
pub(crate) async fn run(ctx: Arc<Context>, cancel: CancellationToken) {
    let interval = ctx.settings.waiting_shipments_interval;
    if interval.is_zero() {
        return;
    }
    while !cancel.is_cancelled() {
        if let Err(err) = pass(&ctx).await {
            tracing::warn!(error = %err, "waiting shipments not tried");
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// One pass over the waiting orders: each in its own transaction, under its order's lock.
async fn pass(ctx: &Context) -> DbResult<()> {
    let mut conn = ctx.db.conn().await?;
    let waiting = sklad_db::orders::waiting_shipments(&mut conn, WAITING_BATCH).await?;
    for order in waiting {
        let integration = sklad_db::integrations::get(&mut conn, order.account_id).await?;
        let rule = Switches::from(&integration).ship;
        conn.transaction::<_, DbError, _>(async |conn| {
            sklad_db::orders::lock_order(conn, order.account_id, order.keycrm_id).await?;
            follow_status(
                conn,
                order.account_id,
                order.id,
                (order.keycrm_id, order.status_id),
                rule.as_ref(),
            )
            .await
        })
        .await?;
    }
    Ok(())
}
