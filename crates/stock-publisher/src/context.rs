//! What the worker's loops share.

use std::sync::Arc;

use sklad_db::{Db, DbResult, SecretBox};
use sklad_keycrm::{Budget, KeycrmClient, RetryPolicy};
use sklad_runtime::settings::StockPublisherSettings;
use tokio::sync::Notify;
use uuid::Uuid;

pub struct Context {
    pub db: Db,
    pub secrets: SecretBox,
    pub http: reqwest::Client,
    pub budget: Budget,
    pub retry: RetryPolicy,
    pub settings: StockPublisherSettings,
    /// Wakes the push loop when the consumer marked something in this process.
    pub push_wanted: Notify,
}

impl Context {
    /// The account's keyCRM client, when an API key is saved.
    pub async fn keycrm(self: &Arc<Self>, account: Uuid) -> DbResult<Option<KeycrmClient>> {
        let mut conn = self.db.conn().await?;
        Ok(
            sklad_db::integrations::credentials(&mut conn, &self.secrets, account)
                .await?
                .map(|credentials| {
                    KeycrmClient::new(
                        self.http.clone(),
                        self.budget.clone(),
                        &credentials,
                        self.retry,
                    )
                }),
        )
    }
}
