//! Customer orders (active and archive) with lines and payments.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_db::integrations::IntegrationSettings;

use crate::production::ProductionOrderView;
use sklad_db::orders::{CustomerOrder, OrderFilter, OrderRef};
use sklad_domain::nomenclature::{Property, stored_properties};
use sklad_domain::orders::{ShipmentState, kept_shipment_note};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::page::{Page, Paging};

/// An order named in a path: sklad's UUID or keyCRM's numeric id.
pub fn order_ref(id: &str) -> Result<OrderRef, ApiError> {
    match (Uuid::parse_str(id), id.parse::<i64>()) {
        (Ok(uuid), _) => Ok(OrderRef::Id(uuid)),
        (_, Ok(keycrm)) => Ok(OrderRef::Keycrm(keycrm)),
        _ => Err(ApiError::not_found("no such order")),
    }
}

/// Decimals are stored with four places; answers carry only the significant ones
/// (`1425.5`, not `1425.5000`).
pub fn normalize(value: Option<Decimal>) -> Option<Decimal> {
    value.map(|d| d.normalize())
}

/// Filters of `GET /orders`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct OrderQuery {
    /// `true`: the archive; `false`: active orders; absent: both.
    pub archived: Option<bool>,
    /// keyCRM status id.
    pub status_id: Option<i64>,
    /// Only orders sklad changed at or after this instant (RFC 3339).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only orders whose shipment is in this state (`waiting`: in a ship status, short of stock).
    pub shipment: Option<ShipmentState>,
    /// A keyCRM order id or number (exact), or part of the buyer's name, phone or email.
    #[param(max_length = 200)]
    pub q: Option<String>,
}

/// The buyer as keyCRM named them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Buyer {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A customer order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderView {
    pub id: Uuid,
    pub keycrm_id: i64,
    /// The order's number in its source (keyCRM `source_uuid`).
    pub number: Option<String>,
    pub status_id: Option<i64>,
    pub status_name: Option<String>,
    pub status_group_id: Option<i64>,
    pub grand_total: Option<Decimal>,
    pub total_discount: Option<Decimal>,
    pub payments_total: Option<Decimal>,
    pub payment_status: Option<String>,
    pub buyer: Buyer,
    pub buyer_comment: Option<String>,
    pub manager_comment: Option<String>,
    /// In the archive (its status is one of the archive statuses).
    pub archived: bool,
    pub archived_at: Option<DateTime<Utc>>,
    /// keyCRM answered 404 for this order.
    pub deleted_in_keycrm: bool,
    pub keycrm_created_at: Option<DateTime<Utc>>,
    pub keycrm_updated_at: Option<DateTime<Utc>>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
    /// The shipment that wrote the lines off (on a ship status, or `POST /orders/{id}/ship`).
    pub shipped_movement_id: Option<Uuid>,
    pub shipment: ShipmentView,
}

/// Where the order's shipment stands.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ShipmentView {
    pub state: ShipmentState,
    /// The return movement, once the order came back.
    pub returned_movement_id: Option<Uuid>,
    /// Waiting since (the first time the order was due and a line was short).
    pub waiting_since: Option<DateTime<Utc>>,
    /// Why it waits: which line is short, in which warehouse.
    pub waiting_reason: Option<String>,
    /// Holding its lines in its ship warehouse (a reserve status) since.
    pub reserved_since: Option<DateTime<Utc>>,
    /// What the state means when it is not obvious (a shipped order that left the ship
    /// statuses without entering a return status keeps its shipment).
    pub note: Option<String>,
}

impl OrderView {
    /// Adds what the account's ship and return statuses say about the shipment.
    fn noting(mut self, settings: &IntegrationSettings) -> Self {
        self.shipment.note = kept_shipment_note(
            self.shipment.state,
            self.status_id,
            &settings.ship_status_ids,
            &settings.return_status_ids,
        )
        .map(str::to_owned);
        self
    }
}

impl From<CustomerOrder> for OrderView {
    fn from(order: CustomerOrder) -> Self {
        let o = order.fields;
        Self {
            id: order.id,
            keycrm_id: o.keycrm_id,
            number: o.number,
            status_id: o.status_id,
            status_name: o.status_name,
            status_group_id: o.status_group_id,
            grand_total: normalize(o.grand_total),
            total_discount: normalize(o.total_discount),
            payments_total: normalize(o.payments_total),
            payment_status: o.payment_status,
            buyer: Buyer {
                name: o.buyer_name,
                phone: o.buyer_phone,
                email: o.buyer_email,
            },
            buyer_comment: o.buyer_comment,
            manager_comment: o.manager_comment,
            archived: order.archived_at.is_some(),
            archived_at: order.archived_at,
            deleted_in_keycrm: order.deleted_in_keycrm_at.is_some(),
            keycrm_created_at: o.keycrm_created_at,
            keycrm_updated_at: o.keycrm_updated_at,
            ordered_at: o.ordered_at,
            closed_at: o.closed_at,
            synced_at: order.synced_at,
            shipped_movement_id: order.shipped_movement_id,
            shipment: ShipmentView {
                state: ShipmentState::of(
                    order.shipped_movement_id.is_some(),
                    order.returned_movement_id.is_some(),
                    order.shipment_waiting_since.is_some(),
                    order.reserved_at.is_some(),
                ),
                returned_movement_id: order.returned_movement_id,
                waiting_since: order.shipment_waiting_since,
                waiting_reason: order.shipment_waiting_reason,
                reserved_since: order.reserved_at,
                note: None,
            },
        }
    }
}

/// An order line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineView {
    pub position: i32,
    pub product_id: Uuid,
    pub name: String,
    pub sku: String,
    pub quantity: Decimal,
    pub unit: Option<String>,
    pub price: Option<Decimal>,
    pub price_sold: Option<Decimal>,
    pub discount: Option<Decimal>,
    /// Line-level properties (what this sale carried, e.g. engraving text).
    pub properties: Vec<Property>,
    /// The product is counted in warehouses; a line of one that is not (a service) never
    /// reserves, ships, waits, corrects, returns or reaches keyCRM's stock.
    pub tracks_stock: bool,
}

/// A payment (bank transaction) of an order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    pub keycrm_payment_id: i64,
    pub payment_method_id: Option<i64>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub payment_date: Option<DateTime<Utc>>,
    pub transaction_uuid: Option<String>,
    pub description: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// An order with its lines, payments and the keyCRM document as last fetched.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderDetailView {
    #[serde(flatten)]
    pub order: OrderView,
    pub lines: Vec<LineView>,
    pub payments: Vec<PaymentView>,
    /// Production orders planned for it (a production status), with their states.
    pub production_orders: Vec<ProductionOrderView>,
    #[schema(value_type = Object)]
    pub keycrm_document: Value,
}

/// The account's customer orders, newest keyCRM change first.
#[utoipa::path(
    tag = "Orders",
    params(OrderQuery, Paging),
    responses((status = 200, body = Page<OrderView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<OrderQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = list(&state, account, query.into_inner(), paging.resolve()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of the account's orders (the API's and the console's one way to list them).
pub async fn list(
    state: &ApiState,
    account: AccountId,
    query: OrderQuery,
    (page, per_page): (i64, i64),
) -> Result<Page<OrderView>, ApiError> {
    let search = crate::page::search(query.q)?;
    let filter = OrderFilter {
        archived: query.archived,
        status_id: query.status_id,
        updated_since: query.updated_since,
        shipment: query.shipment,
        search,
        page,
        per_page,
    };
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::orders::list(&mut conn, account.0, &filter).await?;
    let settings = sklad_db::integrations::get(&mut conn, account.0)
        .await?
        .settings;
    let rows: Vec<OrderView> = rows
        .into_iter()
        .map(|o| OrderView::from(o).noting(&settings))
        .collect();
    Ok(Page::<OrderView>::of(rows, (page, per_page), total))
}

/// One order by sklad id (UUID) or keyCRM id (a number).
#[utoipa::path(
    tag = "Orders",
    params(("id" = String, Path, description = "sklad order id (UUID) or keyCRM order id")),
    responses((status = 200, body = OrderDetailView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(detail(&state, account, &id).await?))
}

/// One order with lines, payments and production (the API's and the console's one way).
pub async fn detail(
    state: &ApiState,
    account: AccountId,
    id: &str,
) -> Result<OrderDetailView, ApiError> {
    let reference = order_ref(id)?;
    let mut conn = state.db.conn().await?;
    let detail = sklad_db::orders::find(&mut conn, account.0, reference)
        .await?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    let keycrm_document = detail.order.fields.raw.clone();
    let settings = sklad_db::integrations::get(&mut conn, account.0)
        .await?
        .settings;
    let production_orders =
        sklad_db::production::for_order(&mut conn, account.0, detail.order.id).await?;
    Ok(OrderDetailView {
        production_orders: production_orders.into_iter().map(Into::into).collect(),
        order: OrderView::from(detail.order).noting(&settings),
        lines: detail
            .lines
            .into_iter()
            .map(|l| LineView {
                tracks_stock: !detail.not_stocked.contains(&l.product_id),
                position: l.position,
                product_id: l.product_id,
                name: l.name,
                sku: l.sku,
                quantity: l.quantity.normalize(),
                unit: l.unit,
                price: normalize(l.price),
                price_sold: normalize(l.price_sold),
                discount: normalize(l.discount),
                properties: stored_properties(&l.properties),
            })
            .collect(),
        payments: detail
            .payments
            .into_iter()
            .map(|payment| {
                let p = payment.fields;
                PaymentView {
                    id: p.id,
                    keycrm_payment_id: p.keycrm_payment_id,
                    payment_method_id: p.payment_method_id,
                    amount: normalize(p.amount),
                    currency: p.currency,
                    status: p.status,
                    payment_date: p.payment_date,
                    transaction_uuid: p.transaction_uuid,
                    description: p.description,
                    updated_at: payment.updated_at,
                }
            })
            .collect(),
        keycrm_document,
    })
}
