//! Typed settings: defaults in code ([`Settings::default`]), then an optional TOML file, then
//! `SKLAD__SECTION__KEY` environment variables (e.g. `SKLAD__DATABASE__URL`).
//!
//! Durations are written the human way (`500ms`, `30s`, `10m`) and arrive as
//! [`std::time::Duration`]; the README's settings reference is checked against
//! [`Settings::default`] by a test, so the two cannot drift apart.

use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// All settings of a sklad process. Each service reads the sections it needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub broker: BrokerSettings,
    pub ingress: IngressSettings,
    pub api: ServiceBind,
    pub order_sync: OrderSyncSettings,
    pub stock_publisher: StockPublisherSettings,
    pub relay: RelaySettings,
    pub keycrm: KeycrmSettings,
    pub catalogue: CatalogueSettings,
    pub retention: RetentionSettings,
    pub security: SecuritySettings,
    pub log: LogSettings,
}

/// keyCRM's catalogue in sklad (order-sync runs the imports).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CatalogueSettings {
    /// How often an account that imported its catalogue once gets it imported again, so
    /// offers added in keyCRM appear in sklad (`0s` switches the periodic pass off).
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
}

impl Default for CatalogueSettings {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// PostgreSQL URL; a secret because it may carry a password.
    #[serde(serialize_with = "expose")]
    pub url: SecretString,
    /// Connections per process.
    pub pool_size: usize,
    /// How long a request waits for a pooled connection before failing.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct BrokerSettings {
    /// AMQP URL; a secret because it carries credentials.
    #[serde(serialize_with = "expose")]
    pub url: SecretString,
    /// Prefix of every exchange and queue name, so several installs (or tests) share a broker.
    pub namespace: String,
    /// Unacknowledged deliveries per consumer.
    pub prefetch: u16,
    /// How long a publisher waits for the broker's confirm before giving up (ingress answers 503).
    #[serde(with = "humantime_serde")]
    pub confirm_timeout: Duration,
    /// How long a connection attempt may take.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Delays of the retry tiers; a failed message waits in tier `min(attempt, len) - 1`.
    #[serde(with = "durations")]
    pub retry_delays: Vec<Duration>,
    /// Attempts before a message is parked with its reason.
    pub max_attempts: u32,
    /// Redelivery limit for crash loops, in a policy (`sklad migrate`), never a declaration.
    pub delivery_limit: u32,
    /// Optional `x-expires` on every queue (declared: a policy would outlive a crashed test).
    #[serde(with = "humantime_serde::option")]
    pub queue_expires: Option<Duration>,
    /// RabbitMQ's management API (where `sklad migrate` sets policies), as the AMQP URL's user.
    pub management_url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct IngressSettings {
    /// The public webhook port: it serves `POST /webhooks/keycrm/{token}` and nothing else.
    pub bind: String,
    /// Health and metrics, kept off the public port (loopback by default).
    pub ops_bind: String,
    /// Public base URL keyCRM posts to; webhook links are built from it.
    pub public_url: String,
    pub max_body_bytes: usize,
    /// HTTP worker threads. Each webhook is a little parsing and a publish through the one
    /// shared AMQP connection, so one worker keeps that connection busy; more only compete
    /// for small machines' cores with RabbitMQ (`sklad-bench ingress` on 2 cores: about 15%
    /// fewer webhooks/s with 2 workers than with 1).
    pub workers: usize,
    /// A link found in the database is trusted this long before it is looked up again
    /// (rotation reaches every ingress at once through PostgreSQL NOTIFY; this bounds a
    /// missed notice).
    #[serde(with = "humantime_serde")]
    pub token_cache_ttl: Duration,
    /// An unknown link is remembered as unknown this long.
    #[serde(with = "humantime_serde")]
    pub unknown_token_ttl: Duration,
    /// While PostgreSQL cannot answer, a link it confirmed within this long is still taken.
    #[serde(with = "humantime_serde")]
    pub token_cache_max_stale: Duration,
}

/// Where a service listens.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServiceBind {
    pub bind: String,
}

/// The order-sync worker.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct OrderSyncSettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// How long a webhook's fetch waits for more events (duplicates, a burst) to join it.
    #[serde(with = "humantime_serde")]
    pub coalesce: Duration,
    /// From this many orders waiting for one account, fetch them as pages of recently
    /// updated orders (50 per request) instead of one request each.
    pub batch_threshold: usize,
    /// How often the fetch queue, jobs and reconciliation are polled.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// A claimed fetch returns to the queue after this long if its worker died.
    #[serde(with = "humantime_serde")]
    pub fetch_lease: Duration,
    /// Failed fetches of one order before it is parked with the reason.
    pub max_fetch_attempts: i32,
    /// A sync job's lease; another worker resumes the job when it runs out.
    #[serde(with = "humantime_serde")]
    pub job_lease: Duration,
    /// Failed pages in a row before a sync job is marked failed.
    pub job_max_failures: i32,
    /// Time between reconciliation passes per account (`0s` switches them off).
    #[serde(with = "humantime_serde")]
    pub reconcile_interval: Duration,
    /// How often orders waiting to ship (a line short) are tried again, so a receipt that
    /// covers them ships them without anyone asking.
    #[serde(with = "humantime_serde")]
    pub waiting_shipments_interval: Duration,
}

/// The stock-publisher worker.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct StockPublisherSettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// A push waits until no movement touched its keyCRM warehouse for this long, so a
    /// flurry of movements becomes one request...
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    /// ...but never longer than this after the first change (a steady stream still flows).
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    /// How often the dirty set is polled.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// A claimed push returns to the set after this if its worker died.
    #[serde(with = "humantime_serde")]
    pub push_lease: Duration,
    /// Delay before retrying a push keyCRM did not take; it doubles with each failure in a
    /// row...
    #[serde(with = "humantime_serde")]
    pub retry: Duration,
    /// ...up to this.
    #[serde(with = "humantime_serde")]
    pub max_retry: Duration,
}

/// The outbox relay.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RelaySettings {
    /// Health and metrics endpoints.
    pub bind: String,
    /// How often the outbox is polled when it was empty.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
    /// Events published per transaction.
    pub batch: i64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct KeycrmSettings {
    /// Base URL for new integrations (each account may choose another allowed one).
    pub default_base_url: String,
    /// The keyCRM API URLs an account may use: the saved key is sent to no other host.
    pub allowed_base_urls: Vec<String>,
    /// keyCRM's documented limit per API key; each account may lower or raise it.
    pub default_requests_per_minute: u32,
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Attempts per request on 429, 5xx and transport errors.
    pub max_attempts: u32,
    /// First retry delay; doubles with jitter up to `retry_max_delay`.
    #[serde(with = "humantime_serde")]
    pub retry_min_delay: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max_delay: Duration,
}

/// How long processed and finished rows are kept (the relay prunes them).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// Inbox rows, published or set-aside outbox events, the push log and finished sync
    /// jobs older than this are deleted (`0s` keeps everything).
    #[serde(with = "humantime_serde")]
    pub keep: Duration,
    /// How often the retention loop runs.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Rows deleted per statement.
    pub batch: i64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            keep: Duration::from_secs(30 * 24 * 3600),
            interval: Duration::from_secs(3600),
            batch: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SecuritySettings {
    /// Base64 of 32 random bytes: the AES-256-GCM key that encrypts keyCRM API keys and
    /// webhook tokens at rest. Required by every service that reads or writes them.
    #[serde(skip_serializing)]
    pub master_key: Option<SecretString>,
    /// How long a web console sign-in lasts, however active (never past its admin token's
    /// own expiry).
    #[serde(with = "humantime_serde")]
    pub console_session_ttl: Duration,
    /// Mark console cookies `Secure` always (set it when a TLS proxy in front does not say
    /// `X-Forwarded-Proto: https`); they are `Secure` anyway on requests that arrive as https.
    pub console_secure_cookies: bool,
    /// Failed authentications (wrong admin tokens, wrong sign-ins) one client address may
    /// make at once; then it gets 429 with `Retry-After`, its allowance coming back at one
    /// failure every 3 s.
    pub failed_auth_burst: u32,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            master_key: None,
            console_session_ttl: Duration::from_secs(12 * 3600),
            console_secure_cookies: false,
            failed_auth_burst: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LogSettings {
    /// `tracing` env-filter directives; `RUST_LOG` overrides them.
    pub filter: String,
    /// `json` (default) or `pretty`.
    pub format: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database: DatabaseSettings::default(),
            broker: BrokerSettings::default(),
            ingress: IngressSettings::default(),
            api: ServiceBind {
                bind: "127.0.0.1:8081".into(),
            },
            order_sync: OrderSyncSettings::default(),
            stock_publisher: StockPublisherSettings::default(),
            relay: RelaySettings::default(),
            keycrm: KeycrmSettings::default(),
            catalogue: CatalogueSettings::default(),
            retention: RetentionSettings::default(),
            security: SecuritySettings::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "postgres://postgres:postgres@127.0.0.1:5432/sklad".into(),
            pool_size: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            namespace: "sklad".into(),
            prefetch: 32,
            confirm_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            retry_delays: vec![
                Duration::from_secs(1),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ],
            max_attempts: 6,
            delivery_limit: 20,
            queue_expires: None,
            management_url: "http://127.0.0.1:15672".into(),
        }
    }
}

impl Default for IngressSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            ops_bind: "127.0.0.1:8085".into(),
            public_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 256 * 1024,
            workers: 1,
            token_cache_ttl: Duration::from_secs(60),
            unknown_token_ttl: Duration::from_secs(5),
            token_cache_max_stale: Duration::from_secs(3600),
        }
    }
}

impl Default for OrderSyncSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8082".into(),
            coalesce: Duration::from_secs(1),
            batch_threshold: 5,
            poll: Duration::from_millis(250),
            fetch_lease: Duration::from_secs(120),
            max_fetch_attempts: 8,
            job_lease: Duration::from_secs(30),
            job_max_failures: 10,
            reconcile_interval: Duration::from_secs(600),
            waiting_shipments_interval: Duration::from_secs(10),
        }
    }
}

impl Default for StockPublisherSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8083".into(),
            settle: Duration::from_millis(500),
            max_delay: Duration::from_secs(3),
            poll: Duration::from_millis(200),
            push_lease: Duration::from_secs(30),
            retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(900),
        }
    }
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8084".into(),
            poll: Duration::from_millis(100),
            batch: 200,
        }
    }
}

impl Default for KeycrmSettings {
    fn default() -> Self {
        Self {
            default_base_url: "https://openapi.keycrm.app/v1".into(),
            allowed_base_urls: vec!["https://openapi.keycrm.app/v1".into()],
            default_requests_per_minute: 60,
            request_timeout: Duration::from_secs(15),
            max_attempts: 6,
            retry_min_delay: Duration::from_millis(500),
            retry_max_delay: Duration::from_secs(30),
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info,lapin::returned_messages=error".into(),
            format: "json".into(),
        }
    }
}

/// Settings never serialized (so absent from [`Settings::reference`]), which are settings all
/// the same.
const SECRETS: &[&str] = &["SKLAD__SECURITY__MASTER_KEY"];

/// Keys whose environment values are comma-separated lists.
const LIST_KEYS: &[&str] = &["broker.retry_delays", "keycrm.allowed_base_urls"];

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
        let mut builder = Config::builder().add_source(Config::try_from(&Settings::default())?);
        if let Some(path) = file {
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("SKLAD__"))
            .collect();
        // A setting sklad does not have changes nothing; say so before anything starts.
        let known = Self::reference();
        let names: Vec<&str> = known
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(SECRETS.iter().copied())
            .collect();
        for variable in env.keys() {
            if let Some(refusal) = unknown(&variable.to_uppercase(), &names) {
                anyhow::bail!("{refusal}");
            }
        }
        if let Some(path) = file {
            let table: serde_json::Value = Config::builder()
                .add_source(File::from(path).format(FileFormat::Toml).required(true))
                .build()?
                .try_deserialize()?;
            let mut keys = Vec::new();
            flatten("SKLAD", &table, &mut keys);
            for (key, _) in keys {
                if let Some(refusal) = unknown(&key, &names) {
                    anyhow::bail!("{} (in {})", toml_words(&refusal), path.display());
                }
            }
        }
        let mut environment = Environment::with_prefix("SKLAD")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",");
        for key in LIST_KEYS {
            environment = environment.with_list_parse_key(key);
        }
        builder = builder.add_source(environment.source(Some(env)));
        let settings: Settings = builder.build()?.try_deserialize()?;
        anyhow::ensure!(
            !settings.broker.retry_delays.is_empty(),
            "broker.retry_delays needs at least one delay"
        );
        anyhow::ensure!(
            settings.broker.max_attempts >= 1,
            "broker.max_attempts must be at least 1"
        );
        anyhow::ensure!(
            settings.ingress.workers >= 1,
            "ingress.workers must be at least 1"
        );
        Ok(settings)
    }

    /// Every setting as (`SKLAD__…` variable, default) in file order: the README's reference.
    pub fn reference() -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Ok(value) = serde_json::to_value(Settings::default()) {
            flatten("SKLAD", &value, &mut out);
        }
        out
    }
}

/// `None` when `name` (`SKLAD__SECTION__KEY`) is a setting; else the refusal naming it and
/// the closest real one.
fn unknown(name: &str, known: &[&str]) -> Option<String> {
    if known.contains(&name) {
        return None;
    }
    let closest = known
        .iter()
        .min_by_key(|k| strsim::levenshtein(k, name))
        .copied()
        .unwrap_or("SKLAD__LOG__FILTER");
    Some(format!(
        "unknown setting {name}: sklad has no such setting; the closest is {closest} (see the README's settings table)"
    ))
}

/// A refusal about `SKLAD__SECTION__KEY` names in the TOML file's terms (`section.key`).
fn toml_words(refusal: &str) -> String {
    refusal
        .split(' ')
        .map(
            |word| match word.trim_end_matches(':').strip_prefix("SKLAD__") {
                Some(name) => {
                    let dotted = name.to_lowercase().replace("__", ".");
                    if word.ends_with(':') {
                        format!("{dotted}:")
                    } else {
                        dotted
                    }
                }
                None => word.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                flatten(&format!("{prefix}__{}", key.to_uppercase()), inner, out);
            }
        }
        serde_json::Value::Array(items) => {
            let joined: Vec<String> = items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            out.push((prefix.to_owned(), joined.join(",")));
        }
        serde_json::Value::Null => out.push((prefix.to_owned(), "unset".to_owned())),
        serde_json::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// A setting's duration as a `chrono` delta for database time arithmetic; durations too long
/// for one (centuries) saturate.
pub fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

/// Secrets are serialised only to seed the defaults layer; `Debug` still hides them.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// A list of human-readable durations (`1s,10s,60s`).
mod durations {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &[Duration], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            value
                .iter()
                .map(|d| humantime_serde::re::humantime::format_duration(*d).to_string()),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                humantime_serde::re::humantime::parse_duration(s.trim())
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
