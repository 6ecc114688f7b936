//! order-sync metrics.

use prometheus::{IntCounterVec, IntGauge, Opts};
use sklad_runtime::lazy_metric;

lazy_metric!(pub EVENTS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_order_sync_events_total", "Webhook events by outcome (queued, duplicate, already_applied)"),
    &["outcome"],
));

lazy_metric!(pub ORDERS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_order_sync_orders_total", "Orders written by source (webhook, sync_job, reconcile) and outcome"),
    &["source", "outcome"],
));

lazy_metric!(pub FETCH_BACKLOG: IntGauge = IntGauge::new(
    "sklad_order_sync_fetch_backlog", "keyCRM orders waiting to be fetched",
));

lazy_metric!(pub FETCH_OLDEST_SECONDS: IntGauge = IntGauge::new(
    "sklad_order_sync_fetch_oldest_seconds", "Age of the oldest order waiting to be fetched",
));

lazy_metric!(pub SHIPMENTS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_order_sync_shipments_total", "Stock following orders: shipment, return, correction, or waiting for stock"),
    &["outcome"],
));
