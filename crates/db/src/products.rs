//! Nomenclature: products, unique by SKU per account.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::Value;
use sklad_domain::nomenclature::Origin;
use uuid::Uuid;

use crate::DbResult;
use crate::schema::products;

/// A product as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = products)]
pub struct Product {
    #[diesel(embed)]
    pub fields: NewProduct,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set by hand; BOM costs roll up from it.
    pub unit_cost: Option<Decimal>,
    /// keyCRM receives on-hand + makeable for it.
    pub push_makeable: bool,
    /// Its current BOM, if it is made.
    pub current_bom_id: Option<Uuid>,
    pub barcode: Option<String>,
    /// keyCRM archived its offer (or product).
    pub archived_at: Option<DateTime<Utc>>,
}

/// A product's own fields: what is inserted, and what keyCRM may update.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products)]
pub struct NewProduct {
    pub id: Uuid,
    pub account_id: Uuid,
    pub sku: String,
    pub name: String,
    pub base_name: String,
    pub properties: Value,
    pub price: Option<Decimal>,
    pub unit: Option<String>,
    pub keycrm_offer_id: Option<i64>,
    pub keycrm_product_id: Option<i64>,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub origin: Origin,
    /// Lines of a product that does not track stock (a service) never reserve, ship, wait,
    /// correct, return or reach keyCRM's stock.
    pub tracks_stock: bool,
}

/// Inserts the product or, when its SKU exists, updates it from keyCRM, unless `keep_info`
/// ("do not change product information"): then name, price and properties stay as they are.
/// Returns the product's id.
pub async fn upsert_from_keycrm(
    conn: &mut AsyncPgConnection,
    product: &NewProduct,
    keep_info: bool,
) -> DbResult<Uuid> {
    let insert = diesel::insert_into(products::table)
        .values(product.clone())
        .on_conflict((products::account_id, products::sku))
        .do_update();
    let id = if keep_info {
        insert
            .set(products::updated_at.eq(products::updated_at))
            .returning(products::id)
            .get_result(conn)
            .await?
    } else {
        insert
            .set((
                products::name.eq(excluded(products::name)),
                products::base_name.eq(excluded(products::base_name)),
                products::properties.eq(excluded(products::properties)),
                products::price.eq(excluded(products::price)),
                products::unit.eq(excluded(products::unit)),
                products::keycrm_offer_id.eq(excluded(products::keycrm_offer_id)),
                products::keycrm_product_id.eq(excluded(products::keycrm_product_id)),
                products::updated_at.eq(diesel::dsl::now),
            ))
            .returning(products::id)
            .get_result(conn)
            .await?
    };
    Ok(id)
}

/// Filters for listing products.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// Exact SKU.
    pub sku: Option<String>,
    /// Case-insensitive substring of the name.
    pub name: Option<String>,
    /// A SKU's beginning or part of the name (case-insensitive): what a person types.
    pub search: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// One page of the account's products, by name, and the total matching.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    filter: &ProductFilter,
) -> DbResult<(Vec<Product>, i64)> {
    let build = || {
        let mut query = products::table
            .filter(products::account_id.eq(account_id))
            .into_boxed();
        if let Some(sku) = &filter.sku {
            query = query.filter(products::sku.eq(sku.clone()));
        }
        if let Some(name) = &filter.name {
            query = query.filter(products::name.ilike(format!("%{}%", escape_like(name))));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let escaped = escape_like(search);
            query = query.filter(
                products::sku
                    .ilike(format!("{escaped}%"))
                    .or(products::name.ilike(format!("%{escaped}%"))),
            );
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let rows = build()
        .order((products::name.asc(), products::sku.asc()))
        .limit(filter.per_page)
        .offset((filter.page - 1).max(0) * filter.per_page)
        .select(Product::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// One of the account's products.
pub async fn get(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> DbResult<Option<Product>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq(id))
        .select(Product::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// One of the account's products, its row locked for the rest of the transaction (an edit
/// checks its version against it).
pub async fn lock(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> DbResult<Option<Product>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq(id))
        .select(Product::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A product entered by hand.
#[derive(Debug, Clone)]
pub struct ManualProduct {
    pub sku: String,
    pub name: String,
    pub price: Option<Decimal>,
    pub unit: Option<String>,
    pub properties: Value,
    pub unit_cost: Option<Decimal>,
    pub barcode: Option<String>,
    pub tracks_stock: bool,
}

/// Creates a product by hand. A taken SKU is a unique violation the caller reports.
pub async fn create_manual(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    product: &ManualProduct,
) -> DbResult<Product> {
    Ok(diesel::insert_into(products::table)
        .values((
            NewProduct {
                id: Uuid::now_v7(),
                account_id,
                sku: product.sku.clone(),
                name: product.name.clone(),
                base_name: product.name.clone(),
                properties: product.properties.clone(),
                price: product.price,
                unit: product.unit.clone(),
                keycrm_offer_id: None,
                keycrm_product_id: None,
                origin: Origin::Manual,
                tracks_stock: product.tracks_stock,
            },
            products::unit_cost.eq(product.unit_cost),
            products::barcode.eq(&product.barcode),
        ))
        .returning(Product::as_returning())
        .get_result(conn)
        .await?)
}

/// A change to a product; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChange {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub base_name: Option<String>,
    pub price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub push_makeable: Option<bool>,
    pub unit: Option<String>,
    pub properties: Option<Value>,
    pub tracks_stock: Option<bool>,
    /// `Some(None)` clears it.
    pub barcode: Option<Option<String>>,
}

/// Changes one of the account's products.
pub async fn update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
    change: &ProductChange,
) -> DbResult<Option<Product>> {
    Ok(diesel::update(
        products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::id.eq(id)),
    )
    .set((change, products::updated_at.eq(diesel::dsl::now)))
    .returning(Product::as_returning())
    .get_result(conn)
    .await
    .optional()?)
}

/// Product ids for SKUs (those that exist).
pub async fn ids_by_sku(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    skus: &[String],
) -> DbResult<std::collections::HashMap<String, Uuid>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::sku.eq_any(skus))
        .select((products::sku, products::id))
        .load::<(String, Uuid)>(conn)
        .await?
        .into_iter()
        .collect())
}

/// SKUs of the account's products among `ids` (others are absent).
pub async fn skus_of(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    ids: &[Uuid],
) -> DbResult<std::collections::HashMap<Uuid, String>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq_any(ids))
        .select((products::id, products::sku))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect())
}

/// Whether every one of `ids` is a product of the account.
pub async fn exists(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    ids: &[Uuid],
) -> DbResult<bool> {
    let mut wanted = ids.to_vec();
    wanted.sort();
    wanted.dedup();
    Ok(skus_of(conn, account_id, &wanted).await?.len() == wanted.len())
}

/// For the SKUs that exist: product id and whether it tracks stock.
pub async fn stock_facts_by_sku(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    skus: &[String],
) -> DbResult<std::collections::HashMap<String, (Uuid, bool)>> {
    let mut found = std::collections::HashMap::new();
    for chunk in skus.chunks(5000) {
        let rows: Vec<(String, Uuid, bool)> = products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::sku.eq_any(chunk))
            .select((products::sku, products::id, products::tracks_stock))
            .load(conn)
            .await?;
        found.extend(rows.into_iter().map(|(sku, id, t)| (sku, (id, t))));
    }
    Ok(found)
}
