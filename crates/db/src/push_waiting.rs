//! What waits to be pushed to keyCRM, as status screens and metrics show it: the dirty set's
//! size and age, and the targets whose pushes keep failing.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::stock_dirty;

/// Targets whose pushes keep failing (ops status): account, keyCRM warehouse, SKUs
/// waiting, failures in a row, next try.
pub async fn failing(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
) -> DbResult<Vec<(Uuid, i64, i64, Option<i32>, Option<DateTime<Utc>>)>> {
    use diesel::dsl::{count_star, max, min};
    let mut query = stock_dirty::table
        .filter(stock_dirty::failures.gt(0))
        .group_by((stock_dirty::account_id, stock_dirty::keycrm_warehouse_id))
        .select((
            stock_dirty::account_id,
            stock_dirty::keycrm_warehouse_id,
            count_star(),
            max(stock_dirty::failures),
            min(stock_dirty::due_at),
        ))
        .into_boxed();
    if let Some(account) = account_id {
        query = query.filter(stock_dirty::account_id.eq(account));
    }
    Ok(query.load(conn).await?)
}

/// Dirty pairs (all accounts, or one) and the oldest mark.
pub async fn dirty_stats(
    conn: &mut AsyncPgConnection,
    account_id: Option<Uuid>,
) -> DbResult<(i64, Option<DateTime<Utc>>)> {
    let mut query = stock_dirty::table.into_boxed();
    if let Some(account) = account_id {
        query = query.filter(stock_dirty::account_id.eq(account));
    }
    Ok(query
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(stock_dirty::marked_at),
        ))
        .first(conn)
        .await?)
}
