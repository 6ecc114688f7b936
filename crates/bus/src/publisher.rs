//! Confirmed publishing: a publish succeeds only when the broker has taken responsibility.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lapin::options::BasicPublishOptions;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation};
use sklad_events::Event;

use crate::connection::Broker;
use crate::headers;
use crate::metrics::{PUBLISH_SECONDS, PUBLISHES};

/// Why a publish did not become durable. Every variant means "not stored": the caller must
/// not acknowledge its own input (ingress answers 503).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
    #[error("no confirm from the broker within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("the broker refused the message (nack)")]
    Nacked,
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
}

/// One message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    pub routing_key: String,
    pub message_id: String,
    pub message_type: String,
    pub account_id: String,
    pub time: DateTime<Utc>,
    /// CloudEvents `subject`, e.g. `order/23196`.
    pub subject: Option<String>,
    pub payload: Vec<u8>,
}

impl OutgoingMessage {
    /// Wraps a protobuf event with its AMQP names.
    pub fn event<E: Event>(
        event: &E,
        message_id: String,
        account_id: String,
        time: DateTime<Utc>,
        subject: Option<String>,
    ) -> Self {
        Self {
            routing_key: event.routing_key(),
            message_id,
            message_type: E::TYPE.to_owned(),
            account_id,
            time,
            subject,
            payload: event.encode_to_vec(),
        }
    }

    /// AMQP properties: persistent, protobuf, ids, and CloudEvents binary-mode headers.
    fn properties(&self, app_id: &str) -> BasicProperties {
        let mut h = FieldTable::default();
        headers::set_str(&mut h, headers::CE_SPECVERSION, "1.0");
        headers::set_str(&mut h, headers::CE_ID, &self.message_id);
        headers::set_str(&mut h, headers::CE_SOURCE, &format!("/sklad/{app_id}"));
        headers::set_str(&mut h, headers::CE_TYPE, &self.message_type);
        headers::set_str(&mut h, headers::CE_TIME, &self.time.to_rfc3339());
        headers::set_str(&mut h, headers::CE_ACCOUNT, &self.account_id);
        if let Some(subject) = &self.subject {
            headers::set_str(&mut h, headers::CE_SUBJECT, subject);
        }
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/protobuf".into())
            .with_message_id(self.message_id.clone().into())
            .with_type(self.message_type.clone().into())
            .with_timestamp(u64::try_from(self.time.timestamp()).unwrap_or(0))
            .with_app_id(app_id.into())
            .with_headers(h)
    }
}

/// Publishes events to the events exchange with confirms.
#[derive(Debug, Clone)]
pub struct Publisher {
    broker: Arc<Broker>,
}

impl Publisher {
    pub fn new(broker: Arc<Broker>) -> Self {
        Self { broker }
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Publishes `message` and waits for the broker's confirm.
    pub async fn publish(&self, message: &OutgoingMessage) -> Result<(), PublishError> {
        let channel = match self.broker.publish_channel().await {
            Ok(channel) => channel,
            Err(err) => {
                PUBLISHES.with_label_values(&["unavailable"]).inc();
                return Err(PublishError::Unavailable(err.to_string()));
            }
        };
        let outcome = publish_confirmed(
            &channel,
            &self.broker.topology().events_exchange(),
            &message.routing_key,
            &message.payload,
            message.properties(self.broker.app_id()),
            self.broker.settings().confirm_timeout,
        )
        .await;
        if matches!(
            outcome,
            Err(PublishError::Unavailable(_) | PublishError::ConfirmTimeout(_))
        ) {
            self.broker.reset().await;
        }
        outcome
    }
}

impl Publisher {
    /// Publishes `message` straight to `consumer`'s parking queue with `reason`, for work
    /// that failed for good outside a delivery (e.g. an order keyCRM keeps refusing). It can
    /// be replayed into the consumer's queue like any parked message.
    pub async fn park(
        &self,
        consumer: &str,
        message: &OutgoingMessage,
        reason: &str,
    ) -> Result<(), PublishError> {
        let topology = self.broker.topology();
        let mut properties = message.properties(self.broker.app_id());
        let mut h = properties.headers().clone().unwrap_or_default();
        headers::set_str(&mut h, headers::PARK_REASON, reason);
        headers::set_str(&mut h, headers::PARKED_AT, &chrono::Utc::now().to_rfc3339());
        headers::set_str(&mut h, headers::ORIGIN_QUEUE, &topology.queue(consumer));
        properties = properties.with_headers(h);
        let channel = self
            .broker
            .publish_channel()
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        publish_confirmed(
            &channel,
            "",
            &topology.parking_queue(consumer),
            &message.payload,
            properties,
            self.broker.settings().confirm_timeout,
        )
        .await
    }
}

/// The one way sklad publishes: `mandatory`, then wait (bounded) for the confirm. A returned
/// (unroutable) message, a nack or no confirm in time are errors.
pub(crate) async fn publish_confirmed(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    payload: &[u8],
    properties: BasicProperties,
    confirm_timeout: Duration,
) -> Result<(), PublishError> {
    let started = Instant::now();
    let attempt = async {
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                payload,
                properties,
            )
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?;
        match confirm
            .await
            .map_err(|e| PublishError::Unavailable(e.to_string()))?
        {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(_returned)) => {
                Err(PublishError::Unroutable(routing_key.to_owned()))
            }
            Confirmation::Nack(_) => Err(PublishError::Nacked),
            Confirmation::NotRequested => Err(PublishError::Unavailable(
                "channel is not in confirm mode".into(),
            )),
        }
    };
    let outcome = tokio::time::timeout(confirm_timeout, attempt)
        .await
        .unwrap_or(Err(PublishError::ConfirmTimeout(confirm_timeout)));
    let label = match &outcome {
        Ok(()) => "confirmed",
        Err(PublishError::Unavailable(_)) => "unavailable",
        Err(PublishError::ConfirmTimeout(_)) => "timeout",
        Err(PublishError::Nacked) => "nacked",
        Err(PublishError::Unroutable(_)) => "unroutable",
    };
    PUBLISHES.with_label_values(&[label]).inc();
    PUBLISH_SECONDS
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    outcome
}
