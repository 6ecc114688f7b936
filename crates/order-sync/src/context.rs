//! What the worker's loops share.

use std::sync::Arc;
use std::time::Duration;

use sklad_bus::Publisher;
use sklad_db::integrations::Integration;
use sklad_db::{Db, DbResult, SecretBox};
use sklad_keycrm::{Budget, KeycrmClient, RetryPolicy};
use sklad_runtime::settings::OrderSyncSettings;
use tokio::sync::Notify;
use uuid::Uuid;

/// Shared handles and settings.
pub struct Context {
    pub db: Db,
    pub secrets: SecretBox,
    pub http: reqwest::Client,
    pub budget: Budget,
    pub retry: RetryPolicy,
    pub publisher: Publisher,
    pub settings: OrderSyncSettings,
    /// Wakes the fetcher when the consumer queued work in this process.
    pub fetch_wanted: Notify,
}

/// An account's keyCRM client and settings, when it has an API key.
pub struct AccountKeycrm {
    pub client: KeycrmClient,
    pub integration: Integration,
}

impl Context {
    pub fn poll(&self) -> Duration {
        self.settings.poll.max(Duration::from_millis(10))
    }

    /// The account's client and settings; `None` when no API key is saved.
    pub async fn keycrm(self: &Arc<Self>, account: Uuid) -> DbResult<Option<AccountKeycrm>> {
        let mut conn = self.db.conn().await?;
        let integration = sklad_db::integrations::get(&mut conn, account).await?;
        let Some(credentials) =
            sklad_db::integrations::credentials(&mut conn, &self.secrets, account).await?
        else {
            return Ok(None);
        };
        Ok(Some(AccountKeycrm {
            client: KeycrmClient::new(
                self.http.clone(),
                self.budget.clone(),
                &credentials,
                self.retry,
            ),
            integration,
        }))
    }
}
