//! What the stock-publisher keeps: the dirty set of (keyCRM warehouse, SKU) pairs to push and
//! the quantity keyCRM last accepted for each (the log of every push is [`crate::push_log`]).
//!
//! Why this file is long: the dirty set's whole life is here (mark, claim, lease, settle,
//! back off, sums per keyCRM warehouse), so the one transaction that settles a push and the
//! statements it is made of stay side by side.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::push::keycrm_quantity;
use sklad_domain::reservation::{PushQuantity, pushed_quantity};
use uuid::Uuid;

use crate::schema::{
    balances, keycrm_integrations, products, stock_dirty, stock_pushed, warehouses,
};
use crate::{DbError, DbResult};

/// Marks `(keyCRM warehouse, SKU)` pairs dirty; each mark raises the pair's version. SKUs of
/// products that do not track stock (services) are never sent, so never marked.
pub async fn mark(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    pairs: &[(i64, String)],
) -> DbResult<usize> {
    let skus: BTreeSet<&String> = pairs.iter().map(|(_, sku)| sku).collect();
    let untracked: BTreeSet<String> = products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::sku.eq_any(skus))
        .filter(products::tracks_stock.eq(false))
        .select(products::sku)
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    let mut pairs: Vec<(i64, String)> = pairs
        .iter()
        .filter(|(_, sku)| !untracked.contains(sku))
        .cloned()
        .collect();
    pairs.sort();
    pairs.dedup();
    for chunk in pairs.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(keycrm_warehouse_id, sku)| {
                (
                    stock_dirty::account_id.eq(account_id),
                    stock_dirty::keycrm_warehouse_id.eq(*keycrm_warehouse_id),
                    stock_dirty::sku.eq(sku.clone()),
                )
            })
            .collect();
        diesel::insert_into(stock_dirty::table)
            .values(rows)
            .on_conflict((
                stock_dirty::account_id,
                stock_dirty::keycrm_warehouse_id,
                stock_dirty::sku,
            ))
            .do_update()
            .set((
                stock_dirty::version.eq(stock_dirty::version + 1),
                stock_dirty::marked_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(pairs.len())
}

/// The keyCRM warehouses the given sklad warehouses are mapped to (unmapped ones are absent).
pub async fn mapped(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_ids: &[Uuid],
) -> DbResult<BTreeMap<Uuid, i64>> {
    let rows: Vec<(Uuid, Option<i64>)> = warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::id.eq_any(warehouse_ids))
        .select((warehouses::id, warehouses::keycrm_warehouse_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, k)| k.map(|k| (id, k)))
        .collect())
}

/// Every SKU whose sum `warehouse_ids` change (a mapping changed, so the sums there
/// changed): each with a balance there, and each product sold from components
/// (`push_makeable`) made from one of those, found through the reverse BOM index (it may
/// have no balance of its own).
pub async fn skus_in(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_ids: &[Uuid],
) -> DbResult<Vec<String>> {
    let held: Vec<(Uuid, String)> = balances::table
        .inner_join(products::table)
        .filter(balances::account_id.eq(account_id))
        .filter(balances::warehouse_id.eq_any(warehouse_ids))
        .select((products::id, products::sku))
        .distinct()
        .load(conn)
        .await?;
    let components: Vec<Uuid> = held.iter().map(|(id, _)| *id).collect();
    let made = crate::boms::makeable_users(conn, account_id, &components).await?;
    let skus: BTreeSet<String> = held.into_iter().map(|(_, sku)| sku).chain(made).collect();
    Ok(skus.into_iter().collect())
}

/// The SKUs marked dirty for a keyCRM warehouse, in order (what the next push considers).
pub async fn dirty_skus(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
) -> DbResult<Vec<String>> {
    Ok(stock_dirty::table
        .filter(stock_dirty::account_id.eq(account_id))
        .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
        .order(stock_dirty::sku.asc())
        .select(stock_dirty::sku)
        .load(conn)
        .await?)
}

/// Marks every SKU of every mapped warehouse dirty; with `forget_accepted`, also forgets what
/// keyCRM last accepted, so every one of them is sent. Returns the pairs marked.
pub async fn mark_all_mapped(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    forget_accepted: bool,
) -> DbResult<usize> {
    let mapped: Vec<(Uuid, Option<i64>)> = warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::keycrm_warehouse_id.is_not_null())
        .select((warehouses::id, warehouses::keycrm_warehouse_id))
        .load(conn)
        .await?;
    let mut targets: BTreeMap<i64, Vec<Uuid>> = BTreeMap::new();
    for (warehouse, target) in mapped {
        if let Some(target) = target {
            targets.entry(target).or_default().push(warehouse);
        }
    }
    let mut pairs: Vec<(i64, String)> = Vec::new();
    for (target, warehouse_ids) in targets {
        let skus = skus_in(conn, account_id, &warehouse_ids).await?;
        pairs.extend(skus.into_iter().map(|sku| (target, sku)));
    }
    if forget_accepted {
        diesel::delete(stock_pushed::table.filter(stock_pushed::account_id.eq(account_id)))
            .execute(conn)
            .await?;
    }
    mark(conn, account_id, &pairs).await
}

/// Marks one SKU dirty in every keyCRM warehouse the account maps a warehouse to.
pub async fn mark_everywhere(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    sku: &str,
) -> DbResult<usize> {
    let targets: Vec<Option<i64>> = warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::keycrm_warehouse_id.is_not_null())
        .select(warehouses::keycrm_warehouse_id)
        .distinct()
        .load(conn)
        .await?;
    let pairs: Vec<(i64, String)> = targets
        .into_iter()
        .flatten()
        .map(|k| (k, sku.to_owned()))
        .collect();
    mark(conn, account_id, &pairs).await
}

/// Forgets what keyCRM accepted for these pairs (it drifted), so they are sent again.
async fn forget_accepted(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
) -> DbResult<()> {
    diesel::delete(
        stock_pushed::table
            .filter(stock_pushed::account_id.eq(account_id))
            .filter(stock_pushed::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_pushed::sku.eq_any(skus)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// (account, keyCRM warehouse) targets with a push due: stock push on, and either no mark
/// for `settle` (the flurry is over) or a pair dirty for `max_delay` (a steady stream must
/// not wait for quiet forever). Pairs deferred or leased are not counted.
pub async fn due(
    conn: &mut AsyncPgConnection,
    settle: TimeDelta,
    max_delay: TimeDelta,
    limit: i64,
) -> DbResult<Vec<(Uuid, i64)>> {
    use diesel::dsl::{max, min};
    let now = Utc::now();
    /// Account, keyCRM warehouse, last mark, first mark.
    type Target = (Uuid, i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let rows: Vec<Target> = stock_dirty::table
        .inner_join(
            keycrm_integrations::table
                .on(keycrm_integrations::account_id.eq(stock_dirty::account_id)),
        )
        .filter(keycrm_integrations::stock_push_enabled.eq(true))
        .filter(keycrm_integrations::key_rejected_at.is_null())
        .filter(keycrm_integrations::misconfigured_at.is_null())
        .filter(stock_dirty::due_at.le(now))
        .group_by((stock_dirty::account_id, stock_dirty::keycrm_warehouse_id))
        .select((
            stock_dirty::account_id,
            stock_dirty::keycrm_warehouse_id,
            max(stock_dirty::marked_at),
            min(stock_dirty::first_marked_at),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, last, first)| {
            last.is_some_and(|l| l <= now - settle) || first.is_some_and(|f| f <= now - max_delay)
        })
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(account, target, _, _)| (account, target))
        .collect())
}

/// Takes the push lock of one (account, keyCRM warehouse) on `conn` (a dedicated
/// connection: the lock lasts until it closes), or answers `false` when another pusher
/// holds it. One pusher per target at a time is what keeps an older quantity from landing
/// in keyCRM after a newer one: the next push computes its sums only after the previous
/// one's request finished.
pub async fn try_lock_target(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
) -> DbResult<bool> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let key = {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"sklad/stock-push/");
        hasher.update(account_id.as_bytes());
        hasher.update(keycrm_warehouse_id.to_be_bytes());
        let digest = hasher.finalize();
        let mut key = [0u8; 8];
        key.copy_from_slice(&digest[..8]);
        i64::from_be_bytes(key)
    };
    let locked: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .get_result(conn)
        .await?;
    Ok(locked.locked)
}

/// Moves the lease of pairs still being pushed forward (a push may wait long for its
/// budget slot).
pub async fn renew(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
    lease: TimeDelta,
) -> DbResult<()> {
    diesel::update(
        stock_dirty::table
            .filter(stock_dirty::account_id.eq(account_id))
            .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_dirty::sku.eq_any(skus))
            .filter(stock_dirty::due_at.gt(diesel::dsl::now)),
    )
    .set(stock_dirty::due_at.eq(Utc::now() + lease))
    .execute(conn)
    .await?;
    Ok(())
}

/// A dirty pair as claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dirty {
    pub sku: String,
    pub version: i64,
    /// Pushes of this pair that failed in a row.
    pub failures: i32,
}

/// Claims up to `limit` due dirty SKUs of a target for `lease` (other pushers skip them).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    limit: i64,
    lease: TimeDelta,
) -> DbResult<Vec<Dirty>> {
    conn.transaction::<_, DbError, _>(async move |conn| {
        let rows: Vec<(String, i64, i32)> = stock_dirty::table
            .filter(stock_dirty::account_id.eq(account_id))
            .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_dirty::due_at.le(diesel::dsl::now))
            .order(stock_dirty::sku.asc())
            .limit(limit)
            .for_update()
            .skip_locked()
            .select((
                stock_dirty::sku,
                stock_dirty::version,
                stock_dirty::failures,
            ))
            .load(conn)
            .await?;
        let skus: Vec<&String> = rows.iter().map(|(sku, _, _)| sku).collect();
        diesel::update(
            stock_dirty::table
                .filter(stock_dirty::account_id.eq(account_id))
                .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
                .filter(stock_dirty::sku.eq_any(skus)),
        )
        .set(stock_dirty::due_at.eq(Utc::now() + lease))
        .execute(conn)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(sku, version, failures)| Dirty {
                sku,
                version,
                failures,
            })
            .collect())
    })
    .await
}

/// sklad's quantity per SKU in a keyCRM warehouse: the sum over every sklad warehouse mapped
/// to it of what each contributes under the account's `push_quantity` policy and the
/// warehouse's push buffer ([`pushed_quantity`]), plus, for products sold from components
/// (`push_makeable`), what each can make; a negative sum is what keyCRM can hold, zero
/// ([`keycrm_quantity`]). SKUs without a balance there are absent (zero).
pub async fn sums(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
) -> DbResult<BTreeMap<String, Decimal>> {
    let policy: String = keycrm_integrations::table
        .find(account_id)
        .select(keycrm_integrations::push_quantity)
        .first(conn)
        .await?;
    let policy = PushQuantity::try_from(policy).unwrap_or(PushQuantity::OnHand);
    let rows: Vec<(String, Decimal, Decimal, Decimal)> = balances::table
        .inner_join(warehouses::table)
        .inner_join(products::table)
        .filter(balances::account_id.eq(account_id))
        .filter(warehouses::keycrm_warehouse_id.eq(keycrm_warehouse_id))
        .filter(products::sku.eq_any(skus))
        .select((
            products::sku,
            balances::quantity,
            balances::reserved,
            warehouses::push_buffer,
        ))
        .load(conn)
        .await?;
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for (sku, on_hand, reserved, buffer) in rows {
        *sums.entry(sku).or_insert(Decimal::ZERO) +=
            pushed_quantity(policy, on_hand, reserved, buffer);
    }
    // Products sold from components: what each mapped warehouse can make is added.
    let makers = crate::boms::push_makeable_among(conn, account_id, skus).await?;
    if !makers.is_empty() {
        let places: Vec<Uuid> = warehouses::table
            .filter(warehouses::account_id.eq(account_id))
            .filter(warehouses::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .select(warehouses::id)
            .load(conn)
            .await?;
        for (product, sku) in makers {
            for place in &places {
                let made = crate::boms::makeable_in(conn, account_id, product, *place).await?;
                let sum = sums.entry(sku.clone()).or_insert(Decimal::ZERO);
                *sum = sum.saturating_add(made.units);
            }
        }
    }
    Ok(sums
        .into_iter()
        .map(|(sku, q)| (sku, keycrm_quantity(q).normalize()))
        .collect())
}

/// What keyCRM last accepted per SKU in a keyCRM warehouse.
pub async fn accepted(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
) -> DbResult<BTreeMap<String, Decimal>> {
    let rows: Vec<(String, Option<Decimal>)> = stock_pushed::table
        .filter(stock_pushed::account_id.eq(account_id))
        .filter(stock_pushed::keycrm_warehouse_id.eq(keycrm_warehouse_id))
        .filter(stock_pushed::sku.eq_any(skus))
        .select((stock_pushed::sku, stock_pushed::quantity))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(sku, q)| q.map(|q| (sku, q.normalize())))
        .collect())
}

/// Settles a push in one transaction: what keyCRM took and what it refused are recorded and
/// the claimed marks that did not change meanwhile are cleared together. A crash leaves all
/// of it or none (then the marks are still there and the push runs again).
#[allow(clippy::too_many_arguments)]
pub async fn settle(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    accepted: &[(String, Decimal)],
    rejected: &[(String, String)],
    claimed: &[Dirty],
    claimed_at: DateTime<Utc>,
) -> DbResult<usize> {
    conn.transaction::<_, DbError, _>(async move |conn| {
        record_accepted(conn, account_id, keycrm_warehouse_id, accepted).await?;
        record_rejected(conn, account_id, keycrm_warehouse_id, rejected).await?;
        clear(conn, account_id, keycrm_warehouse_id, claimed, claimed_at).await
    })
    .await
}

/// Sends drifted SKUs again, in one transaction: what keyCRM accepted for them is forgotten
/// and they are marked, so a crash cannot forget without marking (nothing would push them).
pub async fn resend(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
) -> DbResult<usize> {
    let pairs: Vec<(i64, String)> = skus
        .iter()
        .map(|sku| (keycrm_warehouse_id, sku.clone()))
        .collect();
    conn.transaction::<_, DbError, _>(async move |conn| {
        forget_accepted(conn, account_id, keycrm_warehouse_id, skus).await?;
        mark(conn, account_id, &pairs).await
    })
    .await
}

/// Records quantities keyCRM accepted.
pub async fn record_accepted(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    items: &[(String, Decimal)],
) -> DbResult<()> {
    for chunk in items.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(sku, quantity)| {
                (
                    stock_pushed::account_id.eq(account_id),
                    stock_pushed::keycrm_warehouse_id.eq(keycrm_warehouse_id),
                    stock_pushed::sku.eq(sku.clone()),
                    stock_pushed::quantity.eq(Some(*quantity)),
                    stock_pushed::pushed_at.eq(Some(Utc::now())),
                )
            })
            .collect();
        diesel::insert_into(stock_pushed::table)
            .values(rows)
            .on_conflict((
                stock_pushed::account_id,
                stock_pushed::keycrm_warehouse_id,
                stock_pushed::sku,
            ))
            .do_update()
            .set((
                stock_pushed::quantity.eq(excluded(stock_pushed::quantity)),
                stock_pushed::pushed_at.eq(excluded(stock_pushed::pushed_at)),
                stock_pushed::rejected_reason.eq(None::<String>),
                stock_pushed::rejected_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Records SKUs keyCRM refused, with its reason; their accepted quantity is forgotten.
async fn record_rejected(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    rejected: &[(String, String)],
) -> DbResult<()> {
    for (sku, reason) in rejected {
        diesel::insert_into(stock_pushed::table)
            .values((
                stock_pushed::account_id.eq(account_id),
                stock_pushed::keycrm_warehouse_id.eq(keycrm_warehouse_id),
                stock_pushed::sku.eq(sku),
                stock_pushed::rejected_reason.eq(reason),
                stock_pushed::rejected_at.eq(Utc::now()),
            ))
            .on_conflict((
                stock_pushed::account_id,
                stock_pushed::keycrm_warehouse_id,
                stock_pushed::sku,
            ))
            .do_update()
            .set((
                stock_pushed::quantity.eq(None::<Decimal>),
                stock_pushed::rejected_reason.eq(excluded(stock_pushed::rejected_reason)),
                stock_pushed::rejected_at.eq(excluded(stock_pushed::rejected_at)),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Deletes, in one statement, the marks whose version is the one claimed. A pair marked again
/// meanwhile stays dirty; what keyCRM lacks of it began after `claimed_at`, where a second
/// statement restarts its `first_marked_at`, so a steady stream is pushed once per `max_delay`.
async fn clear(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    done: &[Dirty],
    claimed_at: DateTime<Utc>,
) -> DbResult<usize> {
    use diesel::sql_types::{Array, BigInt, Text};
    let skus: Vec<&str> = done.iter().map(|d| d.sku.as_str()).collect();
    let versions: Vec<i64> = done.iter().map(|d| d.version).collect();
    let cleared = diesel::sql_query(
        "DELETE FROM stock_dirty d USING unnest($3::text[], $4::bigint[]) AS c(sku, version) \
         WHERE d.account_id = $1 AND d.keycrm_warehouse_id = $2 \
         AND d.sku = c.sku AND d.version = c.version",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .bind::<BigInt, _>(keycrm_warehouse_id)
    .bind::<Array<Text>, _>(&skus)
    .bind::<Array<BigInt>, _>(&versions)
    .execute(conn)
    .await?;
    diesel::update(
        stock_dirty::table
            .filter(stock_dirty::account_id.eq(account_id))
            .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_dirty::sku.eq_any(&skus)),
    )
    .set((
        stock_dirty::due_at.eq(diesel::dsl::now),
        stock_dirty::first_marked_at.eq(claimed_at),
    ))
    .execute(conn)
    .await?;
    Ok(cleared)
}

/// Defers claimed pairs after a failed push, counting the failure (the caller's `until`
/// grows with it, so a push keyCRM keeps refusing backs off instead of looping).
pub async fn fail(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
    until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::update(
        stock_dirty::table
            .filter(stock_dirty::account_id.eq(account_id))
            .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_dirty::sku.eq_any(skus)),
    )
    .set((
        stock_dirty::due_at.eq(until),
        stock_dirty::failures.eq(stock_dirty::failures + 1),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Defers claimed pairs after a failed push.
pub async fn defer(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: i64,
    skus: &[String],
    until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::update(
        stock_dirty::table
            .filter(stock_dirty::account_id.eq(account_id))
            .filter(stock_dirty::keycrm_warehouse_id.eq(keycrm_warehouse_id))
            .filter(stock_dirty::sku.eq_any(skus)),
    )
    .set(stock_dirty::due_at.eq(until))
    .execute(conn)
    .await?;
    Ok(())
}
