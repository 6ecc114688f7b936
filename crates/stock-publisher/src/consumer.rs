//! Consumes `StockMovementRecorded`: marks each changed (keyCRM warehouse, SKU) dirty and
//! records the message in the inbox, in one transaction, then acks. The push loop does the
//! keyCRM part, so a flood of movements never queues a flood of requests.

use std::sync::Arc;

use diesel_async::AsyncConnection;
use futures::future::BoxFuture;
use sklad_bus::{Handler, HandlerError, IncomingMessage};
use sklad_db::DbError;
use sklad_events::v1::StockMovementRecorded;
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
            let event: StockMovementRecorded = message.decode_event()?;
            let account = Uuid::parse_str(&event.account_id).map_err(|e| {
                HandlerError::Park(format!("bad account id {:?}: {e}", event.account_id))
            })?;
            let mut lines = Vec::new();
            for line in &event.lines {
                let warehouse = Uuid::parse_str(&line.warehouse_id).map_err(|e| {
                    HandlerError::Park(format!("bad warehouse id {:?}: {e}", line.warehouse_id))
                })?;
                lines.push((warehouse, line.sku.clone()));
            }
            let message_id = message
                .message_id
                .clone()
                .unwrap_or_else(|| event.movement_id.clone());
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
                    let warehouses: Vec<Uuid> = lines.iter().map(|(w, _)| *w).collect();
                    let mapped = sklad_db::stock_sync::mapped(conn, account, &warehouses).await?;
                    let pairs: Vec<(i64, String)> = lines
                        .into_iter()
                        .filter_map(|(w, sku)| mapped.get(&w).map(|k| (*k, sku)))
                        .collect();
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
