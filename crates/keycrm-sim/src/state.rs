//! The simulator's in-memory keyCRM: catalogue, orders, statuses, warehouses, stocks, and
//! the records tests inspect (requests received, stock writes, webhook deliveries).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::loose;

/// A name/value property (offer or line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub id: i64,
    pub name: String,
    pub alias: String,
    pub group_id: i64,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub is_closing_order: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaymentMethod {
    pub id: i64,
    pub name: String,
    pub alias: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Warehouse {
    pub id: i64,
    pub name: String,
}

/// A product variant in keyCRM's catalogue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Offer {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub price: Decimal,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub purchased_price: Decimal,
    #[serde(default)]
    pub barcode: Option<String>,
    /// The product's unit ("шт").
    #[serde(default)]
    pub unit: Option<String>,
    /// The product is archived in keyCRM.
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Buyer {
    pub id: i64,
    pub full_name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// An order line; `offer_id: None` is a one-time product typed in by hand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Line {
    pub id: i64,
    pub name: String,
    pub sku: Option<String>,
    pub price: Decimal,
    pub quantity: Decimal,
    pub discount_amount: Decimal,
    pub unit_type: Option<String>,
    pub properties: Vec<Property>,
    pub offer_id: Option<i64>,
    pub warehouse_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub payment_method_id: i64,
    pub amount: Decimal,
    pub currency: String,
    pub status: String,
    pub transaction_uuid: Option<String>,
    pub description: Option<String>,
    pub payment_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub source_id: i64,
    pub source_uuid: Option<String>,
    pub status_id: i64,
    pub payment_status: String,
    pub buyer: Option<Buyer>,
    pub manager_comment: Option<String>,
    pub lines: Vec<Line>,
    pub payments: Vec<Payment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ordered_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Fields laid over the rendered order as they are (junk keyCRM might send).
    pub quirks: Option<serde_json::Map<String, Value>>,
}

/// One API request the simulator answered.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
}

/// One `PUT /offers/stocks` the simulator received.
#[derive(Debug, Clone, Serialize)]
pub struct StockWrite {
    pub seq: u64,
    pub at_ms: i64,
    pub warehouse_id: Option<i64>,
    pub items: Vec<Value>,
    pub status: u16,
}

/// One webhook the simulator fired.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookDelivery {
    pub seq: u64,
    pub url: String,
    pub event: String,
    pub order_id: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub body: Value,
}

/// Faults injected into the keyCRM API (never into the control API).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Added to every API answer.
    #[serde(default)]
    pub latency_ms: u64,
    /// The next N API requests answer `error_status`.
    #[serde(default)]
    pub error_next: u32,
    /// Share (0..1) of API requests that answer `error_status`.
    #[serde(default)]
    pub error_rate: f64,
    /// Status for injected errors (default 500).
    #[serde(default)]
    pub error_status: Option<u16>,
    /// The next N API requests have their connection dropped mid-answer.
    #[serde(default)]
    pub drop_next: u32,
    /// The next N API requests answer 429 regardless of the real limit.
    #[serde(default)]
    pub rate_limit_next: u32,
}

/// keyCRM's per-key limit, Laravel style: a fixed window opened by the first request.
#[derive(Debug)]
pub struct RateWindow {
    pub started: Instant,
    pub count: u32,
}

/// Everything the simulator knows.
#[derive(Debug)]
pub struct State {
    pub api_keys: Vec<String>,
    pub requests_per_minute: u32,
    pub window: Duration,
    pub windows: HashMap<String, RateWindow>,
    pub statuses: Vec<Status>,
    pub payment_methods: Vec<PaymentMethod>,
    pub warehouses: BTreeMap<i64, Warehouse>,
    pub offers: BTreeMap<i64, Offer>,
    /// (keyCRM warehouse id, offer id) → quantity.
    pub stocks: BTreeMap<(i64, i64), Decimal>,
    pub orders: BTreeMap<i64, Order>,
    /// Orders are numbered on their own from 1, as in a keyCRM account.
    pub next_order_id: i64,
    pub next_id: i64,
    pub webhook_urls: Vec<String>,
    pub faults: Faults,
    pub requests: VecDeque<RequestRecord>,
    pub stock_writes: Vec<StockWrite>,
    pub deliveries: Vec<WebhookDelivery>,
    pub seq: u64,
    pub rate_limited_total: u64,
}

/// Requests kept in the log (oldest dropped first).
const REQUEST_LOG_LIMIT: usize = 200_000;

impl State {
    pub fn new(api_keys: Vec<String>, requests_per_minute: u32) -> Self {
        let mut state = Self {
            api_keys,
            requests_per_minute,
            window: Duration::from_secs(60),
            windows: HashMap::new(),
            statuses: Vec::new(),
            payment_methods: Vec::new(),
            warehouses: BTreeMap::new(),
            offers: BTreeMap::new(),
            stocks: BTreeMap::new(),
            orders: BTreeMap::new(),
            next_order_id: 0,
            next_id: 1000,
            webhook_urls: Vec::new(),
            faults: Faults::default(),
            requests: VecDeque::new(),
            stock_writes: Vec::new(),
            deliveries: Vec::new(),
            seq: 0,
            rate_limited_total: 0,
        };
        state.seed_reference_data();
        state
    }

    /// Statuses (a real account's set, trimmed), payment methods and one warehouse.
    pub fn seed_reference_data(&mut self) {
        let status = |id, name: &str, alias: &str, group_id, closing| Status {
            id,
            name: name.into(),
            alias: alias.into(),
            group_id,
            is_active: true,
            is_closing_order: closing,
        };
        self.statuses = vec![
            status(1, "Новий", "new", 1, false),
            status(2, "Погоджено", "approved", 2, false),
            status(3, "Комплектується", "picking", 3, false),
            status(4, "Відправлено", "shipped", 4, false),
            status(5, "Виконано", "completed", 5, true),
            status(6, "Скасовано", "canceled", 6, true),
            status(7, "Повернення", "returned", 6, true),
            status(20, "Матеріали", "materiali", 2, false),
            status(21, "Макет", "maket", 2, false),
            status(40, "Без файлу", "bez_failu", 2, false),
        ];
        self.payment_methods = vec![
            PaymentMethod {
                id: 1,
                name: "Готівка".into(),
                alias: "cash".into(),
            },
            PaymentMethod {
                id: 2,
                name: "Картка".into(),
                alias: "card".into(),
            },
            PaymentMethod {
                id: 3,
                name: "Накладений платіж".into(),
                alias: "cod".into(),
            },
        ];
        self.warehouses.insert(
            1,
            Warehouse {
                id: 1,
                name: "Основний".into(),
            },
        );
    }

    pub fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The next order id (skipping ids taken by orders created with an explicit id).
    pub fn next_order_id(&mut self) -> i64 {
        loop {
            self.next_order_id += 1;
            if !self.orders.contains_key(&self.next_order_id) {
                return self.next_order_id;
            }
        }
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn record_request(&mut self, method: &str, path: &str, query: &str, status: u16) {
        let seq = self.next_seq();
        self.requests.push_back(RequestRecord {
            seq,
            at_ms: Utc::now().timestamp_millis(),
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            status,
        });
        while self.requests.len() > REQUEST_LOG_LIMIT {
            self.requests.pop_front();
        }
    }

    pub fn status(&self, id: i64) -> Option<&Status> {
        self.statuses.iter().find(|s| s.id == id)
    }

    pub fn offer_by_sku(&self, sku: &str) -> Option<&Offer> {
        self.offers.values().find(|o| o.sku == sku)
    }

    /// Order total as keyCRM computes it: sum of (price − discount) × quantity.
    pub fn grand_total(order: &Order) -> Decimal {
        order
            .lines
            .iter()
            .map(|l| (l.price - l.discount_amount) * l.quantity)
            .sum()
    }

    fn payments_total(order: &Order) -> Decimal {
        order
            .payments
            .iter()
            .filter(|p| p.status == "paid")
            .map(|p| p.amount)
            .sum()
    }

    /// The flat order row, as in the "Send Webhook" `context` (no includes).
    pub fn render_order_row(&self, order: &Order) -> Value {
        let id = order.id;
        let group = self.status(order.status_id).map(|s| s.group_id);
        let total = Self::grand_total(order);
        json!({
            "id": id,
            "source_uuid": order.source_uuid,
            "global_source_uuid": null,
            "status_on_source": null,
            "source_id": order.source_id,
            "client_id": order.buyer.as_ref().map(|b| b.id),
            "grand_total": loose::decimal(id, "grand_total", total),
            "total_discount": loose::decimal(id, "total_discount",
                order.lines.iter().map(|l| l.discount_amount * l.quantity).sum()),
            "margin_sum": loose::decimal(id, "margin_sum", total),
            "expenses_sum": 0,
            "discount_amount": null,
            "discount_percent": null,
            "shipping_price": loose::decimal(id, "shipping_price", Decimal::ZERO),
            "taxes": null,
            "register_id": null,
            "fiscal_result": [],
            "fiscal_status": null,
            "shipping_type_id": null,
            "manager_id": 1,
            "status_group_id": group,
            "status_id": order.status_id,
            "closed_from": null,
            "status_changed_at": loose::timestamp(id, "status_changed_at", order.status_changed_at),
            "status_expired_at": null,
            "parent_id": null,
            "manager_comment": order.manager_comment,
            "client_comment": null,
            "buyer_comment": null,
            "payment_status": order.payment_status,
            "is_gift": false,
            "promocode": null,
            "created_at": loose::timestamp(id, "created_at", order.created_at),
            "updated_at": loose::timestamp(id, "updated_at", order.updated_at),
            "closed_at": loose::timestamp_opt(id, "closed_at", order.closed_at),
            "deleted_at": null,
            "ordered_at": loose::timestamp(id, "ordered_at", order.ordered_at),
            "source_updated_at": null,
            "payments_total": loose::decimal(id, "payments_total", Self::payments_total(order)),
            "is_expired": false,
            "has_reserves": false,
        })
    }

    /// An order with the requested includes (`products.offer,payments,status,buyer`, …).
    pub fn render_order(&self, order: &Order, includes: &[String]) -> Value {
        let mut row = self.render_order_row(order);
        let wants = |name: &str| {
            includes
                .iter()
                .any(|i| i == name || i.starts_with(&format!("{name}.")))
        };
        let Some(obj) = row.as_object_mut() else {
            return row;
        };
        if wants("products") {
            let with_offer = includes.iter().any(|i| i == "products.offer");
            let lines: Vec<Value> = order
                .lines
                .iter()
                .map(|l| self.render_line(l, with_offer))
                .collect();
            obj.insert("products".into(), Value::Array(lines));
        }
        if wants("payments") {
            let payments: Vec<Value> = order.payments.iter().map(render_payment).collect();
            obj.insert("payments".into(), Value::Array(payments));
        }
        if wants("status") {
            let status = self.status(order.status_id).map(|s| {
                json!({"id": s.id, "name": s.name, "alias": s.alias, "is_active": s.is_active,
                       "group_id": s.group_id, "is_closing_order": s.is_closing_order,
                       "is_reserved": false,
                       "created_at": "2020-05-16 16:56:44", "updated_at": "2020-05-16 16:56:44"})
            });
            obj.insert("status".into(), loose::object_or_empty_array(status));
        }
        if wants("buyer") {
            let buyer = order.buyer.as_ref().map(|b| {
                json!({"id": b.id, "full_name": b.full_name, "email": b.email, "phone": b.phone,
                       "company_id": null, "manager_id": null})
            });
            obj.insert("buyer".into(), loose::object_or_empty_array(buyer));
        }
        if let Some(quirks) = &order.quirks {
            for (key, value) in quirks {
                obj.insert(key.clone(), value.clone());
            }
        }
        row
    }

    fn render_line(&self, line: &Line, with_offer: bool) -> Value {
        let id = line.id;
        let mut value = json!({
            "id": id,
            "sku": line.sku,
            "variation_id": null,
            "name": line.name,
            "upsale": false,
            "price": loose::decimal(id, "price", line.price),
            "discount_amount": loose::decimal(id, "discount_amount", line.discount_amount),
            "discount_percent": 0,
            "total_discount": loose::decimal(id, "total_discount", line.discount_amount * line.quantity),
            "purchased_price": 0,
            "price_sold": loose::decimal(id, "price_sold", line.price - line.discount_amount),
            "quantity": loose::decimal(id, "quantity", line.quantity),
            "unit_type": line.unit_type,
            "comment": null,
            "properties": line.properties,
            "product_status_id": null,
            "shipment_type": "warehouse",
            "warehouse": line.warehouse_id
                .and_then(|w| self.warehouses.get(&w))
                .map(|w| json!({"id": w.id, "name": w.name, "description": null, "is_active": true})),
            "picture": {"thumbnail": null},
            "in_reserve": 0,
        });
        if with_offer {
            let offer = line.offer_id.and_then(|o| self.offers.get(&o)).map(|o| {
                json!({
                    "id": o.id,
                    "product_id": o.product_id,
                    "sku": o.sku,
                    "barcode": null,
                    "price": loose::decimal(o.id, "offer_price", o.price),
                    "purchased_price": 0,
                    "quantity": loose::decimal(o.id, "offer_qty", self.offer_stock(o.id)),
                    "weight": null, "length": null, "width": null, "height": null,
                    "properties": o.properties,
                })
            });
            if let Some(obj) = value.as_object_mut() {
                obj.insert("offer".into(), offer.unwrap_or(Value::Null));
            }
        }
        value
    }

    /// Total stock of an offer across warehouses.
    pub fn offer_stock(&self, offer_id: i64) -> Decimal {
        self.warehouses
            .keys()
            .filter_map(|w| self.stocks.get(&(*w, offer_id)))
            .copied()
            .sum()
    }

    /// An offer's stock row, optionally with per-warehouse details.
    pub fn render_offer_stock(&self, offer: &Offer, details: bool) -> Value {
        let mut row = json!({
            "id": offer.id,
            "sku": offer.sku,
            "price": loose::decimal(offer.id, "price", offer.price),
            "purchased_price": 0,
            "quantity": loose::decimal(offer.id, "quantity", self.offer_stock(offer.id)),
            "reserve": 0,
        });
        if details {
            let per_warehouse: Vec<Value> = self
                .warehouses
                .values()
                .map(|w| {
                    let q = self
                        .stocks
                        .get(&(w.id, offer.id))
                        .copied()
                        .unwrap_or_default();
                    json!({"id": w.id, "name": w.name,
                           "quantity": loose::decimal(offer.id ^ w.id, "wq", q), "reserve": 0})
                })
                .collect();
            if let Some(obj) = row.as_object_mut() {
                obj.insert("warehouse".into(), Value::Array(per_warehouse));
            }
        }
        row
    }
}

fn render_payment(p: &Payment) -> Value {
    let id = p.id;
    json!({
        "id": id,
        "destination_id": null,
        "payment_method_id": p.payment_method_id,
        "amount": loose::decimal(id, "amount", p.amount),
        "actual_currency": p.currency,
        "transaction_uuid": p.transaction_uuid,
        "description": p.description,
        "status": p.status,
        "fiscal_result": [],
        "payment_date": loose::timestamp(id, "payment_date", p.payment_date),
        "created_at": loose::timestamp(id, "created_at", p.created_at),
        "updated_at": loose::timestamp(id, "updated_at", p.updated_at),
    })
}

/// A Laravel-style page envelope (with `last_page`, which the live API sends).
pub fn page_envelope(
    path: &str,
    items: Vec<Value>,
    total: usize,
    page: usize,
    per_page: usize,
) -> Value {
    let last_page = total.div_ceil(per_page).max(1);
    let url = |p: usize| format!("https://openapi.keycrm.app/v1/{path}?page={p}");
    let from = (page - 1) * per_page + 1;
    let to = from + items.len().saturating_sub(1);
    let has_items = !items.is_empty();
    json!({
        "total": total,
        "current_page": page,
        "per_page": per_page,
        "last_page": last_page,
        "from": if has_items { json!(from) } else { Value::Null },
        "to": if has_items { json!(to) } else { Value::Null },
        "data": items,
        "path": format!("https://openapi.keycrm.app/v1/{path}"),
        "first_page_url": url(1),
        "last_page_url": url(last_page),
        "next_page_url": if page < last_page { json!(url(page + 1)) } else { Value::Null },
        "prev_page_url": if page > 1 { json!(url(page - 1)) } else { Value::Null },
    })
}
