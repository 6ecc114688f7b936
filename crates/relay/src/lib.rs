//! The outbox relay.
//!
//! Each round claims the oldest unpublished outbox rows (`FOR UPDATE SKIP LOCKED`, so several
//! relays share the work), publishes them with confirms, and marks them published in the same
//! transaction. A round that cannot publish everything rolls back: its rows are published
//! again later. So every committed event is published at least once, in commit order per
//! relay; consumers dedupe on the message id (the outbox row's `message_id`).
//!
//! An event the broker itself refuses (no queue bound for its routing key, a nack) is
//! counted on its row and, after a few refusals, set aside with the reason instead of
//! holding back every event behind it. An unreachable broker is not the event's fault:
//! that round rolls back and is tried again.
//!
//! The relay also runs the retention loop ([`sklad_db::retention`]) and the parking keeper
//! ([`parked`]): every parked message is moved off its parking queue into PostgreSQL.

pub mod parked;

use std::sync::Arc;
use std::time::Duration;

use diesel_async::AsyncConnection;
use futures::future::join_all;
use prometheus::{IntCounter, IntGauge};
use sklad_bus::connection::BrokerReadiness;
use sklad_bus::{Broker, OutgoingMessage, PublishError, Publisher};
use sklad_db::outbox::OutboxMessage;
use sklad_db::{Db, DbError};
use sklad_runtime::Settings;
use sklad_runtime::health::{OpsServer, Readiness, ops_server};
use sklad_runtime::lazy_metric;
use sklad_runtime::settings::{RelaySettings, RetentionSettings};
use tokio_util::sync::CancellationToken;

lazy_metric!(PUBLISHED: IntCounter = IntCounter::new(
    "sklad_relay_published_total", "Outbox events published",
));

lazy_metric!(BACKLOG: IntGauge = IntGauge::new(
    "sklad_relay_backlog", "Outbox events not yet published",
));

lazy_metric!(SET_ASIDE: IntCounter = IntCounter::new(
    "sklad_relay_set_aside_total", "Outbox events the broker kept refusing, set aside with their reason",
));

lazy_metric!(PRUNED: IntCounter = IntCounter::new(
    "sklad_retention_pruned_total", "Rows deleted by the retention loop",
));

lazy_metric!(OLDEST_SECONDS: IntGauge = IntGauge::new(
    "sklad_relay_oldest_seconds", "Age of the oldest unpublished outbox event",
));

/// A built relay.
pub struct Relay {
    db: Db,
    publisher: Publisher,
    broker: Arc<Broker>,
    settings: RelaySettings,
    retention: RetentionSettings,
    ops: OpsServer,
}

#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Publish(#[from] PublishError),
}

impl From<diesel::result::Error> for RoundError {
    fn from(err: diesel::result::Error) -> Self {
        RoundError::Db(err.into())
    }
}

impl Relay {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Db::new(&settings.database)?)
    }

    /// Builds on an existing pool (used by `sklad run` and tests).
    pub fn build_with(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        let broker = Broker::new(&settings.broker, "sklad-relay");
        let readiness = Readiness::new(vec![
            Arc::new(db.clone()),
            Arc::new(BrokerReadiness(broker.clone())),
        ]);
        Ok(Self {
            ops: ops_server(&settings.relay.bind, readiness)?,
            publisher: Publisher::new(broker.clone()),
            broker,
            db,
            settings: settings.relay.clone(),
            retention: settings.retention.clone(),
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port
    }

    /// Relays until `cancel` fires; the round in progress completes (or rolls back) first.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> std::io::Result<()> {
        let ops = tokio::spawn(sklad_runtime::serve_until_cancelled(
            self.ops.server,
            cancel.clone(),
        ));
        let pruning = tokio::spawn(prune(
            self.db.clone(),
            self.retention.clone(),
            cancel.clone(),
        ));
        let keeper = tokio::spawn(
            sklad_bus::parking::Keeper::new(
                self.broker.clone(),
                Arc::new(parked::DbLot(self.db.clone())),
            )
            .run(cancel.clone()),
        );
        let idle = self.settings.poll.max(Duration::from_millis(10));
        let mut failures = 0u32;
        while !cancel.is_cancelled() {
            let wait = match round(&self.db, &self.publisher, self.settings.batch).await {
                Ok(0) => {
                    failures = 0;
                    idle
                }
                Ok(_) => {
                    failures = 0;
                    Duration::ZERO
                }
                Err(err) => {
                    failures += 1;
                    tracing::warn!(error = %err, failures, "relay round failed; its events stay in the outbox");
                    Duration::from_millis(200 * u64::from(failures.min(25)))
                }
            };
            if !wait.is_zero() {
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        let _ = keeper.await;
        self.broker.close().await;
        let _ = pruning.await;
        ops.await.unwrap_or(Ok(()))
    }
}

/// Every `retention.interval`, deletes what is older than `retention.keep`, batch by batch.
async fn prune(db: Db, settings: RetentionSettings, cancel: CancellationToken) {
    if settings.keep.is_zero() {
        tracing::info!("retention is switched off (retention.keep = 0s)");
        return;
    }
    while !cancel.is_cancelled() {
        let before = chrono::Utc::now() - sklad_runtime::settings::delta(settings.keep);
        loop {
            let round = match db.conn().await {
                Ok(mut conn) => {
                    sklad_db::retention::prune_round(&mut conn, before, settings.batch).await
                }
                Err(err) => Err(err),
            };
            match round {
                Ok(pruned) => {
                    let total: usize = pruned.iter().map(|(_, n)| n).sum();
                    PRUNED.inc_by(u64::try_from(total).unwrap_or(0));
                    if total > 0 {
                        tracing::info!(?pruned, "old rows pruned");
                    }
                    let full = pruned
                        .iter()
                        .any(|(_, n)| i64::try_from(*n).unwrap_or(i64::MAX) >= settings.batch);
                    if !full || cancel.is_cancelled() {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "retention round failed");
                    break;
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(settings.interval) => {}
        }
    }
}

/// Refusals after which an event is set aside.
const SET_ASIDE_AFTER: i32 = 5;

/// One round: returns how many events it published.
async fn round(db: &Db, publisher: &Publisher, batch: i64) -> Result<usize, RoundError> {
    let mut conn = db.conn().await?;
    if let Ok((waiting, oldest)) = sklad_db::outbox::backlog(&mut conn).await {
        BACKLOG.set(waiting);
        OLDEST_SECONDS.set(oldest.map_or(0, |t| (chrono::Utc::now() - t).num_seconds().max(0)));
    }
    let publisher = publisher.clone();
    conn.transaction::<_, RoundError, _>(async move |conn| {
        let rows = sklad_db::outbox::claim(conn, batch).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        // Publishes are pipelined on the confirm channel; all must be confirmed.
        let outcomes = join_all(rows.iter().map(|row| {
            let publisher = publisher.clone();
            let message = outgoing(row);
            async move { publisher.publish(&message).await }
        }))
        .await;
        let mut published = Vec::new();
        let mut refused: Vec<(i64, String)> = Vec::new();
        for (row, outcome) in rows.iter().zip(outcomes) {
            match outcome {
                Ok(()) => published.push(row.id),
                Err(err @ (PublishError::Unroutable(_) | PublishError::Nacked)) => {
                    refused.push((row.id, err.to_string()));
                }
                // The broker is gone or silent: nothing of this round is marked.
                Err(err) => return Err(err.into()),
            }
        }
        sklad_db::outbox::mark_published(conn, &published).await?;
        for (id, reason) in &refused {
            let aside = sklad_db::outbox::refused(conn, &[*id], reason, SET_ASIDE_AFTER).await?;
            if aside > 0 {
                SET_ASIDE.inc();
                tracing::error!(outbox_id = id, %reason, "the broker keeps refusing an event; set aside");
            }
        }
        PUBLISHED.inc_by(u64::try_from(published.len()).unwrap_or(0));
        Ok(published.len())
    })
    .await
}

fn outgoing(row: &OutboxMessage) -> OutgoingMessage {
    OutgoingMessage {
        routing_key: row.routing_key.clone(),
        message_id: row.message_id.to_string(),
        message_type: row.message_type.clone(),
        account_id: row.account_id.to_string(),
        time: row.created_at,
        subject: None,
        payload: row.payload.clone(),
    }
}
