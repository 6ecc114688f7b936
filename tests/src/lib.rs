//! Test support: real PostgreSQL and RabbitMQ, isolated per test.
//!
//! - [`TestDatabase`]: a uniquely named database, migrated, dropped afterwards.
//! - [`TestBroker`]: a unique namespace of exchanges and queues, deleted afterwards.
//! - [`TcpProxy`]: sits between a service and RabbitMQ so a test can stall or cut the link.
//! - [`TestApp`]: the keyCRM simulator, ingress and api started in-process on port 0, with
//!   an account wired to the simulator.

mod app;
mod broker;
pub mod browser;
mod process;
mod proxy;
mod stock;

use std::future::Future;
use std::time::{Duration, Instant};

pub use app::{AppOptions, SIM_API_KEY, TestAccount, TestApp, fixture};
pub use broker::TestBroker;
pub use process::process_env;
pub use proxy::TcpProxy;
pub use sklad_db::testing::TestDatabase;
use sklad_runtime::Settings;
pub use stock::StockRig;

/// Settings for a test: defaults, then the given database and broker, every service on an
/// ephemeral port, a fresh master key.
pub fn test_settings(database_url: &str, broker: &TestBroker) -> Settings {
    let mut env: Vec<(String, String)> = TEST_ENV
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.extend([
        ("SKLAD__DATABASE__URL".to_owned(), database_url.to_owned()),
        ("SKLAD__BROKER__URL".to_owned(), broker.url.clone()),
        (
            "SKLAD__BROKER__NAMESPACE".to_owned(),
            broker.namespace.clone(),
        ),
        (
            "SKLAD__SECURITY__MASTER_KEY".to_owned(),
            sklad_db::SecretBox::generate_master_key(),
        ),
    ]);
    #[allow(clippy::expect_used)]
    Settings::load_with(None, env).expect("test settings load")
}

/// Settings every test service (in-process or a process) runs with: ephemeral ports and
/// short delays, so tests are quick and isolated.
pub const TEST_ENV: &[(&str, &str)] = &[
    // Several services share one PostgreSQL (max_connections is often 100) across parallel tests.
    ("SKLAD__DATABASE__POOL_SIZE", "4"),
    ("SKLAD__BROKER__QUEUE_EXPIRES", "10m"),
    ("SKLAD__BROKER__RETRY_DELAYS", "200ms,400ms"),
    ("SKLAD__BROKER__CONFIRM_TIMEOUT", "3s"),
    ("SKLAD__KEYCRM__RETRY_MIN_DELAY", "50ms"),
    ("SKLAD__KEYCRM__RETRY_MAX_DELAY", "1s"),
    ("SKLAD__INGRESS__BIND", "127.0.0.1:0"),
    ("SKLAD__INGRESS__OPS_BIND", "127.0.0.1:0"),
    ("SKLAD__API__BIND", "127.0.0.1:0"),
    ("SKLAD__ORDER_SYNC__BIND", "127.0.0.1:0"),
    ("SKLAD__ORDER_SYNC__COALESCE", "200ms"),
    ("SKLAD__ORDER_SYNC__POLL", "50ms"),
    ("SKLAD__ORDER_SYNC__JOB_LEASE", "5s"),
    ("SKLAD__ORDER_SYNC__MAX_FETCH_ATTEMPTS", "4"),
    ("SKLAD__ORDER_SYNC__RECONCILE_INTERVAL", "0s"),
    ("SKLAD__STOCK_PUBLISHER__BIND", "127.0.0.1:0"),
    ("SKLAD__STOCK_PUBLISHER__SETTLE", "200ms"),
    ("SKLAD__STOCK_PUBLISHER__MAX_DELAY", "2s"),
    ("SKLAD__STOCK_PUBLISHER__POLL", "50ms"),
    ("SKLAD__STOCK_PUBLISHER__RETRY", "1s"),
    ("SKLAD__STOCK_PUBLISHER__PUSH_LEASE", "3s"),
    ("SKLAD__RELAY__BIND", "127.0.0.1:0"),
    ("SKLAD__RELAY__POLL", "50ms"),
];

/// Polls `check` until it yields `Some`, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
