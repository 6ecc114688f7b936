//! Resync and reconcile: repairs when keyCRM's stock may differ from sklad's.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::Serialize;
use sklad_db::Db;
use sklad_keycrm::{KeycrmClient, MAX_PAGE_SIZE, Priority};
use uuid::Uuid;

/// A SKU whose quantity in keyCRM differs from sklad's sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub keycrm_warehouse_id: i64,
    pub sku: String,
    pub keycrm_quantity: Decimal,
    pub sklad_quantity: Decimal,
}

/// What a reconciliation found; every drifted SKU was marked to be pushed again.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// keyCRM pages read.
    pub pages: u32,
    /// (keyCRM warehouse, SKU) pairs compared.
    pub checked: usize,
    pub drift: Vec<Drift>,
}

/// Marks every SKU of every mapped warehouse to be pushed, even if keyCRM had it already.
pub async fn resync(db: &Db, account: Uuid) -> sklad_db::DbResult<usize> {
    let mut conn = db.conn().await?;
    sklad_db::stock_sync::mark_all_mapped(&mut conn, account, true).await
}

/// Reads keyCRM's per-warehouse stocks (`GET /offers/stocks?filter[details]=true`, every
/// page) for the keyCRM warehouses sklad pushes to, compares them with sklad's sums, and
/// marks every SKU that differs to be pushed again. SKUs sklad has no product for are left
/// alone. `progress(pages_done, pages_total)` is called after each page.
pub async fn reconcile(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
    progress: impl Fn(u32, Option<u32>),
) -> anyhow::Result<Report> {
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
    // keyCRM's quantity per (keyCRM warehouse, SKU); a SKU without a row there holds zero.
    let mut keycrm: BTreeMap<(i64, String), Decimal> = BTreeMap::new();
    let mut keycrm_skus: BTreeSet<String> = BTreeSet::new();
    let mut page = 1;
    loop {
        let current = client
            .stocks_page(true, page, MAX_PAGE_SIZE, Priority::Normal)
            .await?;
        for offer in &current.data {
            let Some(sku) = offer.sku.clone().filter(|s| !s.is_empty()) else {
                continue;
            };
            keycrm_skus.insert(sku.clone());
            for row in &offer.warehouse {
                if targets.contains(&row.id) {
                    keycrm.insert(
                        (row.id, sku.clone()),
                        row.quantity.unwrap_or_default().normalize(),
                    );
                }
            }
        }
        report.pages = page;
        progress(
            page,
            current.page_count().and_then(|p| u32::try_from(p).ok()),
        );
        if !current.has_next() || current.data.is_empty() {
            break;
        }
        page += 1;
    }
    let skus: Vec<String> = keycrm_skus.into_iter().collect();
    let mut conn = db.conn().await?;
    let known: BTreeSet<String> = {
        let (products, _) = sklad_db::products::list(
            &mut conn,
            account,
            &sklad_db::products::ProductFilter {
                page: 1,
                per_page: i64::MAX / 2,
                ..Default::default()
            },
        )
        .await?;
        products
            .into_iter()
            .map(|p| p.sku)
            .filter(|s| skus.binary_search(s).is_ok())
            .collect()
    };
    let known: Vec<String> = known.into_iter().collect();
    for target in &targets {
        let sums = sklad_db::stock_sync::sums(&mut conn, account, *target, &known).await?;
        let mut drifted = Vec::new();
        for sku in &known {
            report.checked += 1;
            let theirs = keycrm
                .get(&(*target, sku.clone()))
                .copied()
                .unwrap_or_default();
            let ours = sums.get(sku).copied().unwrap_or_default();
            if theirs != ours {
                drifted.push(sku.clone());
                report.drift.push(Drift {
                    keycrm_warehouse_id: *target,
                    sku: sku.clone(),
                    keycrm_quantity: theirs,
                    sklad_quantity: ours,
                });
            }
        }
        if !drifted.is_empty() {
            sklad_db::stock_sync::forget_accepted(&mut conn, account, *target, &drifted).await?;
            let pairs: Vec<(i64, String)> = drifted.into_iter().map(|sku| (*target, sku)).collect();
            sklad_db::stock_sync::mark(&mut conn, account, &pairs).await?;
        }
    }
    Ok(report)
}
