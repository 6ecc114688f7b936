//! The parking queues are only a way in: the [`Keeper`] takes each parked message off its
//! queue into a [`ParkingLot`] (PostgreSQL, given by the relay), and is the only thing that
//! ever consumes them. Operators list the lot, which takes nothing off a queue (on RabbitMQ 4
//! every put-back counts toward a quorum queue's delivery limit, so a message looked at
//! often enough would be dropped), and a [`Replayer`] publishes a kept message back to its
//! consumer's queue by id.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use tokio_util::sync::CancellationToken;

use crate::BusError;
use crate::connection::Broker;
use crate::consumer::reconnect_backoff;
use crate::headers;
use crate::publisher::{PublishError, publish_confirmed};
use crate::topology::ALL_CONSUMERS;

/// A message read off a parking queue, with what an operator needs to know about it.
#[derive(Debug, Clone)]
pub struct ParkedMessage {
    pub consumer: &'static str,
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub account_id: Option<String>,
    /// CloudEvents subject, e.g. `order/23196`.
    pub subject: Option<String>,
    /// sklad's reason, or the broker's when it dead-lettered the message itself.
    pub reason: String,
    pub attempts: u64,
    pub parked_at: DateTime<Utc>,
    /// The AMQP properties, headers included, as JSON: enough to publish it again as it was.
    pub properties: serde_json::Value,
    pub body: Vec<u8>,
}

impl ParkedMessage {
    /// Reads a delivery from `consumer`'s parking queue.
    pub fn read(consumer: &'static str, properties: &BasicProperties, body: &[u8]) -> Self {
        let h = properties.headers().as_ref();
        let reason = headers::get_str(h, headers::PARK_REASON)
            .or_else(|| {
                headers::get_str(h, "x-first-death-reason")
                    .map(|why| format!("the broker dead-lettered it ({why})"))
            })
            .unwrap_or_else(|| "no reason recorded".to_owned());
        let parked_at = headers::get_str(h, headers::PARKED_AT)
            .and_then(|at| DateTime::parse_from_rfc3339(&at).ok())
            .map_or_else(Utc::now, |at| at.with_timezone(&Utc));
        Self {
            consumer,
            message_id: properties.message_id().as_ref().map(|s| s.to_string()),
            message_type: properties.kind().as_ref().map(|s| s.to_string()),
            account_id: headers::get_str(h, headers::CE_ACCOUNT),
            subject: headers::get_str(h, headers::CE_SUBJECT),
            reason,
            attempts: headers::get_u64(h, headers::ATTEMPT).unwrap_or(0),
            parked_at,
            properties: serde_json::to_value(properties).unwrap_or(serde_json::Value::Null),
            body: body.to_vec(),
        }
    }
}

/// Where the [`Keeper`] puts parked messages. An error leaves the message on its queue, to
/// be kept on a later try.
pub trait ParkingLot: Send + Sync + 'static {
    fn keep(&self, message: ParkedMessage) -> BoxFuture<'_, Result<(), String>>;
}

/// Moves every consumer's parked messages into a [`ParkingLot`], acking each only after the
/// lot kept it. Several keepers (one per relay process) share the queues.
pub struct Keeper {
    broker: Arc<Broker>,
    lot: Arc<dyn ParkingLot>,
}

impl Keeper {
    pub fn new(broker: Arc<Broker>, lot: Arc<dyn ParkingLot>) -> Self {
        Self { broker, lot }
    }

    /// Keeps until `cancel` fires, reconnecting with backoff when the broker goes away.
    pub async fn run(self, cancel: CancellationToken) {
        let mut backoff = reconnect_backoff();
        while !cancel.is_cancelled() {
            match self.session(&cancel).await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "the parking keeper lost its broker; reconnecting")
                }
            }
            let delay = backoff.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn session(&self, cancel: &CancellationToken) -> Result<(), BusError> {
        let connection = self.broker.open("parking-keeper").await?;
        let ended = self.consume(&connection, cancel).await;
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            connection.close(200, "keeper stopping".into()),
        )
        .await;
        ended
    }

    async fn consume(
        &self,
        connection: &Connection,
        cancel: &CancellationToken,
    ) -> Result<(), BusError> {
        let channel = connection.create_channel().await?;
        channel.basic_qos(50, BasicQosOptions::default()).await?;
        let mut streams = Vec::new();
        for spec in ALL_CONSUMERS {
            let queue = self.broker.topology().parking_queue(spec.name);
            let consumer = channel
                .basic_consume(
                    queue.into(),
                    format!("parking-keeper-{}", uuid::Uuid::new_v4().simple()).into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            streams.push(consumer.map(move |delivery| (spec.name, delivery)));
        }
        let mut deliveries = futures::stream::select_all(streams);
        loop {
            let next = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                next = deliveries.next() => next,
            };
            let (consumer, delivery) = match next {
                Some((consumer, Ok(delivery))) => (consumer, delivery),
                Some((_, Err(err))) => return Err(err.into()),
                None => return Err(BusError::Connect("parking stream ended".into())),
            };
            let message = ParkedMessage::read(consumer, &delivery.properties, &delivery.data);
            let id = message.message_id.clone();
            // Held (not put back) until the lot takes it: a put-back would count toward the
            // queue's delivery limit. A keeper that stops holding it leaves it to another.
            let mut failures = reconnect_backoff();
            loop {
                match self.lot.keep(message.clone()).await {
                    Ok(()) => {
                        tracing::info!(consumer, message_id = ?id, "parked message kept");
                        delivery.acker.ack(BasicAckOptions::default()).await?;
                        break;
                    }
                    Err(err) => {
                        let wait = failures.next().unwrap_or(Duration::from_secs(10));
                        tracing::warn!(consumer, message_id = ?id, error = %err, retry_in = ?wait, "could not keep a parked message; it stays on its queue");
                        tokio::select! {
                            () = cancel.cancelled() => return Ok(()),
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            }
        }
    }
}

/// Why a replay could not send a message.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    #[error(transparent)]
    Publish(#[from] PublishError),
    #[error("not a consumer: {0}")]
    UnknownConsumer(String),
    #[error("the kept properties cannot be read: {0}")]
    Properties(String),
}

/// Publishes kept messages back to their consumers' queues, one confirm channel per replay.
pub struct Replayer {
    broker: Arc<Broker>,
    connection: Connection,
    channel: Channel,
}

impl Replayer {
    pub async fn open(broker: Arc<Broker>) -> Result<Self, ReplayError> {
        let connection = broker.open("replay").await?;
        let channel = connection.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self {
            broker,
            connection,
            channel,
        })
    }

    /// Sends one kept message to `consumer`'s queue with its attempt count and park reason
    /// cleared; returns once the broker confirmed it.
    pub async fn send(
        &self,
        consumer: &str,
        properties: &serde_json::Value,
        body: &[u8],
    ) -> Result<(), ReplayError> {
        if !ALL_CONSUMERS.iter().any(|spec| spec.name == consumer) {
            return Err(ReplayError::UnknownConsumer(consumer.to_owned()));
        }
        let properties: BasicProperties = serde_json::from_value(properties.clone())
            .map_err(|err| ReplayError::Properties(err.to_string()))?;
        let kept = fresh_headers(properties.headers().as_ref());
        let target = self.broker.topology().queue(consumer);
        publish_confirmed(
            &self.channel,
            "",
            &target,
            body,
            properties.with_headers(kept),
            self.broker.settings().confirm_timeout,
        )
        .await?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.connection.close(200, "replayed".into()).await;
    }
}

/// The headers of a replayed message: all but the bookkeeping of its failed attempts (and
/// the broker's dead-letter history), so its consumer tries it afresh.
fn fresh_headers(headers: Option<&FieldTable>) -> FieldTable {
    let mut kept = FieldTable::default();
    for (key, value) in headers.map(|h| h.inner().iter()).into_iter().flatten() {
        let bookkeeping = [
            headers::ATTEMPT,
            headers::LAST_ERROR,
            headers::OUTAGES,
            headers::PARK_REASON,
            headers::PARKED_AT,
            headers::ORIGIN_QUEUE,
        ]
        .contains(&key.as_str())
            || key.as_str().starts_with("x-death")
            || key.as_str().starts_with("x-first-death")
            || key.as_str().starts_with("x-last-death");
        if !bookkeeping {
            kept.insert(ShortString::from(key.as_str()), value.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::types::AMQPValue;

    #[test]
    fn a_parked_message_keeps_its_properties_and_comes_back_afresh() {
        let mut h = FieldTable::default();
        headers::set_str(&mut h, headers::CE_ACCOUNT, "acc");
        headers::set_str(&mut h, headers::CE_SUBJECT, "order/7");
        headers::set_str(&mut h, headers::PARK_REASON, "gave up");
        headers::set_str(&mut h, headers::PARKED_AT, "2026-12-07T10:00:00+00:00");
        headers::set_u64(&mut h, headers::ATTEMPT, 5);
        h.insert(
            "x-first-death-reason".into(),
            AMQPValue::LongString("delivery_limit".into()),
        );
        let properties = BasicProperties::default()
            .with_message_id("m-1".into())
            .with_type("keycrm.webhook.order".into())
            .with_headers(h);
        let parked = ParkedMessage::read("order-sync", &properties, b"{}");
        assert_eq!(parked.reason, "gave up");
        assert_eq!(parked.attempts, 5);
        assert_eq!(parked.subject.as_deref(), Some("order/7"));
        assert_eq!(parked.parked_at.to_rfc3339(), "2026-12-07T10:00:00+00:00");

        let again: BasicProperties = serde_json::from_value(parked.properties).unwrap();
        assert_eq!(again.message_id().as_ref().map(|s| s.as_str()), Some("m-1"));
        let fresh = fresh_headers(again.headers().as_ref());
        assert_eq!(
            headers::get_str(Some(&fresh), headers::CE_ACCOUNT).as_deref(),
            Some("acc")
        );
        for gone in [
            headers::PARK_REASON,
            headers::ATTEMPT,
            "x-first-death-reason",
        ] {
            assert!(!fresh.inner().contains_key(gone), "{gone} is cleared");
        }
    }

    #[test]
    fn a_message_the_broker_dead_lettered_says_so() {
        let mut h = FieldTable::default();
        h.insert(
            "x-first-death-reason".into(),
            AMQPValue::LongString("delivery_limit".into()),
        );
        let parked = ParkedMessage::read(
            "stock-publisher",
            &BasicProperties::default().with_headers(h),
            b"",
        );
        assert_eq!(
            parked.reason,
            "the broker dead-lettered it (delivery_limit)"
        );
        assert_eq!(parked.attempts, 0);
    }
}
