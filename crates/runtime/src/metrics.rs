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

lazy_metric!(HTTP_REQUESTS: prometheus::IntCounterVec = prometheus::IntCounterVec::new(
    prometheus::Opts::new("sklad_http_requests_total", "HTTP requests by method, route template and status"),
    &["method", "route", "status"],
));

lazy_metric!(HTTP_SECONDS: prometheus::HistogramVec = prometheus::HistogramVec::new(
    prometheus::HistogramOpts::new("sklad_http_request_seconds", "HTTP request latency by route template"),
    &["method", "route"],
));

/// Middleware counting requests by route *template* (`/webhooks/keycrm/{token}`), never by
/// raw path, so secrets in paths never reach the metrics. Use with
/// `actix_web::middleware::from_fn(track_requests)`.
pub async fn track_requests(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let response = next.call(req).await?;
    let status = response.status().as_u16().to_string();
    HTTP_REQUESTS
        .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
        .inc();
    HTTP_SECONDS
        .with_label_values(&[method.as_str(), route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    Ok(response)
}
