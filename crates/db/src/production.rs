//! Production orders: planned, released, done or cancelled; made for a customer order or by
//! hand; announced through the outbox.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::production::ProductionState;
use sklad_events::Event;
use sklad_events::v1::{ProductionOrderCompleted, ProductionOrderReleased};
use uuid::Uuid;

use crate::DbResult;
use crate::outbox::NewOutboxMessage;
use crate::schema::{production_orders, products};

/// A production order as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = production_orders)]
pub struct ProductionOrder {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub bom_id: Uuid,
    pub quantity: Decimal,
    pub made: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    #[diesel(deserialize_as = String)]
    pub state: ProductionState,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The customer order it was planned for (make-to-order).
    pub customer_order_id: Option<Uuid>,
}

/// A production order to create (planned).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = production_orders)]
pub struct NewProductionOrder {
    pub product_id: Uuid,
    pub bom_id: Uuid,
    pub quantity: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub note: Option<String>,
    /// Planned for this customer order: at most one per (order, product).
    pub customer_order_id: Option<Uuid>,
}

/// Creates a planned production order.
pub async fn create(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order: &NewProductionOrder,
) -> DbResult<ProductionOrder> {
    Ok(diesel::insert_into(production_orders::table)
        .values((
            production_orders::id.eq(Uuid::now_v7()),
            production_orders::account_id.eq(account_id),
            order,
        ))
        .returning(ProductionOrder::as_returning())
        .get_result(conn)
        .await?)
}

/// Plans a production order for a customer order's product unless one exists already
/// (redelivery, a second worker): returns whether it was created.
pub async fn plan_for_order(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order: &NewProductionOrder,
) -> DbResult<bool> {
    let created = diesel::insert_into(production_orders::table)
        .values((
            production_orders::id.eq(Uuid::now_v7()),
            production_orders::account_id.eq(account_id),
            order,
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(created > 0)
}

/// The production orders planned for a customer order.
pub async fn for_order(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    customer_order_id: Uuid,
) -> DbResult<Vec<ProductionOrder>> {
    Ok(production_orders::table
        .filter(production_orders::account_id.eq(account_id))
        .filter(production_orders::customer_order_id.eq(customer_order_id))
        .order(production_orders::created_at.asc())
        .select(ProductionOrder::as_select())
        .load(conn)
        .await?)
}

/// Cancels the still-planned production orders of a cancelled customer order.
pub async fn cancel_planned_for_order(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    customer_order_id: Uuid,
) -> DbResult<usize> {
    Ok(diesel::update(
        production_orders::table
            .filter(production_orders::account_id.eq(account_id))
            .filter(production_orders::customer_order_id.eq(customer_order_id))
            .filter(production_orders::state.eq(ProductionState::Planned.as_ref().to_owned())),
    )
    .set((
        production_orders::state.eq(ProductionState::Cancelled.as_ref().to_owned()),
        production_orders::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?)
}

/// One production order of the account; `lock` holds it for the transaction.
pub async fn find(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
    lock: bool,
) -> DbResult<Option<ProductionOrder>> {
    let query = production_orders::table
        .filter(production_orders::account_id.eq(account_id))
        .filter(production_orders::id.eq(id))
        .select(ProductionOrder::as_select());
    let found = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    };
    Ok(found.optional()?)
}

/// The account's production orders, newest first: (page, total).
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    state: Option<ProductionState>,
    (page, per_page): (i64, i64),
) -> DbResult<(Vec<ProductionOrder>, i64)> {
    let build = || {
        let mut query = production_orders::table
            .filter(production_orders::account_id.eq(account_id))
            .into_boxed();
        if let Some(state) = state {
            query = query.filter(production_orders::state.eq(state.as_ref().to_owned()));
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let rows = build()
        .order((
            production_orders::created_at.desc(),
            production_orders::id.desc(),
        ))
        .limit(per_page)
        .offset((page - 1).saturating_mul(per_page))
        .select(ProductionOrder::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Moves an order to `state`, adding `made` (call in the transaction that holds it).
pub async fn update(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
    state: ProductionState,
    made: Decimal,
) -> DbResult<ProductionOrder> {
    Ok(diesel::update(
        production_orders::table
            .filter(production_orders::account_id.eq(account_id))
            .filter(production_orders::id.eq(id)),
    )
    .set((
        production_orders::state.eq(state.as_ref().to_owned()),
        production_orders::made.eq(made),
        production_orders::updated_at.eq(diesel::dsl::now),
    ))
    .returning(ProductionOrder::as_returning())
    .get_result(conn)
    .await?)
}

/// Announces a release (`ProductionOrderReleased`, through the outbox, in the caller's
/// transaction).
pub async fn announce_released(
    conn: &mut AsyncPgConnection,
    order: &ProductionOrder,
) -> DbResult<()> {
    let sku = sku_of(conn, order).await?;
    let event = ProductionOrderReleased {
        account_id: order.account_id.to_string(),
        production_order_id: order.id.to_string(),
        product_id: order.product_id.to_string(),
        sku,
        quantity: order.quantity.normalize().to_string(),
        bom_id: order.bom_id.to_string(),
        component_warehouse_id: order.component_warehouse_id.to_string(),
        output_warehouse_id: order.output_warehouse_id.to_string(),
        released_at: Some(sklad_events::timestamp(Utc::now())),
    };
    enqueue(conn, order.account_id, &event).await
}

/// Announces what a completion made (`ProductionOrderCompleted`).
pub async fn announce_completed(
    conn: &mut AsyncPgConnection,
    order: &ProductionOrder,
    made_now: Decimal,
    movement_id: Uuid,
) -> DbResult<()> {
    let sku = sku_of(conn, order).await?;
    let event = ProductionOrderCompleted {
        account_id: order.account_id.to_string(),
        production_order_id: order.id.to_string(),
        product_id: order.product_id.to_string(),
        sku,
        made_now: made_now.normalize().to_string(),
        made_total: order.made.normalize().to_string(),
        done: order.state == ProductionState::Done,
        movement_id: movement_id.to_string(),
        completed_at: Some(sklad_events::timestamp(Utc::now())),
    };
    enqueue(conn, order.account_id, &event).await
}

async fn sku_of(conn: &mut AsyncPgConnection, order: &ProductionOrder) -> DbResult<String> {
    Ok(products::table
        .filter(products::account_id.eq(order.account_id))
        .filter(products::id.eq(order.product_id))
        .select(products::sku)
        .first(conn)
        .await?)
}

async fn enqueue<E: Event>(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    event: &E,
) -> DbResult<()> {
    crate::outbox::enqueue(
        conn,
        &NewOutboxMessage {
            account_id,
            message_id: Uuid::now_v7(),
            message_type: E::TYPE.to_owned(),
            routing_key: event.routing_key(),
            payload: event.encode_to_vec(),
        },
    )
    .await
}
