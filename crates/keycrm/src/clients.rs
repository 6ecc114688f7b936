//! The one place that turns an account's stored settings into a keyCRM client.
//!
//! Every process builds one [`Clients`] from its settings; whoever needs to talk to keyCRM
//! for an account asks it, so decryption, the key's fingerprint (its budget) and the retry
//! policy are decided once.

use secrecy::{ExposeSecret, SecretString};
use sklad_db::integrations::Integration;
use sklad_db::{Db, DbError, SecretBox};
use sklad_domain::budget::Priority;
use sklad_runtime::settings::KeycrmSettings;
use uuid::Uuid;

use crate::budget::Budget;
use crate::client::{Credentials, KeycrmClient, RetryPolicy, http_client};
use crate::error::KeycrmError;

/// An account's client together with the settings it was built from.
#[derive(Debug, Clone)]
pub struct AccountClient {
    pub client: KeycrmClient,
    pub integration: Integration,
}

/// Why an account has no client.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("save a keyCRM API key in the integration settings first")]
    NoApiKey,
    /// The stored base URL is not (or no longer) one the operator allows: the key is not sent.
    #[error(transparent)]
    NotAllowed(KeycrmError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Builds keyCRM clients for accounts; cheap to clone.
#[derive(Debug, Clone)]
pub struct Clients {
    db: Db,
    secrets: SecretBox,
    http: reqwest::Client,
    budget: Budget,
    retry: RetryPolicy,
    /// `keycrm.allowed_base_urls`, without trailing slashes.
    allowed: Vec<String>,
}

impl Clients {
    pub fn new(settings: &KeycrmSettings, db: Db, secrets: SecretBox) -> Self {
        Self {
            budget: Budget::new(db.clone()),
            http: http_client(settings),
            retry: RetryPolicy::from_settings(settings),
            allowed: settings
                .allowed_base_urls
                .iter()
                .map(|u| normalise(u))
                .collect(),
            db,
            secrets,
        }
    }

    /// Whether an account may point at `base_url`.
    pub fn allows(&self, base_url: &str) -> bool {
        self.allowed.contains(&normalise(base_url))
    }

    fn check(&self, base_url: &str) -> Result<(), KeycrmError> {
        if self.allows(base_url) {
            Ok(())
        } else {
            Err(KeycrmError::NotAllowed(base_url.to_owned()))
        }
    }

    /// The same clients with another retry policy (tests, interactive callers).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn secrets(&self) -> &SecretBox {
        &self.secrets
    }

    /// The account's client and settings. The client records answers that block the
    /// account (key refused, not keyCRM) on its integration.
    pub async fn for_account(&self, account: Uuid) -> Result<AccountClient, AccountError> {
        let mut conn = self.db.conn().await?;
        let integration = sklad_db::integrations::get(&mut conn, account).await?;
        let key = sklad_db::integrations::api_key(&mut conn, &self.secrets, account)
            .await?
            .ok_or(AccountError::NoApiKey)?;
        self.check(&integration.settings.base_url)
            .map_err(AccountError::NotAllowed)?;
        let credentials = Credentials {
            base_url: integration.settings.base_url.clone(),
            api_key: key.api_key,
            fingerprint: key.fingerprint,
            requests_per_minute: rate(integration.settings.requests_per_minute),
        };
        Ok(AccountClient {
            client: self.build(&credentials, self.retry).flagging(account),
            integration,
        })
    }

    /// Asks keyCRM whether `api_key` works at `base_url` (`GET /order/status`, one item),
    /// with a couple of quick attempts: someone is waiting for the answer.
    pub async fn verify(
        &self,
        base_url: &str,
        api_key: &SecretString,
        requests_per_minute: i32,
    ) -> Result<(), KeycrmError> {
        self.for_key(base_url, api_key, requests_per_minute)?
            .order_statuses_page(1, 1, Priority::Normal)
            .await
            .map(|_| ())
    }

    /// A client for a key not saved yet (a settings change checks it before saving), with
    /// quick retries: someone is waiting for the answer.
    pub fn for_key(
        &self,
        base_url: &str,
        api_key: &SecretString,
        requests_per_minute: i32,
    ) -> Result<KeycrmClient, KeycrmError> {
        self.check(base_url)?;
        let credentials = Credentials {
            base_url: base_url.to_owned(),
            fingerprint: self.secrets.fingerprint(api_key.expose_secret()),
            api_key: api_key.clone(),
            requests_per_minute: rate(requests_per_minute),
        };
        Ok(self.build(&credentials, RetryPolicy::interactive()))
    }

    fn build(&self, credentials: &Credentials, retry: RetryPolicy) -> KeycrmClient {
        KeycrmClient::new(self.http.clone(), self.budget.clone(), credentials, retry)
    }
}

fn normalise(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

fn rate(requests_per_minute: i32) -> u32 {
    requests_per_minute.max(1).unsigned_abs()
}
