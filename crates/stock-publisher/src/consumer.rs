//! Consumes the stock events: `StockMovementRecorded` (and, when the account pushes
//! `available` quantities, `StockReservationChanged`) marks each changed (keyCRM warehouse,
//! SKU) dirty and records the message in the inbox, in one transaction, then acks. The push
//! loop does the keyCRM part, so a flood of movements never queues a flood of requests.
//! The other stock events (`OrderShipmentChanged`, the production ones) are for other
//! consumers: acked and skipped.

use std::sync::Arc;

use diesel_async::AsyncConnection;
use futures::future::BoxFuture;
use sklad_bus::{Handler, HandlerError, IncomingMessage};
use sklad_db::DbError;
use sklad_domain::reservation::PushQuantity;
use sklad_events::Event;
use sklad_events::v1::{StockMovementRecorded, StockReservationChanged};
use uuid::Uuid;

use crate::context::Context;
use crate::metrics::MOVEMENTS;

/// The inbox name of this consumer.
pub const CONSUMER: &str = "stock-publisher";

pub struct MovementHandler {
    pub ctx: Arc<Context>,
}

impl Handler for MovementHandler {
    fn handle<'a>(
        &'a self,
        message: &'a IncomingMessage,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let kind = message.message_type.as_deref();
            let reservation = kind == Some(StockReservationChanged::TYPE);
            if !reservation && kind.is_some_and(|k| k != StockMovementRecorded::TYPE) {
                // Order shipment and production events are for other consumers.
                MOVEMENTS.with_label_values(&["skipped"]).inc();
                return Ok(());
            }
            let (account, lines, products, own_id) = if reservation {
                let event: StockReservationChanged = message.decode_event()?;
                let lines = pairs(event.lines.iter().map(|l| (&l.warehouse_id, &l.sku)))?;
                let products = ids(event.lines.iter().map(|l| &l.product_id))?;
                (event.account_id, lines, products, None)
            } else {
                let event: StockMovementRecorded = message.decode_event()?;
                let lines = pairs(event.lines.iter().map(|l| (&l.warehouse_id, &l.sku)))?;
                let products = ids(event.lines.iter().map(|l| &l.product_id))?;
                (event.account_id, lines, products, Some(event.movement_id))
            };
            let account = Uuid::parse_str(&account)
                .map_err(|e| HandlerError::Park(format!("bad account id {account:?}: {e}")))?;
            let message_id = message
                .message_id
                .clone()
                .or(own_id)
                .ok_or_else(|| HandlerError::Park("no message id".into()))?;
            let mut conn = self.ctx.db.conn().await.map_err(retry)?;
            let outcome = conn
                .transaction::<_, DbError, _>(async move |conn| {
                    if !sklad_db::inbox::record(conn, CONSUMER, &message_id, account).await? {
                        return Ok("duplicate");
                    }
                    let integration = sklad_db::integrations::get(conn, account).await?;
                    if !integration.settings.stock_push_enabled {
                        return Ok("push_off");
                    }
                    // A component's change changes what can be made of every product
                    // sold from components that uses it, at any depth.
                    let makers = sklad_db::boms::makeable_users(conn, account, &products).await?;
                    // Under `on_hand` keyCRM's quantities ignore reservations.
                    let direct = !reservation
                        || integration.settings.push_quantity == PushQuantity::Available;
                    if !direct && makers.is_empty() {
                        return Ok("on_hand_policy");
                    }
                    let warehouses: Vec<Uuid> = lines.iter().map(|(w, _)| *w).collect();
                    let mapped = sklad_db::stock_sync::mapped(conn, account, &warehouses).await?;
                    let targets: std::collections::BTreeSet<i64> =
                        mapped.values().copied().collect();
                    let mut pairs: Vec<(i64, String)> = if direct {
                        lines
                            .into_iter()
                            .filter_map(|(w, sku)| mapped.get(&w).map(|k| (*k, sku)))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    for target in &targets {
                        pairs.extend(makers.iter().map(|sku| (*target, sku.clone())));
                    }
                    if pairs.is_empty() {
                        return Ok("unmapped");
                    }
                    sklad_db::stock_sync::mark(conn, account, &pairs).await?;
                    Ok("marked")
                })
                .await
                .map_err(|e| classify(e, account))?;
            if outcome == "marked" {
                self.ctx.push_wanted.notify_one();
            }
            MOVEMENTS.with_label_values(&[outcome]).inc();
            Ok(())
        })
    }
}

/// The (warehouse, SKU) pairs an event changed.
fn pairs<'a>(
    lines: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<Vec<(Uuid, String)>, HandlerError> {
    lines
        .map(|(warehouse, sku)| {
            Uuid::parse_str(warehouse)
                .map(|w| (w, sku.clone()))
                .map_err(|e| HandlerError::Park(format!("bad warehouse id {warehouse:?}: {e}")))
        })
        .collect()
}

/// The product ids an event names.
fn ids<'a>(products: impl Iterator<Item = &'a String>) -> Result<Vec<Uuid>, HandlerError> {
    products
        .map(|p| {
            Uuid::parse_str(p).map_err(|e| HandlerError::Park(format!("bad product id {p:?}: {e}")))
        })
        .collect()
}

fn retry(err: DbError) -> HandlerError {
    HandlerError::transient(&err, err.is_infra())
}

/// An account that does not exist (foreign key, or no settings row) never will.
fn classify(err: DbError, account: Uuid) -> HandlerError {
    if err.is_foreign_key_violation() || err.is_not_found() {
        HandlerError::Park(format!("account {account} does not exist"))
    } else {
        retry(err)
    }
}
