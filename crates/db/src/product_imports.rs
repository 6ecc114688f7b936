//! Products in bulk: keyCRM's catalogue, page by page, and spreadsheets. Both write by SKU
//! and count what they created, changed and left as it was, so running one again changes
//! nothing and says so.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::Value;
use sklad_domain::nomenclature::Origin;
use uuid::Uuid;

use crate::DbResult;
use crate::products::NewProduct;
use crate::schema::products;

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
