//! Nothing grows forever: processed inbox rows, published (or set-aside) outbox events, the
//! push log, finished sync jobs and expired console sessions are deleted once older than the retention, in small
//! batches so no statement holds locks for long. Several processes may prune at once.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::DbResult;

/// (table, timestamp column, extra condition): what may go once its time is older.
const PRUNABLE: &[(&str, &str, &str)] = &[
    ("inbox", "processed_at", "TRUE"),
    (
        "outbox",
        "COALESCE(published_at, set_aside_at)",
        "(published_at IS NOT NULL OR set_aside_at IS NOT NULL)",
    ),
    ("stock_pushes", "started_at", "TRUE"),
    ("sync_jobs", "finished_at", "finished_at IS NOT NULL"),
    ("console_sessions", "expires_at", "TRUE"),
    ("console_refusals", "created_at", "TRUE"),
];

/// Deletes up to `batch` rows older than `before` from each table; returns how many went in
/// all. Call again while it returns `batch` or more for any table.
pub async fn prune_round(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    batch: i64,
) -> DbResult<Vec<(&'static str, usize)>> {
    let mut pruned = Vec::new();
    for (table, at, condition) in PRUNABLE {
        let deleted = diesel::sql_query(format!(
            "DELETE FROM {table} WHERE ctid IN \
             (SELECT ctid FROM {table} WHERE {condition} AND {at} < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
        ))
        .bind::<diesel::sql_types::Timestamptz, _>(before)
        .bind::<diesel::sql_types::BigInt, _>(batch)
        .execute(conn)
        .await?;
        pruned.push((*table, deleted));
    }
    Ok(pruned)
}
