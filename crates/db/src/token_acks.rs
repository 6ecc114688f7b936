//! How a rotated link stops at once in every ingress: each change ingress must forget is
//! numbered (`webhook_token_change_counter`, in commit order, in the notice's payload); each listening ingress
//! records the highest number it has applied and a heartbeat in `ingress_listeners`; a
//! rotation waits until every ingress seen lately has applied its number.

use std::time::Duration;

use diesel::sql_types::{BigInt, Interval, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{Db, DbResult};

/// An ingress counts as alive while its heartbeat is younger than this.
pub const ALIVE: Duration = Duration::from_secs(15);

#[derive(diesel::QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The number of the latest change (0 before any).
pub async fn last_change(conn: &mut AsyncPgConnection) -> DbResult<i64> {
    let row: Number = diesel::sql_query("SELECT value AS n FROM webhook_token_change_counter")
        .get_result(conn)
        .await?;
    Ok(row.n)
}

/// Records that listener `id` has applied every change up to `applied` (and is alive);
/// listeners silent for an hour are forgotten.
pub async fn applied(conn: &mut AsyncPgConnection, id: Uuid, applied: i64) -> DbResult<()> {
    diesel::sql_query(
        "INSERT INTO ingress_listeners (id, applied) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET applied = GREATEST(ingress_listeners.applied, EXCLUDED.applied), \
         seen_at = now()",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<BigInt, _>(applied)
    .execute(conn)
    .await?;
    diesel::sql_query("DELETE FROM ingress_listeners WHERE seen_at < now() - interval '1 hour'")
        .execute(conn)
        .await?;
    Ok(())
}

/// Listener `id` stopped.
pub async fn gone(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<()> {
    diesel::sql_query("DELETE FROM ingress_listeners WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Live listeners that have not applied change `change` yet.
pub async fn lagging(conn: &mut AsyncPgConnection, change: i64) -> DbResult<i64> {
    let alive = diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(ALIVE.as_micros()).unwrap_or(i64::MAX),
    );
    let row: Number = diesel::sql_query(
        "SELECT count(*) AS n FROM ingress_listeners WHERE applied < $1 AND seen_at > now() - $2",
    )
    .bind::<BigInt, _>(change)
    .bind::<Interval, _>(alive)
    .get_result(conn)
    .await?;
    Ok(row.n)
}

/// Waits (up to `limit`) until every live ingress has applied the latest change: after a
/// rotation commits, the old link is refused everywhere once this returns `true`.
pub async fn wait_applied(db: &Db, limit: Duration) -> DbResult<bool> {
    let deadline = tokio::time::Instant::now() + limit;
    let change = last_change(&mut *db.conn().await?).await?;
    loop {
        // A connection per look: the wait never holds one from the pool.
        if lagging(&mut *db.conn().await?, change).await? == 0 {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(change, "an ingress has not applied a link change in time");
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
