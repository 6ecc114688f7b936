//! `/health/live` and `/health/ready`.
//!
//! Liveness only says the process answers. Readiness runs every registered check for real
//! (a query on PostgreSQL, a round trip to the broker) so a load balancer never routes to a
//! process that would fail the request.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use futures::future::BoxFuture;
use serde_json::json;

/// A dependency that must be reachable for the service to be ready.
pub trait ReadinessCheck: Send + Sync {
    /// Short name shown in the readiness report, e.g. `postgres`.
    fn name(&self) -> &'static str;
    /// Proves the dependency answers; the error text is logged, not shown.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// The checks a service's `/health/ready` runs.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<Arc<dyn ReadinessCheck>>,
}

impl Readiness {
    pub fn new(checks: Vec<Arc<dyn ReadinessCheck>>) -> Self {
        Self { checks }
    }

    /// Runs every check (each bounded by a timeout) and reports all of them: up or down
    /// only. Why a check failed goes to the log, never into the answer, which a load
    /// balancer (or anyone who reaches the port) reads.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let mut ok = true;
        let mut details = serde_json::Map::new();
        for check in &self.checks {
            let outcome = tokio::time::timeout(Duration::from_secs(3), check.check()).await;
            let why = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err),
                Err(_) => Some("timed out after 3s".to_owned()),
            };
            let status = match why {
                None => "up",
                Some(why) => {
                    ok = false;
                    tracing::warn!(check = check.name(), reason = %why, "not ready");
                    "down"
                }
            };
            details.insert(check.name().to_owned(), json!({ "status": status }));
        }
        (
            ok,
            json!({"status": if ok {"ready"} else {"not_ready"}, "checks": details}),
        )
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "live"}))
}

async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    let (ok, body) = readiness.report().await;
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Mounts `/health/live`, `/health/ready` and `/metrics` on an actix app.
pub fn configure(readiness: Readiness) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(readiness))
            .route("/health/live", web::get().to(live))
            .route("/health/ready", web::get().to(ready))
            .service(crate::metrics::metrics_endpoint);
    }
}

/// A bound ops server (health and metrics) for the workers, which have no other HTTP surface.
pub struct OpsServer {
    pub port: u16,
    pub server: actix_web::dev::Server,
}

/// Binds the ops server on `bind` (port 0 picks a free port, reported in `port`).
pub fn ops_server(bind: &str, readiness: Readiness) -> std::io::Result<OpsServer> {
    let listener = std::net::TcpListener::bind(bind)?;
    let port = listener.local_addr()?.port();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(actix_web::middleware::from_fn(
                crate::metrics::track_requests,
            ))
            .configure(configure(readiness.clone()))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(OpsServer { port, server })
}
