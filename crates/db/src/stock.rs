//! The movement ledger and balances. A movement's lines and the balances they change are
//! written in one transaction, with the movement's outbox event, so the balance always equals
//! the sum of its ledger and an event exists exactly for committed movements.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::stock::{
    Change, LedgerLine, MovementKind, MovementOrigin, inventory_delta, refuses,
};
use sklad_events::v1::{StockMovementLine, StockMovementRecorded};
use sklad_events::{Event, Message};
use uuid::Uuid;

use crate::outbox::NewOutboxMessage;
use crate::schema::{balances, customer_orders, movement_lines, movements, products, warehouses};
use crate::{DbError, DbResult};

/// The unique index that lets an idempotency key name one movement per account.
const IDEMPOTENCY_KEY: &str = "movements_account_id_idempotency_key_key";
/// The unique index that allows one shipment per customer order.
const ONE_SHIPMENT: &str = "movements_one_shipment_per_order";
/// The unique index that allows one return per customer order.
const ONE_RETURN: &str = "movements_one_return_per_order";
/// The unique index that lets a movement be reversed once.
const ONE_REVERSAL: &str = "movements_one_reversal";

/// A movement to record.
#[derive(Debug, Clone)]
pub struct MovementInput {
    pub kind: MovementKind,
    pub note: Option<String>,
    /// The customer order a shipment, return or correction belongs to (one shipment and one
    /// return per order).
    pub order_id: Option<Uuid>,
    /// The production order a production movement completes (part of).
    pub production_order_id: Option<Uuid>,
    /// A client's key: the same key returns the movement already recorded.
    pub idempotency_key: Option<String>,
    /// The movement a reversal undoes (each movement is reversed at most once).
    pub reverses: Option<Uuid>,
    /// Where it came from (a take-over, a spreadsheet), when not a form or an order.
    pub origin: Option<MovementOrigin>,
    pub lines: Vec<LedgerLine>,
}

/// Why a movement was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("warehouse {0} does not exist")]
    UnknownWarehouse(Uuid),
    #[error("product {0} does not exist")]
    UnknownProduct(Uuid),
    #[error(
        "{sku} in warehouse {warehouse_name} would drop to {balance}; the warehouse does not allow negative balances"
    )]
    NegativeBalance {
        warehouse_id: Uuid,
        warehouse_name: String,
        sku: String,
        balance: Decimal,
    },
    #[error("the order was already shipped")]
    AlreadyShipped,
    #[error("the order was already returned")]
    AlreadyReturned,
    #[error("the movement was already reversed")]
    AlreadyReversed,
    /// A balance would leave what the ledger can hold.
    #[error("a balance would leave the range sklad stores (14 digits before the point)")]
    OutOfRange,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for Refused {
    fn from(err: diesel::result::Error) -> Self {
        Refused::Db(err.into())
    }
}

/// A movement as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = movements)]
pub struct Movement {
    pub id: Uuid,
    pub account_id: Uuid,
    #[diesel(deserialize_as = String)]
    pub kind: MovementKind,
    pub note: Option<String>,
    pub order_id: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The movement this reversal undoes.
    pub reverses_movement_id: Option<Uuid>,
    /// The production order a production movement completes.
    pub production_order_id: Option<Uuid>,
    /// A [`MovementOrigin`] name, when it has one.
    pub origin: Option<String>,
}

/// A ledger line with its product's SKU and name.
#[derive(Debug, Clone)]
pub struct Line {
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub quantity_delta: Decimal,
    pub balance_after: Decimal,
}

/// A movement and its lines.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub movement: Movement,
    pub lines: Vec<Line>,
    /// `false` when the idempotency key returned an earlier movement.
    pub created: bool,
    /// The reversal that undid this movement, if one did.
    pub reversed_by: Option<Uuid>,
}

/// Records a movement (see the module docs), with its `StockMovementRecorded` event in the
/// outbox. A retried request with the same idempotency key, even one racing the first,
/// returns the movement recorded first; a second shipment of an order is refused.
pub async fn record(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    input: MovementInput,
) -> Result<Recorded, Refused> {
    let key = input.idempotency_key.clone();
    match insert(conn, account_id, input).await {
        Err(Refused::Db(err)) if err.violates(IDEMPOTENCY_KEY) => {
            // Another request with this key committed first: answer like it did.
            let key = key.unwrap_or_default();
            earlier(conn, account_id, &key)
                .await?
                .ok_or(Refused::Db(err))
        }
        Err(Refused::Db(err)) if err.violates(ONE_SHIPMENT) => Err(Refused::AlreadyShipped),
        Err(Refused::Db(err)) if err.violates(ONE_RETURN) => Err(Refused::AlreadyReturned),
        Err(Refused::Db(err)) if err.violates(ONE_REVERSAL) => Err(Refused::AlreadyReversed),
        Err(Refused::Db(err)) if err.is_out_of_range() => Err(Refused::OutOfRange),
        other => other,
    }
}

/// The movement recorded earlier under an idempotency key.
async fn earlier(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    key: &str,
) -> DbResult<Option<Recorded>> {
    let id: Option<Uuid> = movements::table
        .filter(movements::account_id.eq(account_id))
        .filter(movements::idempotency_key.eq(key))
        .select(movements::id)
        .first(conn)
        .await
        .optional()?;
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(load(conn, account_id, id).await?.map(|mut found| {
        found.created = false;
        found
    }))
}

async fn insert(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    input: MovementInput,
) -> Result<Recorded, Refused> {
    conn.transaction::<_, Refused, _>(async move |conn| {
        if let Some(key) = &input.idempotency_key
            && let Some(found) = earlier(conn, account_id, key).await?
        {
            return Ok(found);
        }
        let warehouse_ids: Vec<Uuid> = input.lines.iter().map(|l| l.warehouse_id).collect();
        let known_warehouses: HashMap<Uuid, (String, bool)> = warehouses::table
            .filter(warehouses::account_id.eq(account_id))
            .filter(warehouses::id.eq_any(&warehouse_ids))
            .select((warehouses::id, warehouses::name, warehouses::allow_negative))
            .load::<(Uuid, String, bool)>(conn)
            .await?
            .into_iter()
            .map(|(id, name, allow)| (id, (name, allow)))
            .collect();
        let product_ids: Vec<Uuid> = input.lines.iter().map(|l| l.product_id).collect();
        let known_products: HashMap<Uuid, (String, String)> = products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::id.eq_any(&product_ids))
            .select((products::id, products::sku, products::name))
            .load::<(Uuid, String, String)>(conn)
            .await?
            .into_iter()
            .map(|(id, sku, name)| (id, (sku, name)))
            .collect();
        for line in &input.lines {
            if !known_warehouses.contains_key(&line.warehouse_id) {
                return Err(Refused::UnknownWarehouse(line.warehouse_id));
            }
            if !known_products.contains_key(&line.product_id) {
                return Err(Refused::UnknownProduct(line.product_id));
            }
        }

        let movement: Movement = diesel::insert_into(movements::table)
            .values((
                movements::id.eq(Uuid::now_v7()),
                movements::account_id.eq(account_id),
                movements::kind.eq(input.kind.as_ref()),
                movements::note.eq(&input.note),
                movements::order_id.eq(input.order_id),
                movements::production_order_id.eq(input.production_order_id),
                movements::idempotency_key.eq(&input.idempotency_key),
                movements::reverses_movement_id.eq(input.reverses),
                movements::origin.eq(input.origin.map(|o| o.as_ref().to_owned())),
            ))
            .returning(Movement::as_returning())
            .get_result(conn)
            .await?;

        // Lock balances in one order, so concurrent movements cannot deadlock.
        let mut lines = input.lines.clone();
        lines.sort_by_key(|l| (l.warehouse_id, l.product_id));
        let mut recorded = Vec::with_capacity(lines.len());
        for line in lines {
            // One statement per line: create the balance row if needed, lock it and apply the
            // change; an inventory count first reads the locked balance to know its change.
            let (delta, after) = match line.change {
                Change::By(delta) => {
                    let after: Decimal = diesel::insert_into(balances::table)
                        .values((
                            balances::account_id.eq(account_id),
                            balances::warehouse_id.eq(line.warehouse_id),
                            balances::product_id.eq(line.product_id),
                            balances::quantity.eq(delta),
                        ))
                        .on_conflict((balances::warehouse_id, balances::product_id))
                        .do_update()
                        .set((
                            balances::quantity.eq(balances::quantity + delta),
                            balances::updated_at.eq(diesel::dsl::now),
                        ))
                        .returning(balances::quantity)
                        .get_result(conn)
                        .await?;
                    (delta, after)
                }
                Change::SetTo(counted) => {
                    diesel::insert_into(balances::table)
                        .values((
                            balances::account_id.eq(account_id),
                            balances::warehouse_id.eq(line.warehouse_id),
                            balances::product_id.eq(line.product_id),
                        ))
                        .on_conflict((balances::warehouse_id, balances::product_id))
                        .do_nothing()
                        .execute(conn)
                        .await?;
                    let current: Decimal = balances::table
                        .find((line.warehouse_id, line.product_id))
                        .select(balances::quantity)
                        .for_update()
                        .first(conn)
                        .await?;
                    diesel::update(balances::table.find((line.warehouse_id, line.product_id)))
                        .set((
                            balances::quantity.eq(counted),
                            balances::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)
                        .await?;
                    (inventory_delta(current, counted), counted)
                }
            };
            let (warehouse_name, allow_negative) = &known_warehouses[&line.warehouse_id];
            let (sku, product_name) = &known_products[&line.product_id];
            if refuses(after, delta, *allow_negative) {
                return Err(Refused::NegativeBalance {
                    warehouse_id: line.warehouse_id,
                    warehouse_name: warehouse_name.clone(),
                    sku: sku.clone(),
                    balance: after.normalize(),
                });
            }
            diesel::update(balances::table.find((line.warehouse_id, line.product_id)))
                .set((
                    balances::quantity.eq(after),
                    balances::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            diesel::insert_into(movement_lines::table)
                .values((
                    movement_lines::account_id.eq(account_id),
                    movement_lines::movement_id.eq(movement.id),
                    movement_lines::warehouse_id.eq(line.warehouse_id),
                    movement_lines::product_id.eq(line.product_id),
                    movement_lines::quantity_delta.eq(delta),
                    movement_lines::balance_after.eq(after),
                ))
                .execute(conn)
                .await?;
            recorded.push(Line {
                warehouse_id: line.warehouse_id,
                product_id: line.product_id,
                sku: sku.clone(),
                product_name: product_name.clone(),
                quantity_delta: delta,
                balance_after: after,
            });
        }

        if let Some(order_id) = input.order_id {
            let order = customer_orders::table
                .filter(customer_orders::account_id.eq(account_id))
                .filter(customer_orders::id.eq(order_id));
            match input.kind {
                MovementKind::Shipment => {
                    let shipped = diesel::update(
                        order.filter(customer_orders::shipped_movement_id.is_null()),
                    )
                    .set((
                        customer_orders::shipped_movement_id.eq(movement.id),
                        customer_orders::shipment_waiting_since.eq(None::<DateTime<Utc>>),
                        customer_orders::shipment_waiting_reason.eq(None::<String>),
                    ))
                    .execute(conn)
                    .await?;
                    if shipped == 0 {
                        return Err(Refused::AlreadyShipped);
                    }
                }
                MovementKind::Return => {
                    let returned = diesel::update(
                        order
                            .filter(customer_orders::shipped_movement_id.is_not_null())
                            .filter(customer_orders::returned_movement_id.is_null()),
                    )
                    .set((
                        customer_orders::returned_movement_id.eq(movement.id),
                        customer_orders::shipment_waiting_since.eq(None::<DateTime<Utc>>),
                        customer_orders::shipment_waiting_reason.eq(None::<String>),
                    ))
                    .execute(conn)
                    .await?;
                    if returned == 0 {
                        return Err(Refused::AlreadyReturned);
                    }
                }
                _ => {
                    diesel::update(order)
                        .set((
                            customer_orders::shipment_waiting_since.eq(None::<DateTime<Utc>>),
                            customer_orders::shipment_waiting_reason.eq(None::<String>),
                        ))
                        .execute(conn)
                        .await?;
                }
            }
        }

        let result = Recorded {
            movement,
            lines: recorded,
            created: true,
            reversed_by: None,
        };
        crate::outbox::enqueue(conn, &movement_event(account_id, &result)).await?;
        Ok(result)
    })
    .await
}

/// The event announcing a recorded movement; the AMQP message id is the movement id.
pub(crate) fn movement_event(account_id: Uuid, recorded: &Recorded) -> NewOutboxMessage {
    let event = StockMovementRecorded {
        movement_id: recorded.movement.id.to_string(),
        account_id: account_id.to_string(),
        recorded_at: Some(sklad_events::timestamp(recorded.movement.created_at)),
        kind: recorded.movement.kind.to_string(),
        lines: recorded
            .lines
            .iter()
            .map(|l| StockMovementLine {
                warehouse_id: l.warehouse_id.to_string(),
                product_id: l.product_id.to_string(),
                sku: l.sku.clone(),
                quantity_delta: l.quantity_delta.normalize().to_string(),
                balance_after: l.balance_after.normalize().to_string(),
            })
            .collect(),
    };
    NewOutboxMessage {
        account_id,
        message_id: recorded.movement.id,
        message_type: StockMovementRecorded::TYPE.to_owned(),
        routing_key: event.routing_key(),
        payload: event.encode_to_vec(),
    }
}

/// One of the account's movements with its lines.
pub async fn load(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
) -> DbResult<Option<Recorded>> {
    let Some(movement) = movements::table
        .filter(movements::account_id.eq(account_id))
        .filter(movements::id.eq(id))
        .select(Movement::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    Ok(assemble(conn, vec![movement]).await?.pop())
}

/// Movements with their lines and the reversals that undid them.
async fn assemble(conn: &mut AsyncPgConnection, found: Vec<Movement>) -> DbResult<Vec<Recorded>> {
    let ids: Vec<Uuid> = found.iter().map(|m| m.id).collect();
    let mut lines = lines_of(conn, &ids).await?;
    let reversals: HashMap<Uuid, Uuid> = movements::table
        .filter(movements::reverses_movement_id.eq_any(&ids))
        .select((
            movements::reverses_movement_id.assume_not_null(),
            movements::id,
        ))
        .load::<(Uuid, Uuid)>(conn)
        .await?
        .into_iter()
        .collect();
    Ok(found
        .into_iter()
        .map(|movement| Recorded {
            lines: lines.remove(&movement.id).unwrap_or_default(),
            reversed_by: reversals.get(&movement.id).copied(),
            movement,
            created: true,
        })
        .collect())
}

async fn lines_of(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> DbResult<HashMap<Uuid, Vec<Line>>> {
    let rows: Vec<(Uuid, Uuid, Uuid, String, String, Decimal, Decimal)> = movement_lines::table
        .inner_join(products::table)
        .filter(movement_lines::movement_id.eq_any(ids))
        .order(movement_lines::id.asc())
        .select((
            movement_lines::movement_id,
            movement_lines::warehouse_id,
            movement_lines::product_id,
            products::sku,
            products::name,
            movement_lines::quantity_delta,
            movement_lines::balance_after,
        ))
        .load(conn)
        .await?;
    let mut out: HashMap<Uuid, Vec<Line>> = HashMap::new();
    for (movement_id, warehouse_id, product_id, sku, product_name, quantity_delta, balance_after) in
        rows
    {
        out.entry(movement_id).or_default().push(Line {
            warehouse_id,
            product_id,
            sku,
            product_name,
            quantity_delta,
            balance_after,
        });
    }
    Ok(out)
}

/// Filters for the movement history.
#[derive(Debug, Clone, Default)]
pub struct MovementFilter {
    pub warehouse_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub page: i64,
    pub per_page: i64,
}

/// The account's movements, newest first, with their lines, and the total matching.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    filter: &MovementFilter,
) -> DbResult<(Vec<Recorded>, i64)> {
    let build = || {
        let mut query = movements::table
            .filter(movements::account_id.eq(account_id))
            .into_boxed();
        if filter.warehouse_id.is_some() || filter.product_id.is_some() {
            let mut lines = movement_lines::table
                .filter(movement_lines::account_id.eq(account_id))
                .select(movement_lines::movement_id)
                .into_boxed();
            if let Some(w) = filter.warehouse_id {
                lines = lines.filter(movement_lines::warehouse_id.eq(w));
            }
            if let Some(p) = filter.product_id {
                lines = lines.filter(movement_lines::product_id.eq(p));
            }
            query = query.filter(movements::id.eq_any(lines));
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let found: Vec<Movement> = build()
        .order((movements::created_at.desc(), movements::id.desc()))
        .limit(filter.per_page)
        .offset((filter.page - 1).max(0) * filter.per_page)
        .select(Movement::as_select())
        .load(conn)
        .await?;
    Ok((assemble(conn, found).await?, total))
}

/// A balance with names.
#[derive(Debug, Clone, Queryable)]
pub struct Balance {
    pub warehouse_id: Uuid,
    pub warehouse_name: String,
    pub product_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub quantity: Decimal,
    pub updated_at: DateTime<Utc>,
    /// What orders in reserve statuses hold of it.
    pub reserved: Decimal,
}

/// The account's balances, optionally for one warehouse or SKU.
pub async fn balances(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_id: Option<Uuid>,
    sku: Option<&str>,
) -> DbResult<Vec<Balance>> {
    let mut query = balances::table
        .inner_join(warehouses::table)
        .inner_join(products::table)
        .filter(balances::account_id.eq(account_id))
        .into_boxed();
    if let Some(w) = warehouse_id {
        query = query.filter(balances::warehouse_id.eq(w));
    }
    if let Some(sku) = sku {
        query = query.filter(products::sku.eq(sku.to_owned()));
    }
    Ok(query
        .order((warehouses::name.asc(), products::sku.asc()))
        .select((
            balances::warehouse_id,
            warehouses::name,
            balances::product_id,
            products::sku,
            products::name,
            balances::quantity,
            balances::updated_at,
            balances::reserved,
        ))
        .load::<Balance>(conn)
        .await?)
}

/// The sum of a (warehouse, product)'s ledger: what its balance must equal.
pub async fn ledger_sum(
    conn: &mut AsyncPgConnection,
    warehouse_id: Uuid,
    product_id: Uuid,
) -> DbResult<Decimal> {
    let sum: Option<Decimal> = movement_lines::table
        .filter(movement_lines::warehouse_id.eq(warehouse_id))
        .filter(movement_lines::product_id.eq(product_id))
        .select(diesel::dsl::sum(movement_lines::quantity_delta))
        .first(conn)
        .await?;
    Ok(sum.unwrap_or_default())
}
