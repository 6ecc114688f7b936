//! The processed-message inbox: makes consumers idempotent.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::inbox;

/// Records that `consumer` processed `message_id`. Returns `false` when it already had,
/// in which case the caller's transaction should change nothing else.
///
/// Call inside the same transaction as the message's effects, so both commit or neither.
pub async fn record(
    conn: &mut AsyncPgConnection,
    consumer: &str,
    message_id: &str,
    account_id: Uuid,
) -> DbResult<bool> {
    let inserted = diesel::insert_into(inbox::table)
        .values((
            inbox::consumer.eq(consumer),
            inbox::message_id.eq(message_id),
            inbox::account_id.eq(account_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
