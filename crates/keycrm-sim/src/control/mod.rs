//! The control API (`/_sim/...`): seed data, change orders (firing keyCRM's "Send Webhook"
//! automation), inject faults, and inspect what the simulator received. Orders and their
//! changes are in [`orders`], the automation's deliveries in [`webhooks`].

mod orders;
mod webhooks;

use std::time::Duration;

use actix_web::{HttpResponse, web};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Sim;
use crate::catalogue::CatalogueSpec;
use crate::state::{Faults, Offer, Property, State, Status, Warehouse};
pub use webhooks::fire;

/// Mounts the control API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim")
            .route(
                "/health",
                web::get().to(|| async { HttpResponse::Ok().json(json!({"ok": true})) }),
            )
            .route("/reset", web::post().to(reset))
            .route("/config", web::put().to(put_config))
            .route("/faults", web::put().to(put_faults))
            .route("/statuses", web::put().to(put_statuses))
            .route("/warehouses", web::put().to(put_warehouses))
            .route("/offers", web::post().to(post_offers))
            .route("/catalogue/generate", web::post().to(generate_catalogue))
            .configure(orders::configure)
            .configure(webhooks::configure)
            .route("/webhook-deliveries", web::get().to(get_deliveries))
            .route("/requests", web::get().to(get_requests))
            .route("/requests", web::delete().to(clear_requests))
            .route("/stock-writes", web::get().to(get_stock_writes))
            .route("/stocks", web::get().to(get_stocks))
            .route("/stocks", web::put().to(put_stocks))
            .route("/stats", web::get().to(get_stats)),
    );
}

fn bad_request(message: impl Into<String>) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": message.into()}))
}

fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"error": "no such order"}))
}

async fn reset(sim: web::Data<Sim>) -> HttpResponse {
    let mut state = sim.lock();
    let keys = state.api_keys.clone();
    let rpm = state.requests_per_minute;
    let urls = state.webhook_urls.clone();
    *state = State::new(keys, rpm);
    state.webhook_urls = urls;
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct ConfigChange {
    api_keys: Option<Vec<String>>,
    requests_per_minute: Option<u32>,
    window_ms: Option<u64>,
    webhook_urls: Option<Vec<String>>,
}

async fn put_config(sim: web::Data<Sim>, change: web::Json<ConfigChange>) -> HttpResponse {
    let change = change.into_inner();
    let mut state = sim.lock();
    if let Some(keys) = change.api_keys {
        state.api_keys = keys;
    }
    if let Some(rpm) = change.requests_per_minute {
        state.requests_per_minute = rpm.max(1);
    }
    if let Some(ms) = change.window_ms {
        state.window = Duration::from_millis(ms.max(1));
    }
    if let Some(urls) = change.webhook_urls {
        state.webhook_urls = urls;
    }
    state.windows.clear();
    HttpResponse::Ok().json(json!({
        "requests_per_minute": state.requests_per_minute,
        "window_ms": state.window.as_millis() as u64,
        "webhook_urls": state.webhook_urls,
    }))
}

async fn put_faults(sim: web::Data<Sim>, faults: web::Json<Faults>) -> HttpResponse {
    sim.lock().faults = faults.into_inner();
    HttpResponse::NoContent().finish()
}

async fn put_statuses(sim: web::Data<Sim>, statuses: web::Json<Vec<Status>>) -> HttpResponse {
    sim.lock().statuses = statuses.into_inner();
    HttpResponse::NoContent().finish()
}

async fn put_warehouses(
    sim: web::Data<Sim>,
    warehouses: web::Json<Vec<Warehouse>>,
) -> HttpResponse {
    let mut state = sim.lock();
    for w in warehouses.into_inner() {
        state.warehouses.insert(w.id, w);
    }
    HttpResponse::Ok().json(state.warehouses.values().collect::<Vec<_>>())
}

#[derive(Deserialize)]
struct OfferSpec {
    id: Option<i64>,
    product_id: Option<i64>,
    sku: String,
    name: String,
    price: Decimal,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    purchased_price: Decimal,
    #[serde(default)]
    barcode: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    archived: bool,
}

async fn post_offers(sim: web::Data<Sim>, specs: web::Json<Vec<OfferSpec>>) -> HttpResponse {
    let mut state = sim.lock();
    let mut created = Vec::new();
    for spec in specs.into_inner() {
        let id = spec.id.unwrap_or_else(|| state.next_id());
        let offer = Offer {
            id,
            product_id: spec.product_id.unwrap_or(id),
            sku: spec.sku,
            name: spec.name,
            price: spec.price,
            properties: spec.properties,
            purchased_price: spec.purchased_price,
            barcode: spec.barcode,
            unit: spec.unit,
            archived: spec.archived,
        };
        state.offers.insert(id, offer.clone());
        created.push(offer);
    }
    HttpResponse::Ok().json(created)
}

async fn generate_catalogue(sim: web::Data<Sim>, spec: web::Json<CatalogueSpec>) -> HttpResponse {
    let added = sim.lock().generate_catalogue(&spec);
    HttpResponse::Ok().json(json!({"offers": added}))
}

async fn get_deliveries(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().deliveries)
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: u64,
}

async fn get_requests(sim: web::Data<Sim>, since: web::Query<Since>) -> HttpResponse {
    let state = sim.lock();
    let rows: Vec<_> = state
        .requests
        .iter()
        .filter(|r| r.seq > since.since)
        .collect();
    HttpResponse::Ok().json(rows)
}

async fn clear_requests(sim: web::Data<Sim>) -> HttpResponse {
    sim.lock().requests.clear();
    HttpResponse::NoContent().finish()
}

async fn get_stock_writes(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(&sim.lock().stock_writes)
}

async fn get_stocks(sim: web::Data<Sim>) -> HttpResponse {
    let state = sim.lock();
    let rows: Vec<Value> = state
        .stocks
        .iter()
        .map(|((warehouse_id, offer_id), quantity)| {
            json!({
                "warehouse_id": warehouse_id,
                "sku": state.offers.get(offer_id).map(|o| o.sku.clone()),
                "quantity": quantity,
            })
        })
        .collect();
    HttpResponse::Ok().json(rows)
}

#[derive(Deserialize)]
struct StockSet {
    warehouse_id: i64,
    sku: String,
    quantity: Decimal,
}

/// Changes stock "behind sklad's back", as a keyCRM user editing it by hand would.
async fn put_stocks(sim: web::Data<Sim>, rows: web::Json<Vec<StockSet>>) -> HttpResponse {
    let mut state = sim.lock();
    for row in rows.into_inner() {
        let Some(offer) = state.offer_by_sku(&row.sku).map(|o| o.id) else {
            return bad_request(format!("unknown sku {}", row.sku));
        };
        state.stocks.insert((row.warehouse_id, offer), row.quantity);
    }
    HttpResponse::NoContent().finish()
}

async fn get_stats(sim: web::Data<Sim>) -> HttpResponse {
    let state = sim.lock();
    HttpResponse::Ok().json(json!({
        "requests_logged": state.requests.len(),
        "rate_limited_total": state.rate_limited_total,
        "orders": state.orders.len(),
        "offers": state.offers.len(),
        "stock_writes": state.stock_writes.len(),
        "webhook_deliveries": state.deliveries.len(),
    }))
}
