//! Test support: real PostgreSQL and RabbitMQ, isolated per test.
//!
//! - [`TestDatabase`]: a uniquely named database, migrated, dropped afterwards.
//! - [`TestBroker`]: a unique namespace of exchanges and queues, deleted afterwards.
//! - [`TcpProxy`]: sits between a service and RabbitMQ so a test can stall or cut the link.
//! - [`TestApp`]: the keyCRM simulator, ingress and api started in-process on port 0, with
//!   an account wired to the simulator.

mod app;
mod broker;
mod process;
mod proxy;

use std::future::Future;
use std::time::{Duration, Instant};

pub use app::{AppOptions, SIM_API_KEY, TestAccount, TestApp, fixture};
pub use broker::TestBroker;
pub use process::process_env;
pub use proxy::TcpProxy;
pub use sklad_db::testing::TestDatabase;
use sklad_runtime::Settings;

/// Settings for a test: defaults, then the given database and broker, every service on an
/// ephemeral port, a fresh master key.
pub fn test_settings(database_url: &str, broker: &TestBroker) -> Settings {
    let env = vec![
        ("SKLAD__DATABASE__URL".to_owned(), database_url.to_owned()),
        ("SKLAD__DATABASE__POOL_SIZE".to_owned(), "8".to_owned()),
        ("SKLAD__BROKER__URL".to_owned(), broker.url.clone()),
        (
            "SKLAD__BROKER__NAMESPACE".to_owned(),
            broker.namespace.clone(),
        ),
        (
            "SKLAD__BROKER__QUEUE_EXPIRES_MS".to_owned(),
            "600000".to_owned(),
        ),
        (
            "SKLAD__BROKER__RETRY_DELAYS_MS".to_owned(),
            "200,400".to_owned(),
        ),
        (
            "SKLAD__BROKER__CONFIRM_TIMEOUT_MS".to_owned(),
            "3000".to_owned(),
        ),
        (
            "SKLAD__KEYCRM__RETRY_MIN_DELAY_MS".to_owned(),
            "50".to_owned(),
        ),
        (
            "SKLAD__KEYCRM__RETRY_MAX_DELAY_MS".to_owned(),
            "1000".to_owned(),
        ),
        ("SKLAD__INGRESS__BIND".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "SKLAD__ORDER_SYNC__BIND".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "SKLAD__ORDER_SYNC__COALESCE_MS".to_owned(),
            "200".to_owned(),
        ),
        ("SKLAD__ORDER_SYNC__POLL_MS".to_owned(), "50".to_owned()),
        (
            "SKLAD__ORDER_SYNC__JOB_LEASE_SECS".to_owned(),
            "5".to_owned(),
        ),
        (
            "SKLAD__ORDER_SYNC__MAX_FETCH_ATTEMPTS".to_owned(),
            "4".to_owned(),
        ),
        (
            "SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS".to_owned(),
            "0".to_owned(),
        ),
        ("SKLAD__API__BIND".to_owned(), "127.0.0.1:0".to_owned()),
        (
            "SKLAD__ORDER_SYNC__BIND".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "SKLAD__STOCK_PUBLISHER__BIND".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        (
            "SKLAD__SECURITY__MASTER_KEY".to_owned(),
            sklad_db::SecretBox::generate_master_key(),
        ),
    ];
    #[allow(clippy::expect_used)]
    Settings::load_with(None, env).expect("test settings load")
}

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
