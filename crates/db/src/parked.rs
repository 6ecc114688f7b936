//! The parking lot: messages given up on, kept in PostgreSQL so that looking at them takes
//! nothing off a queue (on RabbitMQ 4 every put-back counts toward a quorum queue's delivery
//! limit, so a message looked at often enough would be dropped).

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::parked_messages;

/// A parked message as it is kept.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = parked_messages)]
pub struct NewParked {
    pub consumer: String,
    pub message_id: Option<String>,
    pub account_id: Option<Uuid>,
    pub message_type: Option<String>,
    pub subject: Option<String>,
    pub keycrm_id: Option<i64>,
    pub reason: String,
    pub attempts: i32,
    pub parked_at: DateTime<Utc>,
    pub properties: serde_json::Value,
    pub body: Vec<u8>,
}

/// What an operator sees of a parked message.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parked_messages)]
pub struct ParkedRow {
    pub id: i64,
    pub consumer: String,
    pub message_id: Option<String>,
    pub account_id: Option<Uuid>,
    pub message_type: Option<String>,
    pub subject: Option<String>,
    pub keycrm_id: Option<i64>,
    pub reason: String,
    pub attempts: i32,
    pub parked_at: DateTime<Utc>,
}

/// A parked message with what it takes to publish it again.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = parked_messages)]
pub struct ParkedMessage {
    pub id: i64,
    pub consumer: String,
    pub properties: serde_json::Value,
    pub body: Vec<u8>,
}

/// Keeps `message`; one already kept (same consumer and message id) is kept once. Returns
/// whether a row was added.
pub async fn keep(conn: &mut AsyncPgConnection, message: &NewParked) -> DbResult<bool> {
    let added = diesel::insert_into(parked_messages::table)
        .values(message)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(added > 0)
}

/// Which parked messages a list or a replay is about.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only this account's (the console); `None` for every account (the ops CLI).
    pub account: Option<Uuid>,
    pub consumer: Option<&'a str>,
    /// Only these ids, when given.
    pub ids: Option<&'a [i64]>,
}

impl Filter<'_> {
    fn apply<'q, ST>(
        &self,
        mut query: parked_messages::BoxedQuery<'q, Pg, ST>,
    ) -> parked_messages::BoxedQuery<'q, Pg, ST> {
        if let Some(account) = self.account {
            query = query.filter(parked_messages::account_id.eq(account));
        }
        if let Some(consumer) = self.consumer {
            query = query.filter(parked_messages::consumer.eq(consumer.to_owned()));
        }
        if let Some(ids) = self.ids {
            query = query.filter(parked_messages::id.eq_any(ids.to_vec()));
        }
        query
    }
}

/// Up to `limit` parked messages, oldest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &Filter<'_>,
    limit: i64,
) -> DbResult<Vec<ParkedRow>> {
    let query = parked_messages::table
        .select(ParkedRow::as_select())
        .order((parked_messages::parked_at, parked_messages::id))
        .limit(limit)
        .into_boxed();
    Ok(filter.apply(query).load(conn).await?)
}

/// How many messages are parked (for `account`, when given).
pub async fn count(conn: &mut AsyncPgConnection, account: Option<Uuid>) -> DbResult<i64> {
    let mut query = parked_messages::table.count().into_boxed();
    if let Some(account) = account {
        query = query.filter(parked_messages::account_id.eq(account));
    }
    Ok(query.get_result(conn).await?)
}

/// Locks up to `limit` parked messages for a replay, oldest first (call in a transaction;
/// rows another replay holds are skipped, so two replays never send one message twice).
pub async fn lock_for_replay(
    conn: &mut AsyncPgConnection,
    filter: &Filter<'_>,
    limit: i64,
) -> DbResult<Vec<ParkedMessage>> {
    let ids: Vec<i64> = list(conn, filter, limit)
        .await?
        .into_iter()
        .map(|row| row.id)
        .collect();
    Ok(parked_messages::table
        .filter(parked_messages::id.eq_any(ids))
        .select(ParkedMessage::as_select())
        .order((parked_messages::parked_at, parked_messages::id))
        .for_update()
        .skip_locked()
        .load(conn)
        .await?)
}

/// Forgets replayed messages (in the replay's transaction, after the broker confirmed them).
pub async fn forget(conn: &mut AsyncPgConnection, ids: &[i64]) -> DbResult<usize> {
    Ok(
        diesel::delete(parked_messages::table.filter(parked_messages::id.eq_any(ids)))
            .execute(conn)
            .await?,
    )
}
