//! The order fetch queue: keyCRM orders waiting to be fetched, one row per order.
//!
//! Events for one order coalesce into its row; a fetcher claims rows (a lease moves their
//! `next_attempt_at` ahead), fetches, and deletes a row only if no event arrived meanwhile
//! (its `request_seq` is unchanged), so the newest state is always fetched at least once.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::order_fetches;
use crate::{DbError, DbResult};

/// A claimed row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = order_fetches)]
pub struct Waiting {
    pub account_id: Uuid,
    pub keycrm_order_id: i64,
    pub requested_at: DateTime<Utc>,
    pub request_seq: i64,
    pub events: i32,
    pub event_updated_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The messages (webhook ids) this fetch serves, oldest first (the last 20).
    pub message_ids: Vec<String>,
}

/// Asks for `keycrm_order_id` to be fetched no sooner than `not_before`; joins the waiting
/// row when there is one (its `request_seq` grows, its due time never moves later).
pub async fn request(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_id: i64,
    event_updated_at: Option<DateTime<Utc>>,
    message_id: &str,
    not_before: DateTime<Utc>,
) -> DbResult<()> {
    use diesel::upsert::excluded;
    diesel::insert_into(order_fetches::table)
        .values((
            order_fetches::account_id.eq(account_id),
            order_fetches::keycrm_order_id.eq(keycrm_order_id),
            order_fetches::requested_at.eq(diesel::dsl::now),
            order_fetches::last_requested_at.eq(diesel::dsl::now),
            order_fetches::event_updated_at.eq(event_updated_at),
            order_fetches::next_attempt_at.eq(not_before),
            order_fetches::message_ids.eq(vec![message_id]),
        ))
        .on_conflict((order_fetches::account_id, order_fetches::keycrm_order_id))
        .do_update()
        .set((
            order_fetches::request_seq.eq(order_fetches::request_seq + 1),
            order_fetches::last_requested_at.eq(diesel::dsl::now),
            order_fetches::events.eq(order_fetches::events + 1),
            order_fetches::event_updated_at.eq(greatest(
                order_fetches::event_updated_at,
                excluded(order_fetches::event_updated_at),
            )),
            order_fetches::next_attempt_at.eq(least(
                order_fetches::next_attempt_at,
                excluded(order_fetches::next_attempt_at),
            )),
            order_fetches::message_ids.eq(diesel::dsl::sql::<
                diesel::sql_types::Array<diesel::sql_types::Text>,
            >(
                "(order_fetches.message_ids || excluded.message_ids)\
                 [greatest(cardinality(order_fetches.message_ids) - 18, 1):]",
            )),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

diesel::define_sql_function! {
    /// PostgreSQL's GREATEST (NULLs ignored).
    #[sql_name = "GREATEST"]
    fn greatest(a: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, b: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>;
}

diesel::define_sql_function! {
    /// PostgreSQL's LEAST.
    #[sql_name = "LEAST"]
    fn least(a: diesel::sql_types::Timestamptz, b: diesel::sql_types::Timestamptz) -> diesel::sql_types::Timestamptz;
}

/// The database's clock now: a page of keyCRM orders asked for after this moment shows every
/// change whose event was requested before it.
pub async fn clock(conn: &mut AsyncPgConnection) -> DbResult<DateTime<Utc>> {
    Ok(
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()"))
            .get_result(conn)
            .await?,
    )
}

/// The waiting rows among `keycrm_order_ids` (claimed or not) whose newest event was
/// requested before `asked_at` (when the page that may serve them was asked for), with
/// their `request_seq` and webhook ids: a page fetched for other orders may serve them too. A
/// row with a later event is left for a fetch that can show that event's change.
pub async fn waiting_among(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_ids: &[i64],
    asked_at: DateTime<Utc>,
) -> DbResult<Vec<(i64, i64, Vec<String>)>> {
    Ok(order_fetches::table
        .filter(order_fetches::account_id.eq(account_id))
        .filter(order_fetches::keycrm_order_id.eq_any(keycrm_order_ids))
        .filter(order_fetches::last_requested_at.lt(asked_at))
        .select((
            order_fetches::keycrm_order_id,
            order_fetches::request_seq,
            order_fetches::message_ids,
        ))
        .load(conn)
        .await?)
}

/// Accounts with rows due now.
pub async fn due_accounts(conn: &mut AsyncPgConnection, limit: i64) -> DbResult<Vec<Uuid>> {
    Ok(order_fetches::table
        .filter(order_fetches::next_attempt_at.le(diesel::dsl::now))
        .filter(order_fetches::account_id.eq_any(crate::integrations::unflagged()))
        .select(order_fetches::account_id)
        .distinct()
        .limit(limit)
        .load(conn)
        .await?)
}

/// Claims up to `limit` due rows of an account for `lease`; other fetchers skip them.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    lease: TimeDelta,
    limit: i64,
) -> DbResult<Vec<Waiting>> {
    conn.transaction::<_, DbError, _>(async move |conn| {
        let rows: Vec<Waiting> = order_fetches::table
            .filter(order_fetches::account_id.eq(account_id))
            .filter(order_fetches::next_attempt_at.le(diesel::dsl::now))
            .order(order_fetches::next_attempt_at.asc())
            .limit(limit)
            .for_update()
            .skip_locked()
            .select(Waiting::as_select())
            .load(conn)
            .await?;
        if !rows.is_empty() {
            let ids: Vec<i64> = rows.iter().map(|r| r.keycrm_order_id).collect();
            diesel::update(
                order_fetches::table
                    .filter(order_fetches::account_id.eq(account_id))
                    .filter(order_fetches::keycrm_order_id.eq_any(ids)),
            )
            .set(order_fetches::next_attempt_at.eq(Utc::now() + lease))
            .execute(conn)
            .await?;
        }
        Ok(rows)
    })
    .await
}

/// Removes a served row unless an event arrived since it was claimed. Call in the same
/// transaction as the upsert it served. Returns whether the row went.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_id: i64,
    request_seq: i64,
) -> DbResult<bool> {
    let deleted = diesel::delete(
        order_fetches::table
            .filter(order_fetches::account_id.eq(account_id))
            .filter(order_fetches::keycrm_order_id.eq(keycrm_order_id))
            .filter(order_fetches::request_seq.eq(request_seq)),
    )
    .execute(conn)
    .await?;
    if deleted == 0 {
        // An event came while fetching: fetch again right away.
        diesel::update(
            order_fetches::table
                .filter(order_fetches::account_id.eq(account_id))
                .filter(order_fetches::keycrm_order_id.eq(keycrm_order_id)),
        )
        .set(order_fetches::next_attempt_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    }
    Ok(deleted > 0)
}

/// Moves the lease of claimed rows still being served forward (a round of single fetches
/// at keyCRM's pace can outlast it).
pub async fn renew(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_ids: &[i64],
    lease: TimeDelta,
) -> DbResult<()> {
    diesel::update(
        order_fetches::table
            .filter(order_fetches::account_id.eq(account_id))
            .filter(order_fetches::keycrm_order_id.eq_any(keycrm_order_ids))
            .filter(order_fetches::next_attempt_at.gt(diesel::dsl::now)),
    )
    .set(order_fetches::next_attempt_at.eq(Utc::now() + lease))
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts a failure of one order and holds it for `backoff(attempts)`: its row gains an
/// attempt and the reason (a row is created when the order failed on a page, so the
/// fetcher retries it singly). Returns the row as it now stands.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_id: i64,
    error: &str,
    backoff: impl Fn(i32) -> TimeDelta + Send,
) -> DbResult<Waiting> {
    let error: String = error.chars().take(2000).collect();
    conn.transaction::<_, DbError, _>(async move |conn| {
        let row: Waiting = diesel::insert_into(order_fetches::table)
            .values((
                order_fetches::account_id.eq(account_id),
                order_fetches::keycrm_order_id.eq(keycrm_order_id),
                order_fetches::requested_at.eq(diesel::dsl::now),
                order_fetches::next_attempt_at.eq(diesel::dsl::now),
                order_fetches::attempts.eq(1),
                order_fetches::last_error.eq(&error),
            ))
            .on_conflict((order_fetches::account_id, order_fetches::keycrm_order_id))
            .do_update()
            .set((
                order_fetches::attempts.eq(order_fetches::attempts + 1),
                order_fetches::last_error.eq(&error),
            ))
            .returning(Waiting::as_returning())
            .get_result(conn)
            .await?;
        let due = Utc::now() + backoff(row.attempts);
        Ok(diesel::update(
            order_fetches::table
                .filter(order_fetches::account_id.eq(account_id))
                .filter(order_fetches::keycrm_order_id.eq(keycrm_order_id)),
        )
        .set(order_fetches::next_attempt_at.eq(due))
        .returning(Waiting::as_returning())
        .get_result(conn)
        .await?)
    })
    .await
}

/// Puts an account's claimed rows back until `until` without counting an attempt: the
/// failure is the account's settings or sklad's own outage, not these orders'.
pub async fn postpone(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_ids: &[i64],
    why: &str,
    until: DateTime<Utc>,
) -> DbResult<()> {
    diesel::update(
        order_fetches::table
            .filter(order_fetches::account_id.eq(account_id))
            .filter(order_fetches::keycrm_order_id.eq_any(keycrm_order_ids)),
    )
    .set((
        order_fetches::last_error.eq(why),
        order_fetches::next_attempt_at.eq(until),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a row for good (the order was parked).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    keycrm_order_id: i64,
) -> DbResult<()> {
    diesel::delete(
        order_fetches::table
            .filter(order_fetches::account_id.eq(account_id))
            .filter(order_fetches::keycrm_order_id.eq(keycrm_order_id)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Rows waiting in all (metrics) and the oldest request among them.
pub async fn backlog(conn: &mut AsyncPgConnection) -> DbResult<(i64, Option<DateTime<Utc>>)> {
    Ok(order_fetches::table
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(order_fetches::requested_at),
        ))
        .first(conn)
        .await?)
}
