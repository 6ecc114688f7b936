//! keyCRM metrics: requests by outcome, latency and time spent waiting for the budget.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use sklad_runtime::lazy_metric;

lazy_metric!(pub REQUESTS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_keycrm_requests_total", "keyCRM requests by endpoint and outcome"),
    &["endpoint", "outcome"],
));

lazy_metric!(pub REQUEST_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_keycrm_request_seconds", "keyCRM request latency (excluding budget wait)"),
    &["endpoint"],
));

lazy_metric!(pub BUDGET_WAIT_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_keycrm_budget_wait_seconds", "Time waiting for a keyCRM request slot")
        .buckets(vec![0.0, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]),
    &["priority"],
));

lazy_metric!(pub TEXTS_TRUNCATED: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_keycrm_texts_truncated_total", "Texts from keyCRM cut to the length sklad keeps, by endpoint"),
    &["endpoint"],
));
