//! Every exchange and queue sklad uses, named under one namespace.
//!
//! ```text
//! {ns}.events                (topic)   ── binding keys ──▶ {ns}.{consumer}          (quorum)
//! {ns}.{consumer}            x-dead-letter-exchange ─────▶ {ns}.{consumer}.dlx      (fanout)
//! {ns}.{consumer}.dlx                                 ───▶ {ns}.{consumer}.parked   (quorum)
//! {ns}.{consumer}.delay.{d}ms (quorum, TTL d) ── dead-letters via "" ──▶ {ns}.{consumer}
//! ```
//! A failed message is republished to the retry queue of its tier and comes back after the
//! delay; after `max_attempts` (or a permanent error) it is published to the parking queue
//! with its reason. Messages the broker itself gives up on (the quorum queue's delivery limit
//! exceeded because the consumer keeps crashing, or rejected) reach the parking queue
//! through the dead-letter exchange.
//!
//! Every queue is a quorum queue, replicated over a cluster's nodes, so one node stopping
//! leaves every queue usable (a classic queue is gone while its node is). The retry tiers
//! dead-letter at least once (a message leaves its tier only once its work queue has it).
//!
//! Declarations carry only arguments fixed by the names (queue type, dead-letter routes,
//! a retry tier's TTL, which is in its name). The delivery limit, which an operator may
//! change, is a RabbitMQ policy ([`Topology::policy`], set by `sklad migrate`): a quorum
//! queue's declared arguments can never change, and declaring one again with another value
//! fails every process's connect.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Connection, ErrorKind, ExchangeKind};
use sklad_runtime::settings::BrokerSettings;

/// A consumer and the routing keys its queue is bound with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSpec {
    pub name: &'static str,
    pub bindings: &'static [&'static str],
}

/// order-sync: keyCRM order webhooks and pull-job events.
pub const ORDER_SYNC: ConsumerSpec = ConsumerSpec {
    name: "order-sync",
    bindings: &["keycrm.webhook.#"],
};

/// stock-publisher: stock events (movements and reservations change what keyCRM receives;
/// the order shipment events are bound here so they are always routable, and skipped).
pub const STOCK_PUBLISHER: ConsumerSpec = ConsumerSpec {
    name: "stock-publisher",
    bindings: &["stock.#"],
};

/// Every consumer; all of them are declared by every process.
pub const ALL_CONSUMERS: &[ConsumerSpec] = &[ORDER_SYNC, STOCK_PUBLISHER];

/// How many messages wait in a queue, and how many consumers read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub queue: String,
    pub messages: u32,
    pub consumers: u32,
}

/// Reads a queue's depth with a passive declare (changes nothing; fails if it is missing).
pub async fn queue_depth(channel: &Channel, queue: &str) -> Result<QueueDepth, lapin::Error> {
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(QueueDepth {
        queue: queue.to_owned(),
        messages: declared.message_count(),
        consumers: declared.consumer_count(),
    })
}

/// Names and arguments derived from the broker settings.
#[derive(Debug, Clone)]
pub struct Topology {
    namespace: String,
    retry_delays_ms: Vec<u64>,
    delivery_limit: u32,
    queue_expires_ms: Option<u64>,
}

impl Topology {
    pub fn new(settings: &BrokerSettings) -> Self {
        Self {
            namespace: settings.namespace.clone(),
            retry_delays_ms: settings
                .retry_delays
                .iter()
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .collect(),
            delivery_limit: settings.delivery_limit,
            queue_expires_ms: settings
                .queue_expires
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The topic exchange every event is published to.
    pub fn events_exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    /// The consumer's work queue.
    pub fn queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.namespace)
    }

    /// The consumer's dead-letter exchange.
    pub fn dead_letter_exchange(&self, consumer: &str) -> String {
        format!("{}.{consumer}.dlx", self.namespace)
    }

    /// The consumer's parking queue.
    pub fn parking_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.parked", self.namespace)
    }

    /// The delay tiers, in milliseconds.
    pub fn retry_delays_ms(&self) -> &[u64] {
        &self.retry_delays_ms
    }

    /// The retry queue for a message that has failed `attempt` times (1-based).
    pub fn retry_queue(&self, consumer: &str, attempt: u32) -> String {
        let tier = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        let delay = self
            .retry_delays_ms
            .get(tier)
            .or(self.retry_delays_ms.last())
            .copied()
            .unwrap_or(1000);
        self.retry_queue_for_delay(consumer, delay)
    }

    pub(crate) fn retry_queue_for_delay(&self, consumer: &str, delay_ms: u64) -> String {
        format!("{}.{consumer}.delay.{delay_ms}ms", self.namespace)
    }

    /// The classic retry queue an older sklad declared for this delay (it drains by itself;
    /// `sklad migrate` deletes it once empty).
    pub(crate) fn legacy_retry_queue(&self, consumer: &str, delay_ms: u64) -> String {
        format!("{}.{consumer}.retry.{delay_ms}ms", self.namespace)
    }

    fn with_expiry(&self, mut args: FieldTable) -> FieldTable {
        if let Some(ms) = self.queue_expires_ms {
            args.insert("x-expires".into(), long(ms));
        }
        args
    }

    /// The policy that carries the arguments an operator may change, for this namespace's
    /// work queues.
    pub fn policy(&self) -> Policy {
        let names: Vec<&str> = ALL_CONSUMERS.iter().map(|spec| spec.name).collect();
        Policy {
            name: format!("{}.work-queues", self.namespace),
            pattern: format!(
                "^{}\\.({})$",
                regex_escape(&self.namespace),
                names
                    .iter()
                    .map(|name| regex_escape(name))
                    .collect::<Vec<_>>()
                    .join("|")
            ),
            delivery_limit: self.delivery_limit,
        }
    }

    /// Where a queue declared by an older sklad waits while it is recreated.
    pub fn migrating_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}.migrating", self.namespace)
    }

    /// The work queue's declaration arguments: fixed for its life, so nothing changeable.
    pub(crate) fn work_queue_args(&self, consumer: &str) -> FieldTable {
        let mut args = FieldTable::default();
        args.insert("x-queue-type".into(), text("quorum"));
        args.insert(
            "x-dead-letter-exchange".into(),
            text(&self.dead_letter_exchange(consumer)),
        );
        self.with_expiry(args)
    }

    /// Declares the events exchange and every consumer's queues (idempotent) on a channel
    /// of its own.
    ///
    /// A work queue an older sklad declared with other arguments is refused by the broker
    /// (PRECONDITION_FAILED); it is used as it is, with a warning, until `sklad migrate`
    /// recreates it, so an upgrade never stops the services.
    pub async fn declare_all(&self, connection: &Connection) -> Result<(), lapin::Error> {
        let mut channel = connection.create_channel().await?;
        self.declare_exchange(&channel).await?;
        for spec in ALL_CONSUMERS {
            channel = self.declare_consumer(connection, channel, spec).await?;
        }
        let _ = channel.close(200, "topology declared".into()).await;
        Ok(())
    }

    async fn declare_exchange(&self, channel: &Channel) -> Result<(), lapin::Error> {
        channel
            .exchange_declare(
                self.events_exchange().into(),
                ExchangeKind::Topic,
                durable_exchange(),
                FieldTable::default(),
            )
            .await
    }

    /// Declares one consumer's work, retry and parking queues and their bindings; returns
    /// the channel to go on with (a new one if the broker closed the first).
    pub async fn declare_consumer(
        &self,
        connection: &Connection,
        mut channel: Channel,
        spec: &ConsumerSpec,
    ) -> Result<Channel, lapin::Error> {
        let queue = self.queue(spec.name);
        let dlx = self.dead_letter_exchange(spec.name);
        let parking = self.parking_queue(spec.name);

        channel
            .exchange_declare(
                dlx.clone().into(),
                ExchangeKind::Fanout,
                durable_exchange(),
                FieldTable::default(),
            )
            .await?;
        let mut parking_args = FieldTable::default();
        parking_args.insert("x-queue-type".into(), text("quorum"));
        channel
            .queue_declare(
                parking.clone().into(),
                durable_queue(),
                self.with_expiry(parking_args),
            )
            .await?;
        channel
            .queue_bind(
                parking.into(),
                dlx.clone().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let declared = channel
            .queue_declare(
                queue.clone().into(),
                durable_queue(),
                self.work_queue_args(spec.name),
            )
            .await;
        if let Err(err) = declared {
            if !is_precondition_failed(&err) {
                return Err(err);
            }
            channel = connection.create_channel().await?;
            queue_depth(&channel, &queue).await?;
            tracing::warn!(
                queue = %queue,
                error = %err,
                "this queue was declared with arguments sklad no longer sets; it is used as it is \
                 until `sklad migrate` recreates it"
            );
        }
        for key in spec.bindings {
            channel
                .queue_bind(
                    queue.clone().into(),
                    self.events_exchange().into(),
                    ShortString::from(*key),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }

        for delay in &self.retry_delays_ms {
            let mut retry_args = FieldTable::default();
            retry_args.insert("x-queue-type".into(), text("quorum"));
            retry_args.insert("x-message-ttl".into(), long(*delay));
            retry_args.insert("x-dead-letter-strategy".into(), text("at-least-once"));
            retry_args.insert("x-overflow".into(), text("reject-publish"));
            retry_args.insert("x-dead-letter-exchange".into(), text(""));
            retry_args.insert("x-dead-letter-routing-key".into(), text(&queue));
            channel
                .queue_declare(
                    self.retry_queue_for_delay(spec.name, *delay).into(),
                    durable_queue(),
                    self.with_expiry(retry_args),
                )
                .await?;
        }
        Ok(channel)
    }

    /// Deletes every exchange and queue of this namespace (tests clean up with it).
    #[cfg(feature = "testing")]
    pub async fn delete_all(&self, channel: &Channel) -> Result<(), lapin::Error> {
        use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
        for spec in ALL_CONSUMERS {
            let mut queues = vec![
                self.queue(spec.name),
                self.parking_queue(spec.name),
                self.migrating_queue(spec.name),
            ];
            for delay in &self.retry_delays_ms {
                queues.push(self.retry_queue_for_delay(spec.name, *delay));
            }
            for queue in queues {
                channel
                    .queue_delete(queue.into(), QueueDeleteOptions::default())
                    .await?;
            }
            channel
                .exchange_delete(
                    self.dead_letter_exchange(spec.name).into(),
                    ExchangeDeleteOptions::default(),
                )
                .await?;
        }
        channel
            .exchange_delete(
                self.events_exchange().into(),
                ExchangeDeleteOptions::default(),
            )
            .await
    }
}

/// A RabbitMQ policy for one namespace's work queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    /// The regular expression (over queue names) the policy applies to.
    pub pattern: String,
    pub delivery_limit: u32,
}

impl Policy {
    /// The policy's definition, as RabbitMQ's management API takes it.
    pub fn definition(&self) -> serde_json::Value {
        serde_json::json!({ "delivery-limit": self.delivery_limit })
    }
}

/// The broker refused a declaration because the thing exists with other arguments.
pub(crate) fn is_precondition_failed(err: &lapin::Error) -> bool {
    matches!(err.kind(), ErrorKind::ProtocolError(amqp) if amqp.get_id() == 406)
}

/// Escapes every character that is not a letter or a digit, so a name matches only itself.
fn regex_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 2);
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

fn durable_queue() -> QueueDeclareOptions {
    QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    }
}

fn text(value: &str) -> AMQPValue {
    AMQPValue::LongString(value.into())
}

fn long(value: u64) -> AMQPValue {
    AMQPValue::LongLongInt(i64::try_from(value).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        Topology {
            namespace: "ns".into(),
            retry_delays_ms: vec![100, 1000],
            delivery_limit: 5,
            queue_expires_ms: None,
        }
    }

    #[test]
    fn names_live_under_the_namespace() {
        let t = topology();
        assert_eq!(t.events_exchange(), "ns.events");
        assert_eq!(t.queue("order-sync"), "ns.order-sync");
        assert_eq!(t.parking_queue("order-sync"), "ns.order-sync.parked");
        assert_eq!(t.dead_letter_exchange("order-sync"), "ns.order-sync.dlx");
    }

    #[test]
    fn retry_tiers_grow_then_stay_at_the_last_delay() {
        let t = topology();
        assert_eq!(t.retry_queue("c", 1), "ns.c.delay.100ms");
        assert_eq!(t.retry_queue("c", 2), "ns.c.delay.1000ms");
        assert_eq!(t.retry_queue("c", 9), "ns.c.delay.1000ms");
        assert_eq!(t.retry_queue("c", 0), "ns.c.delay.100ms");
    }

    #[test]
    fn the_policy_matches_this_namespaces_work_queues_only() {
        let t = Topology {
            namespace: "shop.a-1".into(),
            ..topology()
        };
        let policy = t.policy();
        assert_eq!(policy.name, "shop.a-1.work-queues");
        assert_eq!(
            policy.pattern,
            "^shop\\.a\\-1\\.(order\\-sync|stock\\-publisher)$"
        );
        assert_eq!(
            policy.definition(),
            serde_json::json!({"delivery-limit": 5})
        );
    }
}
