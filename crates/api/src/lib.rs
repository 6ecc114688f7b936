//! The admin REST API under `/api/v1`, JSON in and out, bearer token per account.
//!
//! Each resource has its module; a handler parses, authorises (the [`AccountId`]
//! extractor), calls one operation and maps its errors. Routes are mounted once, in
//! [`routes`], which also documents them.

pub mod account;
mod admin_tokens;
pub mod auth;
pub mod catalogue;
pub mod error;
mod examples;
mod input;
pub mod integrations;
mod json;
pub mod keycrm_warehouses;
pub mod movements;
mod openapi;
pub mod orders;
pub mod page;
pub mod parked;
pub mod production;
pub mod products;
pub mod spreadsheets;
pub mod stock_pushes;
pub mod sync_jobs;
pub mod take_over;
pub mod throttle;
pub mod versions;
pub mod warehouses;

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::{AccountClient, Clients, RetryPolicy};
use sklad_runtime::Settings;
use sklad_runtime::health::{self, Readiness};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_actix_web::scope::Scope;

pub use auth::AccountId;
pub use error::{ApiError, ErrorBody};
pub use openapi::{ApiDoc, to_json as openapi_json};

/// What every handler shares.
pub struct ApiState {
    pub db: Db,
    pub secrets: SecretBox,
    pub keycrm: Clients,
    /// Public base URL of ingress; webhook links are built from it.
    pub public_ingress_url: String,
    /// The keyCRM base URLs the operator allows (`keycrm.allowed_base_urls`): the console
    /// offers these.
    pub allowed_base_urls: Vec<String>,
    /// How long a console sign-in lasts (`security.console_session_ttl`).
    pub console_session_ttl: std::time::Duration,
    /// Console cookies are `Secure` even on plain-http requests
    /// (`security.console_secure_cookies`).
    pub console_secure_cookies: bool,
    /// The broker, for the console's status screen (queue depths, parked messages and
    /// their replay); connected only when that screen asks.
    pub broker: Arc<sklad_bus::Broker>,
    /// Failed authentication per client address (API tokens and console sign-ins).
    pub throttle: throttle::Throttle,
}

impl ApiState {
    /// The account's keyCRM client; 409 `keycrm_not_configured` without a saved key.
    pub async fn client(&self, account: AccountId) -> Result<AccountClient, ApiError> {
        Ok(self.keycrm.for_account(account.0).await?)
    }
}

/// Every route of `/api/v1`, mounted and documented in one place.
fn routes() -> Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope(BASE)
        .service(account::get_display)
        .service(account::patch_display)
        .service(admin_tokens::list_admin_tokens)
        .service(admin_tokens::issue_admin_token)
        .service(admin_tokens::revoke_admin_token)
        .service(integrations::get_integration)
        .service(integrations::put_integration)
        .service(integrations::rotate_webhook_token)
        .service(integrations::keycrm_statuses)
        .service(orders::list_orders)
        .service(orders::get_order)
        .service(movements::ship_order)
        .service(spreadsheets::export_products)
        .service(spreadsheets::import_products)
        .service(spreadsheets::import_counts)
        .service(products::list_products)
        .service(products::create_product)
        .service(products::get_product)
        .service(products::update_product)
        .service(sync_jobs::start_sync_job)
        .service(sync_jobs::list_sync_jobs)
        .service(sync_jobs::get_sync_job)
        .service(sync_jobs::cancel_sync_job)
        .service(sync_jobs::request_reconcile)
        .service(catalogue::start_catalogue_import)
        .service(catalogue::list_catalogue_imports)
        .service(catalogue::get_catalogue_import)
        .service(catalogue::cancel_catalogue_import)
        .service(warehouses::list_warehouses)
        .service(warehouses::create_warehouse)
        .service(warehouses::get_warehouse)
        .service(warehouses::update_warehouse)
        .service(movements::create_movement)
        .service(movements::list_movements)
        .service(movements::get_movement)
        .service(movements::reverse_movement)
        .service(movements::list_balances)
        .service(keycrm_warehouses::list_keycrm_warehouses)
        .service(keycrm_warehouses::add_keycrm_warehouse)
        .service(keycrm_warehouses::refresh_keycrm_warehouses)
        .service(keycrm_warehouses::get_mapping)
        .service(keycrm_warehouses::put_mapping)
        .service(stock_pushes::list_pushes)
        .service(stock_pushes::resync)
        .service(stock_pushes::reconcile)
        .service(take_over::take_over)
        .service(stock_pushes::preview)
        .service(production::put_bom)
        .service(production::get_bom)
        .service(production::makeable)
        .service(production::create_production_order)
        .service(production::list_production_orders)
        .service(production::get_production_order)
        .service(production::release_production_order)
        .service(production::cancel_production_order)
        .service(production::complete_production_order)
}

/// Where [`routes`] are mounted; the document's server URL, so its paths read `/orders`.
const BASE: &str = "/api/v1";

/// The OpenAPI document of everything [`routes`] mounts, for a deployment that allows
/// `allowed_base_urls` as keyCRM URLs.
pub fn openapi(allowed_base_urls: &[String]) -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(routes())
        .split_for_parts();
    let mounted = std::mem::take(&mut doc.paths.paths);
    for (path, item) in mounted {
        let relative = path.strip_prefix(BASE).unwrap_or(&path).to_owned();
        doc.paths.paths.insert(relative, item);
    }
    utoipa::Modify::modify(&openapi::Deployment { allowed_base_urls }, &mut doc);
    doc
}

/// Mounts routes beside `/api/v1` (the console's screens), so the API does not depend on
/// the crate that serves them.
pub type Screens = fn(&mut web::ServiceConfig);

/// A bound API server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Builds the pool and binds `api.bind` (port 0 picks one); `screens` mounts what is
    /// served beside `/api/v1` (the web console, from `sklad-console`).
    pub fn build(settings: &Settings, screens: Option<Screens>) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database)?;
        Self::build_with(settings, db, screens)
    }

    /// Builds on an existing pool (used by `sklad run` and tests).
    pub fn build_with(
        settings: &Settings,
        db: Db,
        screens: Option<Screens>,
    ) -> anyhow::Result<Self> {
        let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
        let state = web::Data::new(ApiState {
            // A person waits on these answers: two quick attempts, at most 5 s for the budget.
            keycrm: Clients::new(&settings.keycrm, db.clone(), secrets.clone())
                .with_retry(RetryPolicy::interactive()),
            db: db.clone(),
            secrets,
            public_ingress_url: settings.ingress.public_url.clone(),
            allowed_base_urls: settings
                .keycrm
                .allowed_base_urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_owned())
                .collect(),
            console_session_ttl: settings.security.console_session_ttl,
            console_secure_cookies: settings.security.console_secure_cookies,
            broker: sklad_bus::Broker::new(&settings.broker, "sklad-api"),
            throttle: throttle::Throttle::new(settings.security.failed_auth_burst),
        });
        let readiness = Readiness::new(vec![Arc::new(db)]);
        let doc = openapi(&settings.keycrm.allowed_base_urls);
        let known_paths = web::Data::new(openapi::KnownPaths::of(&doc, BASE));
        let openapi_json = web::Data::new(openapi::to_json(&doc)?);
        let listener = std::net::TcpListener::bind(&settings.api.bind)?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(quiet_refusals))
                .wrap(actix_web::middleware::from_fn(
                    sklad_runtime::metrics::track_requests,
                ))
                .wrap(tracing_actix_web::TracingLogger::<RequestSpan>::new())
                .app_data(state.clone())
                .app_data(openapi_json.clone())
                .app_data(known_paths.clone())
                .app_data(json_config())
                .app_data(query_config())
                .app_data(path_config())
                .wrap(actix_web::middleware::from_fn(refuse_nul_in_query))
                .configure(health::configure(readiness.clone()))
                .route("/api/v1/openapi.json", web::get().to(openapi_document))
                .into_utoipa_app()
                .service(routes())
                .into_app()
                .app_data(web::FormConfig::default().limit(256 * 1024))
                .configure(|cfg| {
                    if let Some(screens) = screens {
                        screens(cfg);
                    }
                })
                .default_service(web::to(no_route))
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

/// Each request's span: tracing-actix-web's fields plus the account, recorded once the admin
/// token is resolved ([`AccountId`]).
struct RequestSpan;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing_actix_web::root_span!(request, account_id = tracing::field::Empty)
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

async fn openapi_document(doc: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.get_ref().clone())
}

/// 405 with `Allow` for a documented path called with another method, else 404.
async fn no_route(
    request: actix_web::HttpRequest,
    known: web::Data<openapi::KnownPaths>,
) -> HttpResponse {
    let Some(methods) = known.methods(request.path()) else {
        return actix_web::ResponseError::error_response(&ApiError::not_found("no such endpoint"));
    };
    let allow = methods.join(", ");
    let mut response = actix_web::ResponseError::error_response(&ApiError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} takes {allow}", request.path()),
    ));
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
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

/// A wrong or missing admin token (401) and a throttled address (429) are answered without
/// the error attached, so the request log does not write a WARN line per miss: a burst is
/// logged once, by the throttle.
async fn quiet_refusals(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::ResponseError;
    let response = next.call(req).await?.map_into_boxed_body();
    let quiet = response
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
        .filter(|e| matches!(e.code, "unauthorized" | "too_many_attempts"))
        .map(ResponseError::error_response);
    Ok(match quiet {
        Some(plain) => response.into_response(plain),
        None => response,
    })
}

/// PostgreSQL refuses the NUL character in text: a query string carrying one (`%00`) is
/// answered 422 before any handler runs.
async fn refuse_nul_in_query(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let decoded: Vec<u8> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .flat_map(|(k, v)| [k.into_owned().into_bytes(), v.into_owned().into_bytes()])
        .flatten()
        .collect();
    if decoded.contains(&0) {
        let error = ApiError::validation("the query must not contain the NUL character");
        return Ok(req.error_response(error));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::bad_request(format!("invalid query: {err}")).into())
}

fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| ApiError::not_found(format!("invalid path: {err}")).into())
}
