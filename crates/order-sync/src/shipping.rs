//! Orders move stock: an order in one of the account's ship statuses ships once from its
//! ship warehouse, comes back once in a return status, and is corrected when its lines
//! change after shipping; what a warehouse cannot cover waits, and is tried again until
//! stock covers it.

use std::collections::HashMap;
use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use sklad_app::movements::{self, MovementError};
use sklad_app::production;
use sklad_db::order_stock::ShipmentFacts;
use sklad_db::orders::OrderRef;
use sklad_db::stock::{Recorded, Refused};
use sklad_db::{DbError, DbResult};
use sklad_domain::production::KEYCRM_CANCELLED_GROUP;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::context::Context;
use crate::metrics::SHIPMENTS;
use crate::upsert::{StockRules, Switches};

/// Waiting orders tried per pass, oldest first.
const WAITING_BATCH: i64 = 500;

/// What stock did for an order this time.
enum Step {
    Shipped(Recorded),
    Returned(Recorded),
    Corrected(Recorded),
    /// Nothing is due (or it was done before).
    Nothing,
}

/// Stock follows the order (called inside the order's transaction, under its lock, so
/// redelivery and concurrent writers do each thing once): an unshipped order in a ship status
/// ships; a shipped one in a return status comes back; a shipped one whose lines changed is
/// corrected by the difference. When the warehouse cannot cover it (a short line where
/// balances may not go negative), the order waits with the reason and is tried again later.
/// A returned order is done. Then what the order holds follows: its lines while it is
/// unshipped in a reserve status, nothing otherwise.
pub(crate) async fn follow_status(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order_id: Uuid,
    rules: &StockRules,
) -> DbResult<()> {
    let Some(facts) =
        sklad_db::order_stock::shipment_facts(conn, account, OrderRef::Id(order_id)).await?
    else {
        return Ok(());
    };
    // The status as stored now, under the lock: a waiting order's retry must not act on the
    // status it was listed with.
    let (keycrm_id, status_id) = (facts.keycrm_id, facts.status_id);
    let in_statuses = |ids: &[i64]| status_id.is_some_and(|s| ids.contains(&s));
    let warehouse = rules.warehouse_for(facts.source_id);
    let step = if facts.returned_movement_id.is_some() || facts.deleted {
        Ok(Step::Nothing)
    } else if facts.shipped_movement_id.is_some() {
        if in_statuses(&rules.return_status_ids) {
            movements::return_order(conn, account, &facts)
                .await
                .map(Step::Returned)
        } else {
            movements::correct_order(conn, account, &facts)
                .await
                .map(|done| done.map_or(Step::Nothing, Step::Corrected))
        }
    } else {
        match warehouse.filter(|_| in_statuses(&rules.ship_status_ids)) {
            Some(warehouse) => movements::ship_order(conn, account, &facts, warehouse)
                .await
                .map(Step::Shipped),
            None => Ok(Step::Nothing),
        }
    };
    let waiting = match step {
        Ok(Step::Nothing)
        | Err(MovementError::Refused(Refused::AlreadyShipped | Refused::AlreadyReturned)) => None,
        Ok(Step::Shipped(done) | Step::Returned(done) | Step::Corrected(done)) => {
            let kind = done.movement.kind;
            SHIPMENTS.with_label_values(&[kind.as_ref()]).inc();
            tracing::info!(
                keycrm_order_id = keycrm_id,
                movement_id = %done.movement.id,
                kind = kind.as_ref(),
                "stock followed the order"
            );
            // A shipment released what the order held; a return or correction holds nothing.
            // A cancelled order still cancels its planned production.
            return make_to_order(conn, account, &facts, None, false).await;
        }
        Err(MovementError::Refused(Refused::Db(err))) => return Err(err),
        Err(why) => Some(why.to_string()),
    };
    let reserve = in_statuses(&rules.reserve_status_ids);
    movements::hold(conn, account, &facts, warehouse, reserve).await?;
    make_to_order(
        conn,
        account,
        &facts,
        warehouse,
        in_statuses(&rules.production_status_ids),
    )
    .await?;
    match waiting {
        // Nothing due: an order that waited stops waiting (most never did: no write).
        None if facts.waiting => {
            sklad_db::order_stock::set_shipment_waiting(conn, account, order_id, None).await
        }
        None => Ok(()),
        Some(why) => {
            SHIPMENTS.with_label_values(&["waiting"]).inc();
            tracing::info!(keycrm_order_id = keycrm_id, reason = %why, "order waits for stock");
            if !facts.waiting {
                movements::announce_waiting(conn, account, &facts, &why).await?;
            }
            sklad_db::order_stock::set_shipment_waiting(conn, account, order_id, Some(&why)).await
        }
    }
}

/// Production follows the order: a cancelled (or deleted) one cancels its planned
/// production orders; an unshipped one in a production status plans what stock lacks.
async fn make_to_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    warehouse: Option<Uuid>,
    in_production_status: bool,
) -> DbResult<()> {
    if facts.deleted || facts.status_group_id == Some(KEYCRM_CANCELLED_GROUP) {
        let cancelled =
            sklad_db::production::cancel_planned_for_order(conn, account, facts.id).await?;
        if cancelled > 0 {
            tracing::info!(
                keycrm_order_id = facts.keycrm_id,
                cancelled,
                "planned production cancelled with the order"
            );
        }
        return Ok(());
    }
    let unshipped = facts.shipped_movement_id.is_none() && facts.returned_movement_id.is_none();
    if let Some(warehouse) = warehouse.filter(|_| in_production_status && unshipped) {
        let planned = production::make_to_order(conn, account, facts, warehouse).await?;
        if planned > 0 {
            tracing::info!(
                keycrm_order_id = facts.keycrm_id,
                planned,
                "production planned for the order"
            );
        }
    }
    Ok(())
}

/// An order keyCRM no longer has holds nothing, and its planned production is cancelled
/// (called under its lock, in its transaction).
pub(crate) async fn release_deleted(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    keycrm_id: i64,
) -> DbResult<()> {
    if let Some(facts) =
        sklad_db::order_stock::shipment_facts(conn, account, OrderRef::Keycrm(keycrm_id)).await?
    {
        movements::hold(conn, account, &facts, None, false).await?;
        make_to_order(conn, account, &facts, None, false).await?;
    }
    Ok(())
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
    let waiting = sklad_db::order_stock::waiting_shipments(&mut conn, WAITING_BATCH).await?;
    let mut rules_of: HashMap<Uuid, StockRules> = HashMap::new();
    for order in waiting {
        let rules = match rules_of.get(&order.account_id) {
            Some(rules) => rules.clone(),
            None => {
                let integration = sklad_db::integrations::get(&mut conn, order.account_id).await?;
                let rules = Switches::from(&integration).stock;
                rules_of.insert(order.account_id, rules.clone());
                rules
            }
        };
        let tried = conn
            .transaction::<_, DbError, _>(async |conn| {
                sklad_db::orders::lock_order(conn, order.account_id, order.keycrm_id).await?;
                follow_status(conn, order.account_id, order.id, &rules).await
            })
            .await;
        // One order that cannot be tried must not hold back the ones behind it.
        if let Err(err) = tried {
            tracing::warn!(account_id = %order.account_id, keycrm_order_id = order.keycrm_id, error = %err, "waiting order not tried");
        }
    }
    Ok(())
}
