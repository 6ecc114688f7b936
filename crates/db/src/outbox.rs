//! The transactional outbox: events written in the same transaction as the change they
//! announce, published afterwards by the relay. An event exists if and only if its change
//! committed; the relay may publish one twice (crash between publish and mark), so
//! consumers dedupe on the message id.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::outbox;

/// An event to publish once the surrounding transaction commits.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxMessage {
    pub account_id: Uuid,
    pub message_id: Uuid,
    pub message_type: String,
    pub routing_key: String,
    pub payload: Vec<u8>,
}

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxMessage {
    pub id: i64,
    pub account_id: Uuid,
    pub message_id: Uuid,
    pub message_type: String,
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// Adds an event (call inside the transaction that makes the change).
pub async fn enqueue(conn: &mut AsyncPgConnection, message: &NewOutboxMessage) -> DbResult<()> {
    diesel::insert_into(outbox::table)
        .values(message)
        .execute(conn)
        .await?;
    Ok(())
}

/// The oldest unpublished events, locked for this transaction (other relays skip them).
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> DbResult<Vec<OutboxMessage>> {
    Ok(outbox::table
        .filter(outbox::published_at.is_null())
        .filter(outbox::set_aside_at.is_null())
        .order(outbox::id.asc())
        .limit(limit)
        .for_update()
        .skip_locked()
        .select(OutboxMessage::as_select())
        .load(conn)
        .await?)
}

/// Marks events published (in the transaction that claimed them).
pub async fn mark_published(conn: &mut AsyncPgConnection, ids: &[i64]) -> DbResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set(outbox::published_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records that the broker refused these events (unroutable, nacked): each gains an
/// attempt, and one refused `set_aside_after` times is set aside with the reason, so it no
/// longer holds back the events behind it. Returns how many were set aside.
pub async fn refused(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    reason: &str,
    set_aside_after: i32,
) -> DbResult<usize> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::last_error.eq(reason),
        ))
        .execute(conn)
        .await?;
    Ok(diesel::update(
        outbox::table
            .filter(outbox::id.eq_any(ids))
            .filter(outbox::attempts.ge(set_aside_after)),
    )
    .set(outbox::set_aside_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?)
}

/// Events set aside (ops status): how many, and the latest reason.
pub async fn set_aside(conn: &mut AsyncPgConnection) -> DbResult<(i64, Option<String>)> {
    let count = outbox::table
        .filter(outbox::set_aside_at.is_not_null())
        .count()
        .get_result(conn)
        .await?;
    let reason = outbox::table
        .filter(outbox::set_aside_at.is_not_null())
        .order(outbox::set_aside_at.desc())
        .select(outbox::last_error)
        .first::<Option<String>>(conn)
        .await
        .optional()?
        .flatten();
    Ok((count, reason))
}

/// Unpublished events and the oldest one's age (metrics).
pub async fn backlog(conn: &mut AsyncPgConnection) -> DbResult<(i64, Option<DateTime<Utc>>)> {
    Ok(outbox::table
        .filter(outbox::published_at.is_null())
        .filter(outbox::set_aside_at.is_null())
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(outbox::created_at),
        ))
        .first(conn)
        .await?)
}
