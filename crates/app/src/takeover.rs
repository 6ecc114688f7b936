//! Moving in: taking over keyCRM's stock as sklad's opening count, and telling which SKUs
//! keyCRM holds that sklad has never counted (a first push must not wipe them).

use std::collections::{BTreeMap, BTreeSet};

use diesel_async::{AsyncConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_db::stock::Refused;
use sklad_db::{Db, DbError};
use sklad_domain::budget::Priority;
use sklad_domain::stock::MovementOrigin;
use sklad_domain::takeover::{Known, Skipped, TakeOverLine, plan};
use sklad_keycrm::{KeycrmClient, KeycrmError};
use uuid::Uuid;

use crate::maintenance::read_stocks;

/// Why a take-over did nothing.
#[derive(Debug, thiserror::Error)]
pub enum TakeOverError {
    #[error("no sklad warehouse is mapped to a keyCRM warehouse; map them first")]
    NothingMapped,
    #[error(
        "keyCRM warehouse {keycrm_warehouse_id} is fed by several sklad warehouses; name the one that takes the difference (into)"
    )]
    NeedsInto {
        keycrm_warehouse_id: i64,
        candidates: Vec<Uuid>,
    },
    #[error("keyCRM warehouse {0} is not mapped to any sklad warehouse")]
    NotMapped(i64),
    #[error("warehouse {warehouse_id} is not mapped to keyCRM warehouse {keycrm_warehouse_id}")]
    IntoNotMapped {
        keycrm_warehouse_id: i64,
        warehouse_id: Uuid,
    },
    #[error(transparent)]
    Keycrm(#[from] KeycrmError),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for TakeOverError {
    fn from(err: diesel::result::Error) -> Self {
        TakeOverError::Db(err.into())
    }
}

/// What one keyCRM warehouse's take-over does (or would do).
#[derive(Debug, Clone)]
pub struct TargetTakeOver {
    pub keycrm_warehouse_id: i64,
    /// The sklad warehouse counted.
    pub warehouse_id: Uuid,
    /// The other sklad warehouses mapped there, which keep what they hold.
    pub keeps: Vec<Uuid>,
    /// Every SKU keyCRM lists or the warehouse holds, with the change.
    pub lines: Vec<TakeOverLine>,
    pub skipped: Vec<Skipped>,
    /// The opening count recorded (none on a dry run, or when nothing changed).
    pub movement_id: Option<Uuid>,
}

/// A take-over's outcome.
#[derive(Debug, Clone)]
pub struct TakeOver {
    pub dry_run: bool,
    /// keyCRM pages read.
    pub pages: u32,
    pub targets: Vec<TargetTakeOver>,
}

/// The note on every opening count.
pub const NOTE: &str = "Opening count: keyCRM's quantities taken over";

/// Reads keyCRM's per-warehouse stock and makes sklad's balances equal to it: one
/// `inventory` movement (origin `keycrm_take_over`) per counted sklad warehouse. `into`
/// names, per keyCRM warehouse fed by several sklad warehouses, the one that takes the
/// difference. A dry run records nothing; a real run records nothing when nothing changed,
/// marks the account as taken over and sends keyCRM nothing: what keyCRM holds is recorded
/// as what it last accepted. `progress(pages_done, pages_total)` follows the read.
pub async fn take_over(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
    into: &BTreeMap<i64, Uuid>,
    dry_run: bool,
    progress: impl Fn(u32, Option<u32>),
) -> Result<TakeOver, TakeOverError> {
    let choices = {
        let mut conn = db.conn().await?;
        choose(&mut conn, account, into).await?
    };
    let targets: BTreeSet<i64> = choices.keys().copied().collect();
    let read = read_stocks(client, &targets, Priority::Normal, &progress).await?;
    let mut conn = db.conn().await?;
    let known: BTreeMap<String, Known> =
        sklad_db::products::stock_facts_by_sku(&mut conn, account, &read.skus)
            .await?
            .into_iter()
            .map(|(sku, (_, tracks))| {
                (
                    sku,
                    if tracks {
                        Known::Stocked
                    } else {
                        Known::NotStocked
                    },
                )
            })
            .collect();
    let read_quantities = read.quantities;
    let pages = read.pages;
    let outcome = conn
        .transaction::<_, TakeOverError, _>(async move |conn| {
            // One take-over per account at a time: a second (a double click) waits and then
            // finds nothing left to change.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('take_over:' || $1::text))")
                .bind::<diesel::sql_types::Uuid, _>(account)
                .execute(conn)
                .await?;
            let mut out = Vec::new();
            for (target, (warehouse, keeps)) in &choices {
                let mut all = keeps.clone();
                all.push(*warehouse);
                let held = sklad_db::counts::on_hand_by_sku(conn, account, &all).await?;
                let mut others: BTreeMap<String, Decimal> = BTreeMap::new();
                for keep in keeps {
                    for (sku, q) in held.get(keep).into_iter().flatten() {
                        *others.entry(sku.clone()).or_default() += *q;
                    }
                }
                let empty = BTreeMap::new();
                let keycrm = read_quantities.get(target).unwrap_or(&empty);
                let planned = plan(
                    keycrm,
                    &known,
                    held.get(warehouse).unwrap_or(&empty),
                    &others,
                );
                let mut movement_id = None;
                if !dry_run {
                    movement_id =
                        record(conn, account, *target, *warehouse, &planned.lines, keycrm).await?;
                }
                out.push(TargetTakeOver {
                    keycrm_warehouse_id: *target,
                    warehouse_id: *warehouse,
                    keeps: keeps.clone(),
                    lines: planned.lines,
                    skipped: planned.skipped,
                    movement_id,
                });
            }
            if !dry_run {
                sklad_db::integrations::mark_taken_over(conn, account).await?;
            }
            Ok(out)
        })
        .await?;
    let recorded = outcome.iter().filter(|t| t.movement_id.is_some()).count();
    tracing::info!(account_id = %account, dry_run, pages, recorded, "keyCRM stock taken over");
    Ok(TakeOver {
        dry_run,
        pages,
        targets: outcome,
    })
}

/// Records one target's opening count and what keyCRM holds as accepted from sklad.
async fn record(
    conn: &mut diesel_async::AsyncPgConnection,
    account: Uuid,
    target: i64,
    warehouse: Uuid,
    lines: &[TakeOverLine],
    keycrm: &BTreeMap<String, Decimal>,
) -> Result<Option<Uuid>, TakeOverError> {
    let skus: Vec<String> = lines.iter().map(|l| l.sku.clone()).collect();
    let ids = sklad_db::products::ids_by_sku(conn, account, &skus).await?;
    let counts: Vec<(Uuid, Decimal)> = lines
        .iter()
        .filter(|l| !l.change.is_zero())
        .filter_map(|l| ids.get(&l.sku).map(|id| (*id, l.keycrm)))
        .collect();
    let recorded = if counts.is_empty() {
        None
    } else {
        sklad_db::counts::record_counts(
            conn,
            account,
            warehouse,
            &counts,
            Some(NOTE.into()),
            Some(MovementOrigin::KeycrmTakeOver),
        )
        .await?
    };
    // keyCRM holds these already: a push would send them back unchanged.
    let accepted: Vec<(String, Decimal)> = lines
        .iter()
        .map(|l| {
            let held = keycrm.get(&l.sku).copied().unwrap_or_default();
            (l.sku.clone(), held.max(Decimal::ZERO))
        })
        .collect();
    sklad_db::stock_sync::record_accepted(conn, account, target, &accepted).await?;
    Ok(recorded.map(|r| r.movement.id))
}

/// Per mapped keyCRM warehouse: the sklad warehouse counted and the ones that keep theirs.
async fn choose(
    conn: &mut diesel_async::AsyncPgConnection,
    account: Uuid,
    into: &BTreeMap<i64, Uuid>,
) -> Result<BTreeMap<i64, (Uuid, Vec<Uuid>)>, TakeOverError> {
    let mut mapped: BTreeMap<i64, Vec<Uuid>> = BTreeMap::new();
    for w in sklad_db::warehouses::list(conn, account).await? {
        if let Some(target) = w.keycrm_warehouse_id {
            mapped.entry(target).or_default().push(w.id);
        }
    }
    if mapped.is_empty() {
        return Err(TakeOverError::NothingMapped);
    }
    if let Some(unknown) = into.keys().find(|k| !mapped.contains_key(k)) {
        return Err(TakeOverError::NotMapped(*unknown));
    }
    let mut chosen = BTreeMap::new();
    for (target, warehouses) in mapped {
        let pick = match (into.get(&target), warehouses.as_slice()) {
            (Some(w), _) if warehouses.contains(w) => *w,
            (Some(w), _) => {
                return Err(TakeOverError::IntoNotMapped {
                    keycrm_warehouse_id: target,
                    warehouse_id: *w,
                });
            }
            (None, [only]) => *only,
            (None, _) => {
                return Err(TakeOverError::NeedsInto {
                    keycrm_warehouse_id: target,
                    candidates: warehouses,
                });
            }
        };
        let keeps = warehouses.into_iter().filter(|w| *w != pick).collect();
        chosen.insert(target, (pick, keeps));
    }
    Ok(chosen)
}

/// A SKU keyCRM holds in a keyCRM warehouse sklad pushes to, that sklad never counted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uncounted {
    pub sku: String,
    pub keycrm_warehouse_id: i64,
    pub keycrm_quantity: Decimal,
}

/// Of keyCRM's quantities per keyCRM warehouse (`held`), the SKUs with a quantity that no
/// sklad warehouse mapped there has a ledger line for: sending sklad's quantity would
/// replace keyCRM's with a number nobody counted.
pub async fn uncounted_in(
    conn: &mut diesel_async::AsyncPgConnection,
    account: Uuid,
    held: &BTreeMap<i64, BTreeMap<String, Decimal>>,
) -> Result<Vec<Uncounted>, DbError> {
    let warehouses = sklad_db::warehouses::list(conn, account).await?;
    let mut out = Vec::new();
    for (target, quantities) in held {
        let mapped: Vec<Uuid> = warehouses
            .iter()
            .filter(|w| w.keycrm_warehouse_id == Some(*target))
            .map(|w| w.id)
            .collect();
        let skus: Vec<String> = quantities
            .iter()
            .filter(|(_, q)| !q.is_zero())
            .map(|(sku, _)| sku.clone())
            .collect();
        let counted = sklad_db::counts::counted_skus(conn, account, &mapped, &skus).await?;
        out.extend(
            skus.into_iter()
                .filter(|sku| !counted.contains(sku))
                .map(|sku| Uncounted {
                    keycrm_quantity: quantities[&sku].normalize(),
                    sku,
                    keycrm_warehouse_id: *target,
                }),
        );
    }
    Ok(out)
}

/// Reads keyCRM's stock for the mapped keyCRM warehouses and lists what sklad never counted.
pub async fn uncounted(
    db: &Db,
    client: &KeycrmClient,
    account: Uuid,
) -> Result<Vec<Uncounted>, TakeOverError> {
    let targets: BTreeSet<i64> = {
        let mut conn = db.conn().await?;
        sklad_db::warehouses::mapped_targets(&mut conn, account).await?
    };
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let read = read_stocks(client, &targets, Priority::Normal, &|_, _| {}).await?;
    let mut conn = db.conn().await?;
    Ok(uncounted_in(&mut conn, account, &read.quantities).await?)
}
