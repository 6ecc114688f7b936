//! Broker metrics.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use sklad_runtime::lazy_metric;

lazy_metric!(pub PUBLISHES: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_broker_publishes_total", "Publishes by outcome (confirmed, nacked, unroutable, timeout, error)"),
    &["outcome"],
));

lazy_metric!(pub PUBLISH_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_broker_publish_seconds", "Time from publish to broker confirm")
        .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]),
    &["outcome"],
));

lazy_metric!(pub FAILOVERS: prometheus::IntCounter = prometheus::IntCounter::new(
    "sklad_broker_failovers_total",
    "Connections made to another node of broker.url because the preferred one was down",
));

lazy_metric!(pub CONSUMED: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_consumer_messages_total", "Messages handled by consumer and outcome (ok, retried, parked, requeued)"),
    &["consumer", "outcome"],
));

lazy_metric!(pub HANDLE_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_consumer_handle_seconds", "Time a consumer spends on one message"),
    &["consumer"],
));

lazy_metric!(pub QUEUE_MESSAGES: IntGaugeVec = IntGaugeVec::new(
    Opts::new("sklad_queue_messages", "Messages waiting in a queue (consumer lag), sampled by its consumer"),
    &["queue"],
));

lazy_metric!(pub CONSUMER_CONNECTED: IntGaugeVec = IntGaugeVec::new(
    Opts::new("sklad_consumer_connected", "1 while the consumer holds a live broker connection"),
    &["consumer"],
));
