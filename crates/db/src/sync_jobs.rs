//! Jobs that page through keyCRM ("Synchronize orders", catalogue imports): progress lives
//! here, so a job resumes where it stopped after a worker dies (its lease runs out and
//! another worker takes it on). One job of each kind per account is active at a time.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::sync_jobs;
use sklad_domain::orders::{JobKind, SyncJobState};

/// The states of a job that holds the account's one active slot.
const ACTIVE: [&str; 2] = ["queued", "running"];
use crate::{DbError, DbResult};

/// A job as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sync_jobs)]
pub struct SyncJob {
    pub id: Uuid,
    pub account_id: Uuid,
    pub status_ids: Vec<i64>,
    #[diesel(deserialize_as = String)]
    pub state: SyncJobState,
    pub next_page: i32,
    pub pages_done: i32,
    pub pages_total: Option<i32>,
    pub orders_done: i32,
    pub orders_total: Option<i32>,
    pub requests: i32,
    pub failures: i32,
    pub last_error: Option<String>,
    pub lease_owner: Option<Uuid>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = String)]
    pub kind: JobKind,
    /// Queued by the periodic catalogue pass, not by a person.
    pub periodic: bool,
    /// Catalogue imports: products created, updated and left as they were.
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
}

impl SyncJob {
    /// Queued or running.
    pub fn is_active(&self) -> bool {
        self.state.is_active()
    }

    /// Orders done against the total, when the total is known (for progress bars).
    pub fn progress(&self) -> (u64, Option<u64>) {
        (
            u64::try_from(self.orders_done).unwrap_or(0),
            self.orders_total.and_then(|t| u64::try_from(t).ok()),
        )
    }
}

/// Why a job could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("status_ids must list positive keyCRM status ids")]
    NoStatuses,
    #[error("save a keyCRM API key in the integration settings first")]
    NoApiKey,
    #[error("sync job {0} is still running; cancel it or wait")]
    AlreadyRunning(Uuid),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Queues a "Synchronize orders" job for the account: needs a saved API key, and at most one
/// such job per account runs at a time (a unique index holds that even under races).
pub async fn start(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    status_ids: &[i64],
) -> Result<SyncJob, StartError> {
    let mut status_ids = status_ids.to_vec();
    status_ids.sort_unstable();
    status_ids.dedup();
    if status_ids.is_empty() || status_ids.iter().any(|s| *s <= 0) {
        return Err(StartError::NoStatuses);
    }
    queue(conn, account_id, JobKind::Orders, &status_ids).await
}

/// Queues a catalogue import for the account (same rules as [`start`]).
pub async fn start_catalogue(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> Result<SyncJob, StartError> {
    queue(conn, account_id, JobKind::Catalogue, &[]).await
}

async fn queue(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    kind: JobKind,
    status_ids: &[i64],
) -> Result<SyncJob, StartError> {
    use diesel::result::{DatabaseErrorKind, Error};
    let integration = crate::integrations::get(conn, account_id).await?;
    if integration.api_key_fingerprint.is_none() {
        return Err(StartError::NoApiKey);
    }
    let inserted = diesel::insert_into(sync_jobs::table)
        .values((
            sync_jobs::id.eq(Uuid::now_v7()),
            sync_jobs::account_id.eq(account_id),
            sync_jobs::status_ids.eq(status_ids),
            sync_jobs::state.eq(SyncJobState::Queued.as_ref()),
            sync_jobs::kind.eq(kind.as_ref()),
        ))
        .returning(SyncJob::as_returning())
        .get_result(conn)
        .await;
    match inserted {
        Ok(job) => Ok(job),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            let running = list(conn, account_id, kind, 20)
                .await?
                .into_iter()
                .find(SyncJob::is_active)
                .map_or(Uuid::nil(), |j| j.id);
            Err(StartError::AlreadyRunning(running))
        }
        Err(err) => Err(StartError::Db(err.into())),
    }
}

/// Queues a periodic catalogue import for every account that imported its catalogue once,
/// has a usable key, and started no catalogue import within `interval`. Returns how many.
pub async fn queue_due_catalogue(
    conn: &mut AsyncPgConnection,
    interval: TimeDelta,
) -> DbResult<usize> {
    let seconds = interval.num_seconds().max(1);
    Ok(diesel::sql_query(
        "INSERT INTO sync_jobs (id, account_id, status_ids, state, kind, periodic) \
         SELECT gen_random_uuid(), i.account_id, '{}', 'queued', 'catalogue', true \
         FROM keycrm_integrations i \
         WHERE i.api_key_fingerprint IS NOT NULL AND i.enabled \
           AND i.key_rejected_at IS NULL AND i.misconfigured_at IS NULL \
           AND EXISTS (SELECT 1 FROM sync_jobs d WHERE d.account_id = i.account_id \
                       AND d.kind = 'catalogue' AND d.state = 'done') \
           AND NOT EXISTS (SELECT 1 FROM sync_jobs r WHERE r.account_id = i.account_id \
                       AND r.kind = 'catalogue' \
                       AND (r.state IN ('queued', 'running') \
                            OR r.created_at > now() - make_interval(secs => $1))) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Double, _>(seconds as f64)
    .execute(conn)
    .await?)
}

/// One of the account's jobs of `kind`.
pub async fn get(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    kind: JobKind,
    id: Uuid,
) -> DbResult<Option<SyncJob>> {
    Ok(sync_jobs::table
        .filter(sync_jobs::account_id.eq(account_id))
        .filter(sync_jobs::kind.eq(kind.as_ref()))
        .filter(sync_jobs::id.eq(id))
        .select(SyncJob::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The account's jobs of `kind`, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    kind: JobKind,
    limit: i64,
) -> DbResult<Vec<SyncJob>> {
    Ok(sync_jobs::table
        .filter(sync_jobs::account_id.eq(account_id))
        .filter(sync_jobs::kind.eq(kind.as_ref()))
        .order(sync_jobs::created_at.desc())
        .limit(limit)
        .select(SyncJob::as_select())
        .load(conn)
        .await?)
}

/// Cancels a queued or running job; a finished one is returned unchanged.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    kind: JobKind,
    id: Uuid,
) -> DbResult<Option<SyncJob>> {
    diesel::update(
        sync_jobs::table
            .filter(sync_jobs::account_id.eq(account_id))
            .filter(sync_jobs::kind.eq(kind.as_ref()))
            .filter(sync_jobs::id.eq(id))
            .filter(sync_jobs::state.eq_any(ACTIVE)),
    )
    .set((
        sync_jobs::state.eq(SyncJobState::Cancelled.as_ref()),
        sync_jobs::finished_at.eq(diesel::dsl::now),
        sync_jobs::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    get(conn, account_id, kind, id).await
}

/// Takes the oldest runnable job whose lease is free (never taken, or its worker stopped
/// renewing it) for `owner`, for `lease`.
pub async fn claim_next(
    conn: &mut AsyncPgConnection,
    owner: Uuid,
    lease: TimeDelta,
) -> DbResult<Option<SyncJob>> {
    conn.transaction::<_, DbError, _>(async move |conn| {
        let candidate: Option<Uuid> = sync_jobs::table
            .filter(sync_jobs::state.eq_any(ACTIVE))
            .filter(sync_jobs::account_id.eq_any(crate::integrations::unflagged()))
            .filter(
                sync_jobs::lease_until
                    .is_null()
                    .or(sync_jobs::lease_until.lt(diesel::dsl::now)),
            )
            .order(sync_jobs::created_at.asc())
            .for_update()
            .skip_locked()
            .select(sync_jobs::id)
            .first(conn)
            .await
            .optional()?;
        let Some(id) = candidate else {
            return Ok(None);
        };
        let job = diesel::update(sync_jobs::table.find(id))
            .set((
                sync_jobs::state.eq(SyncJobState::Running.as_ref()),
                sync_jobs::lease_owner.eq(owner),
                sync_jobs::lease_until.eq(Utc::now() + lease),
                sync_jobs::started_at.eq(diesel::dsl::sql::<
                    diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                >("COALESCE(started_at, now())")),
                sync_jobs::updated_at.eq(diesel::dsl::now),
            ))
            .returning(SyncJob::as_returning())
            .get_result(conn)
            .await?;
        Ok(Some(job))
    })
    .await
}

/// A page's effect on a job.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageDone {
    pub page: i32,
    pub orders: i32,
    pub pages_total: Option<i32>,
    pub orders_total: Option<i32>,
    pub requests: i32,
    pub last_page: bool,
    /// Catalogue imports: what the page did to products.
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
}

/// Records a finished page (in the transaction that stored its orders) and renews the
/// lease. Returns `false` when the job is no longer this owner's to run (cancelled, or the
/// lease was lost): the caller stops and its transaction should roll back.
pub async fn record_page(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    done: PageDone,
    lease: TimeDelta,
) -> DbResult<bool> {
    let now = Utc::now();
    let changed = diesel::update(
        sync_jobs::table
            .filter(sync_jobs::id.eq(id))
            .filter(sync_jobs::state.eq(SyncJobState::Running.as_ref()))
            .filter(sync_jobs::lease_owner.eq(owner))
            .filter(sync_jobs::next_page.eq(done.page)),
    )
    .set((
        sync_jobs::next_page.eq(done.page + 1),
        sync_jobs::pages_done.eq(sync_jobs::pages_done + 1),
        sync_jobs::orders_done.eq(sync_jobs::orders_done + done.orders),
        sync_jobs::pages_total.eq(done.pages_total),
        sync_jobs::orders_total.eq(done.orders_total),
        sync_jobs::requests.eq(sync_jobs::requests + done.requests),
        sync_jobs::created.eq(sync_jobs::created + done.created),
        sync_jobs::updated.eq(sync_jobs::updated + done.updated),
        sync_jobs::unchanged.eq(sync_jobs::unchanged + done.unchanged),
        sync_jobs::failures.eq(0),
        sync_jobs::lease_until.eq(now + lease),
        sync_jobs::updated_at.eq(now),
        sync_jobs::state.eq(if done.last_page {
            SyncJobState::Done
        } else {
            SyncJobState::Running
        }
        .as_ref()),
        sync_jobs::finished_at.eq(done.last_page.then_some(now)),
    ))
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Records a failed page. After `max_failures` in a row the job fails; otherwise its lease
/// is shortened so it is retried after `retry_in`.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Uuid,
    error: &str,
    max_failures: i32,
    retry_in: TimeDelta,
) -> DbResult<()> {
    let now = Utc::now();
    diesel::update(
        sync_jobs::table
            .filter(sync_jobs::id.eq(id))
            .filter(sync_jobs::state.eq(SyncJobState::Running.as_ref()))
            .filter(sync_jobs::lease_owner.eq(owner)),
    )
    .set((
        sync_jobs::failures.eq(sync_jobs::failures + 1),
        sync_jobs::last_error.eq(error),
        sync_jobs::lease_until.eq(now + retry_in),
        sync_jobs::updated_at.eq(now),
    ))
    .execute(conn)
    .await?;
    diesel::update(
        sync_jobs::table
            .filter(sync_jobs::id.eq(id))
            .filter(sync_jobs::state.eq(SyncJobState::Running.as_ref()))
            .filter(sync_jobs::failures.ge(max_failures)),
    )
    .set((
        sync_jobs::state.eq(SyncJobState::Failed.as_ref()),
        sync_jobs::finished_at.eq(now),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// The job's state (to notice a cancellation between pages).
pub async fn state(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<String> {
    Ok(sync_jobs::table
        .find(id)
        .select(sync_jobs::state)
        .first(conn)
        .await?)
}

/// When the account's last job of `kind` finished every page (none: never).
pub async fn last_done(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    kind: JobKind,
) -> DbResult<Option<DateTime<Utc>>> {
    Ok(sync_jobs::table
        .filter(sync_jobs::account_id.eq(account_id))
        .filter(sync_jobs::kind.eq(kind.as_ref()))
        .filter(sync_jobs::state.eq(SyncJobState::Done.as_ref()))
        .select(diesel::dsl::max(sync_jobs::finished_at))
        .first::<Option<DateTime<Utc>>>(conn)
        .await?)
}
