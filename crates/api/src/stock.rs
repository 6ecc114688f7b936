//! Stock: warehouses, manual products, movements and balances, shipping orders, keyCRM
//! warehouses and the mapping, the stock push log, resync and reconcile.

use std::collections::HashMap;

use actix_web::{HttpResponse, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_db::outbox::NewOutboxMessage;
use sklad_db::stock::{Change, LineInput, MovementInput, Recorded, Refused};
use sklad_db::warehouses::Warehouse;
use sklad_domain::stock::{self, MovementKind};
use sklad_events::v1::{StockMovementLine, StockMovementRecorded};
use sklad_events::{Event, Message};
use sklad_keycrm::{KeycrmClient, MAX_PAGE_SIZE, Priority};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::orders::{Paging, ProductView};

fn normalize(d: Decimal) -> Decimal {
    d.normalize()
}

// ---------------------------------------------------------------- warehouses

/// A sklad warehouse.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarehouseView {
    pub id: Uuid,
    pub name: String,
    /// Whether movements may take a balance below zero here (default: refused with 409).
    pub allow_negative: bool,
    /// The keyCRM warehouse its balances are pushed to, if mapped.
    pub keycrm_warehouse_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<Warehouse> for WarehouseView {
    fn from(w: Warehouse) -> Self {
        Self {
            id: w.id,
            name: w.name,
            allow_negative: w.allow_negative,
            keycrm_warehouse_id: w.keycrm_warehouse_id,
            created_at: w.created_at,
        }
    }
}

/// `{"data": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarehouseList {
    pub data: Vec<WarehouseView>,
}

/// A new warehouse.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    pub name: String,
    #[serde(default)]
    pub allow_negative: bool,
}

/// A change to a warehouse.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseChange {
    pub name: Option<String>,
    pub allow_negative: Option<bool>,
}

fn check_name(name: &str) -> Result<(), ApiError> {
    let len = name.trim().chars().count();
    if !(1..=200).contains(&len) {
        return Err(ApiError::validation("name must be 1–200 characters"));
    }
    Ok(())
}

fn duplicate(code: &'static str, what: &'static str) -> impl Fn(sklad_db::DbError) -> ApiError {
    move |err| {
        if err.is_unique_violation() {
            ApiError::conflict(code, format!("{what} already exists"))
        } else {
            ApiError::from(err)
        }
    }
}

/// The account's warehouses.
#[utoipa::path(tag = "Stock", responses((status = 200, body = WarehouseList), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/warehouses")]
pub async fn list_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let data = sklad_db::warehouses::list(&mut conn, account.0).await?;
    Ok(HttpResponse::Ok().json(WarehouseList {
        data: data.into_iter().map(WarehouseView::from).collect(),
    }))
}

/// Creates a warehouse (names are unique per account).
#[utoipa::path(tag = "Stock", request_body = NewWarehouse,
    responses((status = 201, body = WarehouseView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/warehouses")]
pub async fn create_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<NewWarehouse>,
) -> Result<HttpResponse, ApiError> {
    check_name(&body.name)?;
    let mut conn = state.db.conn().await?;
    let created =
        sklad_db::warehouses::create(&mut conn, account.0, body.name.trim(), body.allow_negative)
            .await
            .map_err(duplicate("warehouse_exists", "a warehouse with this name"))?;
    Ok(HttpResponse::Created().json(WarehouseView::from(created)))
}

/// Renames a warehouse or changes whether it allows negative balances.
#[utoipa::path(tag = "Stock", request_body = WarehouseChange, params(("id" = Uuid, Path)),
    responses((status = 200, body = WarehouseView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/warehouses/{id}")]
pub async fn update_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    body: web::Json<WarehouseChange>,
) -> Result<HttpResponse, ApiError> {
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let mut conn = state.db.conn().await?;
    let updated = sklad_db::warehouses::update(
        &mut conn,
        account.0,
        id.into_inner(),
        body.name.as_deref().map(str::trim),
        body.allow_negative,
    )
    .await
    .map_err(duplicate("warehouse_exists", "a warehouse with this name"))?
    .ok_or_else(|| ApiError::not_found("no such warehouse"))?;
    Ok(HttpResponse::Ok().json(WarehouseView::from(updated)))
}

// ---------------------------------------------------------------- products

/// A product entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub price: Option<Decimal>,
    pub unit: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Option<Value>,
}

/// A change to a product; omitted fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub price: Option<Decimal>,
    pub unit: Option<String>,
    #[schema(value_type = Object)]
    pub properties: Option<Value>,
}

fn check_sku(sku: &str) -> Result<(), ApiError> {
    let len = sku.trim().chars().count();
    if !(1..=200).contains(&len) {
        return Err(ApiError::validation("sku must be 1–200 characters"));
    }
    Ok(())
}

/// Creates a product (SKUs are unique per account).
#[utoipa::path(tag = "Products", request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/products")]
pub async fn create_product(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<NewProduct>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    check_sku(&body.sku)?;
    check_name(&body.name)?;
    let mut conn = state.db.conn().await?;
    let created = sklad_db::products::create_manual(
        &mut conn,
        account.0,
        &sklad_db::products::ManualProduct {
            sku: body.sku.trim().to_owned(),
            name: body.name.trim().to_owned(),
            price: body.price,
            unit: body.unit,
            properties: body.properties.unwrap_or_else(|| Value::Array(Vec::new())),
        },
    )
    .await
    .map_err(duplicate("sku_exists", "a product with this SKU"))?;
    Ok(HttpResponse::Created().json(ProductView::from(created)))
}

/// Changes a product.
#[utoipa::path(tag = "Products", request_body = ProductUpdate, params(("id" = Uuid, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    body: web::Json<ProductUpdate>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if let Some(sku) = &body.sku {
        check_sku(sku)?;
    }
    if let Some(name) = &body.name {
        check_name(name)?;
    }
    let change = sklad_db::products::ProductChange {
        sku: body.sku.map(|s| s.trim().to_owned()),
        base_name: body.name.as_ref().map(|n| n.trim().to_owned()),
        name: body.name.map(|n| n.trim().to_owned()),
        price: body.price,
        unit: body.unit,
        properties: body.properties,
    };
    let mut conn = state.db.conn().await?;
    let updated = sklad_db::products::update(&mut conn, account.0, id.into_inner(), &change)
        .await
        .map_err(duplicate("sku_exists", "a product with this SKU"))?
        .ok_or_else(|| ApiError::not_found("no such product"))?;
    Ok(HttpResponse::Ok().json(ProductView::from(updated)))
}

// ---------------------------------------------------------------- movements

/// One line of a movement: a product (by id or SKU) and a quantity.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementLineInput {
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    /// How many (positive); for `inventory`, the counted quantity (zero or more).
    pub quantity: Decimal,
}

/// A stock document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMovement {
    /// `receipt`, `write_off`, `transfer` or `inventory`.
    pub kind: String,
    /// The warehouse of a receipt, write-off or inventory.
    pub warehouse_id: Option<Uuid>,
    /// A transfer's source and destination.
    pub from_warehouse_id: Option<Uuid>,
    pub to_warehouse_id: Option<Uuid>,
    pub lines: Vec<MovementLineInput>,
    pub note: Option<String>,
    /// Send the same key again and the movement recorded the first time is returned.
    pub idempotency_key: Option<String>,
}

/// One balance change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovementLineView {
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub quantity_delta: Decimal,
    pub balance_after: Decimal,
}

/// A recorded movement.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovementView {
    pub id: Uuid,
    pub kind: String,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub lines: Vec<MovementLineView>,
}

impl From<Recorded> for MovementView {
    fn from(r: Recorded) -> Self {
        Self {
            id: r.movement.id,
            kind: r.movement.kind,
            note: r.movement.note,
            order_id: r.movement.order_id,
            created_at: r.movement.created_at,
            lines: r
                .lines
                .into_iter()
                .map(|l| MovementLineView {
                    warehouse_id: l.warehouse_id,
                    product_id: l.product_id,
                    sku: l.sku,
                    product_name: l.product_name,
                    quantity_delta: normalize(l.quantity_delta),
                    balance_after: normalize(l.balance_after),
                })
                .collect(),
        }
    }
}

/// The outbox event announcing a recorded movement (written in the movement's transaction).
pub fn movement_event(
    account: Uuid,
) -> impl FnOnce(&Recorded) -> NewOutboxMessage + Send + 'static {
    move |recorded: &Recorded| {
        let event = StockMovementRecorded {
            movement_id: recorded.movement.id.to_string(),
            account_id: account.to_string(),
            recorded_at: Some(sklad_events::timestamp(recorded.movement.created_at)),
            kind: recorded.movement.kind.clone(),
            lines: recorded
                .lines
                .iter()
                .map(|l| StockMovementLine {
                    warehouse_id: l.warehouse_id.to_string(),
                    product_id: l.product_id.to_string(),
                    sku: l.sku.clone(),
                    quantity_delta: l.quantity_delta.normalize().to_string(),
                    balance_after: l.balance_after.normalize().to_string(),
                })
                .collect(),
        };
        NewOutboxMessage {
            account_id: account,
            message_id: recorded.movement.id,
            message_type: StockMovementRecorded::TYPE.to_owned(),
            routing_key: event.routing_key(),
            payload: event.encode_to_vec(),
        }
    }
}

fn refused(err: Refused) -> ApiError {
    match err {
        Refused::UnknownWarehouse(id) => {
            ApiError::validation(format!("warehouse {id} does not exist"))
        }
        Refused::UnknownProduct(id) => ApiError::validation(format!("product {id} does not exist")),
        err @ Refused::NegativeBalance { .. } => {
            ApiError::conflict("negative_balance", err.to_string())
        }
        Refused::AlreadyShipped => {
            ApiError::conflict("already_shipped", "the order was already shipped")
        }
        Refused::Db(db) => ApiError::from(db),
    }
}

/// Records a receipt, write-off, transfer or inventory adjustment. Balances change in the
/// same transaction as the ledger, and its event is published through the outbox.
#[utoipa::path(tag = "Stock", request_body = NewMovement,
    responses(
        (status = 201, body = MovementView),
        (status = 200, description = "The movement recorded earlier with this idempotency key", body = MovementView),
        (status = 409, description = "A balance would go negative where that is not allowed", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/movements")]
pub async fn create_movement(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<NewMovement>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let kind = MovementKind::parse(&body.kind)
        .filter(|k| *k != MovementKind::Shipment)
        .ok_or_else(|| {
            ApiError::validation("kind must be receipt, write_off, transfer or inventory")
        })?;
    let quantities: Vec<Decimal> = body.lines.iter().map(|l| l.quantity).collect();
    stock::validate(kind, &quantities).map_err(|e| ApiError::validation(e.to_string()))?;

    let mut conn = state.db.conn().await?;
    let skus: Vec<String> = body.lines.iter().filter_map(|l| l.sku.clone()).collect();
    let by_sku = sklad_db::products::ids_by_sku(&mut conn, account.0, &skus).await?;
    let mut products = Vec::with_capacity(body.lines.len());
    for (i, line) in body.lines.iter().enumerate() {
        let product = match (&line.product_id, &line.sku) {
            (Some(id), _) => *id,
            (None, Some(sku)) => *by_sku.get(sku).ok_or_else(|| {
                ApiError::validation(format!("line {}: no product with SKU {sku}", i + 1))
            })?,
            (None, None) => {
                return Err(ApiError::validation(format!(
                    "line {}: give product_id or sku",
                    i + 1
                )));
            }
        };
        products.push((product, line.quantity));
    }
    let lines: Vec<LineInput> = match kind {
        MovementKind::Transfer => {
            let (Some(from), Some(to)) = (body.from_warehouse_id, body.to_warehouse_id) else {
                return Err(ApiError::validation(
                    "a transfer needs from_warehouse_id and to_warehouse_id",
                ));
            };
            if from == to {
                return Err(ApiError::validation(
                    stock::MovementError::SameWarehouse.to_string(),
                ));
            }
            products
                .iter()
                .flat_map(|(product, q)| {
                    let (out, into) = stock::transfer_deltas(*q);
                    [
                        LineInput {
                            warehouse_id: from,
                            product_id: *product,
                            change: Change::By(out),
                        },
                        LineInput {
                            warehouse_id: to,
                            product_id: *product,
                            change: Change::By(into),
                        },
                    ]
                })
                .collect()
        }
        _ => {
            let warehouse = body
                .warehouse_id
                .ok_or_else(|| ApiError::validation("this kind of movement needs warehouse_id"))?;
            products
                .iter()
                .map(|(product, q)| LineInput {
                    warehouse_id: warehouse,
                    product_id: *product,
                    change: if kind == MovementKind::Inventory {
                        Change::SetTo(*q)
                    } else {
                        Change::By(stock::delta(kind, *q))
                    },
                })
                .collect()
        }
    };
    let recorded = sklad_db::stock::record(
        &mut conn,
        account.0,
        MovementInput {
            kind,
            note: body.note,
            order_id: None,
            idempotency_key: body.idempotency_key,
            lines,
        },
        movement_event(account.0),
    )
    .await
    .map_err(refused)?;
    let status = if recorded.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    let mut status = status;
    Ok(status.json(MovementView::from(recorded)))
}

/// Filters of the movement history.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MovementQuery {
    pub warehouse_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// A page of movements.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MovementPage {
    pub data: Vec<MovementView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// The movement history, newest first.
#[utoipa::path(tag = "Stock", params(MovementQuery), responses((status = 200, body = MovementPage)), security(("bearer" = [])))]
#[get("/movements")]
pub async fn list_movements(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<MovementQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let mut conn = state.db.conn().await?;
    let product_id = match (&query.product_id, &query.sku) {
        (Some(id), _) => Some(*id),
        (None, Some(sku)) => {
            match sklad_db::products::ids_by_sku(&mut conn, account.0, std::slice::from_ref(sku))
                .await?
                .get(sku)
            {
                Some(id) => Some(*id),
                None => {
                    return Ok(HttpResponse::Ok().json(MovementPage {
                        data: vec![],
                        page,
                        per_page,
                        total: 0,
                    }));
                }
            }
        }
        (None, None) => None,
    };
    let filter = sklad_db::stock::MovementFilter {
        warehouse_id: query.warehouse_id,
        product_id,
        page,
        per_page,
    };
    let (rows, total) = sklad_db::stock::list(&mut conn, account.0, &filter).await?;
    Ok(HttpResponse::Ok().json(MovementPage {
        data: rows.into_iter().map(MovementView::from).collect(),
        page,
        per_page,
        total,
    }))
}

/// One movement with its lines.
#[utoipa::path(tag = "Stock", params(("id" = Uuid, Path)), responses((status = 200, body = MovementView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
#[get("/movements/{id}")]
pub async fn get_movement(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let found = sklad_db::stock::load(&mut conn, account.0, id.into_inner())
        .await?
        .ok_or_else(|| ApiError::not_found("no such movement"))?;
    Ok(HttpResponse::Ok().json(MovementView::from(found)))
}

/// Filters of `GET /balances`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct BalanceQuery {
    pub warehouse_id: Option<Uuid>,
    pub sku: Option<String>,
}

/// A balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceView {
    pub warehouse_id: Uuid,
    pub warehouse_name: String,
    pub product_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub quantity: Decimal,
    pub updated_at: DateTime<Utc>,
}

/// `{"data": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceList {
    pub data: Vec<BalanceView>,
}

/// Balances by warehouse and SKU.
#[utoipa::path(tag = "Stock", params(BalanceQuery), responses((status = 200, body = BalanceList)), security(("bearer" = [])))]
#[get("/balances")]
pub async fn list_balances(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<BalanceQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let rows = sklad_db::stock::balances(
        &mut conn,
        account.0,
        query.warehouse_id,
        query.sku.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(BalanceList {
        data: rows
            .into_iter()
            .map(|b| BalanceView {
                warehouse_id: b.warehouse_id,
                warehouse_name: b.warehouse_name,
                product_id: b.product_id,
                sku: b.sku,
                product_name: b.product_name,
                quantity: normalize(b.quantity),
                updated_at: b.updated_at,
            })
            .collect(),
    }))
}

/// Where to ship an order from.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipOrder {
    pub warehouse_id: Uuid,
}

/// Ships a customer order: its lines are written off from the warehouse as one movement
/// (once per order).
#[utoipa::path(tag = "Orders", request_body = ShipOrder, params(("id" = String, Path, description = "sklad order id or keyCRM order id")),
    responses((status = 201, body = MovementView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/orders/{id}/ship")]
pub async fn ship_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<String>,
    body: web::Json<ShipOrder>,
) -> Result<HttpResponse, ApiError> {
    let reference = crate::orders::order_ref(&id)?;
    let mut conn = state.db.conn().await?;
    let detail = sklad_db::orders::find(&mut conn, account.0, reference)
        .await?
        .ok_or_else(|| ApiError::not_found("no such order"))?;
    if detail.order.shipped_movement_id.is_some() {
        return Err(ApiError::conflict(
            "already_shipped",
            "the order was already shipped",
        ));
    }
    if detail.lines.is_empty() {
        return Err(ApiError::validation("the order has no lines to ship"));
    }
    let lines = detail
        .lines
        .iter()
        .map(|l| LineInput {
            warehouse_id: body.warehouse_id,
            product_id: l.product_id,
            change: Change::By(stock::delta(MovementKind::Shipment, l.quantity)),
        })
        .collect();
    let recorded = sklad_db::stock::record(
        &mut conn,
        account.0,
        MovementInput {
            kind: MovementKind::Shipment,
            note: Some(format!("keyCRM order {}", detail.order.keycrm_id)),
            order_id: Some(detail.order.id),
            idempotency_key: None,
            lines,
        },
        movement_event(account.0),
    )
    .await
    .map_err(refused)?;
    Ok(HttpResponse::Created().json(MovementView::from(recorded)))
}

// ---------------------------------------------------------------- keyCRM warehouses

/// A keyCRM warehouse sklad knows of.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeycrmWarehouseView {
    pub id: i64,
    pub name: String,
    /// `stocks` (found by refresh) or `manual`.
    pub source: String,
}

/// `{"data": [...]}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeycrmWarehouseList {
    pub data: Vec<KeycrmWarehouseView>,
}

/// A keyCRM warehouse entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeycrmWarehouse {
    pub id: i64,
    pub name: String,
}

async fn keycrm_list(state: &ApiState, account: Uuid) -> Result<KeycrmWarehouseList, ApiError> {
    let mut conn = state.db.conn().await?;
    Ok(KeycrmWarehouseList {
        data: sklad_db::warehouses::list_keycrm(&mut conn, account)
            .await?
            .into_iter()
            .map(|w| KeycrmWarehouseView {
                id: w.keycrm_id,
                name: w.name,
                source: w.source,
            })
            .collect(),
    })
}

/// keyCRM warehouses sklad knows of (from refresh or entered by hand).
#[utoipa::path(tag = "keyCRM warehouses", responses((status = 200, body = KeycrmWarehouseList)), security(("bearer" = [])))]
#[get("/keycrm/warehouses")]
pub async fn list_keycrm_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(keycrm_list(&state, account.0).await?))
}

/// Adds a keyCRM warehouse by hand (keyCRM has no warehouse list endpoint).
#[utoipa::path(tag = "keyCRM warehouses", request_body = NewKeycrmWarehouse,
    responses((status = 201, body = KeycrmWarehouseList), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[post("/keycrm/warehouses")]
pub async fn add_keycrm_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<NewKeycrmWarehouse>,
) -> Result<HttpResponse, ApiError> {
    if body.id <= 0 {
        return Err(ApiError::validation(
            "id must be a positive keyCRM warehouse id",
        ));
    }
    check_name(&body.name)?;
    let mut conn = state.db.conn().await?;
    sklad_db::warehouses::upsert_keycrm(
        &mut conn,
        account.0,
        &[(body.id, body.name.trim().to_owned())],
        "manual",
    )
    .await?;
    Ok(HttpResponse::Created().json(keycrm_list(&state, account.0).await?))
}

async fn keycrm_client(state: &ApiState, account: Uuid) -> Result<KeycrmClient, ApiError> {
    let mut conn = state.db.conn().await?;
    let credentials = sklad_db::integrations::credentials(&mut conn, &state.secrets, account)
        .await?
        .ok_or_else(|| {
            ApiError::conflict(
                "keycrm_not_configured",
                "save a keyCRM API key in the integration settings first",
            )
        })?;
    Ok(KeycrmClient::new(
        state.http.clone(),
        state.budget.clone(),
        &credentials,
        state.keycrm_retry,
    ))
}

/// Collects keyCRM warehouse ids and names from `GET /offers/stocks?filter[details]=true`
/// (every page).
#[utoipa::path(tag = "keyCRM warehouses", responses((status = 200, body = KeycrmWarehouseList), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[post("/keycrm/warehouses/refresh")]
pub async fn refresh_keycrm_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let client = keycrm_client(&state, account.0).await?;
    let mut seen: HashMap<i64, String> = HashMap::new();
    let mut page = 1;
    loop {
        let current = client
            .stocks_page(true, page, MAX_PAGE_SIZE, Priority::Normal)
            .await?;
        for offer in &current.data {
            for row in &offer.warehouse {
                seen.insert(
                    row.id,
                    row.name
                        .clone()
                        .unwrap_or_else(|| format!("keyCRM warehouse {}", row.id)),
                );
            }
        }
        if !current.has_next() || current.data.is_empty() {
            break;
        }
        page += 1;
    }
    let seen: Vec<(i64, String)> = seen.into_iter().collect();
    let mut conn = state.db.conn().await?;
    sklad_db::warehouses::upsert_keycrm(&mut conn, account.0, &seen, "stocks").await?;
    Ok(HttpResponse::Ok().json(keycrm_list(&state, account.0).await?))
}

/// One sklad warehouse's mapping.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MappingEntry {
    pub warehouse_id: Uuid,
    /// The keyCRM warehouse, or `null` to unmap.
    pub keycrm_warehouse_id: Option<i64>,
}

/// The mapping to apply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingUpdate {
    pub mapping: Vec<MappingEntry>,
}

/// The whole mapping.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MappingView {
    pub mapping: Vec<MappingEntry>,
}

async fn mapping_view(state: &ApiState, account: Uuid) -> Result<MappingView, ApiError> {
    let mut conn = state.db.conn().await?;
    Ok(MappingView {
        mapping: sklad_db::warehouses::list(&mut conn, account)
            .await?
            .into_iter()
            .map(|w| MappingEntry {
                warehouse_id: w.id,
                keycrm_warehouse_id: w.keycrm_warehouse_id,
            })
            .collect(),
    })
}

/// The warehouse mapping.
#[utoipa::path(tag = "keyCRM warehouses", responses((status = 200, body = MappingView)), security(("bearer" = [])))]
#[get("/integrations/keycrm/warehouse-mapping")]
pub async fn get_mapping(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(mapping_view(&state, account.0).await?))
}

/// Maps each listed sklad warehouse to at most one keyCRM warehouse (several may share one:
/// their balances are summed). SKUs whose sums change are marked to be pushed.
#[utoipa::path(tag = "keyCRM warehouses", request_body = MappingUpdate,
    responses((status = 200, body = MappingView), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[put("/integrations/keycrm/warehouse-mapping")]
pub async fn put_mapping(
    state: web::Data<ApiState>,
    account: AccountId,
    body: web::Json<MappingUpdate>,
) -> Result<HttpResponse, ApiError> {
    use diesel_async::AsyncConnection;
    let mapping: Vec<(Uuid, Option<i64>)> = body
        .mapping
        .iter()
        .map(|m| (m.warehouse_id, m.keycrm_warehouse_id))
        .collect();
    let account_id = account.0;
    let mut conn = state.db.conn().await?;
    conn.transaction::<_, sklad_db::DbError, _>(async move |conn| {
        let changes = sklad_db::warehouses::set_mapping(conn, account_id, &mapping).await?;
        if sklad_db::integrations::get(conn, account_id)
            .await?
            .stock_push_enabled
        {
            for change in changes {
                let skus =
                    sklad_db::stock_sync::skus_in(conn, account_id, &[change.warehouse_id]).await?;
                for target in [change.before, change.after].into_iter().flatten() {
                    let pairs: Vec<(i64, String)> =
                        skus.iter().map(|s| (target, s.clone())).collect();
                    sklad_db::stock_sync::mark(conn, account_id, &pairs).await?;
                }
            }
        }
        Ok(())
    })
    .await
    .map_err(|err| {
        if err.is_foreign_key_violation() {
            ApiError::validation("unknown keyCRM warehouse: refresh or add it first")
        } else if err.is_not_found() {
            ApiError::not_found("no such warehouse")
        } else {
            ApiError::from(err)
        }
    })?;
    Ok(HttpResponse::Ok().json(mapping_view(&state, account.0).await?))
}

// ---------------------------------------------------------------- pushes

/// Filters of the push log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PushQuery {
    pub keycrm_warehouse_id: Option<i64>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One `PUT /offers/stocks` sklad sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushView {
    pub id: Uuid,
    pub keycrm_warehouse_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub items: i32,
    /// `{"sku": "quantity"}` as sent.
    #[schema(value_type = Object)]
    pub quantities: Value,
    /// `accepted`, `rejected` (422, see `rejected`) or `failed`.
    pub outcome: String,
    pub http_status: Option<i32>,
    pub answer: Option<String>,
    /// `{"sku": "reason"}` for SKUs keyCRM refused.
    #[schema(value_type = Object)]
    pub rejected: Value,
}

/// A page of pushes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushPage {
    pub data: Vec<PushView>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// The stock push log, newest first.
#[utoipa::path(tag = "Stock push", params(PushQuery), responses((status = 200, body = PushPage)), security(("bearer" = [])))]
#[get("/stock-pushes")]
pub async fn list_pushes(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<PushQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let (page, per_page) = Paging {
        page: query.page,
        per_page: query.per_page,
    }
    .resolve()?;
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::stock_sync::pushes(
        &mut conn,
        account.0,
        query.keycrm_warehouse_id,
        page,
        per_page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PushPage {
        data: rows
            .into_iter()
            .map(|p| PushView {
                id: p.id,
                keycrm_warehouse_id: p.keycrm_warehouse_id,
                started_at: p.started_at,
                duration_ms: p.duration_ms,
                items: p.items,
                quantities: p.quantities,
                outcome: p.outcome,
                http_status: p.http_status,
                answer: p.answer,
                rejected: p.rejected,
            })
            .collect(),
        page,
        per_page,
        total,
    }))
}

/// `{"marked": n}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Resynced {
    /// (keyCRM warehouse, SKU) pairs marked to be pushed.
    pub marked: usize,
}

/// Pushes every mapped SKU again, even those keyCRM already has.
#[utoipa::path(tag = "Stock push", responses((status = 202, body = Resynced)), security(("bearer" = [])))]
#[post("/stock/resync")]
pub async fn resync(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let marked = sklad_stock_publisher::maintenance::resync(&state.db, account.0).await?;
    Ok(HttpResponse::Accepted().json(Resynced { marked }))
}

/// A SKU that differed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DriftView {
    pub keycrm_warehouse_id: i64,
    pub sku: String,
    pub keycrm_quantity: Decimal,
    pub sklad_quantity: Decimal,
}

/// What reconcile found; drifted SKUs are being pushed again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconcileReport {
    pub pages: u32,
    pub checked: usize,
    pub drift: Vec<DriftView>,
}

/// Reads keyCRM's per-warehouse stocks back and re-pushes every SKU that differs from
/// sklad's sums.
#[utoipa::path(tag = "Stock push", responses((status = 200, body = ReconcileReport), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)), security(("bearer" = [])))]
#[post("/stock/reconcile")]
pub async fn reconcile(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let client = keycrm_client(&state, account.0).await?;
    let report =
        sklad_stock_publisher::maintenance::reconcile(&state.db, &client, account.0, |_, _| {})
            .await
            .map_err(|err| match err.downcast::<sklad_keycrm::KeycrmError>() {
                Ok(keycrm) => ApiError::from(keycrm),
                Err(other) => {
                    tracing::error!(error = %other, "reconcile failed");
                    ApiError::internal()
                }
            })?;
    Ok(HttpResponse::Ok().json(ReconcileReport {
        pages: report.pages,
        checked: report.checked,
        drift: report
            .drift
            .into_iter()
            .map(|d| DriftView {
                keycrm_warehouse_id: d.keycrm_warehouse_id,
                sku: d.sku,
                keycrm_quantity: d.keycrm_quantity,
                sklad_quantity: d.sklad_quantity,
            })
            .collect(),
    }))
}
