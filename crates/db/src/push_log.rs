//! The log of every `PUT /offers/stocks` sklad sent: quantities, keyCRM's answer, duration.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use sklad_domain::stock::PushOutcome;
use uuid::Uuid;

use crate::DbResult;
use crate::schema::stock_pushes;

/// One push, as logged.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_pushes)]
pub struct Push {
    pub id: Uuid,
    pub account_id: Uuid,
    pub keycrm_warehouse_id: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub items: i32,
    pub quantities: Value,
    #[diesel(deserialize_as = String, serialize_as = String)]
    pub outcome: PushOutcome,
    pub http_status: Option<i32>,
    pub answer: Option<String>,
    pub rejected: Value,
}

/// Logs a push.
pub async fn log_push(conn: &mut AsyncPgConnection, push: &Push) -> DbResult<()> {
    diesel::insert_into(stock_pushes::table)
        .values(push.clone())
        .execute(conn)
        .await?;
    Ok(())
}

/// The account's pushes, newest first.
pub async fn pushes(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_warehouse_id: Option<i64>,
    page: i64,
    per_page: i64,
) -> DbResult<(Vec<Push>, i64)> {
    let build = || {
        let mut query = stock_pushes::table
            .filter(stock_pushes::account_id.eq(account_id))
            .into_boxed();
        if let Some(k) = keycrm_warehouse_id {
            query = query.filter(stock_pushes::keycrm_warehouse_id.eq(k));
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let rows = build()
        .order(stock_pushes::started_at.desc())
        .limit(per_page)
        .offset((page - 1).max(0) * per_page)
        .select(Push::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}
