//! ingress: `POST /webhooks/keycrm/{token}`.
//!
//! keyCRM's "Send Webhook" is fire-and-forget (no signature, no documented retries), so the
//! only promise worth making is: a 2xx means the event is on a durable queue. Each request:
//! token → account (404 when unknown or rotated), size (413), JSON (400), shape (422), then a
//! confirmed, persistent, `mandatory` publish of `KeycrmWebhookReceived`; 202 only after the
//! broker's confirm, 503 otherwise. ingress never calls keyCRM.

mod tokens;
mod webhook;

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use sklad_bus::connection::BrokerReadiness;
use sklad_bus::{Broker, Publisher};
use sklad_db::Db;
use sklad_runtime::Settings;
use sklad_runtime::health::{OpsServer, Readiness, ops_server};
use tokio_util::sync::CancellationToken;

pub use tokens::Tokens;
pub use webhook::WebhookState;

/// A bound ingress server: the public webhook port, and the ops port (health, metrics)
/// that stays on the private side.
pub struct Application {
    port: u16,
    server: Server,
    ops: OpsServer,
    broker: Arc<Broker>,
    tokens: Arc<Tokens>,
}

impl Application {
    /// Connects to PostgreSQL and RabbitMQ lazily and binds `ingress.bind` (port 0 picks one).
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database)?;
        let broker = Broker::new(&settings.broker, "sklad-ingress");
        Self::build_with(settings, db, broker)
    }

    /// Builds on an existing pool and broker handle (used by `sklad run` and tests).
    pub fn build_with(settings: &Settings, db: Db, broker: Arc<Broker>) -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind(&settings.ingress.bind)?;
        let port = listener.local_addr()?.port();
        let tokens = Tokens::new(db.clone(), &settings.ingress);
        let state = web::Data::new(WebhookState {
            tokens: tokens.clone(),
            publisher: Publisher::new(broker.clone()),
            max_body_bytes: settings.ingress.max_body_bytes,
        });
        let readiness = Readiness::new(vec![
            Arc::new(db),
            Arc::new(BrokerReadiness(broker.clone())),
        ]);
        let ops = ops_server(&settings.ingress.ops_bind, readiness)?;
        // The public port serves the webhook route and nothing else.
        // Its requests are counted and timed by the webhook metrics themselves
        // (`sklad_ingress_webhooks_total`, `sklad_ingress_webhook_seconds`).
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                // One route, matched by hand: no router regex on the hot path.
                .default_service(web::to(webhook::route))
        })
        .disable_signals()
        // A 202 goes out the moment it is ready: actix leaves Nagle on by default.
        .tcp_nodelay(true)
        .workers(settings.ingress.workers)
        .shutdown_timeout(20)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            ops,
            broker,
            tokens,
        })
    }

    /// The webhook port actually bound.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The ops port (health and metrics) actually bound.
    pub fn ops_port(&self) -> u16 {
        self.ops.port
    }

    /// Serves until `cancel` fires, then stops accepting, finishes in-flight requests
    /// (each waits for its publish confirm) and closes the broker connection.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> std::io::Result<()> {
        // Connect (and declare the topology) now rather than on the first webhook.
        let warm = self.broker.clone();
        tokio::spawn(async move {
            if let Err(err) = warm.ping().await {
                tracing::warn!(error = %err, "broker not reachable at start; will retry on demand");
            }
        });
        let listener = tokio::spawn(self.tokens.clone().listen(cancel.clone()));
        let ops = tokio::spawn(sklad_runtime::serve_until_cancelled(
            self.ops.server,
            cancel.clone(),
        ));
        let outcome = sklad_runtime::serve_until_cancelled(self.server, cancel).await;
        self.broker.close().await;
        let _ = ops.await;
        let _ = listener.await;
        outcome
    }
}
