//! Repairs for when keyCRM's stock may differ from sklad's, and learning keyCRM's
//! warehouses (keyCRM has no endpoint that lists them).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::TryStreamExt;
use rust_decimal::Decimal;
use sklad_db::{Db, DbError};
use sklad_domain::budget::Priority;
use sklad_domain::stock::{Drift, KeycrmWarehouseSource, drift};
use sklad_keycrm::{KeycrmClient, KeycrmError};
use uuid::Uuid;

/// Why a repair stopped; what was marked before stays marked.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error(transparent)]
    Keycrm(#[from] KeycrmError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What a reconciliation found; every drifted SKU was marked to be pushed again.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// keyCRM pages read.
    pub pages: u32,
    /// (keyCRM warehouse, SKU) pairs compared.
    pub checked: usize,
    pub drift: Vec<Drift>,
}

/// Marks every SKU of every mapped warehouse to be pushed, even if keyCRM had it already.
/// Returns the (keyCRM warehouse, SKU) pairs marked.
pub async fn resync(db: &Db, account: Uuid) -> Result<usize, DbError> {
    let mut conn = db.conn().await?;
    sklad_db::stock_sync::mark_all_mapped(&mut conn, account, true).await
}

/// Reads keyCRM's per-warehouse stocks (every page of `GET /offers/stocks?filter[details]=true`)
/// for the keyCRM warehouses sklad pushes to, compares them with sklad's sums, and marks
/// every SKU that differs to be pushed again. SKUs sklad has no product for are left alone.
/// `progress(pages_done, pages_total)` is called after each page.
pub async fn reconcile(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
    progress: impl Fn(u32, Option<u32>),
) -> Result<Report, MaintenanceError> {
    let targets: BTreeSet<i64> = {
        let mut conn = db.conn().await?;
        sklad_db::warehouses::list(&mut conn, account)
            .await?
            .into_iter()
            .filter_map(|w| w.keycrm_warehouse_id)
            .collect()
    };
    let mut report = Report::default();
    if targets.is_empty() {
        return Ok(report);
    }
    // keyCRM's quantity per keyCRM warehouse and SKU; a SKU without a row there holds zero.
    let mut keycrm: BTreeMap<i64, BTreeMap<String, Decimal>> = BTreeMap::new();
    let mut keycrm_skus: Vec<String> = Vec::new();
    let mut pages = std::pin::pin!(client.stock_pages(true, Priority::Normal));
    while let Some(page) = pages.try_next().await? {
        for offer in &page.data {
            let Some(sku) = offer.sku.clone().filter(|s| !s.is_empty()) else {
                continue;
            };
            for row in offer.warehouse.iter().filter(|r| targets.contains(&r.id)) {
                keycrm
                    .entry(row.id)
                    .or_default()
                    .insert(sku.clone(), row.quantity.unwrap_or_default());
            }
            keycrm_skus.push(sku);
        }
        report.pages += 1;
        progress(
            report.pages,
            page.page_count().and_then(|p| u32::try_from(p).ok()),
        );
    }
    let mut conn = db.conn().await?;
    let known: BTreeSet<String> = sklad_db::products::ids_by_sku(&mut conn, account, &keycrm_skus)
        .await?
        .into_keys()
        .collect();
    let known_list: Vec<String> = known.iter().cloned().collect();
    for target in &targets {
        let sums = sklad_db::stock_sync::sums(&mut conn, account, *target, &known_list).await?;
        let empty = BTreeMap::new();
        let found = drift(*target, &known, keycrm.get(target).unwrap_or(&empty), &sums);
        report.checked += known.len();
        let drifted: Vec<String> = found.iter().map(|d| d.sku.clone()).collect();
        if !drifted.is_empty() {
            sklad_db::stock_sync::forget_accepted(&mut conn, account, *target, &drifted).await?;
            let pairs: Vec<(i64, String)> = drifted.into_iter().map(|sku| (*target, sku)).collect();
            sklad_db::stock_sync::mark(&mut conn, account, &pairs).await?;
        }
        report.drift.extend(found);
    }
    Ok(report)
}

/// "Update the list": collects keyCRM warehouse ids and names from every page of
/// `GET /offers/stocks?filter[details]=true` and records them.
pub async fn refresh_keycrm_warehouses(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
) -> Result<(), MaintenanceError> {
    let mut seen: HashMap<i64, String> = HashMap::new();
    let mut pages = std::pin::pin!(client.stock_pages(true, Priority::Normal));
    while let Some(page) = pages.try_next().await? {
        for row in page.data.iter().flat_map(|offer| &offer.warehouse) {
            seen.insert(
                row.id,
                row.name
                    .clone()
                    .unwrap_or_else(|| format!("keyCRM warehouse {}", row.id)),
            );
        }
    }
    let seen: Vec<(i64, String)> = seen.into_iter().collect();
    let mut conn = db.conn().await?;
    sklad_db::warehouses::upsert_keycrm(&mut conn, account, &seen, KeycrmWarehouseSource::Stocks)
        .await?;
    Ok(())
}
