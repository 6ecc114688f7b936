//! sklad warehouses.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sklad_app::versions::Expected;
use sklad_db::warehouses::{Warehouse, WarehouseEdit};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Buffer, Name};
use crate::json::Json;
use crate::page::Page;
use crate::versions::{IF_MATCH_DOC, IfMatch, tagged};

/// A sklad warehouse.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarehouseView {
    pub id: Uuid,
    pub name: String,
    /// Whether movements may take a balance below zero here (default: refused with 409).
    pub allow_negative: bool,
    /// The keyCRM warehouse its balances are pushed to, if mapped.
    pub keycrm_warehouse_id: Option<i64>,
    /// Safety stock: keyCRM receives `max(0, balance − push_buffer)` from this warehouse
    /// (0: the balance as it is).
    pub push_buffer: Decimal,
    /// Archived: out of every form and the mapping; its ledger stays.
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    /// Send it back as `If-Match` to change the warehouse (the `ETag` of
    /// `GET /warehouses/{id}`).
    #[schema(example = "5d41402abc4b2a76")]
    pub version: String,
}

impl From<Warehouse> for WarehouseView {
    fn from(w: Warehouse) -> Self {
        Self {
            version: sklad_app::versions::warehouse(&w),
            id: w.id,
            name: w.name,
            allow_negative: w.allow_negative,
            keycrm_warehouse_id: w.keycrm_warehouse_id,
            push_buffer: w.push_buffer.normalize(),
            archived: w.archived_at.is_some(),
            created_at: w.created_at,
        }
    }
}

/// A new warehouse.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    pub name: Name,
    #[serde(default)]
    pub allow_negative: bool,
    /// Safety stock kept back from keyCRM (default 0).
    pub push_buffer: Option<Buffer>,
}

/// A change to a warehouse; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseChange {
    pub name: Option<Name>,
    pub allow_negative: Option<bool>,
    /// Safety stock kept back from keyCRM; changing it re-sends the warehouse's SKUs.
    pub push_buffer: Option<Buffer>,
    /// `true` archives it (only when it holds no stock and no order ships from it: 409
    /// `warehouse_has_stock`, `warehouse_ships_orders`); `false` brings it back.
    pub archived: Option<bool>,
}

const DUPLICATE: (&str, &str) = ("warehouse_exists", "a warehouse with this name");

/// The account's warehouses, by name.
#[utoipa::path(tag = "Stock", responses((status = 200, body = Page<WarehouseView>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/warehouses")]
pub async fn list_warehouses(
    state: web::Data<ApiState>,
    account: AccountId,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let rows = sklad_db::warehouses::list(&mut conn, account.0).await?;
    Ok(HttpResponse::Ok().json(Page::<WarehouseView>::whole(rows)))
}

/// Creates a warehouse (names are unique per account).
#[utoipa::path(tag = "Stock", request_body = NewWarehouse,
    responses((status = 201, body = WarehouseView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/warehouses")]
pub async fn create_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewWarehouse>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(create(&state, account, body.into_inner()).await?))
}

/// Adds a warehouse (the API's and the console's one way).
pub async fn create(
    state: &ApiState,
    account: AccountId,
    warehouse: NewWarehouse,
) -> Result<WarehouseView, ApiError> {
    let mut conn = state.db.conn().await?;
    let created = sklad_db::warehouses::create(
        &mut conn,
        account.0,
        warehouse.name.as_ref(),
        warehouse.allow_negative,
        warehouse.push_buffer.map(Buffer::get).unwrap_or_default(),
    )
    .await
    .map_err(ApiError::duplicate(DUPLICATE.0, DUPLICATE.1, "name"))?;
    Ok(WarehouseView::from(created))
}

/// One warehouse; its `ETag` is what a change sends back as `If-Match`.
#[utoipa::path(tag = "Stock", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = WarehouseView, headers(("ETag" = String, description = "the warehouse's version"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/warehouses/{id}")]
pub async fn get_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let view = sklad_db::warehouses::get(&mut conn, account.0, id.into_inner())
        .await?
        .map(WarehouseView::from)
        .ok_or_else(|| ApiError::not_found("no such warehouse"))?;
    Ok(tagged(HttpResponse::Ok(), &view.version).json(view))
}

/// Renames a warehouse, changes whether it allows negative balances or its push buffer,
/// archives it or brings it back, if it is still the version `If-Match` names.
#[utoipa::path(tag = "Stock", request_body = WarehouseChange,
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = IF_MATCH_DOC)),
    responses(
        (status = 200, body = WarehouseView, headers(("ETag" = String, description = "the new version"))),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 412, description = "Changed by someone else since that version (`edited_meanwhile`)", body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/warehouses/{id}")]
pub async fn update_warehouse(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<WarehouseChange>,
) -> Result<HttpResponse, ApiError> {
    let view = update(
        &state,
        account,
        id.into_inner(),
        body.into_inner(),
        &if_match.0,
    )
    .await?;
    Ok(tagged(HttpResponse::Ok(), &view.version).json(view))
}

/// Changes a warehouse if it is still at the `expected` version (the API's and the
/// console's one way).
pub async fn update(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
    body: WarehouseChange,
    expected: &Expected,
) -> Result<WarehouseView, ApiError> {
    use sklad_app::mapping::WarehouseError;
    let mut conn = state.db.conn().await?;
    let edit = WarehouseEdit {
        name: body.name.map(|n| n.as_ref().to_owned()),
        allow_negative: body.allow_negative,
        push_buffer: body.push_buffer.map(Buffer::get),
        archived_at: body.archived.map(|on| on.then(Utc::now)),
    };
    let updated = sklad_app::mapping::update_warehouse(&mut conn, account.0, id, edit, expected)
        .await
        .map_err(|err| match err {
            WarehouseError::Stale(stale) => stale.into(),
            err @ WarehouseError::HasStock => {
                ApiError::conflict("warehouse_has_stock", err.to_string())
            }
            err @ WarehouseError::ShipsOrders => {
                ApiError::conflict("warehouse_ships_orders", err.to_string())
            }
            WarehouseError::Db(db) => ApiError::duplicate(DUPLICATE.0, DUPLICATE.1, "name")(db),
        })?
        .ok_or_else(|| ApiError::not_found("no such warehouse"))?;
    Ok(WarehouseView::from(updated))
}
