//! One order that cannot be fetched, read or stored never stalls its account: it is counted
//! on its own row in the fetch queue, held back (2 s doubling to 5 min), retried singly, and
//! after `max_fetch_attempts` parked with its keyCRM id and the reason, while the rest of its
//! page, job or reconciliation pass goes on. Failures of sklad's own infrastructure are not
//! the order's and count nothing.

use std::sync::Arc;

use chrono::Utc;
use sklad_bus::OutgoingMessage;
use sklad_db::fetches::Waiting;
use sklad_domain::orders::fetch_backoff;
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_keycrm::OrderDocument;
use uuid::Uuid;

use crate::consumer::CONSUMER;
use crate::context::Context;
use crate::metrics::ORDERS;
use crate::upsert::{self, Serves, Switches};

/// Stores one order (see [`upsert::apply`]); when storing it fails for a reason of its own
/// (a value its column cannot hold, say), the order is counted instead of failing the
/// caller's whole page.
pub async fn store(
    ctx: &Arc<Context>,
    account: Uuid,
    doc: &OrderDocument,
    switches: &Switches,
    serves: Option<Serves>,
    source: &'static str,
) -> anyhow::Result<()> {
    let mut conn = ctx.db.conn().await?;
    match upsert::apply(&mut conn, account, doc, switches, serves, source).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_infra() => Err(err.into()),
        Err(err) => {
            let reason = format!("could not store the order: {err}");
            order_failed(ctx, account, doc.order.id, &reason).await
        }
    }
}

/// Counts a failure of one order; parks it when it has failed `max_fetch_attempts` times.
pub async fn order_failed(
    ctx: &Arc<Context>,
    account: Uuid,
    keycrm_order_id: i64,
    reason: &str,
) -> anyhow::Result<()> {
    let row = {
        let mut conn = ctx.db.conn().await?;
        sklad_db::fetches::failed(&mut conn, account, keycrm_order_id, reason, |attempts| {
            fetch_backoff(attempts - 1)
        })
        .await?
    };
    ORDERS.with_label_values(&["order", "failed"]).inc();
    if row.attempts >= ctx.settings.max_fetch_attempts {
        let reason = format!("gave up after {} attempts: {reason}", row.attempts);
        park(ctx, &row, &reason).await;
    } else {
        tracing::warn!(attempts = row.attempts, %reason, "order failed; will retry");
    }
    Ok(())
}

/// Moves an order that failed for good to the parking queue, with its reason, and drops its
/// row. If the broker cannot take it, the row stays and is retried later.
pub async fn park(ctx: &Arc<Context>, row: &Waiting, reason: &str) {
    let now = Utc::now();
    let event = KeycrmWebhookReceived {
        webhook_id: row.message_ids.last().cloned().unwrap_or_default(),
        account_id: row.account_id.to_string(),
        received_at: Some(sklad_events::timestamp(row.requested_at)),
        event: "order.fetch_failed".into(),
        order_id: row.keycrm_order_id,
        status_id: None,
        order_updated_at: row.event_updated_at.map(sklad_events::timestamp),
        raw_body: Vec::new(),
    };
    // A fresh message id: the webhook's own id is in the inbox already, and a replay of this
    // parked message must be taken as new work.
    let message = OutgoingMessage::event(
        &event,
        Uuid::now_v7().to_string(),
        row.account_id.to_string(),
        now,
        Some(format!("order/{}", row.keycrm_order_id)),
    );
    match ctx.publisher.park(CONSUMER, &message, reason).await {
        Ok(()) => {
            ORDERS.with_label_values(&["order", "parked"]).inc();
            tracing::error!(account = %row.account_id, order = row.keycrm_order_id, %reason, "order parked");
            if let Ok(mut conn) = ctx.db.conn().await {
                let _ =
                    sklad_db::fetches::remove(&mut conn, row.account_id, row.keycrm_order_id).await;
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not park an order; it stays queued"),
    }
}
