//! The parking queues: list what was parked and why, and replay it into its consumer's queue.

use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions, ConfirmSelectOptions};
use lapin::types::{FieldTable, ShortString};

use crate::BusError;
use crate::connection::Broker;
use crate::headers;
use crate::publisher::{PublishError, publish_confirmed};

/// A parked message, as an operator sees it.
#[derive(Debug, Clone)]
pub struct Parked {
    pub message_id: Option<String>,
    pub message_type: Option<String>,
    pub account_id: Option<String>,
    /// CloudEvents subject, e.g. `order/23196`.
    pub subject: Option<String>,
    pub reason: Option<String>,
    pub parked_at: Option<String>,
    pub attempts: Option<u64>,
    pub bytes: usize,
}

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ParkingError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// How many parked messages one account's list or replay looks through at most (the
/// parking queue is shared by every account).
const SCAN_LIMIT: usize = 10_000;

/// Up to `limit` parked messages of `consumer`, oldest first. They stay parked.
pub async fn list(
    broker: &Broker,
    consumer: &str,
    limit: usize,
) -> Result<Vec<Parked>, ParkingError> {
    list_for(broker, consumer, None, limit).await
}

/// [`list`], only the messages of `account` when given.
pub async fn list_for(
    broker: &Broker,
    consumer: &str,
    account: Option<&str>,
    limit: usize,
) -> Result<Vec<Parked>, ParkingError> {
    let connection = broker.open("parking").await?;
    let channel = connection.create_channel().await?;
    let queue = broker.topology().parking_queue(consumer);
    let mut parked = Vec::new();
    let mut tags = Vec::new();
    while parked.len() < limit && tags.len() < SCAN_LIMIT {
        let Some(message) = channel
            .basic_get(queue.clone().into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let delivery = message.delivery;
        let props = &delivery.properties;
        let h = props.headers().as_ref();
        let owner = headers::get_str(h, headers::CE_ACCOUNT);
        if account.is_some_and(|a| owner.as_deref() != Some(a)) {
            tags.push(delivery.acker);
            continue;
        }
        parked.push(Parked {
            message_id: props.message_id().as_ref().map(|s| s.as_str().to_owned()),
            message_type: props.kind().as_ref().map(|s| s.as_str().to_owned()),
            account_id: owner,
            subject: headers::get_str(h, headers::CE_SUBJECT),
            reason: headers::get_str(h, headers::PARK_REASON),
            parked_at: headers::get_str(h, headers::PARKED_AT),
            attempts: headers::get_u64(h, headers::ATTEMPT),
            bytes: delivery.data.len(),
        });
        tags.push(delivery.acker);
    }
    // Put everything back where it was.
    for acker in tags {
        acker
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await?;
    }
    let _ = connection.close(200, "listed".into()).await;
    Ok(parked)
}

/// Moves up to `limit` parked messages of `consumer` back to its queue, with their attempt
/// count and park reason cleared (each is acked off the parking queue only after the broker
/// confirmed its copy). Returns how many moved.
pub async fn replay(broker: &Broker, consumer: &str, limit: usize) -> Result<usize, ParkingError> {
    replay_for(broker, consumer, None, limit).await
}

/// [`replay`], only the messages of `account` when given (the others stay parked, in order).
pub async fn replay_for(
    broker: &Broker,
    consumer: &str,
    account: Option<&str>,
    limit: usize,
) -> Result<usize, ParkingError> {
    let connection = broker.open("replay").await?;
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await?;
    let topology = broker.topology();
    let parking = topology.parking_queue(consumer);
    let target = topology.queue(consumer);
    let timeout = broker.settings().confirm_timeout;
    let mut moved = 0;
    let mut skipped = Vec::new();
    // A message its consumer parks again at once can come back during this pass: meeting
    // one already moved ends the pass instead of cycling it.
    let mut seen = std::collections::HashSet::new();
    while moved < limit && skipped.len() < SCAN_LIMIT {
        let Some(message) = channel
            .basic_get(parking.clone().into(), BasicGetOptions { no_ack: false })
            .await?
        else {
            break;
        };
        let delivery = message.delivery;
        let owner = headers::get_str(delivery.properties.headers().as_ref(), headers::CE_ACCOUNT);
        if account.is_some_and(|a| owner.as_deref() != Some(a)) {
            skipped.push(delivery.acker);
            continue;
        }
        if let Some(id) = delivery.properties.message_id()
            && !seen.insert(id.as_str().to_owned())
        {
            skipped.push(delivery.acker);
            break;
        }
        let mut kept = FieldTable::default();
        if let Some(h) = delivery.properties.headers() {
            for (key, value) in h.inner() {
                if ![
                    headers::ATTEMPT,
                    headers::LAST_ERROR,
                    headers::PARK_REASON,
                    headers::PARKED_AT,
                    headers::ORIGIN_QUEUE,
                ]
                .contains(&key.as_str())
                {
                    kept.insert(ShortString::from(key.as_str()), value.clone());
                }
            }
        }
        let properties = delivery.properties.clone().with_headers(kept);
        match publish_confirmed(&channel, "", &target, &delivery.data, properties, timeout).await {
            Ok(()) => {
                delivery.acker.ack(BasicAckOptions::default()).await?;
                moved += 1;
            }
            Err(err) => {
                let _ = delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
                requeue(skipped).await;
                return Err(err.into());
            }
        }
    }
    requeue(skipped).await;
    let _ = connection.close(200, "replayed".into()).await;
    Ok(moved)
}

/// Puts messages a pass looked at but left back on their queue.
async fn requeue(ackers: Vec<lapin::Acker>) {
    for acker in ackers {
        let _ = acker
            .nack(BasicNackOptions {
                requeue: true,
                ..BasicNackOptions::default()
            })
            .await;
    }
}
