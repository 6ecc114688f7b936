//! Movements (the ledger), balances, and shipping an order.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sklad_app::movements::{LineRef, ManualMovement};
use sklad_db::stock::{Balance, Recorded};
use sklad_domain::stock::{ManualKind, MovementKind, Places};
use std::borrow::Cow;

use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Counted, IdempotencyKey, Note, Quantity, Sku};
use crate::json::Json;
use crate::page::{Page, Paging};

/// One line of a movement: a product, by `product_id` or by `sku` (one of the two), and a
/// quantity of type `Q`.
#[derive(Debug)]
pub struct Line<Q> {
    product: Product,
    quantity: Q,
}

/// A line of a receipt, write-off or transfer.
pub type MovementLine = Line<Quantity>;
/// A line of an inventory count.
pub type CountLine = Line<Counted>;

#[derive(Debug)]
enum Product {
    Id(Uuid),
    Sku(Sku),
}

impl<'de, Q: serde::de::DeserializeOwned> Deserialize<'de> for Line<Q> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw<Q> {
            product_id: Option<Uuid>,
            sku: Option<Sku>,
            quantity: Q,
        }
        let raw: Raw<Q> = crate::input::object(deserializer)?;
        let product = match (raw.product_id, raw.sku) {
            (Some(id), None) => Product::Id(id),
            (None, Some(sku)) => Product::Sku(sku),
            _ => {
                return Err(serde::de::Error::custom(
                    "each line names its product by product_id or by sku (one of the two)",
                ));
            }
        };
        Ok(Self {
            product,
            quantity: raw.quantity,
        })
    }
}

/// The schema of a line: `{product_id, quantity}` or `{sku, quantity}`, the other one
/// absent or `null`.
fn line_schema<Q: ToSchema>(description: &str) -> RefOr<Schema> {
    let variant = |by: &str, by_schema: RefOr<Schema>, other: &str| {
        ObjectBuilder::new()
            .property(by, by_schema)
            .required(by)
            .property(other, ObjectBuilder::new().schema_type(Type::Null))
            .property("quantity", Ref::from_schema_name(Q::name()))
            .required("quantity")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
    };
    OneOfBuilder::new()
        .item(variant(
            "product_id",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into(),
            "sku",
        ))
        .item(variant(
            "sku",
            Ref::from_schema_name(Sku::name()).into(),
            "product_id",
        ))
        .description(Some(description))
        .into()
}

impl PartialSchema for Line<Quantity> {
    fn schema() -> RefOr<Schema> {
        line_schema::<Quantity>("A product (by `product_id` or `sku`) and how many.")
    }
}

impl ToSchema for Line<Quantity> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("MovementLine")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Quantity::name().into(), Quantity::schema()));
        schemas.push((Sku::name().into(), Sku::schema()));
    }
}

impl PartialSchema for Line<Counted> {
    fn schema() -> RefOr<Schema> {
        line_schema::<Counted>("A product (by `product_id` or `sku`) and how many were counted.")
    }
}

impl ToSchema for Line<Counted> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CountLine")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Counted::name().into(), Counted::schema()));
        schemas.push((Sku::name().into(), Sku::schema()));
    }
}

/// A stock document, by `kind`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NewMovement {
    /// Goods arrive at a warehouse.
    Receipt {
        warehouse_id: Uuid,
        #[schema(min_items = 1, max_items = 10000)]
        lines: Vec<MovementLine>,
        note: Option<Note>,
        idempotency_key: Option<IdempotencyKey>,
    },
    /// Goods leave a warehouse (damaged, lost, used).
    WriteOff {
        warehouse_id: Uuid,
        #[schema(min_items = 1, max_items = 10000)]
        lines: Vec<MovementLine>,
        note: Option<Note>,
        idempotency_key: Option<IdempotencyKey>,
    },
    /// Goods move from one warehouse to another (two different ones).
    Transfer {
        from_warehouse_id: Uuid,
        to_warehouse_id: Uuid,
        #[schema(min_items = 1, max_items = 10000)]
        lines: Vec<MovementLine>,
        note: Option<Note>,
        idempotency_key: Option<IdempotencyKey>,
    },
    /// A count: each line's balance becomes the counted quantity.
    Inventory {
        warehouse_id: Uuid,
        #[schema(min_items = 1, max_items = 10000)]
        lines: Vec<CountLine>,
        note: Option<Note>,
        idempotency_key: Option<IdempotencyKey>,
    },
}

fn line_refs<Q>(lines: Vec<Line<Q>>, amount: fn(Q) -> Decimal) -> Vec<LineRef> {
    lines
        .into_iter()
        .map(|line| {
            let (product_id, sku) = match line.product {
                Product::Id(id) => (Some(id), None),
                Product::Sku(sku) => (None, Some(sku.into_inner())),
            };
            LineRef {
                product_id,
                sku,
                quantity: amount(line.quantity),
            }
        })
        .collect()
}

impl NewMovement {
    fn into_manual(self) -> ManualMovement {
        let (kind, places, lines, note, key) = match self {
            NewMovement::Receipt {
                warehouse_id,
                lines,
                note,
                idempotency_key,
            } => (
                ManualKind::Receipt,
                Places::one(warehouse_id),
                line_refs(lines, Quantity::get),
                note,
                idempotency_key,
            ),
            NewMovement::WriteOff {
                warehouse_id,
                lines,
                note,
                idempotency_key,
            } => (
                ManualKind::WriteOff,
                Places::one(warehouse_id),
                line_refs(lines, Quantity::get),
                note,
                idempotency_key,
            ),
            NewMovement::Transfer {
                from_warehouse_id,
                to_warehouse_id,
                lines,
                note,
                idempotency_key,
            } => (
                ManualKind::Transfer,
                Places {
                    warehouse_id: None,
                    from_warehouse_id: Some(from_warehouse_id),
                    to_warehouse_id: Some(to_warehouse_id),
                },
                line_refs(lines, Quantity::get),
                note,
                idempotency_key,
            ),
            NewMovement::Inventory {
                warehouse_id,
                lines,
                note,
                idempotency_key,
            } => (
                ManualKind::Inventory,
                Places::one(warehouse_id),
                line_refs(lines, Counted::get),
                note,
                idempotency_key,
            ),
        };
        ManualMovement {
            kind,
            places,
            lines,
            note: note.map(Note::into_inner),
            idempotency_key: key.map(IdempotencyKey::into_inner),
        }
    }
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
    pub kind: MovementKind,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    /// The production order a production movement completes.
    pub production_order_id: Option<Uuid>,
    /// The movement this reversal undoes (`kind` is `reversal`).
    pub reverses_movement_id: Option<Uuid>,
    /// The reversal that undid this movement, if one did.
    pub reversed_by: Option<Uuid>,
    /// Where it came from when not from a form or an order: `keycrm_take_over` (the opening
    /// count of moving in) or `spreadsheet`.
    pub origin: Option<sklad_domain::stock::MovementOrigin>,
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
            production_order_id: r.movement.production_order_id,
            reverses_movement_id: r.movement.reverses_movement_id,
            reversed_by: r.reversed_by,
            origin: r.movement.origin.as_deref().and_then(|o| o.parse().ok()),
            created_at: r.movement.created_at,
            lines: r
                .lines
                .into_iter()
                .map(|l| MovementLineView {
                    warehouse_id: l.warehouse_id,
                    product_id: l.product_id,
                    sku: l.sku,
                    product_name: l.product_name,
                    quantity_delta: l.quantity_delta.normalize(),
                    balance_after: l.balance_after.normalize(),
                })
                .collect(),
        }
    }
}

/// Records a receipt, write-off, transfer or inventory adjustment. Balances change in the
/// same transaction as the ledger, and its event is published through the outbox.
#[utoipa::path(tag = "Stock", request_body = NewMovement,
    responses(
        (status = 201, body = MovementView),
        (status = 200, description = "The movement recorded earlier with this idempotency key", body = MovementView),
        (status = 404, description = "A warehouse, product or SKU the account does not have", body = ErrorBody),
        (status = 409, description = "A balance would go negative where that is not allowed", body = ErrorBody),
        (status = 422, description = "A rule the schema cannot state: a transfer between two different warehouses", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/movements")]
pub async fn create_movement(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewMovement>,
) -> Result<HttpResponse, ApiError> {
    let (view, created) = record(&state, account, body.into_inner()).await?;
    let mut status = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(status.json(view))
}

/// Records a movement (the API's and the console's one way); `true` when it is new, not
/// one recorded earlier with the same idempotency key.
pub async fn record(
    state: &ApiState,
    account: AccountId,
    movement: NewMovement,
) -> Result<(MovementView, bool), ApiError> {
    let mut conn = state.db.conn().await?;
    let recorded =
        sklad_app::movements::record(&mut conn, account.0, movement.into_manual()).await?;
    let created = recorded.created;
    Ok((MovementView::from(recorded), created))
}

/// Filters of the movement history.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MovementQuery {
    pub warehouse_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
}

/// The movement history, newest first.
#[utoipa::path(tag = "Stock", params(MovementQuery, Paging), responses((status = 200, body = Page<MovementView>), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
#[get("/movements")]
pub async fn list_movements(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<MovementQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let paging = paging.resolve()?;
    let mut conn = state.db.conn().await?;
    let product_id = match (&query.product_id, &query.sku) {
        (Some(id), _) => Some(*id),
        (None, Some(sku)) => {
            let found =
                sklad_db::products::ids_by_sku(&mut conn, account.0, std::slice::from_ref(sku))
                    .await?;
            match found.get(sku) {
                Some(id) => Some(*id),
                None => {
                    return Ok(HttpResponse::Ok().json(Page::<MovementView>::of(
                        Vec::<Recorded>::new(),
                        paging,
                        0,
                    )));
                }
            }
        }
        (None, None) => None,
    };
    let filter = sklad_db::stock::MovementFilter {
        warehouse_id: query.warehouse_id,
        product_id,
        page: paging.0,
        per_page: paging.1,
    };
    let (rows, total) = sklad_db::stock::list(&mut conn, account.0, &filter).await?;
    Ok(HttpResponse::Ok().json(Page::<MovementView>::of(rows, paging, total)))
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

/// Undoes a receipt, write-off, transfer, count or reversal recorded by mistake: records one
/// new movement of kind `reversal` that negates every line of the original and names it.
/// The ledger is never edited; a movement is reversed once; the negative-balance rule
/// applies; keyCRM follows through the usual push.
#[utoipa::path(tag = "Stock", params(("id" = Uuid, Path)),
    responses(
        (status = 201, description = "The reversal", body = MovementView),
        (status = 404, description = "The account has no such movement", body = ErrorBody),
        (status = 409, description = "`already_reversed`; `reverse_through_document` (a shipment, return, correction or production movement is undone through its order or production order); `negative_balance`", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/movements/{id}/reverse")]
pub async fn reverse_movement(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let view = reverse(&state, account, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Reverses a movement (the API's and the console's one way).
pub async fn reverse(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
) -> Result<MovementView, ApiError> {
    let mut conn = state.db.conn().await?;
    let recorded = sklad_app::movements::reverse(&mut conn, account.0, id).await?;
    Ok(MovementView::from(recorded))
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
    /// On the shelf: the ledger's sum (the same as `on_hand`).
    pub quantity: Decimal,
    /// On the shelf: the ledger's sum.
    pub on_hand: Decimal,
    /// Held by orders in reserve statuses (not a movement).
    pub reserved: Decimal,
    /// `on_hand − reserved`: what can still be promised.
    pub available: Decimal,
    pub updated_at: DateTime<Utc>,
}

impl From<Balance> for BalanceView {
    fn from(b: Balance) -> Self {
        Self {
            warehouse_id: b.warehouse_id,
            warehouse_name: b.warehouse_name,
            product_id: b.product_id,
            sku: b.sku,
            product_name: b.product_name,
            quantity: b.quantity.normalize(),
            on_hand: b.quantity.normalize(),
            reserved: b.reserved.normalize(),
            available: (b.quantity - b.reserved).normalize(),
            updated_at: b.updated_at,
        }
    }
}

/// Balances by warehouse and SKU.
#[utoipa::path(tag = "Stock", params(BalanceQuery), responses((status = 200, body = Page<BalanceView>)), security(("bearer" = [])))]
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
    Ok(HttpResponse::Ok().json(Page::<BalanceView>::whole(rows)))
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
    responses((status = 201, body = MovementView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/orders/{id}/ship")]
pub async fn ship_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<String>,
    body: Json<ShipOrder>,
) -> Result<HttpResponse, ApiError> {
    let reference = crate::orders::order_ref(&id)?;
    let mut conn = state.db.conn().await?;
    let recorded =
        sklad_app::movements::ship(&mut conn, account.0, reference, body.warehouse_id).await?;
    Ok(HttpResponse::Created().json(MovementView::from(recorded)))
}
