//! Production: bills of materials, what can be made, production orders.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sklad_app::production::{ComponentRef, PlannedProduction, ProductionError};
use sklad_app::versions::Expected;
use sklad_db::boms::StoredBom;
use sklad_db::production::ProductionOrder;
use sklad_domain::production::ProductionState;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::{self, Note, Quantity};
use crate::json::Json;
use crate::movements::MovementView;
use crate::page::{Page, Paging};
use crate::versions::{IF_MATCH_DOC, IfMatch, tagged};

/// A new BOM version for a product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BomRequest {
    /// How much one batch makes (the components are per batch).
    pub output_quantity: Quantity,
    pub note: Option<Note>,
    #[serde(deserialize_with = "input::objects")]
    #[schema(min_items = 1, max_items = 1000)]
    pub components: Vec<ComponentInput>,
}

/// One component of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentInput {
    pub product_id: Uuid,
    pub quantity: Quantity,
    pub note: Option<Note>,
}

/// A BOM version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BomView {
    pub id: Uuid,
    pub product_id: Uuid,
    /// 1 for the first BOM of a product; each edit adds one.
    pub version: i32,
    pub output_quantity: Decimal,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub components: Vec<ComponentView>,
    /// What one unit made costs from its components' unit costs, through every level;
    /// absent while some cost is unknown.
    pub cost_per_unit: Option<Decimal>,
}

/// A component as stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ComponentView {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: Decimal,
    pub note: Option<String>,
}

fn bom_view(bom: StoredBom, cost_per_unit: Option<Decimal>) -> BomView {
    BomView {
        id: bom.id,
        product_id: bom.product_id,
        version: bom.version,
        output_quantity: bom.output_quantity.normalize(),
        note: bom.note,
        created_at: bom.created_at,
        components: bom
            .components
            .into_iter()
            .map(|c| ComponentView {
                product_id: c.product_id,
                sku: c.sku,
                name: c.name,
                quantity: c.quantity.normalize(),
                note: c.note,
            })
            .collect(),
        cost_per_unit: cost_per_unit.map(|c| c.normalize()),
    }
}

impl From<ProductionError> for ApiError {
    fn from(err: ProductionError) -> Self {
        match err {
            ProductionError::Invalid(why) => Self::validation(why),
            err @ ProductionError::Cycle(_) => Self::new(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "bom_cycle",
                err.to_string(),
            ),
            ProductionError::NotFound(what) => Self::not_found(what),
            ProductionError::Stale(stale) => stale.into(),
            err @ ProductionError::WrongState { .. } => {
                Self::conflict("wrong_state", err.to_string())
            }
            err @ ProductionError::Short(_) => Self::conflict("short_components", err.to_string()),
            ProductionError::Refused(refused) => refused.into(),
            ProductionError::Db(db) => db.into(),
        }
    }
}

/// Saves a new version of the product's BOM and makes it current (production orders keep
/// the version they were made from), if the current one is still the one `If-Match` names
/// (the `ETag` of `GET /products/{id}/bom`; a product's first BOM: `*`). A component that
/// would make the product out of itself, at any depth, is refused with the loop named.
#[utoipa::path(tag = "Production", request_body = BomRequest,
    params(("id" = Uuid, Path, description = "the finished product"),
        ("If-Match" = String, Header, description = IF_MATCH_DOC)),
    responses(
        (status = 201, body = BomView, headers(("ETag" = String, description = "the new BOM's version"))),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such product, or a component that is not a product of this account", body = ErrorBody),
        (status = 412, description = "Someone else saved the BOM since that version (`edited_meanwhile`)", body = ErrorBody),
        (status = 422, description = "A component listed twice, the product itself, or a loop (`bom_cycle`)", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody)),
    security(("bearer" = [])))]
#[put("/products/{id}/bom")]
pub async fn put_bom(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<BomRequest>,
) -> Result<HttpResponse, ApiError> {
    let bom = save_bom(&state, account, *id, body.into_inner(), &if_match.0).await?;
    Ok(tagged(HttpResponse::Created(), &bom_version(&bom)).json(bom))
}

/// The BOM's version, as `If-Match` takes it.
pub fn bom_version(bom: &BomView) -> String {
    sklad_app::versions::bom(Some(bom.id))
}

/// Saves a new BOM version made from the `expected` one (the API's and the console's one
/// way).
pub async fn save_bom(
    state: &ApiState,
    account: AccountId,
    product_id: Uuid,
    body: BomRequest,
    expected: &Expected,
) -> Result<BomView, ApiError> {
    let components = body
        .components
        .into_iter()
        .map(|c| ComponentRef {
            product_id: Some(c.product_id),
            sku: None,
            quantity: c.quantity.get(),
            note: c.note.map(Note::into_inner),
        })
        .collect();
    let mut conn = state.db.conn().await?;
    let saved = sklad_app::production::save_bom(
        &mut conn,
        account.0,
        product_id,
        body.output_quantity.get(),
        body.note.map(Note::into_inner),
        components,
        expected,
    )
    .await?;
    let (_, cost) = sklad_app::production::current_bom(&mut conn, account.0, product_id).await?;
    Ok(bom_view(saved, cost))
}

/// The product's current BOM with its cost per unit; its `ETag` is what a new version sends
/// back as `If-Match`.
#[utoipa::path(tag = "Production",
    params(("id" = Uuid, Path, description = "the finished product")),
    responses(
        (status = 200, body = BomView, headers(("ETag" = String, description = "the BOM's version"))),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such product, or it has no BOM", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/products/{id}/bom")]
pub async fn get_bom(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let bom = current_bom(&state, account, *id).await?;
    Ok(tagged(HttpResponse::Ok(), &bom_version(&bom)).json(bom))
}

/// The product's current BOM (the API's and the console's one way).
pub async fn current_bom(
    state: &ApiState,
    account: AccountId,
    product_id: Uuid,
) -> Result<BomView, ApiError> {
    let mut conn = state.db.conn().await?;
    let (bom, cost) = sklad_app::production::current_bom(&mut conn, account.0, product_id).await?;
    Ok(bom_view(bom, cost))
}

/// Where to count what can be made.
#[derive(Debug, Deserialize, IntoParams)]
pub struct MakeableQuery {
    /// The warehouse whose available stock (on hand less reservations) is used.
    pub warehouse_id: Uuid,
}

/// How many can be made now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MakeableView {
    pub product_id: Uuid,
    pub warehouse_id: Uuid,
    /// Whole units makeable from available components, sub-assemblies made from theirs.
    pub units: Decimal,
    /// The component that runs out first (absent for a product without a BOM).
    pub limiting_product_id: Option<Uuid>,
}

/// Whole units of the product makeable now in the warehouse, through every BOM level,
/// with the component that limits it.
#[utoipa::path(tag = "Production", params(("id" = Uuid, Path, description = "the finished product"), MakeableQuery),
    responses(
        (status = 200, body = MakeableView),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such product, or no such warehouse in this account", body = ErrorBody),
        (status = 422, description = "A malformed query", body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/products/{id}/makeable")]
pub async fn makeable(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    query: web::Query<MakeableQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let found =
        sklad_app::production::makeable(&mut conn, account.0, *id, query.warehouse_id).await?;
    Ok(HttpResponse::Ok().json(MakeableView {
        product_id: *id,
        warehouse_id: query.warehouse_id,
        units: found.units,
        limiting_product_id: found.limiting,
    }))
}

/// A production order to plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProductionOrderRequest {
    /// The product to make (it needs a BOM; the order keeps its current version).
    pub product_id: Uuid,
    pub quantity: Quantity,
    /// Where the components are taken from.
    pub component_warehouse_id: Uuid,
    /// Where the finished goods go.
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub note: Option<Note>,
}

/// A production order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductionOrderView {
    pub id: Uuid,
    pub product_id: Uuid,
    /// The BOM version it is made from.
    pub bom_id: Uuid,
    pub quantity: Decimal,
    /// Made so far.
    pub made: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub state: ProductionState,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ProductionOrder> for ProductionOrderView {
    fn from(o: ProductionOrder) -> Self {
        Self {
            id: o.id,
            product_id: o.product_id,
            bom_id: o.bom_id,
            quantity: o.quantity.normalize(),
            made: o.made.normalize(),
            component_warehouse_id: o.component_warehouse_id,
            output_warehouse_id: o.output_warehouse_id,
            due_date: o.due_date,
            state: o.state,
            note: o.note,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// Plans a production order from the product's current BOM.
#[utoipa::path(tag = "Production", request_body = NewProductionOrderRequest,
    responses(
        (status = 201, body = ProductionOrderView),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such product or warehouse in this account", body = ErrorBody),
        (status = 422, description = "The product has no BOM, or a quantity out of range", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/production-orders")]
pub async fn create_production_order(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewProductionOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(plan(&state, account, body.into_inner()).await?))
}

/// Plans a production order (the API's and the console's one way).
pub async fn plan(
    state: &ApiState,
    account: AccountId,
    body: NewProductionOrderRequest,
) -> Result<ProductionOrderView, ApiError> {
    let mut conn = state.db.conn().await?;
    let order = sklad_app::production::plan(
        &mut conn,
        account.0,
        PlannedProduction {
            product_id: body.product_id,
            quantity: body.quantity.get(),
            component_warehouse_id: body.component_warehouse_id,
            output_warehouse_id: body.output_warehouse_id,
            due_date: body.due_date,
            note: body.note.map(Note::into_inner),
        },
    )
    .await?;
    Ok(ProductionOrderView::from(order))
}

/// Filters of the production order list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductionOrderQuery {
    pub state: Option<ProductionState>,
}

/// The account's production orders, newest first.
#[utoipa::path(tag = "Production", params(ProductionOrderQuery, Paging),
    responses((status = 200, body = Page<ProductionOrderView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/production-orders")]
pub async fn list_production_orders(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<ProductionOrderQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = list(&state, account, query.state, paging.resolve()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of production orders (the API's and the console's one way).
pub async fn list(
    state: &ApiState,
    account: AccountId,
    in_state: Option<ProductionState>,
    paging: (i64, i64),
) -> Result<Page<ProductionOrderView>, ApiError> {
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::production::list(&mut conn, account.0, in_state, paging).await?;
    Ok(Page::<ProductionOrderView>::of(rows, paging, total))
}

/// One production order.
#[utoipa::path(tag = "Production", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProductionOrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/production-orders/{id}")]
pub async fn get_production_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let order = sklad_db::production::find(&mut conn, account.0, *id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("no such production order"))?;
    Ok(HttpResponse::Ok().json(ProductionOrderView::from(order)))
}

/// Options of a release.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReleaseQuery {
    /// Also plan production orders for components that have a BOM and lack stock.
    #[serde(default)]
    pub plan_sub_assemblies: bool,
}

/// A released order and the sub-assembly orders planned with it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleasedView {
    #[serde(flatten)]
    pub order: ProductionOrderView,
    /// Planned for components with a BOM and too little stock (`plan_sub_assemblies`).
    pub sub_assemblies: Vec<ProductionOrderView>,
}

/// Releases a planned order for making: its components are reserved in the component
/// warehouse; with `plan_sub_assemblies`, components that have a BOM and lack stock get
/// planned production orders of their own.
#[utoipa::path(tag = "Production", params(("id" = Uuid, Path), ReleaseQuery),
    responses((status = 200, body = ReleasedView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not planned", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/production-orders/{id}/release")]
pub async fn release_production_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    query: web::Query<ReleaseQuery>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(release(&state, account, *id, query.plan_sub_assemblies).await?))
}

/// Releases a planned order (the API's and the console's one way).
pub async fn release(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
    plan_sub_assemblies: bool,
) -> Result<ReleasedView, ApiError> {
    let mut conn = state.db.conn().await?;
    let (order, sub_assemblies) =
        sklad_app::production::release(&mut conn, account.0, id, plan_sub_assemblies).await?;
    Ok(ReleasedView {
        order: order.into(),
        sub_assemblies: sub_assemblies.into_iter().map(Into::into).collect(),
    })
}

/// Cancels a planned or released order (what was made stays made).
#[utoipa::path(tag = "Production", params(("id" = Uuid, Path)),
    responses((status = 200, body = ProductionOrderView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Already done or cancelled", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/production-orders/{id}/cancel")]
pub async fn cancel_production_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(cancel(&state, account, *id).await?))
}

/// Cancels a production order (the API's and the console's one way).
pub async fn cancel(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
) -> Result<ProductionOrderView, ApiError> {
    let mut conn = state.db.conn().await?;
    let order =
        sklad_app::production::transition(&mut conn, account.0, id, ProductionState::Cancelled)
            .await?;
    Ok(ProductionOrderView::from(order))
}

/// How much was made.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    /// Made this time; absent: everything left.
    pub quantity: Option<Quantity>,
    /// End the order after this (partial) run.
    #[serde(default)]
    pub close: bool,
}

/// A completion: the order after it and the movement it recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CompletionView {
    pub order: ProductionOrderView,
    pub movement: MovementView,
}

/// Records what was made of a released order: one `production` movement takes the
/// components (per the order's BOM version) out of the component warehouse and puts the
/// goods into the output warehouse. Short components answer 409 `short_components` naming
/// each with what it needs and has, and nothing is recorded.
#[utoipa::path(tag = "Production", params(("id" = Uuid, Path)), request_body = CompleteRequest,
    responses((status = 201, body = CompletionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Not released, or components are short (`short_components`)", body = ErrorBody),
        (status = 422, description = "More than is left to make", body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/production-orders/{id}/complete")]
pub async fn complete_production_order(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    body: Json<CompleteRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(complete(&state, account, *id, body.into_inner()).await?))
}

/// Records what was made (the API's and the console's one way).
pub async fn complete(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
    body: CompleteRequest,
) -> Result<CompletionView, ApiError> {
    let mut conn = state.db.conn().await?;
    let (order, recorded) = sklad_app::production::complete(
        &mut conn,
        account.0,
        id,
        body.quantity.map(Quantity::get),
        body.close,
    )
    .await?;
    Ok(CompletionView {
        order: order.into(),
        movement: recorded.into(),
    })
}
