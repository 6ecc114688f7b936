//! What the worker's loops share.

use sklad_db::Db;
use sklad_keycrm::Clients;
use sklad_runtime::settings::StockPublisherSettings;
use tokio::sync::Notify;

pub struct Context {
    pub db: Db,
    pub keycrm: Clients,
    pub settings: StockPublisherSettings,
    /// Wakes the push loop when the consumer marked something in this process.
    pub push_wanted: Notify,
}
