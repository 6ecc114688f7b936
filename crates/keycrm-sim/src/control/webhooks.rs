//! keyCRM's "Send Webhook" automation: POSTs to every configured link, recorded.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::not_found;
use crate::Sim;
use crate::state::WebhookDelivery;

/// Mounts the webhook routes (inside `/_sim`).
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/fire", web::post().to(fire_webhook))
        .route("/webhooks/raw", web::post().to(fire_raw));
}

#[derive(Deserialize)]
struct FireSpec {
    /// One order, or `order_ids` for many.
    order_id: Option<i64>,
    #[serde(default)]
    order_ids: Vec<i64>,
    #[serde(default = "status_event")]
    event: String,
}

fn status_event() -> String {
    "order.change_order_status".into()
}

async fn fire_webhook(sim: web::Data<Sim>, spec: web::Json<FireSpec>) -> HttpResponse {
    let spec = spec.into_inner();
    let ids: Vec<i64> = spec.order_id.into_iter().chain(spec.order_ids).collect();
    if ids.is_empty() || ids.iter().any(|id| !sim.lock().orders.contains_key(id)) {
        return not_found();
    }
    let mut deliveries = Vec::new();
    for id in ids {
        deliveries.extend(fire(&sim, id, &spec.event).await);
    }
    HttpResponse::Ok().json(json!({"deliveries": deliveries}))
}

async fn fire_raw(sim: web::Data<Sim>, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let deliveries = deliver(&sim, &event, 0, body).await;
    HttpResponse::Ok().json(json!({"deliveries": deliveries}))
}

/// keyCRM's "Send Webhook" action: POST `{"event", "context": flat order row}` to every
/// configured URL, once, with no retries (keyCRM documents none).
pub async fn fire(sim: &Sim, order_id: i64, event: &str) -> Vec<WebhookDelivery> {
    let body = {
        let state = sim.lock();
        match state.orders.get(&order_id) {
            Some(order) => json!({"event": event, "context": state.render_order_row(order)}),
            None => return Vec::new(),
        }
    };
    deliver(sim, event, order_id, body).await
}

async fn deliver(sim: &Sim, event: &str, order_id: i64, body: Value) -> Vec<WebhookDelivery> {
    let urls = sim.lock().webhook_urls.clone();
    let mut out = Vec::new();
    for url in urls {
        let result = sim
            .http
            .post(&url)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let (status, error) = match result {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(err) => (None, Some(err.without_url().to_string())),
        };
        let mut state = sim.lock();
        let delivery = WebhookDelivery {
            seq: state.next_seq(),
            url: url.clone(),
            event: event.to_owned(),
            order_id,
            status,
            error,
            body: body.clone(),
        };
        state.deliveries.push(delivery.clone());
        out.push(delivery);
    }
    out
}
