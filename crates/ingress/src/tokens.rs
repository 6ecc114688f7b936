//! Which account a webhook token leads to, remembered so that a webhook needs no database
//! query in the common case, and so that ingress keeps taking webhooks for links it has seen
//! while PostgreSQL is down (a 2xx still means only "RabbitMQ confirmed it").
//!
//! - A known link is trusted for `token_cache_ttl`, then looked up again. If the database
//!   cannot answer then, the last answer is kept for up to `token_cache_max_stale`.
//! - An unknown link is remembered for `unknown_token_ttl`, so a flood of guesses costs
//!   one query per token and interval.
//! - Rotating a link or switching an integration tells every ingress at once through
//!   PostgreSQL `NOTIFY sklad_webhook_tokens` (a trigger sends it): the account's entries are
//!   dropped. When the listening connection breaks, the listener reconnects and drops what
//!   was looked up before the latest change (a notice may have been missed meanwhile).
//! - Each notice carries the change's number; the listener records the highest it has
//!   applied, with a heartbeat ([`sklad_db::token_acks`]), and a rotation answers only once
//!   every live ingress has applied it: the old link stops at once, everywhere.
//! - Numbers follow commit order (a counter row the changing transaction updates), and a
//!   lookup reads the number before the link: a notice drops only what was looked up before
//!   its change, never a lookup that already saw it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use moka::sync::Cache;
use sklad_db::webhook_tokens::WebhookTarget;
use sklad_db::{Db, DbError};
use sklad_runtime::settings::IngressSettings;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel the database notifies on when a link or an integration's switch changes.
pub const CHANNEL: &str = "sklad_webhook_tokens";

#[derive(Debug, Clone)]
struct Entry {
    target: Option<WebhookTarget>,
    checked: Instant,
    /// The latest link change when it was looked up: after a gap in the notices, only
    /// entries older than the changes made meanwhile are dropped.
    change: i64,
}

/// Token (by SHA-256) → account, with the rules in the module docs.
pub struct Tokens {
    db: Db,
    /// This process's listener, as `ingress_listeners` knows it.
    listener: Uuid,
    cache: Cache<Vec<u8>, Entry>,
    ttl: Duration,
    unknown_ttl: Duration,
    max_stale: Duration,
}

impl Tokens {
    pub fn new(db: Db, settings: &IngressSettings) -> Arc<Self> {
        Arc::new(Self {
            db,
            listener: Uuid::now_v7(),
            cache: Cache::builder().max_capacity(200_000).build(),
            ttl: settings.token_cache_ttl,
            unknown_ttl: settings.unknown_token_ttl,
            max_stale: settings.token_cache_max_stale,
        })
    }

    /// The token's target; `None` for an unknown or rotated link. Errs only when the
    /// database cannot answer and nothing usable is remembered.
    pub async fn resolve(&self, token: &str) -> Result<Option<WebhookTarget>, DbError> {
        let key = sklad_db::crypto::token_hash(token);
        let remembered = self.cache.get(&key);
        if let Some(entry) = &remembered {
            let fresh = if entry.target.is_some() {
                self.ttl
            } else {
                self.unknown_ttl
            };
            if entry.checked.elapsed() < fresh {
                return Ok(entry.target.clone());
            }
        }
        let looked_up = async {
            let mut conn = self.db.conn().await?;
            let change = sklad_db::token_acks::last_change(&mut conn).await?;
            let target = sklad_db::webhook_tokens::resolve(&mut conn, token).await?;
            Ok::<_, DbError>((target, change))
        }
        .await;
        match looked_up {
            Ok((target, change)) => {
                self.cache.insert(
                    key,
                    Entry {
                        target: target.clone(),
                        checked: Instant::now(),
                        change,
                    },
                );
                Ok(target)
            }
            Err(err) => match remembered {
                Some(entry)
                    if entry.target.is_some() && entry.checked.elapsed() < self.max_stale =>
                {
                    tracing::warn!(error = %err, "database unavailable; using the remembered link");
                    Ok(entry.target)
                }
                _ => Err(err),
            },
        }
    }

    /// Forgets what is remembered about `account` (and every unknown token: a new link
    /// may have been issued).
    fn forget(&self, account: Uuid, older: impl Fn(&Entry) -> bool) {
        self.drop_where(|entry| {
            older(entry)
                && entry
                    .target
                    .as_ref()
                    .is_none_or(|t| t.account_id == account)
        });
    }

    /// Drops, now, every entry `stale` picks (moka's own predicate invalidation is applied
    /// lazily by insertion time, which can take an entry stored in the same instant).
    fn drop_where(&self, stale: impl Fn(&Entry) -> bool) {
        let keys: Vec<Arc<Vec<u8>>> = self
            .cache
            .iter()
            .filter(|(_, entry)| stale(entry))
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            self.cache.invalidate(key.as_ref());
        }
    }

    /// Records that every change up to `change` is applied (0: a heartbeat only).
    async fn applied(&self, change: i64) {
        let recorded = async {
            let mut conn = self.db.conn().await?;
            sklad_db::token_acks::applied(&mut conn, self.listener, change).await
        }
        .await;
        if let Err(err) = recorded {
            tracing::warn!(error = %err, "could not record the link changes applied");
        }
    }

    /// Applies one notice (`<account> <change>`; a bare account id from before changes
    /// were numbered) and records it.
    async fn apply(&self, payload: &str) {
        let mut parts = payload.split(' ');
        let account = parts.next().map(Uuid::parse_str);
        let change = parts.next().and_then(|c| c.parse::<i64>().ok());
        // Changes are numbered in commit order, so an entry looked up at or after this change
        // already saw it (a notice can arrive after a fresh lookup): only older ones go.
        let before = |entry: &Entry| change.is_none_or(|c| entry.change < c);
        match account {
            Some(Ok(account)) => self.forget(account, before),
            _ => self.drop_where(before),
        }
        if let Some(change) = change {
            self.applied(change).await;
        }
    }

    /// Listens for changes until `cancel` fires, reconnecting with backoff; see the module
    /// docs.
    pub async fn listen(self: Arc<Self>, cancel: CancellationToken) {
        let mut delay = Duration::from_millis(200);
        while !cancel.is_cancelled() {
            match self.db.listen(CHANNEL).await {
                Ok(mut conn) => {
                    // Every change up to now: listening began first, so later ones arrive
                    // as notices.
                    match sklad_db::token_acks::last_change(&mut conn).await {
                        Ok(change) => {
                            // What was looked up before a change made while nobody listened
                            // may be stale; the rest is not.
                            self.drop_where(|entry| entry.change < change);
                            self.applied(change).await;
                            delay = Duration::from_millis(200);
                        }
                        Err(err) => {
                            // Whatever happened while nobody listened is unknown.
                            self.drop_where(|_| true);
                            tracing::warn!(error = %err, "cannot read the latest link change");
                        }
                    }
                    let mut heartbeat = tokio::time::interval(sklad_db::token_acks::ALIVE / 3);
                    let mut notices = std::pin::pin!(conn.notifications_stream());
                    loop {
                        tokio::select! {
                            () = cancel.cancelled() => {
                                self.stopped().await;
                                return;
                            }
                            _ = heartbeat.tick() => self.applied(0).await,
                            notice = notices.next() => match notice {
                                Some(Ok(notice)) => self.apply(&notice.payload).await,
                                Some(Err(err)) => {
                                    tracing::warn!(error = %err, "lost the token notices; reconnecting");
                                    break;
                                }
                                None => break,
                            },
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for token changes; retrying")
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }

    /// This listener stops: rotations no longer wait for it.
    async fn stopped(&self) {
        if let Ok(mut conn) = self.db.conn().await {
            let _ = sklad_db::token_acks::gone(&mut conn, self.listener).await;
        }
    }
}
