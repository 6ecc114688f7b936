//! sklad's one way of talking to RabbitMQ.
//!
//! - [`topology`]: every exchange and queue, declared idempotently by every process on
//!   connect, so publishing never depends on which service started first.
//! - [`policies`]: the arguments an operator may change (the delivery limit), in a RabbitMQ
//!   policy that `sklad migrate` sets.
//! - [`Broker`]/[`Publisher`]: persistent, `mandatory`, confirmed publishes; an unroutable
//!   return, a nack or a missing confirm is an error, never a silent success.
//! - [`consumer`]: manual acks, prefetch, delayed retries through TTL queues, parking with
//!   the reason after a bounded number of attempts, reconnection when the broker returns.

pub mod connection;
pub mod consumer;
pub mod headers;
pub mod metrics;
pub mod parking;
pub mod policies;
pub mod publisher;
pub mod service;
pub mod topology;

pub use connection::Broker;
pub use consumer::{ConsumerRunner, Handler, HandlerError, IncomingMessage};
pub use publisher::{OutgoingMessage, PublishError, Publisher};
pub use service::ConsumerService;
pub use topology::{ConsumerSpec, Topology};

/// Errors talking to the broker outside of a publish.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("broker unreachable: {0}")]
    Connect(String),
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
}
