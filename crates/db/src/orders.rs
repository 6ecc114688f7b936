//! Customer orders from keyCRM, their lines and payments, and the archive.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sklad_domain::orders::{ShipmentState, is_stale};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::{customer_order_lines, customer_orders, payments};

/// An order as stored: what keyCRM decides, plus what sklad keeps about it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customer_orders)]
pub struct CustomerOrder {
    pub id: Uuid,
    pub account_id: Uuid,
    #[diesel(embed)]
    pub fields: OrderFields,
    pub archived_at: Option<DateTime<Utc>>,
    pub deleted_in_keycrm_at: Option<DateTime<Utc>>,
    pub synced_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The shipment movement that wrote the order's lines off, once shipped.
    pub shipped_movement_id: Option<Uuid>,
    /// In a ship status but not shipped: since when, and why (a short line).
    pub shipment_waiting_since: Option<DateTime<Utc>>,
    pub shipment_waiting_reason: Option<String>,
    /// The return movement that brought a shipped order's goods back.
    pub returned_movement_id: Option<Uuid>,
    /// Holding its lines in its ship warehouse (a reserve status), since when.
    pub reserved_at: Option<DateTime<Utc>>,
}

/// The order fields keyCRM decides.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = customer_orders, treat_none_as_null = true)]
pub struct OrderFields {
    pub keycrm_id: i64,
    pub number: Option<String>,
    pub source_id: Option<i64>,
    pub status_id: Option<i64>,
    pub status_group_id: Option<i64>,
    pub status_name: Option<String>,
    pub grand_total: Option<Decimal>,
    pub total_discount: Option<Decimal>,
    pub payments_total: Option<Decimal>,
    pub shipping_price: Option<Decimal>,
    pub payment_status: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_phone: Option<String>,
    pub buyer_email: Option<String>,
    pub buyer_comment: Option<String>,
    pub manager_comment: Option<String>,
    pub keycrm_created_at: Option<DateTime<Utc>>,
    pub keycrm_updated_at: Option<DateTime<Utc>>,
    pub ordered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub status_changed_at: Option<DateTime<Utc>>,
    pub raw: Value,
}

/// A line as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = customer_order_lines)]
pub struct OrderLine {
    pub id: Uuid,
    pub account_id: Uuid,
    pub order_id: Uuid,
    pub position: i32,
    pub product_id: Uuid,
    pub keycrm_line_id: Option<i64>,
    pub name: String,
    pub sku: String,
    pub quantity: Decimal,
    pub unit: Option<String>,
    pub price: Option<Decimal>,
    pub price_sold: Option<Decimal>,
    pub discount: Option<Decimal>,
    pub properties: Value,
}

/// A payment as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payments)]
pub struct Payment {
    #[diesel(embed)]
    pub fields: NewPayment,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A payment as keyCRM describes it: what is inserted and updated.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments)]
pub struct NewPayment {
    pub id: Uuid,
    pub account_id: Uuid,
    pub order_id: Uuid,
    pub keycrm_payment_id: i64,
    pub payment_method_id: Option<i64>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub payment_date: Option<DateTime<Utc>>,
    pub transaction_uuid: Option<String>,
    pub description: Option<String>,
}

/// What the upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(Uuid),
    Updated(Uuid),
    /// keyCRM's document was older than the stored one: nothing changed.
    Stale(Uuid),
}

impl Upserted {
    pub fn id(self) -> Uuid {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) | Upserted::Stale(id) => id,
        }
    }
}

/// Serialises writers of one keyCRM order for the rest of the transaction (webhook fetches,
/// sync jobs and reconciliation may upsert it at the same time).
pub async fn lock_order(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_id: i64,
) -> DbResult<()> {
    let mut hasher = Sha256::new();
    hasher.update(account_id.as_bytes());
    hasher.update(keycrm_id.to_be_bytes());
    let digest = hasher.finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(i64::from_be_bytes(key))
        .execute(conn)
        .await?;
    Ok(())
}

/// The stored keyCRM `updated_at` of an order, if sklad has it (tracks it).
pub async fn stored_version(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_id: i64,
) -> DbResult<Option<Option<DateTime<Utc>>>> {
    Ok(customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .filter(customer_orders::keycrm_id.eq(keycrm_id))
        .select(customer_orders::keycrm_updated_at)
        .first(conn)
        .await
        .optional()?)
}

/// Which of `keycrm_ids` sklad already tracks.
pub async fn tracked(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_ids: &[i64],
) -> DbResult<Vec<i64>> {
    Ok(customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .filter(customer_orders::keycrm_id.eq_any(keycrm_ids))
        .select(customer_orders::keycrm_id)
        .load(conn)
        .await?)
}

/// Writes the order (call inside a transaction after [`lock_order`]). Stale documents change
/// nothing; otherwise the fields are replaced and the archive follows `archived`.
pub async fn upsert(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    fields: &OrderFields,
    archived: bool,
) -> DbResult<Upserted> {
    /// Id, stored keyCRM `updated_at`, `archived_at`.
    type Existing = (Uuid, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let existing: Option<Existing> = customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .filter(customer_orders::keycrm_id.eq(fields.keycrm_id))
        .select((
            customer_orders::id,
            customer_orders::keycrm_updated_at,
            customer_orders::archived_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let now = Utc::now();
    match existing {
        Some((id, stored, _)) if is_stale(stored, fields.keycrm_updated_at) => {
            Ok(Upserted::Stale(id))
        }
        Some((id, _, archived_at)) => {
            let archived_at = if archived {
                archived_at.or(Some(now))
            } else {
                None
            };
            diesel::update(customer_orders::table.find(id))
                .set((
                    fields,
                    customer_orders::archived_at.eq(archived_at),
                    customer_orders::deleted_in_keycrm_at.eq(None::<DateTime<Utc>>),
                    customer_orders::synced_at.eq(now),
                    customer_orders::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(Upserted::Updated(id))
        }
        None => {
            let id = Uuid::now_v7();
            diesel::insert_into(customer_orders::table)
                .values((
                    customer_orders::id.eq(id),
                    customer_orders::account_id.eq(account_id),
                    fields,
                    customer_orders::archived_at.eq(archived.then_some(now)),
                    customer_orders::synced_at.eq(now),
                ))
                .execute(conn)
                .await?;
            Ok(Upserted::Created(id))
        }
    }
}

/// Replaces the order's lines, so a line removed in keyCRM disappears.
pub async fn replace_lines(
    conn: &mut AsyncPgConnection,
    order_id: Uuid,
    lines: &[OrderLine],
) -> DbResult<()> {
    diesel::delete(customer_order_lines::table.filter(customer_order_lines::order_id.eq(order_id)))
        .execute(conn)
        .await?;
    if !lines.is_empty() {
        diesel::insert_into(customer_order_lines::table)
            .values(lines)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Stores each payment once (by keyCRM payment id) and updates it when keyCRM changed it.
pub async fn upsert_payments(
    conn: &mut AsyncPgConnection,
    payments_in: &[NewPayment],
) -> DbResult<()> {
    use diesel::query_dsl::methods::FilterDsl;
    for payment in payments_in {
        let upsert = diesel::insert_into(payments::table)
            .values(payment)
            .on_conflict((payments::account_id, payments::keycrm_payment_id))
            .do_update()
            .set((
                payments::order_id.eq(excluded(payments::order_id)),
                payments::payment_method_id.eq(excluded(payments::payment_method_id)),
                payments::amount.eq(excluded(payments::amount)),
                payments::currency.eq(excluded(payments::currency)),
                payments::status.eq(excluded(payments::status)),
                payments::payment_date.eq(excluded(payments::payment_date)),
                payments::transaction_uuid.eq(excluded(payments::transaction_uuid)),
                payments::description.eq(excluded(payments::description)),
                payments::updated_at.eq(diesel::dsl::now),
            ));
        // Only a payment keyCRM changed is rewritten (and gets a new `updated_at`).
        let changed = payments::amount
            .is_distinct_from(excluded(payments::amount))
            .or(payments::status.is_distinct_from(excluded(payments::status)))
            .or(payments::payment_method_id.is_distinct_from(excluded(payments::payment_method_id)))
            .or(payments::currency.is_distinct_from(excluded(payments::currency)))
            .or(payments::payment_date.is_distinct_from(excluded(payments::payment_date)))
            .or(payments::transaction_uuid.is_distinct_from(excluded(payments::transaction_uuid)))
            .or(payments::description.is_distinct_from(excluded(payments::description)))
            .or(payments::order_id.is_distinct_from(excluded(payments::order_id)));
        FilterDsl::filter(upsert, changed).execute(conn).await?;
    }
    Ok(())
}

/// Marks an order keyCRM no longer has (404). Returns whether sklad had it.
pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_id: i64,
) -> DbResult<bool> {
    let changed = diesel::update(
        customer_orders::table
            .filter(customer_orders::account_id.eq(account_id))
            .filter(customer_orders::keycrm_id.eq(keycrm_id))
            .filter(customer_orders::deleted_in_keycrm_at.is_null()),
    )
    .set((
        customer_orders::deleted_in_keycrm_at.eq(diesel::dsl::now),
        customer_orders::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    Ok(changed > 0)
}

/// Filters for listing orders.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// `Some(true)`: the archive; `Some(false)`: active orders; `None`: both.
    pub archived: Option<bool>,
    pub status_id: Option<i64>,
    pub updated_since: Option<DateTime<Utc>>,
    pub shipment: Option<ShipmentState>,
    /// A keyCRM order id or number, or part of the buyer's name, phone or email.
    pub search: Option<String>,
    pub page: i64,
    pub per_page: i64,
}

/// One page of the account's orders, newest keyCRM change first, and the total matching.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    filter: &OrderFilter,
) -> DbResult<(Vec<CustomerOrder>, i64)> {
    let build = || {
        let mut query = customer_orders::table
            .filter(customer_orders::account_id.eq(account_id))
            .into_boxed();
        match filter.archived {
            Some(true) => query = query.filter(customer_orders::archived_at.is_not_null()),
            Some(false) => query = query.filter(customer_orders::archived_at.is_null()),
            None => {}
        }
        if let Some(status) = filter.status_id {
            query = query.filter(customer_orders::status_id.eq(status));
        }
        if let Some(since) = filter.updated_since {
            query = query.filter(customer_orders::updated_at.ge(since));
        }
        if let Some(search) = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let pattern = format!("%{}%", crate::products::escape_like(search));
            let by_id = search.parse::<i64>().ok();
            query = query.filter(
                customer_orders::keycrm_id
                    .nullable()
                    .eq(by_id)
                    .or(customer_orders::number.eq(search))
                    .or(customer_orders::buyer_name.ilike(pattern.clone()))
                    .or(customer_orders::buyer_phone.ilike(pattern.clone()))
                    .or(customer_orders::buyer_email.ilike(pattern)),
            );
        }
        let waiting = customer_orders::shipment_waiting_since.is_not_null();
        let shipped = customer_orders::shipped_movement_id.is_not_null();
        let returned = customer_orders::returned_movement_id.is_not_null();
        match filter.shipment {
            Some(ShipmentState::Returned) => query = query.filter(returned),
            Some(ShipmentState::Waiting) => {
                query = query
                    .filter(waiting)
                    .filter(customer_orders::returned_movement_id.is_null())
            }
            Some(ShipmentState::Shipped) => {
                query = query
                    .filter(shipped)
                    .filter(customer_orders::returned_movement_id.is_null())
                    .filter(customer_orders::shipment_waiting_since.is_null())
            }
            Some(ShipmentState::Reserved) => {
                query = query
                    .filter(customer_orders::reserved_at.is_not_null())
                    .filter(customer_orders::shipped_movement_id.is_null())
                    .filter(customer_orders::shipment_waiting_since.is_null())
            }
            Some(ShipmentState::NotShipped) => {
                query = query
                    .filter(customer_orders::shipped_movement_id.is_null())
                    .filter(customer_orders::shipment_waiting_since.is_null())
                    .filter(customer_orders::reserved_at.is_null())
            }
            None => {}
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let rows = build()
        .order((
            customer_orders::keycrm_updated_at.desc().nulls_last(),
            customer_orders::keycrm_id.desc(),
        ))
        .limit(filter.per_page)
        .offset((filter.page - 1).max(0) * filter.per_page)
        .select(CustomerOrder::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// The keyCRM statuses the account's stored orders are in (id and the name keyCRM last gave
/// it), for filtering without asking keyCRM.
pub async fn statuses_in_use(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<Vec<(i64, Option<String>)>> {
    let rows: Vec<(Option<i64>, Option<String>)> = customer_orders::table
        .filter(customer_orders::account_id.eq(account_id))
        .filter(customer_orders::status_id.is_not_null())
        .select((customer_orders::status_id, customer_orders::status_name))
        .distinct_on(customer_orders::status_id)
        .order((
            customer_orders::status_id,
            customer_orders::keycrm_updated_at.desc().nulls_last(),
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name)| id.map(|id| (id, name)))
        .collect())
}

/// How an order is named in a URL: sklad's id or keyCRM's.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef {
    Id(Uuid),
    Keycrm(i64),
}

/// An order with its lines and payments.
#[derive(Debug, Clone)]
pub struct OrderDetail {
    pub order: CustomerOrder,
    pub lines: Vec<OrderLine>,
    pub payments: Vec<Payment>,
    /// Products of the lines that do not track stock (their lines never touch stock).
    pub not_stocked: std::collections::BTreeSet<Uuid>,
}

/// One of the account's orders with lines and payments, read in one snapshot (a concurrent
/// upsert replaces lines and payments; a reader sees all of it or none of it).
pub async fn find(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    reference: OrderRef,
) -> DbResult<Option<OrderDetail>> {
    conn.build_transaction()
        .read_only()
        .repeatable_read()
        .run::<_, crate::DbError, _>(async move |conn| {
            let query = customer_orders::table
                .filter(customer_orders::account_id.eq(account_id))
                .select(CustomerOrder::as_select())
                .into_boxed();
            let query = match reference {
                OrderRef::Id(id) => query.filter(customer_orders::id.eq(id)),
                OrderRef::Keycrm(id) => query.filter(customer_orders::keycrm_id.eq(id)),
            };
            let Some(order) = query.first(conn).await.optional()? else {
                return Ok(None);
            };
            let lines = customer_order_lines::table
                .filter(customer_order_lines::order_id.eq(order.id))
                .order(customer_order_lines::position.asc())
                .select(OrderLine::as_select())
                .load(conn)
                .await?;
            let product_ids: Vec<Uuid> = lines.iter().map(|l| l.product_id).collect();
            let not_stocked = crate::schema::products::table
                .filter(crate::schema::products::id.eq_any(&product_ids))
                .filter(crate::schema::products::tracks_stock.eq(false))
                .select(crate::schema::products::id)
                .load::<Uuid>(conn)
                .await?
                .into_iter()
                .collect();
            let payments = payments::table
                .filter(payments::order_id.eq(order.id))
                .order((
                    payments::payment_date.asc().nulls_last(),
                    payments::keycrm_payment_id.asc(),
                ))
                .select(Payment::as_select())
                .load(conn)
                .await?;
            Ok(Some(OrderDetail {
                order,
                lines,
                payments,
                not_stocked,
            }))
        })
        .await
}
