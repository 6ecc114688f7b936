//! Whole-warehouse counts: a take-over of keyCRM's stock or a counts spreadsheet records
//! thousands of lines at once, so they go in a few set-based statements instead of the
//! line-by-line path of [`crate::stock::record`], and what they read (balances by SKU, SKUs
//! ever counted) is read in bulk too.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::stock::{MovementKind, MovementOrigin, inventory_delta};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::{balances, movement_lines, movements, products, warehouses};
use crate::stock::{Line, Movement, Recorded, Refused, movement_event};

/// Records a count of one warehouse as one `inventory` movement: each product's balance
/// becomes its counted quantity. Built for whole-warehouse counts (a take-over, a counts
/// spreadsheet): a handful of statements however many lines, balances locked in one order.
/// Products whose balance already is the count get no line; with none left, nothing is
/// recorded (`None`), so repeating a count records nothing. Counts must be zero or more.
pub async fn record_counts(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_id: Uuid,
    counts: &[(Uuid, Decimal)],
    note: Option<String>,
    origin: Option<MovementOrigin>,
) -> Result<Option<Recorded>, Refused> {
    use diesel::sql_types::{Array, Numeric, Uuid as SqlUuid};
    let mut counts = counts.to_vec();
    counts.sort_by_key(|(product, _)| *product);
    counts.dedup_by_key(|(product, _)| *product);
    let result = conn
        .transaction::<_, Refused, _>(async move |conn| {
            if warehouses::table
                .filter(warehouses::account_id.eq(account_id))
                .filter(warehouses::id.eq(warehouse_id))
                .count()
                .get_result::<i64>(conn)
                .await?
                == 0
            {
                return Err(Refused::UnknownWarehouse(warehouse_id));
            }
            let ids: Vec<Uuid> = counts.iter().map(|(p, _)| *p).collect();
            let known: HashMap<Uuid, (String, String)> = products::table
                .filter(products::account_id.eq(account_id))
                .filter(products::id.eq_any(&ids))
                .select((products::id, products::sku, products::name))
                .load::<(Uuid, String, String)>(conn)
                .await?
                .into_iter()
                .map(|(id, sku, name)| (id, (sku, name)))
                .collect();
            if let Some(unknown) = ids.iter().find(|id| !known.contains_key(id)) {
                return Err(Refused::UnknownProduct(*unknown));
            }
            diesel::sql_query(
                "INSERT INTO balances (account_id, warehouse_id, product_id) \
                 SELECT $1, $2, p FROM unnest($3::uuid[]) AS p ON CONFLICT DO NOTHING",
            )
            .bind::<SqlUuid, _>(account_id)
            .bind::<SqlUuid, _>(warehouse_id)
            .bind::<Array<SqlUuid>, _>(&ids)
            .execute(conn)
            .await?;
            let current: HashMap<Uuid, Decimal> = balances::table
                .filter(balances::warehouse_id.eq(warehouse_id))
                .filter(balances::product_id.eq_any(&ids))
                .order(balances::product_id.asc())
                .for_update()
                .select((balances::product_id, balances::quantity))
                .load::<(Uuid, Decimal)>(conn)
                .await?
                .into_iter()
                .collect();
            let changed: Vec<(Uuid, Decimal, Decimal)> = counts
                .iter()
                .filter_map(|(product, counted)| {
                    let held = current.get(product).copied().unwrap_or_default();
                    let delta = inventory_delta(held, *counted);
                    (!delta.is_zero()).then_some((*product, delta, *counted))
                })
                .collect();
            if changed.is_empty() {
                return Ok(None);
            }
            let movement: Movement = diesel::insert_into(movements::table)
                .values((
                    movements::id.eq(Uuid::now_v7()),
                    movements::account_id.eq(account_id),
                    movements::kind.eq(MovementKind::Inventory.as_ref()),
                    movements::note.eq(&note),
                    movements::origin.eq(origin.map(|o| o.as_ref().to_owned())),
                ))
                .returning(Movement::as_returning())
                .get_result(conn)
                .await?;
            let products: Vec<Uuid> = changed.iter().map(|(p, _, _)| *p).collect();
            let deltas: Vec<Decimal> = changed.iter().map(|(_, d, _)| *d).collect();
            let afters: Vec<Decimal> = changed.iter().map(|(_, _, a)| *a).collect();
            diesel::sql_query(
                "UPDATE balances b SET quantity = c.counted, updated_at = now() \
                 FROM unnest($2::uuid[], $3::numeric[]) AS c(product_id, counted) \
                 WHERE b.warehouse_id = $1 AND b.product_id = c.product_id",
            )
            .bind::<SqlUuid, _>(warehouse_id)
            .bind::<Array<SqlUuid>, _>(&products)
            .bind::<Array<Numeric>, _>(&afters)
            .execute(conn)
            .await?;
            diesel::sql_query(
                "INSERT INTO movement_lines \
                   (account_id, movement_id, warehouse_id, product_id, quantity_delta, balance_after) \
                 SELECT $1, $2, $3, l.product_id, l.delta, l.after \
                 FROM unnest($4::uuid[], $5::numeric[], $6::numeric[]) AS l(product_id, delta, after)",
            )
            .bind::<SqlUuid, _>(account_id)
            .bind::<SqlUuid, _>(movement.id)
            .bind::<SqlUuid, _>(warehouse_id)
            .bind::<Array<SqlUuid>, _>(&products)
            .bind::<Array<Numeric>, _>(&deltas)
            .bind::<Array<Numeric>, _>(&afters)
            .execute(conn)
            .await?;
            let lines = changed
                .iter()
                .map(|(product, delta, after)| {
                    let (sku, name) = &known[product];
                    Line {
                        warehouse_id,
                        product_id: *product,
                        sku: sku.clone(),
                        product_name: name.clone(),
                        quantity_delta: *delta,
                        balance_after: *after,
                    }
                })
                .collect();
            let result = Recorded {
                movement,
                lines,
                created: true,
                reversed_by: None,
            };
            crate::outbox::enqueue(conn, &movement_event(account_id, &result)).await?;
            Ok(Some(result))
        })
        .await;
    match result {
        Err(Refused::Db(err)) if err.is_out_of_range() => Err(Refused::OutOfRange),
        other => other,
    }
}

/// On-hand quantity per warehouse and SKU, for the given warehouses (rows with a balance).
pub async fn on_hand_by_sku(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_ids: &[Uuid],
) -> DbResult<HashMap<Uuid, std::collections::BTreeMap<String, Decimal>>> {
    let rows: Vec<(Uuid, String, Decimal)> = balances::table
        .inner_join(products::table)
        .filter(balances::account_id.eq(account_id))
        .filter(balances::warehouse_id.eq_any(warehouse_ids))
        .select((balances::warehouse_id, products::sku, balances::quantity))
        .load(conn)
        .await?;
    let mut out: HashMap<Uuid, std::collections::BTreeMap<String, Decimal>> = HashMap::new();
    for (warehouse, sku, quantity) in rows {
        out.entry(warehouse).or_default().insert(sku, quantity);
    }
    Ok(out)
}

/// The SKUs among `skus` with at least one ledger line in one of `warehouse_ids`: counted
/// there at least once (received, counted, shipped...). The others sklad has never counted.
pub async fn counted_skus(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_ids: &[Uuid],
    skus: &[String],
) -> DbResult<std::collections::BTreeSet<String>> {
    let mut counted = std::collections::BTreeSet::new();
    for chunk in skus.chunks(5000) {
        let rows: Vec<String> = products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::sku.eq_any(chunk))
            .filter(diesel::dsl::exists(
                movement_lines::table
                    .filter(movement_lines::product_id.eq(products::id))
                    .filter(movement_lines::warehouse_id.eq_any(warehouse_ids)),
            ))
            .select(products::sku)
            .load(conn)
            .await?;
        counted.extend(rows);
    }
    Ok(counted)
}
