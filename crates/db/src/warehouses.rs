//! sklad warehouses, keyCRM's warehouses, and the mapping between them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::stock::KeycrmWarehouseSource;
use uuid::Uuid;

use crate::DbResult;
use crate::schema::{keycrm_warehouses, warehouses};

/// A sklad warehouse.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = warehouses)]
pub struct Warehouse {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub allow_negative: bool,
    pub keycrm_warehouse_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Safety stock: keyCRM receives `max(0, balance − push_buffer)` from this warehouse.
    pub push_buffer: Decimal,
    /// Archived: out of every form and the mapping, its ledger kept.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A keyCRM warehouse sklad knows of.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = keycrm_warehouses)]
pub struct KeycrmWarehouse {
    pub account_id: Uuid,
    pub keycrm_id: i64,
    pub name: String,
    #[diesel(deserialize_as = String)]
    pub source: KeycrmWarehouseSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Creates a warehouse. A duplicate name is a unique violation the caller reports.
pub async fn create(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    name: &str,
    allow_negative: bool,
    push_buffer: Decimal,
) -> DbResult<Warehouse> {
    Ok(diesel::insert_into(warehouses::table)
        .values((
            warehouses::id.eq(Uuid::now_v7()),
            warehouses::account_id.eq(account_id),
            warehouses::name.eq(name),
            warehouses::allow_negative.eq(allow_negative),
            warehouses::push_buffer.eq(push_buffer),
        ))
        .returning(Warehouse::as_returning())
        .get_result(conn)
        .await?)
}

/// The account's warehouses, by name.
pub async fn list(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Vec<Warehouse>> {
    Ok(warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .order(warehouses::name.asc())
        .select(Warehouse::as_select())
        .load(conn)
        .await?)
}

/// The account's warehouses, their rows locked for the rest of the transaction (a mapping
/// edit checks its version against them).
pub async fn lock_all(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<Vec<Warehouse>> {
    Ok(warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .order(warehouses::id.asc())
        .select(Warehouse::as_select())
        .for_update()
        .load(conn)
        .await?)
}

/// The account's warehouses in use (not archived), by name: what forms offer.
pub async fn list_active(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Vec<Warehouse>> {
    Ok(warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::archived_at.is_null())
        .order(warehouses::name.asc())
        .select(Warehouse::as_select())
        .load(conn)
        .await?)
}

/// Whether any balance of the warehouse is not zero (on hand or reserved).
pub async fn holds_stock(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<bool> {
    use crate::schema::balances;
    Ok(diesel::select(diesel::dsl::exists(
        balances::table
            .filter(balances::warehouse_id.eq(id))
            .filter(
                balances::quantity
                    .ne(Decimal::ZERO)
                    .or(balances::reserved.ne(Decimal::ZERO)),
            ),
    ))
    .get_result(conn)
    .await?)
}

/// One of the account's warehouses.
pub async fn get(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> DbResult<Option<Warehouse>> {
    Ok(warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::id.eq(id))
        .select(Warehouse::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// One of the account's warehouses, its row locked for the rest of the transaction.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> DbResult<Option<Warehouse>> {
    Ok(warehouses::table
        .filter(warehouses::account_id.eq(account_id))
        .filter(warehouses::id.eq(id))
        .select(Warehouse::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?)
}

/// A change to a warehouse; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = warehouses)]
pub struct WarehouseEdit {
    pub name: Option<String>,
    pub allow_negative: Option<bool>,
    pub push_buffer: Option<Decimal>,
    /// `Some(Some(now))` archives, `Some(None)` brings back.
    pub archived_at: Option<Option<DateTime<Utc>>>,
}

/// Changes a warehouse's name, negative-balance rule or push buffer.
pub async fn update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
    edit: WarehouseEdit,
) -> DbResult<Option<Warehouse>> {
    Ok(diesel::update(
        warehouses::table
            .filter(warehouses::account_id.eq(account_id))
            .filter(warehouses::id.eq(id)),
    )
    .set((edit, warehouses::updated_at.eq(Utc::now())))
    .returning(Warehouse::as_returning())
    .get_result(conn)
    .await
    .optional()?)
}

/// One warehouse's mapping change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingChange {
    pub warehouse_id: Uuid,
    pub before: Option<i64>,
    pub after: Option<i64>,
}

/// Maps each listed warehouse to a keyCRM warehouse (or none). Returns what changed, so the
/// caller can mark the affected SKUs dirty in the same transaction.
pub async fn set_mapping(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    mapping: &[(Uuid, Option<i64>)],
) -> DbResult<Vec<MappingChange>> {
    let mut changes = Vec::new();
    for (warehouse_id, after) in mapping {
        let before: Option<Option<i64>> = warehouses::table
            .filter(warehouses::account_id.eq(account_id))
            .filter(warehouses::id.eq(warehouse_id))
            .select(warehouses::keycrm_warehouse_id)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(before) = before else {
            return Err(diesel::result::Error::NotFound.into());
        };
        if before != *after {
            diesel::update(warehouses::table.find(warehouse_id))
                .set((
                    warehouses::keycrm_warehouse_id.eq(after),
                    warehouses::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            changes.push(MappingChange {
                warehouse_id: *warehouse_id,
                before,
                after: *after,
            });
        }
    }
    Ok(changes)
}

/// Records keyCRM warehouses (id, name) seen in `source`; names are refreshed.
pub async fn upsert_keycrm(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    seen: &[(i64, String)],
    source: KeycrmWarehouseSource,
) -> DbResult<()> {
    for (keycrm_id, name) in seen {
        diesel::insert_into(keycrm_warehouses::table)
            .values((
                keycrm_warehouses::account_id.eq(account_id),
                keycrm_warehouses::keycrm_id.eq(keycrm_id),
                keycrm_warehouses::name.eq(name),
                keycrm_warehouses::source.eq(source.as_ref()),
            ))
            .on_conflict((keycrm_warehouses::account_id, keycrm_warehouses::keycrm_id))
            .do_update()
            .set((
                keycrm_warehouses::name.eq(excluded(keycrm_warehouses::name)),
                keycrm_warehouses::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The keyCRM warehouses sklad knows for the account.
pub async fn list_keycrm(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Vec<KeycrmWarehouse>> {
    Ok(keycrm_warehouses::table
        .filter(keycrm_warehouses::account_id.eq(account_id))
        .order(keycrm_warehouses::keycrm_id.asc())
        .select(KeycrmWarehouse::as_select())
        .load(conn)
        .await?)
}

/// The keyCRM warehouses the account's warehouses are mapped to (what sklad sends to).
pub async fn mapped_targets(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<std::collections::BTreeSet<i64>> {
    Ok(list(conn, account_id)
        .await?
        .into_iter()
        .filter_map(|w| w.keycrm_warehouse_id)
        .collect())
}
