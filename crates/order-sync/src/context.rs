//! What the worker's loops share.

use std::time::Duration;

use sklad_bus::Publisher;
use sklad_db::Db;
use sklad_keycrm::Clients;
use sklad_runtime::settings::OrderSyncSettings;
use tokio::sync::Notify;

/// Shared handles and settings.
pub struct Context {
    pub db: Db,
    pub keycrm: Clients,
    pub publisher: Publisher,
    pub settings: OrderSyncSettings,
    /// Wakes the fetcher when the consumer queued work in this process.
    pub fetch_wanted: Notify,
    /// `catalogue.refresh_interval`: how old an account's last catalogue import may get
    /// before the periodic pass queues another (zero: never).
    pub catalogue_refresh: Duration,
}

impl Context {
    pub fn poll(&self) -> Duration {
        self.settings.poll.max(Duration::from_millis(10))
    }
}
