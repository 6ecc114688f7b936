//! The admin REST API under `/api/v1`, JSON in and out, bearer token per account.

mod auth;
mod error;
mod integrations;
mod openapi;
mod orders;
mod stock;
mod sync_jobs;

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Budget;
use sklad_runtime::Settings;
use sklad_runtime::health::{self, Readiness};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

pub use auth::AccountId;
pub use error::{ApiError, ErrorBody};
pub use integrations::{IntegrationUpdate, IntegrationView, KeycrmStatuses, WebhookLink};
pub use openapi::ApiDoc;
pub use orders::{OrderDetailView, OrderPage, OrderView, ProductPage, ProductView};
pub use stock::movement_event;
pub use sync_jobs::{SyncJobRequest, SyncJobView};

/// What every handler shares.
pub struct ApiState {
    pub db: Db,
    pub secrets: SecretBox,
    pub http: reqwest::Client,
    pub budget: Budget,
    /// Public base URL of ingress; webhook links are built from it.
    pub public_ingress_url: String,
    pub keycrm_retry: sklad_keycrm::RetryPolicy,
}

/// A bound API server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Builds the pool and binds `api.bind` (port 0 picks one).
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database)?;
        Self::build_with(settings, db)
    }

    /// Builds on an existing pool (used by `sklad run` and tests).
    pub fn build_with(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
        let state = web::Data::new(ApiState {
            budget: Budget::new(db.clone()),
            db: db.clone(),
            secrets,
            http: sklad_keycrm::http_client(&settings.keycrm),
            public_ingress_url: settings.ingress.public_url.clone(),
            keycrm_retry: sklad_keycrm::RetryPolicy::from_settings(&settings.keycrm),
        });
        let readiness = Readiness::new(vec![Arc::new(db)]);
        let openapi_json = web::Data::new(ApiDoc::openapi().to_pretty_json()?);
        let listener = std::net::TcpListener::bind(&settings.api.bind)?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(
                    sklad_runtime::metrics::track_requests,
                ))
                .wrap(tracing_actix_web::TracingLogger::default())
                .app_data(state.clone())
                .app_data(openapi_json.clone())
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                .configure(health::configure(readiness.clone()))
                .service(
                    web::scope("/api/v1")
                        .route("/openapi.json", web::get().to(openapi_document))
                        .service(integrations::get_integration)
                        .service(integrations::put_integration)
                        .service(integrations::rotate_webhook_token)
                        .service(integrations::keycrm_statuses)
                        .service(orders::list_orders)
                        .service(orders::get_order)
                        .service(orders::list_products)
                        .service(sync_jobs::start_sync_job)
                        .service(sync_jobs::list_sync_jobs)
                        .service(sync_jobs::get_sync_job)
                        .service(sync_jobs::cancel_sync_job)
                        .service(sync_jobs::request_reconcile)
                        .service(stock::list_warehouses)
                        .service(stock::create_warehouse)
                        .service(stock::update_warehouse)
                        .service(stock::create_product)
                        .service(stock::update_product)
                        .service(stock::create_movement)
                        .service(stock::list_movements)
                        .service(stock::get_movement)
                        .service(stock::list_balances)
                        .service(stock::ship_order)
                        .service(stock::list_keycrm_warehouses)
                        .service(stock::add_keycrm_warehouse)
                        .service(stock::refresh_keycrm_warehouses)
                        .service(stock::get_mapping)
                        .service(stock::put_mapping)
                        .service(stock::list_pushes)
                        .service(stock::resync)
                        .service(stock::reconcile),
                )
                .default_service(web::to(not_found))
        })
        .disable_signals()
        .shutdown_timeout(20)
        .listen(listener)?
        .run();
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until `cancel` fires, then finishes in-flight requests and stops.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> std::io::Result<()> {
        sklad_runtime::serve_until_cancelled(self.server, cancel).await
    }
}

async fn openapi_document(doc: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get_ref().clone())
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found("no such endpoint"))
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(1024 * 1024)
        .error_handler(|err, _| {
            let message = err.to_string();
            let api_error = match &err {
                actix_web::error::JsonPayloadError::ContentType => ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send JSON with Content-Type: application/json",
                ),
                actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
                | actix_web::error::JsonPayloadError::Overflow { .. } => ApiError::new(
                    actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    message,
                ),
                _ => ApiError::bad_request(format!("invalid JSON body: {message}")),
            };
            api_error.into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad_request(format!("invalid query: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| ApiError::not_found(format!("invalid path: {err}")).into())
}
