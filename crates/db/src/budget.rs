//! Storage for the keyCRM request budget: one GCRA row per API key fingerprint, holding the
//! key's rate and its theoretical arrival time.
//!
//! The decision itself is [`sklad_domain::budget::decide`]; this module only makes it atomic
//! across processes (row lock) and uses the database clock, so processes on different hosts
//! agree on "now". The rate lives on the row, so accounts sharing a key share one rate.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sklad_domain::budget::{Decision, Priority, decide, interval};

use crate::schema::keycrm_budget;
use crate::{DbError, DbResult};

diesel::define_sql_function! {
    /// The wall clock at the moment of the call (not the transaction start).
    fn clock_timestamp() -> Timestamptz;
}

/// Asks for one request slot for the key with `fingerprint`. A key never seen before gets a
/// row with `requests_per_minute`; afterwards the row's own rate decides.
///
/// Returns the decision and the database's "now" it was made against; a grant's `send_at`
/// minus that "now" is how long the caller must wait before sending.
pub async fn take(
    conn: &mut AsyncPgConnection,
    fingerprint: &[u8],
    requests_per_minute: i32,
    priority: Priority,
) -> DbResult<(Decision, DateTime<Utc>)> {
    let fingerprint = fingerprint.to_vec();
    conn.transaction::<_, DbError, _>(async move |conn| {
        diesel::insert_into(keycrm_budget::table)
            .values((
                keycrm_budget::key_fingerprint.eq(&fingerprint),
                keycrm_budget::tat.eq(clock_timestamp()),
                keycrm_budget::requests_per_minute.eq(requests_per_minute.clamp(1, 6000)),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let (tat, rate, now): (DateTime<Utc>, i32, DateTime<Utc>) = keycrm_budget::table
            .find(&fingerprint)
            .select((
                keycrm_budget::tat,
                keycrm_budget::requests_per_minute,
                clock_timestamp(),
            ))
            .for_update()
            .first(conn)
            .await?;
        let decision = decide(
            Some(tat),
            now,
            interval(rate.max(1).unsigned_abs()),
            priority,
        );
        if let Decision::Grant { new_tat, .. } = &decision {
            diesel::update(keycrm_budget::table.find(&fingerprint))
                .set((
                    keycrm_budget::tat.eq(new_tat),
                    keycrm_budget::granted_total.eq(keycrm_budget::granted_total + 1),
                    keycrm_budget::updated_at.eq(now),
                ))
                .execute(conn)
                .await?;
        }
        Ok((decision, now))
    })
    .await
}

/// Sets the key's rate (saved with the account's settings; the last one saved wins).
pub async fn set_rate(
    conn: &mut AsyncPgConnection,
    fingerprint: &[u8],
    requests_per_minute: i32,
) -> DbResult<()> {
    let rate = requests_per_minute.clamp(1, 6000);
    diesel::insert_into(keycrm_budget::table)
        .values((
            keycrm_budget::key_fingerprint.eq(fingerprint),
            keycrm_budget::tat.eq(clock_timestamp()),
            keycrm_budget::requests_per_minute.eq(rate),
        ))
        .on_conflict(keycrm_budget::key_fingerprint)
        .do_update()
        .set(keycrm_budget::requests_per_minute.eq(rate))
        .execute(conn)
        .await?;
    Ok(())
}

/// keyCRM said "too many requests": no process sends with this key for `wait`. The schedule
/// moves back for everyone (never forward).
pub async fn push_back(
    conn: &mut AsyncPgConnection,
    fingerprint: &[u8],
    wait: TimeDelta,
) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE keycrm_budget SET tat = GREATEST(tat, clock_timestamp() + $2 * interval '1 millisecond') \
         WHERE key_fingerprint = $1",
    )
    .bind::<diesel::sql_types::Bytea, _>(fingerprint)
    .bind::<diesel::sql_types::BigInt, _>(wait.num_milliseconds())
    .execute(conn)
    .await?;
    Ok(())
}

/// How a key's budget stands: its rate, how far ahead its schedule is booked (zero when a
/// request could go now) and how many requests it has granted in all.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub requests_per_minute: i32,
    pub booked_ahead: TimeDelta,
    pub granted_total: i64,
}

/// The budget of the key with `fingerprint`, if it was ever used.
pub async fn usage(conn: &mut AsyncPgConnection, fingerprint: &[u8]) -> DbResult<Option<Usage>> {
    let row: Option<(i32, DateTime<Utc>, i64, DateTime<Utc>)> = keycrm_budget::table
        .find(fingerprint)
        .select((
            keycrm_budget::requests_per_minute,
            keycrm_budget::tat,
            keycrm_budget::granted_total,
            clock_timestamp(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(
        row.map(|(requests_per_minute, tat, granted_total, now)| Usage {
            requests_per_minute,
            booked_ahead: (tat - now).max(TimeDelta::zero()),
            granted_total,
        }),
    )
}
