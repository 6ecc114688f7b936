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

/// One offer of keyCRM's catalogue as a product.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueItem {
    pub sku: String,
    pub name: String,
    pub base_name: String,
    pub properties: Value,
    pub price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub unit: Option<String>,
    pub barcode: Option<String>,
    pub keycrm_offer_id: Option<i64>,
    pub keycrm_product_id: Option<i64>,
    pub archived: bool,
}

/// What an import did to products.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Imported {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The fields an import compares and writes.
#[derive(Debug, Clone, PartialEq, Queryable)]
struct CatalogueFields {
    name: String,
    base_name: String,
    properties: Value,
    price: Option<Decimal>,
    unit_cost: Option<Decimal>,
    unit: Option<String>,
    barcode: Option<String>,
    keycrm_offer_id: Option<i64>,
    keycrm_product_id: Option<i64>,
    archived: bool,
}

/// Creates or updates one product per catalogue item, by SKU; a product whose fields
/// already say what keyCRM says is left alone and counted as unchanged, so a second import
/// changes nothing. With `keep_info` ("do not change product information") a product sklad
/// already has only gains the keyCRM ids it lacked. Call inside a transaction.
pub async fn import_catalogue(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    items: &[CatalogueItem],
    keep_info: bool,
) -> DbResult<Imported> {
    let skus: Vec<&str> = items.iter().map(|i| i.sku.as_str()).collect();
    let existing: std::collections::HashMap<
        String,
        (Uuid, CatalogueFields, Option<DateTime<Utc>>),
    > = products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::sku.eq_any(&skus))
        .select((
            products::sku,
            products::id,
            (
                products::name,
                products::base_name,
                products::properties,
                products::price,
                products::unit_cost,
                products::unit,
                products::barcode,
                products::keycrm_offer_id,
                products::keycrm_product_id,
                products::archived_at.is_not_null(),
            ),
            products::archived_at,
        ))
        .load::<(String, Uuid, CatalogueFields, Option<DateTime<Utc>>)>(conn)
        .await?
        .into_iter()
        .map(|(sku, id, fields, at)| (sku, (id, fields, at)))
        .collect();
    let mut done = Imported::default();
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if !seen.insert(item.sku.as_str()) {
            // The same SKU twice in keyCRM: the first offer names the product.
            done.unchanged += 1;
            continue;
        }
        let wanted = CatalogueFields {
            name: item.name.clone(),
            base_name: item.base_name.clone(),
            properties: item.properties.clone(),
            price: item.price.map(|p| p.normalize()),
            unit_cost: item.unit_cost.map(|c| c.normalize()),
            unit: item.unit.clone(),
            barcode: item.barcode.clone(),
            keycrm_offer_id: item.keycrm_offer_id,
            keycrm_product_id: item.keycrm_product_id,
            archived: item.archived,
        };
        let Some((id, current, archived_at)) = existing.get(&item.sku) else {
            diesel::insert_into(products::table)
                .values((
                    NewProduct {
                        id: Uuid::now_v7(),
                        account_id,
                        sku: item.sku.clone(),
                        name: wanted.name.clone(),
                        base_name: wanted.base_name.clone(),
                        properties: wanted.properties.clone(),
                        price: wanted.price,
                        unit: wanted.unit.clone(),
                        keycrm_offer_id: wanted.keycrm_offer_id,
                        keycrm_product_id: wanted.keycrm_product_id,
                        origin: Origin::KeycrmOffer,
                        tracks_stock: true,
                    },
                    products::unit_cost.eq(wanted.unit_cost),
                    products::barcode.eq(&wanted.barcode),
                    products::archived_at.eq(item.archived.then(Utc::now)),
                ))
                .execute(conn)
                .await?;
            done.created += 1;
            continue;
        };
        let wanted = if keep_info {
            CatalogueFields {
                keycrm_offer_id: current.keycrm_offer_id.or(wanted.keycrm_offer_id),
                keycrm_product_id: current.keycrm_product_id.or(wanted.keycrm_product_id),
                ..current.clone()
            }
        } else {
            let mut wanted = wanted;
            // Stored decimals compare by value: 10 and 10.00 are the same price.
            if wanted.price.map(|p| p.normalize()) == current.price.map(|p| p.normalize()) {
                wanted.price = current.price;
            }
            if wanted.unit_cost.map(|p| p.normalize()) == current.unit_cost.map(|p| p.normalize()) {
                wanted.unit_cost = current.unit_cost;
            }
            wanted
        };
        if &wanted == current {
            done.unchanged += 1;
            continue;
        }
        let archived_at = match (wanted.archived, archived_at) {
            (true, Some(at)) => Some(*at),
            (true, None) => Some(Utc::now()),
            (false, _) => None,
        };
        diesel::update(products::table.find(id))
            .set((
                products::name.eq(&wanted.name),
                products::base_name.eq(&wanted.base_name),
                products::properties.eq(&wanted.properties),
                products::price.eq(wanted.price),
                products::unit_cost.eq(wanted.unit_cost),
                products::unit.eq(&wanted.unit),
                products::barcode.eq(&wanted.barcode),
                products::keycrm_offer_id.eq(wanted.keycrm_offer_id),
                products::keycrm_product_id.eq(wanted.keycrm_product_id),
                products::archived_at.eq(archived_at),
                products::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        done.updated += 1;
    }
    Ok(done)
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

/// A product as a spreadsheet row gives it: `None` leaves a field as it is (a new product
/// gets nothing there; `tracks_stock` true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetProduct {
    pub sku: String,
    pub name: String,
    pub unit: Option<String>,
    pub price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub barcode: Option<String>,
    pub tracks_stock: Option<bool>,
}

/// Creates or changes one product per row, by SKU; a product that already says what its row
/// says is counted as unchanged. Call inside a transaction (an import is all or nothing).
pub async fn upsert_sheet(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    rows: &[SheetProduct],
) -> DbResult<Imported> {
    type Current = (
        Uuid,
        String,
        Option<String>,
        Option<Decimal>,
        Option<Decimal>,
        Option<String>,
        bool,
    );
    let mut done = Imported::default();
    for chunk in rows.chunks(1000) {
        let skus: Vec<&str> = chunk.iter().map(|r| r.sku.as_str()).collect();
        let existing: std::collections::HashMap<String, Current> = products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::sku.eq_any(&skus))
            .select((
                products::sku,
                (
                    products::id,
                    products::name,
                    products::unit,
                    products::price,
                    products::unit_cost,
                    products::barcode,
                    products::tracks_stock,
                ),
            ))
            .load::<(String, Current)>(conn)
            .await?
            .into_iter()
            .collect();
        for row in chunk {
            let Some((id, name, unit, price, unit_cost, barcode, tracks)) = existing.get(&row.sku)
            else {
                diesel::insert_into(products::table)
                    .values((
                        NewProduct {
                            id: Uuid::now_v7(),
                            account_id,
                            sku: row.sku.clone(),
                            name: row.name.clone(),
                            base_name: row.name.clone(),
                            properties: Value::Array(Vec::new()),
                            price: row.price,
                            unit: row.unit.clone(),
                            keycrm_offer_id: None,
                            keycrm_product_id: None,
                            origin: Origin::Manual,
                            tracks_stock: row.tracks_stock.unwrap_or(true),
                        },
                        products::unit_cost.eq(row.unit_cost),
                        products::barcode.eq(&row.barcode),
                    ))
                    .execute(conn)
                    .await?;
                done.created += 1;
                continue;
            };
            let same = |a: Option<Decimal>, b: Option<Decimal>| {
                a.is_none() || a.map(|d| d.normalize()) == b.map(|d| d.normalize())
            };
            let unchanged = row.name == *name
                && (row.unit.is_none() || row.unit == *unit)
                && same(row.price, *price)
                && same(row.unit_cost, *unit_cost)
                && (row.barcode.is_none() || row.barcode == *barcode)
                && row.tracks_stock.is_none_or(|t| t == *tracks);
            if unchanged {
                done.unchanged += 1;
                continue;
            }
            diesel::update(products::table.find(id))
                .set((
                    products::name.eq(&row.name),
                    products::base_name.eq(&row.name),
                    products::unit.eq(row.unit.clone().or(unit.clone())),
                    products::price.eq(row.price.or(*price)),
                    products::unit_cost.eq(row.unit_cost.or(*unit_cost)),
                    products::barcode.eq(row.barcode.clone().or(barcode.clone())),
                    products::tracks_stock.eq(row.tracks_stock.unwrap_or(*tracks)),
                    products::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            done.updated += 1;
        }
    }
    Ok(done)
}

/// A product's spreadsheet columns as read: sku, name, unit, price, unit cost, barcode,
/// tracks stock.
type SheetRow = (
    String,
    String,
    Option<String>,
    Option<Decimal>,
    Option<Decimal>,
    Option<String>,
    bool,
);

/// Every product of the account as a spreadsheet gives it back, by SKU.
pub async fn all_for_sheet(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Vec<SheetProduct>> {
    let rows: Vec<SheetRow> = products::table
        .filter(products::account_id.eq(account_id))
        .order(products::sku.asc())
        .select((
            products::sku,
            products::name,
            products::unit,
            products::price,
            products::unit_cost,
            products::barcode,
            products::tracks_stock,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(sku, name, unit, price, unit_cost, barcode, tracks)| SheetProduct {
                sku,
                name,
                unit,
                price,
                unit_cost,
                barcode,
                tracks_stock: Some(tracks),
            },
        )
        .collect())
}
