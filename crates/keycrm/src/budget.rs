//! The shared keyCRM request budget: one GCRA row per API key in PostgreSQL.
//!
//! Every process using a key asks the same row, so together they never exceed the key's
//! requests per minute however many processes run; see [`sklad_domain::budget`].

use std::time::Duration;

use chrono::TimeDelta;
use sklad_db::Db;
use sklad_domain::budget::{Decision, Priority, interval};

use crate::error::KeycrmError;
use crate::metrics::BUDGET_WAIT_SECONDS;

/// Identifies a budget: the API key's fingerprint and its rate.
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

    /// Waits until this process may send one request; returns how long it waited.
    pub async fn acquire(
        &self,
        key: &BudgetKey,
        priority: Priority,
    ) -> Result<Duration, KeycrmError> {
        let iv = interval(key.requests_per_minute);
        let mut waited = Duration::ZERO;
        loop {
            let (decision, now) = {
                let mut conn = self
                    .db
                    .conn()
                    .await
                    .map_err(|e| KeycrmError::Budget(e.to_string()))?;
                sklad_db::budget::take(&mut conn, &key.fingerprint, iv, priority)
                    .await
                    .map_err(|e| KeycrmError::Budget(e.to_string()))?
            };
            match decision {
                Decision::Grant { send_at, .. } => {
                    let delay = to_std(send_at - now);
                    tokio::time::sleep(delay).await;
                    waited += delay;
                    BUDGET_WAIT_SECONDS
                        .with_label_values(&[priority.as_str()])
                        .observe(waited.as_secs_f64());
                    return Ok(waited);
                }
                Decision::Defer { retry_in } => {
                    let delay = to_std(retry_in);
                    tokio::time::sleep(delay).await;
                    waited += delay;
                }
            }
        }
    }
}

fn to_std(delta: TimeDelta) -> Duration {
    delta.to_std().unwrap_or(Duration::ZERO)
}
