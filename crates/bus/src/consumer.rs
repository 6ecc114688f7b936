//! The consumer runner: one loop per consumer that survives broker restarts.
//!
//! Each delivery is handed to the [`Handler`]; its answer decides the message's fate:
//! - `Ok` → ack;
//! - [`HandlerError::Retry`] → republished (confirmed) to the retry queue of its attempt's
//!   tier, then acked; after `max_attempts` it is parked instead;
//! - [`HandlerError::Park`] → published (confirmed) to the parking queue with the reason
//!   in headers, then acked.
//!
//! A message is acked only after its successor copy is confirmed, so nothing acknowledged is
//! lost; if the republish fails the delivery is nacked back to its queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use std::panic::AssertUnwindSafe;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel};
use sklad_runtime::health::ReadinessCheck;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::BusError;
use crate::connection::Broker;
use crate::headers;
use crate::metrics::{CONSUMED, CONSUMER_CONNECTED, HANDLE_SECONDS, QUEUE_MESSAGES};
use crate::publisher::{PublishError, publish_confirmed};
use crate::topology::{ConsumerSpec, queue_depth};

/// How long a stopping consumer waits for its in-flight messages.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// A delivered message, as handlers see it.
#[derive(Debug, Clone)]
pub struct IncomingMessage {
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    /// The sklad account, from the CloudEvents `skladaccount` header.
    pub account_id: Option<String>,
    pub routing_key: String,
    /// Earlier failed attempts (0 on the first delivery).
    pub attempt: u32,
    pub redelivered: bool,
    pub payload: Vec<u8>,
}

impl IncomingMessage {
    /// Decodes the body as `E`. A message of another type, or one that does not decode, can
    /// never be handled: the error parks it.
    pub fn decode_event<E: sklad_events::Event>(&self) -> Result<E, HandlerError> {
        if self.message_type.as_deref().is_some_and(|t| t != E::TYPE) {
            return Err(HandlerError::Park(format!(
                "unexpected message type {:?} (expected {})",
                self.message_type,
                E::TYPE
            )));
        }
        E::decode(self.payload.as_slice())
            .map_err(|e| HandlerError::Park(format!("not a {}: {e}", E::TYPE)))
    }

    fn from_delivery(delivery: &Delivery) -> Self {
        let props = &delivery.properties;
        let hdrs = props.headers().as_ref();
        Self {
            message_id: props.message_id().as_ref().map(|s| s.as_str().to_owned()),
            message_type: props.kind().as_ref().map(|s| s.as_str().to_owned()),
            account_id: headers::get_str(hdrs, headers::CE_ACCOUNT),
            routing_key: delivery.routing_key.as_str().to_owned(),
            attempt: headers::get_u64(hdrs, headers::ATTEMPT)
                .and_then(|a| u32::try_from(a).ok())
                .unwrap_or(0),
            redelivered: delivery.redelivered,
            payload: delivery.data.clone(),
        }
    }
}

/// Why a handler could not process a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might work later (keyCRM down, database busy): retry after a delay.
    #[error("{0}")]
    Retry(String),
    /// sklad's own infrastructure is down (database unreachable, pool exhausted): the
    /// message is not at fault, so it waits and comes back without using an attempt.
    #[error("{0}")]
    Unavailable(String),
    /// Will never work (undecodable body, unknown account): park with this reason.
    #[error("{0}")]
    Park(String),
}

impl HandlerError {
    /// A failure that may pass: `Unavailable` when sklad's own infrastructure failed (the
    /// message keeps its attempts), `Retry` otherwise.
    pub fn transient(reason: impl std::fmt::Display, infrastructure: bool) -> Self {
        if infrastructure {
            HandlerError::Unavailable(reason.to_string())
        } else {
            HandlerError::Retry(reason.to_string())
        }
    }
}

/// What a consumer does with one message.
pub trait Handler: Send + Sync + 'static {
    fn handle<'a>(
        &'a self,
        message: &'a IncomingMessage,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// Runs one consumer until cancelled, reconnecting with backoff when the broker goes away.
pub struct ConsumerRunner {
    broker: Arc<Broker>,
    spec: ConsumerSpec,
    handler: Arc<dyn Handler>,
    connected: Arc<AtomicBool>,
}

impl ConsumerRunner {
    pub fn new(broker: Arc<Broker>, spec: ConsumerSpec, handler: Arc<dyn Handler>) -> Self {
        Self {
            broker,
            spec,
            handler,
            connected: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Readiness: up while the consumer holds a live subscription.
    pub fn readiness(&self) -> ConsumerReadiness {
        ConsumerReadiness {
            connected: self.connected.clone(),
        }
    }

    /// Consumes until `cancel` fires, then stops taking deliveries, lets in-flight ones
    /// finish and ack, and closes its connection.
    pub async fn run(self, cancel: CancellationToken) {
        let name = self.spec.name;
        let mut backoff = reconnect_backoff();
        while !cancel.is_cancelled() {
            let outcome = self.session(&cancel).await;
            self.set_connected(false);
            match outcome {
                Ok(()) => break,
                Err(SessionEnd::AfterConnect(err)) => {
                    tracing::warn!(consumer = name, error = %err, "consumer lost its broker; reconnecting");
                    backoff = reconnect_backoff();
                }
                Err(SessionEnd::BeforeConnect(err)) => {
                    tracing::warn!(consumer = name, error = %err, "consumer cannot reach the broker; retrying");
                }
            }
            let delay = backoff.next().unwrap_or(Duration::from_secs(10));
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        tracing::info!(consumer = name, "consumer stopped");
    }

    fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::SeqCst);
        CONSUMER_CONNECTED
            .with_label_values(&[self.spec.name])
            .set(i64::from(up));
    }

    async fn session(&self, cancel: &CancellationToken) -> Result<(), SessionEnd> {
        let settings = self.broker.settings();
        let topology = self.broker.topology();
        let queue = topology.queue(self.spec.name);
        let connection = self
            .broker
            .open(self.spec.name)
            .await
            .map_err(SessionEnd::BeforeConnect)?;
        let setup = async {
            let channel = connection.create_channel().await?;
            channel
                .basic_qos(settings.prefetch, BasicQosOptions::default())
                .await?;
            let republish = connection.create_channel().await?;
            republish
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            let consumer = channel
                .basic_consume(
                    queue.clone().into(),
                    format!("{}-{}", self.spec.name, uuid::Uuid::new_v4().simple()).into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            Ok::<_, lapin::Error>((channel, republish, consumer))
        };
        let (channel, republish, mut consumer) = setup
            .await
            .map_err(|e| SessionEnd::BeforeConnect(e.into()))?;
        self.set_connected(true);
        tracing::info!(consumer = self.spec.name, queue = %queue, "consuming");

        let ctx = Arc::new(DeliveryContext {
            consumer: self.spec.name,
            handler: self.handler.clone(),
            republish,
            broker: self.broker.clone(),
        });
        let mut in_flight = JoinSet::new();
        let mut lag = tokio::time::interval(Duration::from_secs(5));
        let ended = loop {
            tokio::select! {
                () = cancel.cancelled() => break Ok(()),
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let ctx = ctx.clone();
                        in_flight.spawn(async move { ctx.process(delivery).await });
                    }
                    Some(Err(err)) => break Err(SessionEnd::AfterConnect(err.into())),
                    None => break Err(SessionEnd::AfterConnect(BusError::Connect("consumer stream ended".into()))),
                },
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                _ = lag.tick() => sample_lag(&channel, &queue, &topology.parking_queue(self.spec.name)).await,
            }
        };
        if ended.is_ok() {
            // Stop new deliveries first; unacked ones still buffered go back to the queue
            // when the channel closes.
            let _ = channel
                .basic_cancel(consumer.tag(), BasicCancelOptions::default())
                .await;
        }
        // In-flight messages get a bounded time to finish and ack; past it they are dropped
        // unacked and the broker redelivers them (to this consumer or another).
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                consumer = self.spec.name,
                left = in_flight.len(),
                "drain timed out; the broker redelivers what was not acked"
            );
            in_flight.abort_all();
        }
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            connection.close(200, "consumer stopping".into()),
        )
        .await;
        ended
    }
}

enum SessionEnd {
    BeforeConnect(BusError),
    AfterConnect(BusError),
}

/// 200 ms doubling to 10 s, with jitter, without end: how anything that consumes waits
/// before it tries the broker (or its own store) again.
pub(crate) fn reconnect_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
        .build()
}

async fn sample_lag(channel: &Channel, queue: &str, parking: &str) {
    for name in [queue, parking] {
        if let Ok(depth) = queue_depth(channel, name).await {
            QUEUE_MESSAGES
                .with_label_values(&[name])
                .set(i64::from(depth.messages));
        }
    }
}

struct DeliveryContext {
    consumer: &'static str,
    handler: Arc<dyn Handler>,
    republish: Channel,
    broker: Arc<Broker>,
}

impl DeliveryContext {
    /// Handles one delivery inside a span naming the message, so every log line its handler
    /// writes carries the message id (for a webhook: the webhook id) and the account.
    async fn process(&self, delivery: Delivery) {
        let message = IncomingMessage::from_delivery(&delivery);
        let span = tracing::info_span!(
            "message",
            consumer = self.consumer,
            message_id = message.message_id.as_deref().unwrap_or(""),
            account_id = message.account_id.as_deref().unwrap_or(""),
            message_type = message.message_type.as_deref().unwrap_or(""),
            attempt = message.attempt,
        );
        self.settle(delivery, message).instrument(span).await;
    }

    async fn settle(&self, delivery: Delivery, message: IncomingMessage) {
        let started = Instant::now();
        // A panicking handler must not strand its delivery unacked: treat it as transient.
        let outcome = AssertUnwindSafe(self.handler.handle(&message))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| Err(HandlerError::Retry("the handler panicked".into())));
        HANDLE_SECONDS
            .with_label_values(&[self.consumer])
            .observe(started.elapsed().as_secs_f64());
        let topology = self.broker.topology();
        let max_attempts = self.broker.settings().max_attempts;
        let (label, forwarded) = match outcome {
            Ok(()) => {
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis(),
                    "message handled"
                );
                ("ok", Ok(()))
            }
            Err(HandlerError::Retry(reason)) if message.attempt + 1 < max_attempts => {
                let attempt = message.attempt + 1;
                tracing::warn!(consumer = self.consumer, message_id = ?message.message_id, attempt, %reason, "will retry");
                let mut h = delivery.properties.headers().clone().unwrap_or_default();
                headers::set_u64(&mut h, headers::ATTEMPT, u64::from(attempt));
                headers::set_str(&mut h, headers::LAST_ERROR, &reason);
                let target = topology.retry_queue(self.consumer, attempt);
                ("retried", self.forward(&delivery, &target, h).await)
            }
            Err(HandlerError::Retry(reason)) => {
                let reason = format!("gave up after {max_attempts} attempts: {reason}");
                ("parked", self.park(&delivery, &message, &reason).await)
            }
            Err(HandlerError::Unavailable(reason)) => {
                let hdrs = delivery.properties.headers().clone().unwrap_or_default();
                let outages = headers::get_u64(Some(&hdrs), headers::OUTAGES).unwrap_or(0) + 1;
                tracing::warn!(%reason, outages, "infrastructure unavailable; the message waits without using an attempt");
                let mut h = hdrs;
                headers::set_u64(&mut h, headers::OUTAGES, outages);
                headers::set_str(&mut h, headers::LAST_ERROR, &reason);
                // Back off through the tiers by outage count; attempts stay as they were.
                let tier = u32::try_from(outages).unwrap_or(u32::MAX);
                let target = topology.retry_queue(self.consumer, tier);
                ("waiting", self.forward(&delivery, &target, h).await)
            }
            Err(HandlerError::Park(reason)) => {
                ("parked", self.park(&delivery, &message, &reason).await)
            }
        };
        match forwarded {
            Ok(()) => {
                CONSUMED.with_label_values(&[self.consumer, label]).inc();
                if let Err(err) = delivery.acker.ack(BasicAckOptions::default()).await {
                    tracing::warn!(consumer = self.consumer, error = %err, "ack failed; the broker will redeliver");
                }
            }
            Err(err) => {
                CONSUMED
                    .with_label_values(&[self.consumer, "requeued"])
                    .inc();
                tracing::error!(consumer = self.consumer, error = %err, "could not forward a failed message; requeueing it");
                let _ = delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
            }
        }
    }

    async fn park(
        &self,
        delivery: &Delivery,
        message: &IncomingMessage,
        reason: &str,
    ) -> Result<(), PublishError> {
        let topology = self.broker.topology();
        tracing::error!(consumer = self.consumer, message_id = ?message.message_id, %reason, "parking message");
        let mut h = delivery.properties.headers().clone().unwrap_or_default();
        headers::set_str(&mut h, headers::PARK_REASON, reason);
        headers::set_str(&mut h, headers::PARKED_AT, &chrono::Utc::now().to_rfc3339());
        headers::set_str(
            &mut h,
            headers::ORIGIN_QUEUE,
            &topology.queue(self.consumer),
        );
        headers::set_u64(&mut h, headers::ATTEMPT, u64::from(message.attempt + 1));
        self.forward(delivery, &topology.parking_queue(self.consumer), h)
            .await
    }

    /// Publishes a copy of the delivery, with `headers`, straight to `queue`.
    async fn forward(
        &self,
        delivery: &Delivery,
        queue: &str,
        headers: FieldTable,
    ) -> Result<(), PublishError> {
        let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
        publish_confirmed(
            &self.republish,
            "",
            queue,
            &delivery.data,
            properties,
            self.broker.settings().confirm_timeout,
        )
        .await
    }
}

/// Readiness check for workers: up while the consumer is subscribed.
#[derive(Clone)]
pub struct ConsumerReadiness {
    connected: Arc<AtomicBool>,
}

impl ReadinessCheck for ConsumerReadiness {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        let up = self.connected.load(Ordering::SeqCst);
        Box::pin(async move {
            if up {
                Ok(())
            } else {
                Err("consumer is not connected to the broker".to_owned())
            }
        })
    }
}
