//! Consumes `KeycrmWebhookReceived`: records the message in the inbox and queues the order
//! for fetching, in one transaction, then acks. No keyCRM call happens here, so a burst of
//! webhooks is absorbed at database speed and coalesced before any request is spent.

use std::sync::Arc;

use chrono::Utc;
use diesel_async::AsyncConnection;
use futures::future::BoxFuture;
use sklad_bus::{Handler, HandlerError, IncomingMessage};
use sklad_db::DbError;
use sklad_domain::orders::already_applied;
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_runtime::settings::delta;
use uuid::Uuid;

use crate::context::Context;
use crate::metrics::EVENTS;

/// The inbox name of this consumer.
pub const CONSUMER: &str = "order-sync";

/// Handles webhook events.
pub struct WebhookHandler {
    pub ctx: Arc<Context>,
}

enum Queued {
    Fetch,
    Duplicate,
    AlreadyApplied,
}

impl Handler for WebhookHandler {
    fn handle<'a>(
        &'a self,
        message: &'a IncomingMessage,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let event: KeycrmWebhookReceived = message.decode_event()?;
            let account = Uuid::parse_str(&event.account_id).map_err(|e| {
                HandlerError::Park(format!("bad account id {:?}: {e}", event.account_id))
            })?;
            if event.order_id <= 0 {
                return Err(HandlerError::Park(format!(
                    "bad keyCRM order id {}",
                    event.order_id
                )));
            }
            let message_id = message
                .message_id
                .clone()
                .unwrap_or_else(|| event.webhook_id.clone());
            let updated_at = event
                .order_updated_at
                .as_ref()
                .and_then(sklad_events::from_timestamp);
            let not_before = Utc::now() + delta(self.ctx.settings.coalesce);
            let order_id = event.order_id;
            let mut conn = self.ctx.db.conn().await.map_err(retry)?;
            let outcome = conn
                .transaction::<_, DbError, _>(async move |conn| {
                    if !sklad_db::inbox::record(conn, CONSUMER, &message_id, account).await? {
                        return Ok(Queued::Duplicate);
                    }
                    sklad_db::integrations::note_webhook(conn, account).await?;
                    let stored = sklad_db::orders::stored_version(conn, account, order_id).await?;
                    if already_applied(stored.flatten(), updated_at) {
                        return Ok(Queued::AlreadyApplied);
                    }
                    sklad_db::fetches::request(
                        conn,
                        account,
                        order_id,
                        updated_at,
                        &message_id,
                        not_before,
                    )
                    .await?;
                    Ok(Queued::Fetch)
                })
                .await
                .map_err(|e| classify(e, account))?;
            let label = match outcome {
                Queued::Fetch => {
                    self.ctx.fetch_wanted.notify_one();
                    "queued"
                }
                Queued::Duplicate => "duplicate",
                Queued::AlreadyApplied => "already_applied",
            };
            EVENTS.with_label_values(&[label]).inc();
            tracing::info!(
                keycrm_order_id = order_id,
                outcome = label,
                "webhook event taken"
            );
            Ok(())
        })
    }
}

fn retry(err: DbError) -> HandlerError {
    HandlerError::transient(&err, err.is_infra())
}

/// An inbox row for an account that does not exist violates its foreign key: that message
/// will never work. Anything else may.
fn classify(err: DbError, account: Uuid) -> HandlerError {
    if err.is_foreign_key_violation() {
        HandlerError::Park(format!("account {account} does not exist"))
    } else {
        retry(err)
    }
}
