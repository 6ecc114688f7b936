//! The shared keyCRM request budget: one GCRA row per API key in PostgreSQL.
//!
//! Every process using a key asks the same row, so together they never exceed the key's
//! requests per minute however many processes run; see [`sklad_domain::budget`].

use std::time::Duration;

use chrono::TimeDelta;
use sklad_db::Db;
use sklad_domain::budget::{Decision, Priority};

use crate::error::KeycrmError;
use crate::metrics::BUDGET_WAIT_SECONDS;

/// Identifies a budget: the API key's fingerprint, and the rate a key never used before
/// starts with (afterwards the rate stored with the key decides).
#[derive(Debug, Clone)]
pub struct BudgetKey {
    pub fingerprint: Vec<u8>,
    pub requests_per_minute: u32,
}

/// Hands out request slots.
#[derive(Debug, Clone)]
pub struct Budget {
    db: Db,
}

impl Budget {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Waits until this process may send one request; returns how long it waited. With
    /// `max_wait`, a slot further away than that is not waited for ([`KeycrmError::Busy`]):
    /// a person waiting on an answer gets "retry later" instead of a hung request.
    pub async fn acquire(
        &self,
        key: &BudgetKey,
        priority: Priority,
        max_wait: Option<Duration>,
    ) -> Result<Duration, KeycrmError> {
        // Validated settings keep rates within 1–6000.
        let rate = key.requests_per_minute.min(6000) as i32;
        let mut waited = Duration::ZERO;
        loop {
            let (decision, now) = {
                let mut conn = self
                    .db
                    .conn()
                    .await
                    .map_err(|e| KeycrmError::Budget(e.to_string()))?;
                sklad_db::budget::take(&mut conn, &key.fingerprint, rate, priority)
                    .await
                    .map_err(|e| KeycrmError::Budget(e.to_string()))?
            };
            let delay = match decision {
                Decision::Grant { send_at, .. } => to_std(send_at - now),
                Decision::Defer { retry_in } => to_std(retry_in),
            };
            if let Some(max) = max_wait
                && waited + delay > max
            {
                return Err(KeycrmError::Busy {
                    retry_after: waited + delay,
                });
            }
            match decision {
                Decision::Grant { .. } => {
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    BUDGET_WAIT_SECONDS
                        .with_label_values(&[priority.as_str()])
                        .observe(waited.as_secs_f64());
                    return Ok(waited);
                }
                Decision::Defer { .. } => {
                    tokio::time::sleep(delay).await;
                    waited += delay;
                }
            }
        }
    }
}

impl Budget {
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// keyCRM answered 429: every process using this key waits `wait` before its next slot.
    pub async fn push_back(&self, key: &BudgetKey, wait: Duration) -> Result<(), KeycrmError> {
        let mut conn = self
            .db
            .conn()
            .await
            .map_err(|e| KeycrmError::Budget(e.to_string()))?;
        sklad_db::budget::push_back(
            &mut conn,
            &key.fingerprint,
            TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX),
        )
        .await
        .map_err(|e| KeycrmError::Budget(e.to_string()))
    }
}

fn to_std(delta: TimeDelta) -> Duration {
    delta.to_std().unwrap_or(Duration::ZERO)
}
