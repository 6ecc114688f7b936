//! What orders do to stock besides the ledger. Reservations: what unshipped orders in
//! reserve statuses hold, per (warehouse, product); `balances.reserved` is kept equal to
//! their sum in the same transaction, and each change is announced as
//! `StockReservationChanged` through the outbox (not a movement: the ledger records
//! physical stock only). And `OrderShipmentChanged`: what a shipment, return, correction or
//! wait meant for the order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::reservation::changes;
use sklad_events::v1::{OrderShipmentChanged, StockReservationChanged, StockReservationLine};
use sklad_events::{Event, Message};
use uuid::Uuid;

use crate::DbResult;
use crate::orders::OrderRef;
use crate::outbox::NewOutboxMessage;
use crate::schema::{
    balances, customer_order_lines, customer_orders, movement_lines, movements, products,
    reservations, warehouses,
};

/// What an order holds, keyed by (warehouse, product).
pub type Held = BTreeMap<(Uuid, Uuid), Decimal>;

/// What holds stock: a customer order in a reserve status, or a released production order
/// (its components).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Order(ReservingOrder),
    Production(Uuid),
}

/// What `holder` holds now.
pub async fn held(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    holder: Holder,
) -> DbResult<Held> {
    let query = reservations::table
        .filter(reservations::account_id.eq(account_id))
        .into_boxed();
    let query = match holder {
        Holder::Order(order) => query.filter(reservations::order_id.eq(order.id)),
        Holder::Production(id) => query.filter(reservations::production_order_id.eq(id)),
    };
    let rows: Vec<(Uuid, Uuid, Decimal)> = query
        .select((
            reservations::warehouse_id,
            reservations::product_id,
            reservations::quantity,
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(w, p, q)| ((w, p), q)).collect())
}

/// The customer order a reservation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservingOrder {
    pub id: Uuid,
    pub keycrm_id: i64,
}

/// Makes `holder` hold exactly `wanted` (empty: releases it, because of `release_reason`),
/// moving the reserved totals by the difference and announcing it. Call inside the
/// holder's transaction, under its lock. Returns whether anything changed.
pub async fn set(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    holder: Holder,
    wanted: &Held,
    release_reason: &str,
) -> DbResult<bool> {
    let before = held(conn, account_id, holder).await?;
    let delta = changes(&before, wanted);
    if delta.is_empty() {
        return Ok(false);
    }
    let reason = match (before.is_empty(), wanted.is_empty()) {
        (_, true) => release_reason,
        (true, false) => "reserved",
        (false, false) => "lines_changed",
    };
    let (order, production) = match holder {
        Holder::Order(order) => (Some(order), None),
        Holder::Production(id) => (None, Some(id)),
    };
    match holder {
        Holder::Order(order) => {
            diesel::delete(reservations::table.filter(reservations::order_id.eq(order.id)))
                .execute(conn)
                .await?
        }
        Holder::Production(id) => {
            diesel::delete(reservations::table.filter(reservations::production_order_id.eq(id)))
                .execute(conn)
                .await?
        }
    };
    let rows: Vec<_> = wanted
        .iter()
        .map(|((warehouse, product), quantity)| {
            (
                reservations::order_id.eq(order.map(|o| o.id)),
                reservations::production_order_id.eq(production),
                reservations::product_id.eq(*product),
                reservations::account_id.eq(account_id),
                reservations::warehouse_id.eq(*warehouse),
                reservations::quantity.eq(*quantity),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(reservations::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    let mut lines = Vec::with_capacity(delta.len());
    for (&(warehouse, product), by) in &delta {
        // A pair released here was reserved before, so its balance row exists and the
        // update applies; the insert's own row must still pass the column's check.
        let after: Decimal = diesel::insert_into(balances::table)
            .values((
                balances::account_id.eq(account_id),
                balances::warehouse_id.eq(warehouse),
                balances::product_id.eq(product),
                balances::reserved.eq((*by).max(Decimal::ZERO)),
            ))
            .on_conflict((balances::warehouse_id, balances::product_id))
            .do_update()
            .set(balances::reserved.eq(balances::reserved + *by))
            .returning(balances::reserved)
            .get_result(conn)
            .await?;
        lines.push((warehouse, product, after));
    }
    if let Some(order) = order {
        // Held since the first reservation; nothing held, no date.
        let since = if wanted.is_empty() {
            "NULL"
        } else {
            "COALESCE(customer_orders.reserved_at, now())"
        };
        diesel::update(
            customer_orders::table
                .filter(customer_orders::account_id.eq(account_id))
                .filter(customer_orders::id.eq(order.id)),
        )
        .set(customer_orders::reserved_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >(since)))
        .execute(conn)
        .await?;
    }
    let products: Vec<Uuid> = lines.iter().map(|(_, p, _)| *p).collect();
    let skus: BTreeMap<Uuid, String> = products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq_any(&products))
        .select((products::id, products::sku))
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .collect();
    let event = StockReservationChanged {
        account_id: account_id.to_string(),
        order_id: order.map(|o| o.id.to_string()).unwrap_or_default(),
        keycrm_order_id: order.map(|o| o.keycrm_id).unwrap_or_default(),
        production_order_id: production.map(|p| p.to_string()).unwrap_or_default(),
        changed_at: Some(sklad_events::timestamp(chrono::Utc::now())),
        reason: reason.to_owned(),
        lines: lines
            .into_iter()
            .map(|(warehouse, product, after)| StockReservationLine {
                warehouse_id: warehouse.to_string(),
                product_id: product.to_string(),
                sku: skus.get(&product).cloned().unwrap_or_default(),
                order_quantity: wanted
                    .get(&(warehouse, product))
                    .copied()
                    .unwrap_or_default()
                    .normalize()
                    .to_string(),
                reserved_after: after.normalize().to_string(),
            })
            .collect(),
    };
    crate::outbox::enqueue(
        conn,
        &NewOutboxMessage {
            account_id,
            message_id: Uuid::now_v7(),
            message_type: StockReservationChanged::TYPE.to_owned(),
            routing_key: event.routing_key(),
            payload: event.encode_to_vec(),
        },
    )
    .await?;
    Ok(true)
}

/// What stock did for an order by itself, for [`shipment_changed`].
#[derive(Debug, Clone, Copy)]
pub enum ShipmentChange<'a> {
    Shipped(Uuid),
    Returned(Uuid),
    Corrected(Uuid),
    Waiting(&'a str),
}

/// Announces what stock did for an order (`OrderShipmentChanged`, through the outbox, in the
/// caller's transaction).
pub async fn shipment_changed(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order: ReservingOrder,
    change: ShipmentChange<'_>,
) -> DbResult<()> {
    let (name, movement, waiting) = match change {
        ShipmentChange::Shipped(m) => ("shipped", m.to_string(), ""),
        ShipmentChange::Returned(m) => ("returned", m.to_string(), ""),
        ShipmentChange::Corrected(m) => ("corrected", m.to_string(), ""),
        ShipmentChange::Waiting(why) => ("waiting", String::new(), why),
    };
    let event = OrderShipmentChanged {
        account_id: account_id.to_string(),
        order_id: order.id.to_string(),
        keycrm_order_id: order.keycrm_id,
        changed_at: Some(sklad_events::timestamp(chrono::Utc::now())),
        change: name.to_owned(),
        movement_id: movement,
        waiting_reason: waiting.to_owned(),
    };
    crate::outbox::enqueue(
        conn,
        &NewOutboxMessage {
            account_id,
            message_id: Uuid::now_v7(),
            message_type: OrderShipmentChanged::TYPE.to_owned(),
            routing_key: event.routing_key(),
            payload: event.encode_to_vec(),
        },
    )
    .await
}

/// Marks every reserved (or negative) SKU of the account's mapped warehouses dirty (the push
/// policy changed, and with it what keyCRM receives for them).
pub async fn mark_reserved(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<usize> {
    let pairs: Vec<(Option<i64>, String)> = balances::table
        .inner_join(warehouses::table)
        .inner_join(products::table)
        .filter(balances::account_id.eq(account_id))
        // Under `available` a reserved SKU loses its reservations, and a negative balance
        // is sent as 0: both change with the policy.
        .filter(
            balances::reserved
                .gt(Decimal::ZERO)
                .or(balances::quantity.lt(Decimal::ZERO)),
        )
        .filter(warehouses::keycrm_warehouse_id.is_not_null())
        .select((warehouses::keycrm_warehouse_id, products::sku))
        .distinct()
        .load(conn)
        .await?;
    let pairs: Vec<(i64, String)> = pairs
        .into_iter()
        .filter_map(|(k, sku)| k.map(|k| (k, sku)))
        .collect();
    crate::stock_sync::mark(conn, account_id, &pairs).await
}

/// The reserved total of a (warehouse, product) recomputed from the reservations: what
/// `balances.reserved` must equal.
pub async fn reserved_sum(
    conn: &mut AsyncPgConnection,
    warehouse_id: Uuid,
    product_id: Uuid,
) -> DbResult<Decimal> {
    let sum: Option<Decimal> = reservations::table
        .filter(reservations::warehouse_id.eq(warehouse_id))
        .filter(reservations::product_id.eq(product_id))
        .select(diesel::dsl::sum(reservations::quantity))
        .first(conn)
        .await?;
    Ok(sum.unwrap_or_default())
}

/// An order waiting to ship, as the retry loop needs it.
#[derive(Debug, Clone, Queryable)]
pub struct WaitingShipment {
    pub account_id: Uuid,
    pub id: Uuid,
    pub keycrm_id: i64,
    pub status_id: Option<i64>,
}

/// The orders waiting to ship, across accounts, longest waiting first.
pub async fn waiting_shipments(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> DbResult<Vec<WaitingShipment>> {
    Ok(customer_orders::table
        .filter(customer_orders::shipment_waiting_since.is_not_null())
        .order(customer_orders::shipment_waiting_since.asc())
        .limit(limit)
        .select((
            customer_orders::account_id,
            customer_orders::id,
            customer_orders::keycrm_id,
            customer_orders::status_id,
        ))
        .load(conn)
        .await?)
}

/// What shipping an order needs: the order's ids, whether it shipped, and its lines
/// (product, quantity) in order.
#[derive(Debug, Clone)]
pub struct ShipmentFacts {
    pub id: Uuid,
    pub keycrm_id: i64,
    pub shipped_movement_id: Option<Uuid>,
    pub returned_movement_id: Option<Uuid>,
    /// Waiting for stock to ship or correct it.
    pub waiting: bool,
    /// keyCRM order source: it may have its own ship warehouse.
    pub source_id: Option<i64>,
    /// keyCRM no longer has the order (it holds nothing).
    pub deleted: bool,
    /// keyCRM's status group of its status (6: cancelled).
    pub status_group_id: Option<i64>,
    /// Its keyCRM status as stored now (read under the order's lock, so never stale).
    pub status_id: Option<i64>,
    pub lines: Vec<(Uuid, Decimal)>,
}

/// The order's [`ShipmentFacts`], read with plain queries so that it works inside the
/// caller's transaction (order-sync ships in the order's own).
pub async fn shipment_facts(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    reference: OrderRef,
) -> DbResult<Option<ShipmentFacts>> {
    let query = customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .select((
            customer_orders::id,
            customer_orders::keycrm_id,
            customer_orders::shipped_movement_id,
            customer_orders::returned_movement_id,
            customer_orders::shipment_waiting_since.is_not_null(),
            customer_orders::source_id,
            customer_orders::deleted_in_keycrm_at.is_not_null(),
            customer_orders::status_group_id,
            customer_orders::status_id,
        ))
        .into_boxed();
    let query = match reference {
        OrderRef::Id(id) => query.filter(customer_orders::id.eq(id)),
        OrderRef::Keycrm(id) => query.filter(customer_orders::keycrm_id.eq(id)),
    };
    type Row = (
        Uuid,
        i64,
        Option<Uuid>,
        Option<Uuid>,
        bool,
        Option<i64>,
        bool,
        Option<i64>,
        Option<i64>,
    );
    let Some((
        id,
        keycrm_id,
        shipped_movement_id,
        returned_movement_id,
        waiting,
        source_id,
        deleted,
        status_group_id,
        status_id,
    )) = query.first::<Row>(conn).await.optional()?
    else {
        return Ok(None);
    };
    // Lines of products that do not track stock (services) never touch stock.
    let lines = customer_order_lines::table
        .inner_join(products::table.on(products::id.eq(customer_order_lines::product_id)))
        .filter(customer_order_lines::order_id.eq(id))
        .filter(products::tracks_stock)
        .order(customer_order_lines::position.asc())
        .select((
            customer_order_lines::product_id,
            customer_order_lines::quantity,
        ))
        .load(conn)
        .await?;
    Ok(Some(ShipmentFacts {
        id,
        keycrm_id,
        shipped_movement_id,
        returned_movement_id,
        waiting,
        source_id,
        deleted,
        status_group_id,
        status_id,
        lines,
    }))
}

/// Per account (every one, or one): how many orders wait to ship, and since when the
/// oldest (ops status).
pub async fn waiting_counts(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
) -> DbResult<Vec<(Uuid, i64, Option<DateTime<Utc>>)>> {
    use diesel::dsl::{count_star, min};
    let mut query = customer_orders::table
        .filter(customer_orders::shipment_waiting_since.is_not_null())
        .group_by(customer_orders::account_id)
        .select((
            customer_orders::account_id,
            count_star(),
            min(customer_orders::shipment_waiting_since),
        ))
        .into_boxed();
    if let Some(account) = account_id {
        query = query.filter(customer_orders::account_id.eq(account));
    }
    Ok(query.load(conn).await?)
}

/// Marks an order as waiting for stock to ship or correct it (`Some(reason)`; the first
/// time is kept) or not waiting (`None`).
pub async fn set_shipment_waiting(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order_id: Uuid,
    reason: Option<&str>,
) -> DbResult<()> {
    let target = customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .filter(customer_orders::id.eq(order_id));
    match reason {
        Some(reason) => {
            let reason: String = reason.chars().take(1000).collect();
            diesel::update(target)
                .set((
                    customer_orders::shipment_waiting_since.eq(diesel::dsl::sql::<
                        diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                    >(
                        "COALESCE(shipment_waiting_since, now())",
                    )),
                    customer_orders::shipment_waiting_reason.eq(reason),
                ))
                .execute(conn)
                .await?
        }
        None => {
            diesel::update(target.filter(customer_orders::shipment_waiting_since.is_not_null()))
                .set((
                    customer_orders::shipment_waiting_since.eq(None::<DateTime<Utc>>),
                    customer_orders::shipment_waiting_reason.eq(None::<String>),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

/// What an order's movements (its shipment, corrections and return) took so far, per
/// warehouse and product: positive is out of the warehouse. Products that no longer track
/// stock are left out: their lines are neither corrected nor returned.
pub async fn taken_by_order(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order_id: Uuid,
) -> DbResult<Vec<(Uuid, Uuid, Decimal)>> {
    use diesel::dsl::sum;
    let rows: Vec<(Uuid, Uuid, Option<Decimal>)> = movement_lines::table
        .inner_join(movements::table)
        .inner_join(products::table.on(products::id.eq(movement_lines::product_id)))
        .filter(products::tracks_stock)
        .filter(movements::account_id.eq(account_id))
        .filter(movements::order_id.eq(order_id))
        .group_by((movement_lines::warehouse_id, movement_lines::product_id))
        .select((
            movement_lines::warehouse_id,
            movement_lines::product_id,
            sum(movement_lines::quantity_delta),
        ))
        .order((movement_lines::warehouse_id, movement_lines::product_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(warehouse, product, delta)| (warehouse, product, -delta.unwrap_or_default()))
        .collect())
}
