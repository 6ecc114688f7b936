//! Repairs for when keyCRM's stock may differ from sklad's, and learning keyCRM's
//! warehouses (keyCRM has no endpoint that lists them).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::TryStreamExt;
use rust_decimal::Decimal;
use sklad_db::{Db, DbError};
use sklad_domain::budget::Priority;
use sklad_domain::push::{Drift, drift, plan_push};
use sklad_domain::stock::KeycrmWarehouseSource;
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

/// What a reconciliation found; every drifted SKU sklad has counted was marked to be pushed
/// again.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// keyCRM pages read.
    pub pages: u32,
    /// (keyCRM warehouse, SKU) pairs compared.
    pub checked: usize,
    pub drift: Vec<Drift>,
    /// Drifted SKUs sklad never counted where they drifted: left as keyCRM has them (take
    /// keyCRM's quantities over, or count them, to settle them).
    pub uncounted: Vec<Drift>,
}

/// Marks every SKU of every mapped warehouse to be pushed, even if keyCRM had it already.
/// Returns the (keyCRM warehouse, SKU) pairs marked.
pub async fn resync(db: &Db, account: Uuid) -> Result<usize, DbError> {
    let mut conn = db.conn().await?;
    sklad_db::stock_sync::mark_all_mapped(&mut conn, account, true).await
}

/// Reads keyCRM's per-warehouse stocks (every page of `GET /offers/stocks?filter[details]=true`)
/// for the keyCRM warehouses sklad pushes to, compares them with sklad's sums, and marks
/// every SKU that differs to be pushed again. SKUs sklad has no product for are left alone,
/// and so are SKUs keyCRM holds that sklad never counted there (reported as `uncounted`):
/// sklad's zero for them is not a count.
/// `progress(pages_done, pages_total)` is called after each page.
pub async fn reconcile(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
    progress: impl Fn(u32, Option<u32>),
) -> Result<Report, MaintenanceError> {
    let targets: BTreeSet<i64> = {
        let mut conn = db.conn().await?;
        sklad_db::warehouses::mapped_targets(&mut conn, account).await?
    };
    let mut report = Report::default();
    if targets.is_empty() {
        return Ok(report);
    }
    let read = read_stocks(client, &targets, Priority::Normal, &progress).await?;
    report.pages = read.pages;
    let (keycrm, keycrm_skus) = (read.quantities, read.skus);
    let mut conn = db.conn().await?;
    let known: BTreeSet<String> = sklad_db::products::ids_by_sku(&mut conn, account, &keycrm_skus)
        .await?
        .into_keys()
        .collect();
    let known_list: Vec<String> = known.iter().cloned().collect();
    let known_held: BTreeMap<i64, BTreeMap<String, Decimal>> = keycrm
        .iter()
        .map(|(target, held)| {
            let held = held
                .iter()
                .filter(|(sku, _)| known.contains(*sku))
                .map(|(sku, q)| (sku.clone(), *q))
                .collect();
            (*target, held)
        })
        .collect();
    let uncounted: BTreeSet<(i64, String)> =
        crate::takeover::uncounted_in(&mut conn, account, &known_held)
            .await?
            .into_iter()
            .map(|u| (u.keycrm_warehouse_id, u.sku))
            .collect();
    for target in &targets {
        let sums = sklad_db::stock_sync::sums(&mut conn, account, *target, &known_list).await?;
        let empty = BTreeMap::new();
        let (found, never_counted): (Vec<Drift>, Vec<Drift>) =
            drift(*target, &known, keycrm.get(target).unwrap_or(&empty), &sums)
                .into_iter()
                .partition(|d| !uncounted.contains(&(*target, d.sku.clone())));
        report.uncounted.extend(never_counted);
        report.checked += known.len();
        let drifted: Vec<String> = found.iter().map(|d| d.sku.clone()).collect();
        if !drifted.is_empty() {
            sklad_db::stock_sync::resend(&mut conn, account, *target, &drifted).await?;
        }
        report.drift.extend(found);
    }
    Ok(report)
}

/// keyCRM's stock as read back: quantity per keyCRM warehouse and SKU (a SKU without a row
/// there holds zero), every SKU seen, and the pages read.
pub(crate) struct KeycrmStocks {
    pub(crate) quantities: BTreeMap<i64, BTreeMap<String, Decimal>>,
    pub(crate) skus: Vec<String>,
    pub(crate) pages: u32,
}

/// Reads every page of `GET /offers/stocks?filter[details]=true`, keeping the rows of `targets`.
pub(crate) async fn read_stocks(
    client: &KeycrmClient,
    targets: &BTreeSet<i64>,
    priority: Priority,
    progress: &impl Fn(u32, Option<u32>),
) -> Result<KeycrmStocks, KeycrmError> {
    let mut read = KeycrmStocks {
        quantities: BTreeMap::new(),
        skus: Vec::new(),
        pages: 0,
    };
    let mut pages = std::pin::pin!(client.stock_pages(true, priority));
    while let Some(page) = pages.try_next().await? {
        for offer in &page.data {
            let Some(sku) = offer.sku.clone().filter(|s| !s.is_empty()) else {
                continue;
            };
            for row in offer.warehouse.iter().filter(|r| targets.contains(&r.id)) {
                read.quantities
                    .entry(row.id)
                    .or_default()
                    .insert(sku.clone(), row.quantity.unwrap_or_default());
            }
            read.skus.push(sku);
        }
        read.pages += 1;
        progress(
            read.pages,
            page.page_count().and_then(|p| u32::try_from(p).ok()),
        );
    }
    Ok(read)
}

/// One SKU of a preview: what sklad would send, what keyCRM last accepted from sklad, and
/// (read back) what keyCRM holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewLine {
    pub sku: String,
    pub quantity: Decimal,
    pub last_accepted: Option<Decimal>,
    pub in_keycrm: Option<Decimal>,
}

/// What a keyCRM warehouse would receive.
#[derive(Debug, Clone, Default)]
pub struct PreviewTarget {
    pub keycrm_warehouse_id: i64,
    /// The next push: marked SKUs whose sum differs from what keyCRM last accepted.
    pub next_push: Vec<PreviewLine>,
    /// Marked SKUs the next push skips (keyCRM already has their sum).
    pub unchanged: Vec<String>,
    /// A resync: every SKU of the sklad warehouses mapped here (only when asked).
    pub resync: Vec<PreviewLine>,
}

/// What the stock-publisher would send each mapped keyCRM warehouse, sending nothing.
/// `read_back` (a client) adds keyCRM's current quantities, read at bulk priority; `resync`
/// adds what a resync would send. Returns the targets and the keyCRM pages read.
pub async fn preview(
    db: &Db,
    read_back: Option<&KeycrmClient>,
    account: Uuid,
    resync: bool,
) -> Result<(Vec<PreviewTarget>, u32), MaintenanceError> {
    let mut conn = db.conn().await?;
    let warehouses = sklad_db::warehouses::list(&mut conn, account).await?;
    let targets: BTreeSet<i64> = warehouses
        .iter()
        .filter_map(|w| w.keycrm_warehouse_id)
        .collect();
    let keycrm = match read_back {
        Some(client) if !targets.is_empty() => {
            Some(read_stocks(client, &targets, Priority::Bulk, &|_, _| {}).await?)
        }
        _ => None,
    };
    let mut previews = Vec::new();
    for target in targets {
        let dirty = sklad_db::stock_sync::dirty_skus(&mut conn, account, target).await?;
        let mapped: Vec<Uuid> = warehouses
            .iter()
            .filter(|w| w.keycrm_warehouse_id == Some(target))
            .map(|w| w.id)
            .collect();
        let all = if resync {
            sklad_db::stock_sync::skus_in(&mut conn, account, &mapped).await?
        } else {
            Vec::new()
        };
        let asked: Vec<String> = dirty.iter().chain(&all).cloned().collect();
        let sums = sklad_db::stock_sync::sums(&mut conn, account, target, &asked).await?;
        let accepted = sklad_db::stock_sync::accepted(&mut conn, account, target, &asked).await?;
        let held = keycrm.as_ref().map(|k| k.quantities.get(&target));
        let line = |(sku, quantity): (String, Decimal)| PreviewLine {
            last_accepted: accepted.get(&sku).copied(),
            in_keycrm: held.map(|h| {
                h.and_then(|h| h.get(&sku).copied())
                    .unwrap_or_default()
                    .normalize()
            }),
            sku,
            quantity,
        };
        let plan = plan_push(&dirty, &sums, &accepted);
        let mut all: Vec<(String, Decimal)> = all
            .into_iter()
            .map(|sku| {
                let quantity = sums.get(&sku).copied().unwrap_or_default();
                (sku, quantity)
            })
            .collect();
        all.sort();
        previews.push(PreviewTarget {
            keycrm_warehouse_id: target,
            next_push: plan.send.into_iter().map(line).collect(),
            unchanged: plan.unchanged,
            resync: all.into_iter().map(line).collect(),
        });
    }
    Ok((previews, keycrm.map_or(0, |k| k.pages)))
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
