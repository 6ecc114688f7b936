//! The nomenclature: products from keyCRM orders and products entered by hand.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_app::versions::Expected;
use sklad_db::products::{ManualProduct, Product, ProductChange, ProductFilter};
use sklad_domain::nomenclature::{Origin, Property, stored_properties};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::input::{Barcode, Name, Price, PropertyName, PropertyValue, Sku, Unit};
use crate::json::Json;
use crate::orders::normalize;
use crate::page::{Page, Paging};
use crate::versions::{IF_MATCH_DOC, IfMatch, tagged};

/// Filters of `GET /products`.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// Exact SKU.
    pub sku: Option<String>,
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// A SKU's beginning or part of the name, case-insensitive.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Add `makeable`: whole units of each product with a BOM makeable now in this
    /// warehouse (one the account does not have holds nothing: 0).
    pub makeable_in: Option<Uuid>,
}

/// A product of the nomenclature.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub sku: String,
    /// Base name with property values after commas: "Shirt, white, M".
    pub name: String,
    pub base_name: String,
    /// Properties (colour, size...), in order.
    pub properties: Vec<Property>,
    pub price: Option<Decimal>,
    /// What one unit costs (bought in, or set by hand); BOM costs roll up from it.
    pub unit_cost: Option<Decimal>,
    /// Sold from components: keyCRM receives on-hand + what can be made.
    pub push_makeable: bool,
    /// Its current BOM, if it is made.
    pub bom_id: Option<Uuid>,
    /// Whole units makeable now in the `makeable_in` warehouse (lists asked for it; products
    /// with a BOM).
    pub makeable: Option<Decimal>,
    pub unit: Option<String>,
    pub keycrm_offer_id: Option<i64>,
    pub keycrm_product_id: Option<i64>,
    pub barcode: Option<String>,
    /// Counted in warehouses. A product that is not (a service, gift wrap) never reserves,
    /// ships, waits, corrects, returns or reaches keyCRM's stock.
    pub tracks_stock: bool,
    /// keyCRM archived its offer or product.
    pub archived: bool,
    pub origin: Origin,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Send it back as `If-Match` to change the product (the `ETag` of `GET /products/{id}`).
    #[schema(example = "5d41402abc4b2a76")]
    pub version: String,
}

impl From<Product> for ProductView {
    fn from(product: Product) -> Self {
        let version = sklad_app::versions::product(&product);
        let p = product.fields;
        Self {
            version,
            id: p.id,
            sku: p.sku,
            name: p.name,
            base_name: p.base_name,
            properties: stored_properties(&p.properties),
            price: normalize(p.price),
            unit_cost: normalize(product.unit_cost),
            push_makeable: product.push_makeable,
            bom_id: product.current_bom_id,
            makeable: None,
            unit: p.unit,
            keycrm_offer_id: p.keycrm_offer_id,
            keycrm_product_id: p.keycrm_product_id,
            barcode: product.barcode,
            tracks_stock: p.tracks_stock,
            archived: product.archived_at.is_some(),
            origin: p.origin,
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// A property given by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyInput {
    pub name: PropertyName,
    pub value: PropertyValue,
}

/// A product entered by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: Name,
    pub price: Option<Price>,
    /// What one unit costs; BOM costs roll up from it.
    pub unit_cost: Option<Price>,
    pub unit: Option<Unit>,
    pub barcode: Option<Barcode>,
    /// Counted in warehouses (default true); false for a service.
    pub tracks_stock: Option<bool>,
    /// Properties (colour, size...), in order; at most 50.
    #[schema(max_items = 50)]
    #[serde(default, deserialize_with = "crate::input::some_objects")]
    pub properties: Option<Vec<PropertyInput>>,
}

/// A change to a product; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductUpdate {
    pub sku: Option<Sku>,
    pub name: Option<Name>,
    pub price: Option<Price>,
    /// What one unit costs; BOM costs roll up from it.
    pub unit_cost: Option<Price>,
    /// Sold from components: keyCRM receives on-hand + what can be made from its BOM.
    pub push_makeable: Option<bool>,
    pub unit: Option<Unit>,
    /// Empty clears it.
    pub barcode: Option<Barcode>,
    /// Counted in warehouses; false for a service (its order lines never touch stock).
    pub tracks_stock: Option<bool>,
    /// Properties (colour, size...), in order; at most 50. They replace the old ones.
    #[schema(max_items = 50)]
    #[serde(default, deserialize_with = "crate::input::some_objects")]
    pub properties: Option<Vec<PropertyInput>>,
}

/// The most properties a product may have.
const MAX_PROPERTIES: usize = 50;

impl From<NewProduct> for ProductUpdate {
    fn from(p: NewProduct) -> Self {
        Self {
            sku: Some(p.sku),
            name: Some(p.name),
            price: p.price,
            unit_cost: p.unit_cost,
            push_makeable: None,
            unit: p.unit,
            barcode: p.barcode,
            tracks_stock: p.tracks_stock,
            properties: p.properties,
        }
    }
}

impl ProductUpdate {
    /// The change, once what the schema cannot check by type is checked.
    fn checked(self) -> Result<ProductChange, ApiError> {
        if self
            .properties
            .as_ref()
            .is_some_and(|p| p.len() > MAX_PROPERTIES)
        {
            return Err(ApiError::validation(format!(
                "a product has at most {MAX_PROPERTIES} properties"
            )));
        }
        let name = self.name.map(Name::into_inner);
        Ok(ProductChange {
            sku: self.sku.map(Sku::into_inner),
            base_name: name.clone(),
            name,
            price: self.price.map(Price::get),
            unit_cost: self.unit_cost.map(Price::get),
            push_makeable: self.push_makeable,
            unit: self.unit.map(Unit::into_inner),
            tracks_stock: self.tracks_stock,
            barcode: self
                .barcode
                .map(|b| Some(b.into_inner()).filter(|b| !b.is_empty())),
            properties: self.properties.map(|list| {
                let list: Vec<Property> = list
                    .into_iter()
                    .map(|p| Property {
                        name: p.name.into_inner(),
                        value: p.value.into_inner(),
                    })
                    .collect();
                serde_json::json!(list)
            }),
        })
    }
}

/// The account's nomenclature, by name.
#[utoipa::path(
    tag = "Products",
    params(ProductQuery, Paging),
    responses((status = 200, body = Page<ProductView>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])),
)]
#[get("/products")]
pub async fn list_products(
    state: web::Data<ApiState>,
    account: AccountId,
    query: web::Query<ProductQuery>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let page = list(&state, account, query.into_inner(), paging.resolve()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One page of the nomenclature (the API's and the console's one way to list it).
pub async fn list(
    state: &ApiState,
    account: AccountId,
    query: ProductQuery,
    (page, per_page): (i64, i64),
) -> Result<Page<ProductView>, ApiError> {
    let search = crate::page::search(query.q)?;
    let filter = ProductFilter {
        sku: query.sku,
        name: query.name,
        search,
        page,
        per_page,
    };
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::products::list(&mut conn, account.0, &filter).await?;
    let mut views: Vec<ProductView> = rows.into_iter().map(ProductView::from).collect();
    if let Some(warehouse) = query.makeable_in {
        for view in views.iter_mut().filter(|v| v.bom_id.is_some()) {
            let made =
                sklad_db::boms::makeable_in(&mut conn, account.0, view.id, warehouse).await?;
            view.makeable = Some(made.units);
        }
    }
    Ok(Page::<ProductView>::of(views, (page, per_page), total))
}

/// Creates a product (SKUs are unique per account).
#[utoipa::path(tag = "Products", request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
#[post("/products")]
pub async fn create_product(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<NewProduct>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(create(&state, account, body.into_inner()).await?))
}

/// Adds a product by hand (the API's and the console's one way).
pub async fn create(
    state: &ApiState,
    account: AccountId,
    product: NewProduct,
) -> Result<ProductView, ApiError> {
    let change = ProductUpdate::from(product).checked()?;
    let mut conn = state.db.conn().await?;
    let created = sklad_db::products::create_manual(
        &mut conn,
        account.0,
        &ManualProduct {
            sku: change.sku.unwrap_or_default(),
            name: change.name.unwrap_or_default(),
            price: change.price,
            unit: change.unit,
            unit_cost: change.unit_cost,
            barcode: change.barcode.flatten(),
            tracks_stock: change.tracks_stock.unwrap_or(true),
            properties: change
                .properties
                .unwrap_or_else(|| Value::Array(Vec::new())),
        },
    )
    .await
    .map_err(ApiError::duplicate(
        "sku_exists",
        "a product with this SKU",
        "sku",
    ))?;
    Ok(ProductView::from(created))
}

/// One product; its `ETag` is what a change sends back as `If-Match`.
#[utoipa::path(tag = "Products", params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ProductView, headers(("ETag" = String, description = "the product's version"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
#[get("/products/{id}")]
pub async fn get_product(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.conn().await?;
    let product = sklad_db::products::get(&mut conn, account.0, id.into_inner())
        .await?
        .map(ProductView::from)
        .ok_or_else(|| ApiError::not_found("no such product"))?;
    Ok(tagged(HttpResponse::Ok(), &product.version).json(product))
}

/// Changes a product made from the version `If-Match` names.
#[utoipa::path(tag = "Products", request_body = ProductUpdate,
    params(("id" = Uuid, Path), ("If-Match" = String, Header, description = IF_MATCH_DOC)),
    responses(
        (status = 200, body = ProductView, headers(("ETag" = String, description = "the new version"))),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 412, description = "Changed by someone else since that version (`edited_meanwhile`)", body = ErrorBody),
        (status = 428, description = "No If-Match", body = ErrorBody)),
    security(("bearer" = [])))]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<ApiState>,
    account: AccountId,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ProductUpdate>,
) -> Result<HttpResponse, ApiError> {
    let product = update(
        &state,
        account,
        id.into_inner(),
        body.into_inner(),
        &if_match.0,
    )
    .await?;
    Ok(tagged(HttpResponse::Ok(), &product.version).json(product))
}

/// Changes a product if it is still at the `expected` version (the API's and the console's
/// one way).
pub async fn update(
    state: &ApiState,
    account: AccountId,
    id: Uuid,
    product: ProductUpdate,
    expected: &Expected,
) -> Result<ProductView, ApiError> {
    let change = product.checked()?;
    let mut conn = state.db.conn().await?;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let current = sklad_db::products::lock(conn, account.0, id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such product"))?;
        expected.check(&sklad_app::versions::product(&current))?;
        let updated = sklad_db::products::update(conn, account.0, id, &change)
            .await
            .map_err(ApiError::duplicate(
                "sku_exists",
                "a product with this SKU",
                "sku",
            ))?
            .ok_or_else(|| ApiError::not_found("no such product"))?;
        if change.push_makeable.is_some() || change.tracks_stock.is_some() {
            // What keyCRM receives for it may change: send it again everywhere it is mapped.
            sklad_db::stock_sync::mark_everywhere(conn, account.0, &updated.fields.sku).await?;
        }
        Ok(ProductView::from(updated))
    })
    .await
}
