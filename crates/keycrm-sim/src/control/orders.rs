//! Orders in the simulator: created by hand or generated, and changed the ways keyCRM's users
//! change them (status, payments, lines), each change firing the automation's webhook.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::webhooks::fire;

/// Mounts the order routes (inside `/_sim`).
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/orders", web::post().to(post_order))
        .route("/orders/generate", web::post().to(generate_orders))
        .route("/orders/{id}", web::get().to(get_order))
        .route("/orders/{id}", web::delete().to(delete_order))
        .route("/orders/status", web::put().to(put_orders_status))
        .route("/orders/{id}/status", web::put().to(put_order_status))
        .route("/orders/{id}/payments", web::post().to(post_payment))
        .route("/orders/{id}/touch", web::post().to(touch_order))
        .route("/orders/{id}/lines", web::put().to(put_order_lines));
}
use super::{bad_request, not_found};
use crate::Sim;
use crate::state::{Buyer, Line, Offer, Order, Payment, Property, State};

#[derive(Deserialize, Default)]
struct BuyerSpec {
    full_name: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Deserialize)]
struct LineSpec {
    sku: Option<String>,
    name: Option<String>,
    price: Option<Decimal>,
    #[serde(default = "one")]
    quantity: Decimal,
    #[serde(default)]
    discount_amount: Decimal,
    #[serde(default)]
    properties: Vec<Property>,
    /// Typed in by hand in keyCRM: no offer, the SKU (if any) is the line's own.
    #[serde(default)]
    one_time: bool,
    unit_type: Option<String>,
    warehouse_id: Option<i64>,
}

fn one() -> Decimal {
    Decimal::ONE
}

#[derive(Deserialize)]
struct PaymentSpec {
    #[serde(default = "card")]
    payment_method_id: i64,
    amount: Decimal,
    #[serde(default = "paid")]
    status: String,
    #[serde(default = "uah")]
    currency: String,
    transaction_uuid: Option<String>,
    description: Option<String>,
    payment_date: Option<DateTime<Utc>>,
    /// Fire `order.change_payment_status` afterwards (payments endpoint only).
    #[serde(default)]
    webhook: bool,
}

fn card() -> i64 {
    2
}
fn paid() -> String {
    "paid".into()
}
fn uah() -> String {
    "UAH".into()
}

#[derive(Deserialize)]
struct OrderSpec {
    id: Option<i64>,
    #[serde(default = "new_status")]
    status_id: i64,
    source_uuid: Option<String>,
    buyer: Option<BuyerSpec>,
    #[serde(default)]
    lines: Vec<LineSpec>,
    #[serde(default)]
    payments: Vec<PaymentSpec>,
    payment_status: Option<String>,
    manager_comment: Option<String>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    /// The order's source (shop, marketplace) in keyCRM.
    source_id: Option<i64>,
    /// Fields laid over the rendered order as they are, to play keyCRM sending junk
    /// (e.g. `{"grand_total": "n/a", "buyer": 5}`).
    quirks: Option<serde_json::Map<String, Value>>,
}

fn new_status() -> i64 {
    1
}

fn build_line(state: &mut State, spec: LineSpec) -> Line {
    let id = state.next_id();
    let offer = if spec.one_time {
        None
    } else {
        spec.sku
            .as_deref()
            .and_then(|sku| state.offer_by_sku(sku))
            .cloned()
    };
    match offer {
        Some(offer) => Line {
            id,
            name: spec.name.unwrap_or_else(|| offer.name.clone()),
            sku: Some(offer.sku.clone()),
            price: spec.price.unwrap_or(offer.price),
            quantity: spec.quantity,
            discount_amount: spec.discount_amount,
            unit_type: spec.unit_type,
            properties: spec.properties,
            offer_id: Some(offer.id),
            warehouse_id: spec.warehouse_id,
        },
        None => Line {
            id,
            name: spec.name.unwrap_or_else(|| "Товар".into()),
            sku: spec.sku.filter(|s| !s.is_empty()),
            price: spec.price.unwrap_or_default(),
            quantity: spec.quantity,
            discount_amount: spec.discount_amount,
            unit_type: spec.unit_type,
            properties: spec.properties,
            offer_id: None,
            warehouse_id: spec.warehouse_id,
        },
    }
}

fn build_payment(state: &mut State, spec: PaymentSpec, now: DateTime<Utc>) -> Payment {
    Payment {
        id: state.next_id(),
        payment_method_id: spec.payment_method_id,
        amount: spec.amount,
        currency: spec.currency,
        status: spec.status,
        transaction_uuid: spec.transaction_uuid,
        description: spec.description,
        payment_date: spec.payment_date.unwrap_or(now),
        created_at: now,
        updated_at: now,
    }
}

fn payment_status(order: &Order) -> String {
    let total = State::grand_total(order);
    let paid: Decimal = order
        .payments
        .iter()
        .filter(|p| p.status == "paid")
        .map(|p| p.amount)
        .sum();
    if paid.is_zero() {
        "not_paid"
    } else if paid < total {
        "part_paid"
    } else if paid == total {
        "paid"
    } else {
        "overpaid"
    }
    .into()
}

const ALL_INCLUDES: &[&str] = &["products.offer", "payments", "status", "buyer"];

fn all_includes() -> Vec<String> {
    ALL_INCLUDES.iter().map(|s| (*s).to_owned()).collect()
}

async fn post_order(sim: web::Data<Sim>, spec: web::Json<OrderSpec>) -> HttpResponse {
    let spec = spec.into_inner();
    let mut state = sim.lock();
    let now = Utc::now();
    let id = spec.id.unwrap_or_else(|| state.next_order_id());
    let lines = spec
        .lines
        .into_iter()
        .map(|l| build_line(&mut state, l))
        .collect();
    let payments = spec
        .payments
        .into_iter()
        .map(|p| build_payment(&mut state, p, now))
        .collect();
    let buyer_id = state.next_id();
    let created_at = spec.created_at.unwrap_or(now);
    let mut order = Order {
        id,
        source_id: spec.source_id.unwrap_or(1),
        source_uuid: spec.source_uuid,
        status_id: spec.status_id,
        payment_status: String::new(),
        buyer: spec.buyer.map(|b| Buyer {
            id: buyer_id,
            full_name: b.full_name,
            phone: b.phone,
            email: b.email,
        }),
        manager_comment: spec.manager_comment,
        lines,
        payments,
        created_at,
        updated_at: spec.updated_at.unwrap_or(created_at),
        ordered_at: created_at,
        status_changed_at: created_at,
        closed_at: None,
        quirks: spec.quirks,
    };
    order.payment_status = spec
        .payment_status
        .unwrap_or_else(|| payment_status(&order));
    let rendered = state.render_order(&order, &all_includes());
    state.orders.insert(id, order);
    HttpResponse::Created().json(rendered)
}

#[derive(Deserialize)]
struct GenerateSpec {
    count: usize,
    status_ids: Vec<i64>,
    #[serde(default)]
    seed: u64,
    /// Every Nth order gets an extra one-time line (0: never).
    #[serde(default)]
    one_time_every: usize,
    /// Give orders a paid payment.
    #[serde(default)]
    with_payments: bool,
}

/// Offers every generated catalogue starts with: variants with colour and size.
fn ensure_catalogue(state: &mut State) {
    if !state.offers.is_empty() {
        return;
    }
    let mut product_id = 500;
    for (name, price) in [
        ("Футболка", "450.00"),
        ("Худі", "1200.50"),
        ("Шапка", "300"),
    ] {
        product_id += 1;
        for colour in ["біла", "чорна"] {
            for size in ["S", "M", "L"] {
                let id = state.next_id();
                let sku = format!(
                    "{}-{}-{}",
                    product_id,
                    if colour == "біла" { "W" } else { "B" },
                    size
                );
                state.offers.insert(
                    id,
                    Offer {
                        properties: vec![
                            Property {
                                name: "Колір".into(),
                                value: colour.into(),
                            },
                            Property {
                                name: "Розмір".into(),
                                value: size.into(),
                            },
                        ],
                        ..Offer::plain(
                            id,
                            product_id,
                            sku,
                            name.to_owned(),
                            price.parse().unwrap_or_default(),
                        )
                    },
                );
            }
        }
    }
}

async fn generate_orders(sim: web::Data<Sim>, spec: web::Json<GenerateSpec>) -> HttpResponse {
    let spec = spec.into_inner();
    if spec.status_ids.is_empty() {
        return bad_request("status_ids must not be empty");
    }
    let mut state = sim.lock();
    ensure_catalogue(&mut state);
    let offers: Vec<Offer> = state.offers.values().cloned().collect();
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let now = Utc::now();
    let mut ids = Vec::with_capacity(spec.count);
    for n in 0..spec.count {
        let id = state.next_order_id();
        let status_id = spec.status_ids[n % spec.status_ids.len()];
        let mut lines = Vec::new();
        for _ in 0..rng.gen_range(1..=3) {
            let offer = &offers[rng.gen_range(0..offers.len())];
            let line_id = state.next_id();
            lines.push(Line {
                id: line_id,
                name: offer.name.clone(),
                sku: Some(offer.sku.clone()),
                price: offer.price,
                quantity: Decimal::from(rng.gen_range(1..=4)),
                discount_amount: Decimal::ZERO,
                unit_type: Some("шт".into()),
                properties: Vec::new(),
                offer_id: Some(offer.id),
                warehouse_id: None,
            });
        }
        if spec.one_time_every > 0 && n % spec.one_time_every == 0 {
            let line_id = state.next_id();
            lines.push(Line {
                id: line_id,
                name: format!("Гравіювання #{}", rng.gen_range(1..=5)),
                sku: None,
                price: Decimal::from(50),
                quantity: Decimal::ONE,
                discount_amount: Decimal::ZERO,
                unit_type: None,
                properties: vec![Property {
                    name: "Текст".into(),
                    value: "Forever".into(),
                }],
                offer_id: None,
                warehouse_id: None,
            });
        }
        let created_at =
            now - chrono::TimeDelta::minutes(i64::try_from(spec.count - n).unwrap_or(0));
        let buyer_id = state.next_id();
        let mut order = Order {
            id,
            source_id: 1,
            source_uuid: Some(format!("№{}", 10_000 + id)),
            status_id,
            payment_status: String::new(),
            buyer: Some(Buyer {
                id: buyer_id,
                full_name: format!("Покупець {n}"),
                phone: Some(format!("+380500000{:03}", n % 1000)),
                email: None,
            }),
            manager_comment: None,
            lines,
            payments: Vec::new(),
            created_at,
            updated_at: created_at,
            ordered_at: created_at,
            status_changed_at: created_at,
            closed_at: None,
            quirks: None,
        };
        if spec.with_payments {
            let amount = State::grand_total(&order);
            let payment = build_payment(
                &mut state,
                PaymentSpec {
                    payment_method_id: 2,
                    amount,
                    status: "paid".into(),
                    currency: "UAH".into(),
                    transaction_uuid: Some(format!("tx-{id}")),
                    description: None,
                    payment_date: Some(created_at),
                    webhook: false,
                },
                created_at,
            );
            order.payments.push(payment);
        }
        order.payment_status = payment_status(&order);
        state.orders.insert(id, order);
        ids.push(id);
    }
    HttpResponse::Ok().json(json!({"ids": ids}))
}

async fn get_order(sim: web::Data<Sim>, id: web::Path<i64>) -> HttpResponse {
    let state = sim.lock();
    match state.orders.get(&id.into_inner()) {
        Some(order) => HttpResponse::Ok().json(state.render_order(order, &all_includes())),
        None => not_found(),
    }
}

async fn delete_order(sim: web::Data<Sim>, id: web::Path<i64>) -> HttpResponse {
    match sim.lock().orders.remove(&id.into_inner()) {
        Some(_) => HttpResponse::NoContent().finish(),
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct StatusChange {
    status_id: i64,
    /// Fire the automation's "Send Webhook" (default true, as a configured trigger would).
    #[serde(default = "yes")]
    webhook: bool,
}

fn yes() -> bool {
    true
}

async fn put_order_status(
    sim: web::Data<Sim>,
    id: web::Path<i64>,
    change: web::Json<StatusChange>,
) -> HttpResponse {
    let id = id.into_inner();
    let change = change.into_inner();
    {
        let mut state = sim.lock();
        let closing = state.status(change.status_id).map(|s| s.is_closing_order);
        let Some(order) = state.orders.get_mut(&id) else {
            return not_found();
        };
        let now = Utc::now();
        order.status_id = change.status_id;
        order.status_changed_at = now;
        order.updated_at = now;
        order.closed_at = closing.unwrap_or(false).then_some(now);
    }
    let deliveries = if change.webhook {
        fire(&sim, id, "order.change_order_status").await
    } else {
        Vec::new()
    };
    HttpResponse::Ok().json(json!({"deliveries": deliveries}))
}

#[derive(Deserialize)]
struct BulkStatusChange {
    order_ids: Vec<i64>,
    status_id: i64,
    #[serde(default = "yes")]
    webhook: bool,
}

/// Changes many orders' status at once (a manager's bulk action); the automation fires one
/// webhook per order, as keyCRM does.
async fn put_orders_status(
    sim: web::Data<Sim>,
    change: web::Json<BulkStatusChange>,
) -> HttpResponse {
    let change = change.into_inner();
    {
        let mut state = sim.lock();
        let closing = state
            .status(change.status_id)
            .map(|s| s.is_closing_order)
            .unwrap_or(false);
        let now = Utc::now();
        for id in &change.order_ids {
            let Some(order) = state.orders.get_mut(id) else {
                return not_found();
            };
            order.status_id = change.status_id;
            order.status_changed_at = now;
            order.updated_at = now;
            order.closed_at = closing.then_some(now);
        }
    }
    let mut deliveries = Vec::new();
    if change.webhook {
        for id in change.order_ids {
            deliveries.extend(fire(&sim, id, "order.change_order_status").await);
        }
    }
    HttpResponse::Ok().json(json!({"deliveries": deliveries}))
}

async fn post_payment(
    sim: web::Data<Sim>,
    id: web::Path<i64>,
    spec: web::Json<PaymentSpec>,
) -> HttpResponse {
    let id = id.into_inner();
    let spec = spec.into_inner();
    let webhook = spec.webhook;
    let payment = {
        let mut state = sim.lock();
        if !state.orders.contains_key(&id) {
            return not_found();
        }
        let now = Utc::now();
        let payment = build_payment(&mut state, spec, now);
        let Some(order) = state.orders.get_mut(&id) else {
            return not_found();
        };
        order.payments.push(payment.clone());
        order.payment_status = payment_status(order);
        order.updated_at = now;
        payment
    };
    let deliveries = if webhook {
        fire(&sim, id, "order.change_payment_status").await
    } else {
        Vec::new()
    };
    HttpResponse::Ok().json(json!({"payment_id": payment.id, "deliveries": deliveries}))
}

async fn touch_order(sim: web::Data<Sim>, id: web::Path<i64>) -> HttpResponse {
    let mut state = sim.lock();
    match state.orders.get_mut(&id.into_inner()) {
        Some(order) => {
            order.updated_at = Utc::now();
            HttpResponse::NoContent().finish()
        }
        None => not_found(),
    }
}

#[derive(Deserialize)]
struct LinesChange {
    lines: Vec<LineSpec>,
    /// Fire `order.change_order_status`-style automation afterwards (default false).
    #[serde(default)]
    webhook: bool,
}

/// Replaces an order's lines, as a manager editing the order in keyCRM would.
async fn put_order_lines(
    sim: web::Data<Sim>,
    id: web::Path<i64>,
    change: web::Json<LinesChange>,
) -> HttpResponse {
    let id = id.into_inner();
    let change = change.into_inner();
    {
        let mut state = sim.lock();
        if !state.orders.contains_key(&id) {
            return not_found();
        }
        let lines: Vec<Line> = change
            .lines
            .into_iter()
            .map(|l| build_line(&mut state, l))
            .collect();
        let Some(order) = state.orders.get_mut(&id) else {
            return not_found();
        };
        order.lines = lines;
        order.updated_at = Utc::now();
        order.payment_status = payment_status(order);
    }
    let deliveries = if change.webhook {
        fire(&sim, id, "order.change_order_status").await
    } else {
        Vec::new()
    };
    HttpResponse::Ok().json(json!({"deliveries": deliveries}))
}
