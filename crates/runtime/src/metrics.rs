//! Prometheus metrics: every service registers into the process-wide default registry and
//! serves it at `/metrics`, so `sklad run` (all roles in one process) serves one combined page.

use actix_web::{HttpResponse, get};
use prometheus::{Encoder, TextEncoder};

/// `GET /metrics` in the Prometheus text format.
#[get("/metrics")]
pub async fn metrics_endpoint() -> HttpResponse {
    let mut buffer = Vec::new();
    let families = prometheus::gather();
    match TextEncoder::new().encode(&families, &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(buffer),
        Err(err) => HttpResponse::InternalServerError().body(err.to_string()),
    }
}

/// Registers a metric with the default registry once, whichever service asks first.
///
/// Services in one process (tests, `sklad run`) share the registry; a second registration
/// of the same name would fail, so every metric is created through this lazily. `$init` is
/// the constructor's `Result`: it fails only for an invalid metric name, a programming
/// error that the `/metrics` tests catch on first use.
#[macro_export]
macro_rules! lazy_metric {
    ($vis:vis $name:ident : $ty:ty = $init:expr) => {
        $vis static $name: std::sync::LazyLock<$ty> = std::sync::LazyLock::new(|| {
            #[allow(clippy::expect_used)]
            let metric: $ty = $init.expect("metric definition is valid");
            let _ = prometheus::register(Box::new(metric.clone()));
            metric
        });
    };
}
