//! A keyCRM API simulator, faithful to keyCRM's OpenAPI spec (v1.2.0) for the endpoints sklad
//! uses, and to live keyCRM's habits: bearer auth (401), a per-key rate limit with 429 and
//! `Retry-After`, Laravel-style pagination (`limit` ≤ 50), loose data (string decimals, two
//! timestamp formats, `[]` for empty objects, one-time lines without an offer), and the
//! "Send Webhook" automation fired when an order's status changes.
//!
//! The keyCRM API lives under `/v1`; a control API under `/_sim` seeds data, injects faults
//! (latency, 5xx, dropped connections, forced 429s) and shows what was received.

pub mod api;
pub mod catalogue;
pub mod control;
pub mod loose;
pub mod state;

use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{App, HttpServer, web};

pub use state::{Faults, State};

/// The simulator: state behind a lock (never held across an await) and a client for webhooks.
pub struct Sim {
    state: Mutex<State>,
    http: reqwest::Client,
}

impl Sim {
    pub fn new(api_keys: Vec<String>, requests_per_minute: u32) -> Self {
        Self {
            state: Mutex::new(State::new(api_keys, requests_per_minute)),
            http: reqwest::Client::new(),
        }
    }

    /// Locks the state; a poisoned lock (a panicked handler) is recovered, not propagated.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running simulator.
pub struct RunningSim {
    pub port: u16,
    pub sim: Arc<Sim>,
    pub server: actix_web::dev::Server,
}

impl RunningSim {
    /// The keyCRM API base URL to give sklad (like `https://openapi.keycrm.app/v1`).
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// The control API base URL.
    pub fn control_url(&self) -> String {
        format!("http://127.0.0.1:{}/_sim", self.port)
    }
}

/// Anything outside `/v1`: the HTML "not found" page keyCRM's web server answers with, as a
/// mistyped base URL would meet it.
async fn web_server_404() -> actix_web::HttpResponse {
    actix_web::HttpResponse::NotFound()
        .content_type("text/html; charset=UTF-8")
        .body("<!DOCTYPE html><html><head><title>Not Found</title></head><body><h1>404</h1><p>Сторінку не знайдено</p></body></html>")
}

/// Binds the simulator on `bind` (port 0 picks one). Run `server` to serve.
pub fn build(
    bind: &str,
    api_keys: Vec<String>,
    requests_per_minute: u32,
) -> std::io::Result<RunningSim> {
    sklad_runtime::install_crypto_provider();
    let listener = TcpListener::bind(bind)?;
    let port = listener.local_addr()?.port();
    let sim = Arc::new(Sim::new(api_keys, requests_per_minute));
    let data = web::Data::from(sim.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(64 * 1024 * 1024))
            .app_data(web::PayloadConfig::default().limit(64 * 1024 * 1024))
            .configure(control::configure)
            .route("/v1/{tail:.*}", web::route().to(api::entry))
            .default_service(web::to(web_server_404))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(RunningSim { port, sim, server })
}
