//! stock-publisher metrics.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts};
use sklad_runtime::lazy_metric;

lazy_metric!(pub MOVEMENTS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_stock_movements_total", "Stock events by outcome (marked, unmapped, push_off, on_hand_policy, skipped, duplicate)"),
    &["outcome"],
));

lazy_metric!(pub PUSHES: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_stock_pushes_total", "PUT /offers/stocks by outcome (accepted, rejected, failed)"),
    &["outcome"],
));

lazy_metric!(pub PUSH_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_stock_push_seconds", "Duration of one push round for a keyCRM warehouse (budget wait included)"),
    &["outcome"],
));

lazy_metric!(pub DIRTY: IntGauge = IntGauge::new(
    "sklad_stock_dirty_skus", "(keyCRM warehouse, SKU) pairs waiting to be pushed",
));

lazy_metric!(pub DIRTY_OLDEST_SECONDS: IntGauge = IntGauge::new(
    "sklad_stock_dirty_oldest_seconds", "Age of the oldest dirty mark",
));

lazy_metric!(pub FAILING: IntGauge = IntGauge::new(
    "sklad_stock_push_failing_skus", "(keyCRM warehouse, SKU) pairs whose pushes failed and now back off",
));
