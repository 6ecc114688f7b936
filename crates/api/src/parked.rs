//! Parked messages, as the console and the ops CLI handle them: listed from PostgreSQL (the
//! relay keeps them there) and replayed by id, never taken off a queue to be looked at.

use std::sync::Arc;

use diesel_async::AsyncConnection;
use sklad_bus::Broker;
use sklad_bus::parking::{ReplayError, Replayer};
use sklad_db::parked::Filter;
use sklad_db::{Db, DbError};

/// Why a replay stopped; what it had not sent stays parked.
#[derive(Debug, thiserror::Error)]
pub enum ReplayFailed {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Broker(#[from] ReplayError),
}

impl From<diesel::result::Error> for ReplayFailed {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(err.into())
    }
}

/// Sends up to `limit` parked messages that `filter` names back to their consumers, oldest
/// first, and forgets them, in one transaction: each is forgotten only with every publish of
/// the batch confirmed, so a failure leaves the batch parked (a message sent twice is
/// handled once: consumers keep an inbox). Returns how many went back.
pub async fn replay(
    db: &Db,
    broker: Arc<Broker>,
    filter: &Filter<'_>,
    limit: i64,
) -> Result<usize, ReplayFailed> {
    let mut conn = db.conn().await?;
    conn.transaction::<_, ReplayFailed, _>(async move |conn| {
        let rows = sklad_db::parked::lock_for_replay(conn, filter, limit).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let replayer = Replayer::open(broker).await?;
        for row in &rows {
            if let Err(err) = replayer
                .send(&row.consumer, &row.properties, &row.body)
                .await
            {
                replayer.close().await;
                return Err(err.into());
            }
        }
        replayer.close().await;
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        Ok(sklad_db::parked::forget(conn, &ids).await?)
    })
    .await
}
