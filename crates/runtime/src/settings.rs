//! Typed settings: defaults in code, then an optional TOML file, then `SKLAD__SECTION__KEY`
//! environment variables (e.g. `SKLAD__DATABASE__URL`).
//!
//! Every key is listed with its default in the README's settings reference; keep both in step.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use secrecy::SecretString;
use serde::Deserialize;

/// All settings of a sklad process. Each service reads the sections it needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub ingress: IngressSettings,
    pub api: ServiceBind,
    pub order_sync: OrderSyncSettings,
    pub stock_publisher: StockPublisherSettings,
    pub relay: RelaySettings,
    pub keycrm: KeycrmSettings,
    #[serde(default)]
    pub security: SecuritySettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// PostgreSQL URL; a secret because it may carry a password.
    pub url: SecretString,
    pub pool_size: usize,
    /// How long a request waits for a pooled connection before failing.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BrokerSettings {
    /// AMQP URL; a secret because it carries credentials.
    pub url: SecretString,
    /// Prefix of every exchange and queue name, so several installs (or tests) share a broker.
    pub namespace: String,
    /// Unacknowledged deliveries per consumer.
    pub prefetch: u16,
    /// How long a publisher waits for the broker's confirm before giving up (ingress answers 503).
    pub confirm_timeout_ms: u64,
    /// How long a connection attempt may take.
    pub connect_timeout_ms: u64,
    /// Delays of the retry tiers; a failed message waits in tier `min(attempt, len) - 1`.
    pub retry_delays_ms: Vec<u64>,
    /// Attempts before a message is parked with its reason.
    pub max_attempts: u32,
    /// Broker-side redelivery limit (quorum queues) for messages whose consumer keeps crashing.
    pub delivery_limit: u32,
    /// Optional `x-expires` for every queue; tests use it so crashed runs leave nothing behind.
    pub queue_expires_ms: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IngressSettings {
    pub bind: String,
    /// Public base URL keyCRM posts to; webhook links are built from it.
    pub public_url: String,
    pub max_body_bytes: usize,
}

/// Where a service listens.
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceBind {
    pub bind: String,
}

/// The order-sync worker.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSyncSettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// How long a webhook's fetch waits for more events (duplicates, a burst) to join it.
    pub coalesce_ms: u64,
    /// From this many orders waiting for one account, fetch them as pages of recently
    /// updated orders (50 per request) instead of one request each.
    pub batch_threshold: usize,
    /// How often the fetch queue, jobs and reconciliation are polled.
    pub poll_ms: u64,
    /// A claimed fetch returns to the queue after this long if its worker died.
    pub fetch_lease_secs: u64,
    /// Failed fetches of one order before it is parked with the reason.
    pub max_fetch_attempts: i32,
    /// A sync job's lease; another worker resumes the job when it runs out.
    pub job_lease_secs: u64,
    /// Failed pages in a row before a sync job is marked failed.
    pub job_max_failures: i32,
    /// Seconds between reconciliation passes per account (0 switches them off).
    pub reconcile_interval_secs: u64,
}

/// The stock-publisher worker.
#[derive(Debug, Clone, Deserialize)]
pub struct StockPublisherSettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// A push waits until no movement touched its keyCRM warehouse for this long, so a
    /// flurry of movements becomes one request...
    pub settle_ms: u64,
    /// ...but never longer than this after the first change (a steady stream still flows).
    pub max_delay_ms: u64,
    /// How often the dirty set is polled.
    pub poll_ms: u64,
    /// A claimed push returns to the set after this if its worker died.
    pub push_lease_secs: u64,
    /// Delay before retrying a push keyCRM did not take.
    pub retry_secs: u64,
}

/// The outbox relay.
#[derive(Debug, Clone, Deserialize)]
pub struct RelaySettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// How often the outbox is polled when it was empty.
    pub poll_ms: u64,
    /// Events published per transaction.
    pub batch: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct KeycrmSettings {
    /// Base URL for new integrations (each account may override it).
    pub default_base_url: String,
    /// keyCRM's documented limit per API key; each account may lower or raise it.
    pub default_requests_per_minute: u32,
    pub request_timeout_ms: u64,
    /// Attempts per request on 429, 5xx and transport errors.
    pub max_attempts: u32,
    /// First retry delay; doubles with jitter up to `retry_max_delay_ms`.
    pub retry_min_delay_ms: u64,
    pub retry_max_delay_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecuritySettings {
    /// Base64 of 32 random bytes: the AES-256-GCM key that encrypts keyCRM API keys and
    /// webhook tokens at rest. Required by every service that reads or writes them.
    pub master_key: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `tracing` env-filter directives; `RUST_LOG` overrides them.
    pub filter: String,
    /// `json` (default) or `pretty`.
    pub format: String,
}

/// The defaults, as `(key, value)` pairs; the single source of truth for the README table.
pub const DEFAULTS: &[(&str, &str)] = &[
    (
        "database.url",
        "postgres://postgres:postgres@127.0.0.1:5432/sklad",
    ),
    ("database.pool_size", "10"),
    ("database.acquire_timeout_ms", "5000"),
    ("broker.url", "amqp://guest:guest@127.0.0.1:5672/%2f"),
    ("broker.namespace", "sklad"),
    ("broker.prefetch", "32"),
    ("broker.confirm_timeout_ms", "5000"),
    ("broker.connect_timeout_ms", "3000"),
    ("broker.retry_delays_ms", "1000,10000,60000"),
    ("broker.max_attempts", "6"),
    ("broker.delivery_limit", "20"),
    ("ingress.bind", "127.0.0.1:8080"),
    ("ingress.public_url", "http://127.0.0.1:8080"),
    ("ingress.max_body_bytes", "262144"),
    ("api.bind", "127.0.0.1:8081"),
    ("order_sync.bind", "127.0.0.1:8082"),
    ("order_sync.coalesce_ms", "1000"),
    ("order_sync.batch_threshold", "5"),
    ("order_sync.poll_ms", "250"),
    ("order_sync.fetch_lease_secs", "120"),
    ("order_sync.max_fetch_attempts", "8"),
    ("order_sync.job_lease_secs", "30"),
    ("order_sync.job_max_failures", "10"),
    ("order_sync.reconcile_interval_secs", "600"),
    ("stock_publisher.bind", "127.0.0.1:8083"),
    ("stock_publisher.settle_ms", "500"),
    ("stock_publisher.max_delay_ms", "3000"),
    ("stock_publisher.poll_ms", "200"),
    ("stock_publisher.push_lease_secs", "30"),
    ("stock_publisher.retry_secs", "5"),
    ("relay.bind", "127.0.0.1:8084"),
    ("relay.poll_ms", "100"),
    ("relay.batch", "200"),
    ("keycrm.default_base_url", "https://openapi.keycrm.app/v1"),
    ("keycrm.default_requests_per_minute", "60"),
    ("keycrm.request_timeout_ms", "15000"),
    ("keycrm.max_attempts", "6"),
    ("keycrm.retry_min_delay_ms", "500"),
    ("keycrm.retry_max_delay_ms", "30000"),
    ("log.filter", "info,lapin::returned_messages=error"),
    ("log.format", "json"),
];

impl Settings {
    /// Loads defaults, then `file` (TOML) if given, then `SKLAD__…` environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with(file, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment (for tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut builder = Config::builder();
        for (key, value) in DEFAULTS {
            builder = builder.set_default(*key, *value)?;
        }
        builder = builder.set_default("broker.retry_delays_ms", vec![1000, 10000, 60000])?;
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("SKLAD__"))
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("SKLAD")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("broker.retry_delays_ms")
                .source(Some(env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        anyhow::ensure!(
            !settings.broker.retry_delays_ms.is_empty(),
            "broker.retry_delays_ms needs at least one delay"
        );
        anyhow::ensure!(
            settings.broker.max_attempts >= 1,
            "broker.max_attempts must be at least 1"
        );
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_load_without_file_or_env() {
        let s = Settings::load_with(None, Vec::new()).unwrap();
        assert_eq!(s.ingress.max_body_bytes, 256 * 1024);
        assert_eq!(s.keycrm.default_requests_per_minute, 60);
        assert_eq!(s.keycrm.default_base_url, "https://openapi.keycrm.app/v1");
        assert_eq!(s.broker.retry_delays_ms, vec![1000, 10000, 60000]);
        assert!(s.security.master_key.is_none());
    }

    #[test]
    fn file_then_env_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sklad.toml");
        std::fs::write(
            &path,
            "[ingress]\nmax_body_bytes = 1024\nbind = \"0.0.0.0:9000\"\n[security]\nmaster_key = \"from-file\"\n",
        )
        .unwrap();
        let env = vec![
            ("SKLAD__INGRESS__BIND".to_owned(), "127.0.0.1:1".to_owned()),
            (
                "SKLAD__BROKER__RETRY_DELAYS_MS".to_owned(),
                "5,6".to_owned(),
            ),
            (
                "SKLAD__BROKER__QUEUE_EXPIRES_MS".to_owned(),
                "60000".to_owned(),
            ),
            ("OTHER__INGRESS__BIND".to_owned(), "ignored".to_owned()),
        ];
        let s = Settings::load_with(Some(&path), env).unwrap();
        assert_eq!(s.ingress.max_body_bytes, 1024);
        assert_eq!(s.ingress.bind, "127.0.0.1:1");
        assert_eq!(s.broker.retry_delays_ms, vec![5, 6]);
        assert_eq!(s.broker.queue_expires_ms, Some(60000));
        assert_eq!(s.security.master_key.unwrap().expose_secret(), "from-file");
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        for (key, default) in DEFAULTS {
            let env = format!("SKLAD__{}", key.replace('.', "__").to_uppercase());
            assert!(readme.contains(&env), "README lacks {env}");
            assert!(
                readme.contains(default),
                "README lacks the default of {env}: {default}"
            );
        }
        assert!(readme.contains("SKLAD__SECURITY__MASTER_KEY"));
        assert!(readme.contains("SKLAD__BROKER__QUEUE_EXPIRES_MS"));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = Settings::load_with(None, Vec::new()).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("guest:guest"), "{debug}");
        assert!(!debug.contains("postgres:postgres"), "{debug}");
    }
}
