//! Storage for the keyCRM request budget: one GCRA row per API key fingerprint.
//!
//! The decision itself is [`sklad_domain::budget::decide`]; this module only makes it atomic
//! across processes (row lock) and uses the database clock, so processes on different hosts
//! agree on "now".

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sklad_domain::budget::{Decision, Priority, decide};

use crate::schema::keycrm_budget;
use crate::{DbError, DbResult};

diesel::define_sql_function! {
    /// The wall clock at the moment of the call (not the transaction start).
    fn clock_timestamp() -> Timestamptz;
}

/// Asks for one request slot for the key with `fingerprint`.
///
/// Returns the decision and the database's "now" it was made against; a grant's `send_at`
/// minus that "now" is how long the caller must wait before sending.
pub async fn take(
    conn: &mut AsyncPgConnection,
    fingerprint: &[u8],
    interval: TimeDelta,
    priority: Priority,
) -> DbResult<(Decision, DateTime<Utc>)> {
    let fingerprint = fingerprint.to_vec();
    conn.transaction::<_, DbError, _>(async move |conn| {
        diesel::insert_into(keycrm_budget::table)
            .values((
                keycrm_budget::key_fingerprint.eq(&fingerprint),
                keycrm_budget::tat.eq(clock_timestamp()),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let (tat, now): (DateTime<Utc>, DateTime<Utc>) = keycrm_budget::table
            .find(&fingerprint)
            .select((keycrm_budget::tat, clock_timestamp()))
            .for_update()
            .first(conn)
            .await?;
        let decision = decide(Some(tat), now, interval, priority);
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
