//! The nomenclature: products from keyCRM orders and products entered by hand.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sklad_db::products::{ManualProduct, Product, ProductChange, ProductFilter};
use sklad_domain::nomenclature::Origin;
use sklad_domain::stock::fits_amount;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::json::Json;
use crate::orders::normalize;
use crate::page::{Page, Paging};
use crate::warehouses::check_name;

/// Filters of `GET /products`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// Exact SKU.
    pub sku: Option<String>,
    /// Case-insensitive part of the name.
    pub name: Option<String>,
}

/// A product of the nomenclature.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub sku: String,
    /// Base name with property values after commas: "Shirt, white, M".
    pub name: String,
    pub base_name: String,
    #[schema(value_type = Object)]
    pub properties: Value,
    pub price: Option<Decimal>,
    pub unit: Option<String>,
    pub keycrm_offer_id: Option<i64>,
    pub keycrm_product_id: Option<i64>,
    pub origin: Origin,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(product: Product) -> Self {
        let p = product.fields;
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            base_name: p.base_name,
            properties: p.properties,
            price: normalize(p.price),
            unit: p.unit,
            keycrm_offer_id: p.keycrm_offer_id,
            keycrm_product_id: p.keycrm_product_id,
            origin: p.origin,
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

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

/// A change to a product; omitted fields stay as they are.
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

impl From<NewProduct> for ProductUpdate {
    fn from(p: NewProduct) -> Self {
        Self {
            sku: Some(p.sku),
            name: Some(p.name),
            price: p.price,
            unit: p.unit,
            properties: p.properties,
        }
    }
}

fn check_sku(sku: &str) -> Result<(), ApiError> {
    let len = sku.trim().chars().count();
    if !(1..=200).contains(&len) {
        return Err(ApiError::validation("sku must be 1–200 characters"));
    }
    Ok(())
}

impl ProductUpdate {
    /// Checks what was sent and trims SKU and name.
    fn checked(self) -> Result<ProductChange, ApiError> {
        if let Some(sku) = &self.sku {
            check_sku(sku)?;
        }
        if let Some(name) = &self.name {
            check_name(name)?;
        }
        if self
            .price
            .is_some_and(|p| !fits_amount(p) || p < Decimal::ZERO)
        {
            return Err(ApiError::validation(
                "price must be 0 or more, with at most 4 decimal places and 14 digits before the point",
            ));
        }
        if self.unit.as_ref().is_some_and(|u| u.chars().count() > 50) {
            return Err(ApiError::validation("unit must be at most 50 characters"));
        }
        if self
            .properties
            .as_ref()
            .is_some_and(|p| !(p.is_object() || p.is_array()))
        {
            return Err(ApiError::validation(
                "properties must be an object or a list",
            ));
        }
        let name = self.name.map(|n| n.trim().to_owned());
        Ok(ProductChange {
            sku: self.sku.map(|s| s.trim().to_owned()),
            base_name: name.clone(),
            name,
            price: self.price,
            unit: self.unit,
            properties: self.properties,
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
    let query = query.into_inner();
    let (page, per_page) = paging.resolve()?;
    let filter = ProductFilter {
        sku: query.sku,
        name: query.name,
        page,
        per_page,
    };
    let mut conn = state.db.conn().await?;
    let (rows, total) = sklad_db::products::list(&mut conn, account.0, &filter).await?;
    Ok(HttpResponse::Ok().json(Page::<ProductView>::of(rows, (page, per_page), total)))
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
    let change = ProductUpdate::from(body.into_inner()).checked()?;
    let mut conn = state.db.conn().await?;
    let created = sklad_db::products::create_manual(
        &mut conn,
        account.0,
        &ManualProduct {
            sku: change.sku.unwrap_or_default(),
            name: change.name.unwrap_or_default(),
            price: change.price,
            unit: change.unit,
            properties: change
                .properties
                .unwrap_or_else(|| Value::Array(Vec::new())),
        },
    )
    .await
    .map_err(ApiError::duplicate("sku_exists", "a product with this SKU"))?;
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
    body: Json<ProductUpdate>,
) -> Result<HttpResponse, ApiError> {
    let change = body.into_inner().checked()?;
    let mut conn = state.db.conn().await?;
    let updated = sklad_db::products::update(&mut conn, account.0, id.into_inner(), &change)
        .await
        .map_err(ApiError::duplicate("sku_exists", "a product with this SKU"))?
        .ok_or_else(|| ApiError::not_found("no such product"))?;
    Ok(HttpResponse::Ok().json(ProductView::from(updated)))
}
