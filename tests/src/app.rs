//! The whole foundation running in-process against real PostgreSQL, real RabbitMQ and the
//! keyCRM simulator, each service on an ephemeral port.

use std::sync::Arc;
use std::time::Duration;

use keycrm_sim::Sim;
use secrecy::SecretString;
use sklad_db::accounts::IntegrationDefaults;
use sklad_db::{Db, SecretBox};
use sklad_runtime::Settings;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{TestBroker, TestDatabase, test_settings};

/// The API key the simulator accepts in tests.
pub const SIM_API_KEY: &str = "sim-test-key-0123456789abcdef";

/// Knobs for [`TestApp::spawn_with`].
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// Point the services at this AMQP URL (e.g. a [`crate::TcpProxy`]) instead of the broker.
    pub broker_url: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub confirm_timeout: Option<Duration>,
    /// The simulator's per-key limit (default 6000/min, so tests are not throttled).
    pub sim_requests_per_minute: Option<u32>,
    /// Also run the order-sync worker (it consumes the order-sync queue).
    pub order_sync: bool,
    /// Also run the stock-publisher worker.
    pub stock_publisher: bool,
    /// Also run the outbox relay.
    pub relay: bool,
    /// Adjusts the settings before any service starts.
    pub configure: Option<fn(&mut Settings)>,
    /// keyCRM URLs the operator allows besides keyCRM's own and the simulator's.
    pub allowed_base_urls: Vec<String>,
    /// Other paths on the simulator's host the operator allows (e.g. a mistyped `/api/v1`).
    pub allowed_sim_paths: Vec<String>,
    /// Put a [`crate::TcpProxy`] between the services and PostgreSQL ([`TestApp::postgres`]),
    /// so a test can cut the database (the test's own connections stay direct).
    pub postgres_proxy: bool,
    /// The language PostgreSQL words its errors in for this test's database (`lc_messages`),
    /// set before any service connects.
    pub postgres_lc_messages: Option<&'static str>,
}

/// An account created for a test, with its secrets.
#[derive(Debug, Clone)]
pub struct TestAccount {
    pub id: Uuid,
    pub admin_token: String,
    pub webhook_url: String,
}

/// A running foundation: simulator, ingress and api, one account wired to the simulator.
pub struct TestApp {
    pub db: TestDatabase,
    pub broker: TestBroker,
    pub settings: Settings,
    pub sim: Arc<Sim>,
    pub sim_api_url: String,
    pub sim_control_url: String,
    pub ingress_port: u16,
    /// Ingress's ops port (health and metrics).
    pub ingress_ops_port: u16,
    pub api_port: u16,
    pub http: reqwest::Client,
    pub account: TestAccount,
    /// The proxy in front of PostgreSQL, when asked for.
    pub postgres: Option<crate::TcpProxy>,
    cancel: CancellationToken,
}

impl AppOptions {
    /// Every worker beside ingress and the API: order-sync, stock-publisher and the relay.
    pub fn all_workers() -> Self {
        Self {
            order_sync: true,
            stock_publisher: true,
            relay: true,
            ..Self::default()
        }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(AppOptions::default()).await
    }

    #[allow(clippy::expect_used)]
    pub async fn spawn_with(options: AppOptions) -> Self {
        sklad_runtime::install_crypto_provider();
        sklad_runtime::telemetry::init(&sklad_runtime::settings::LogSettings {
            filter: "warn".into(),
            format: "pretty".into(),
        });
        let db = TestDatabase::create().await.expect("test database");
        if let Some(language) = options.postgres_lc_messages {
            db.set("lc_messages", language).await.expect(
                "PostgreSQL takes lc_messages (deploy/test.sh generates the uk_UA.UTF-8 locale)",
            );
        }
        let broker = TestBroker::new();
        let mut settings = test_settings(&db.url, &broker);
        let postgres = if options.postgres_proxy {
            let mut url = url::Url::parse(&db.url).expect("database URL");
            let upstream = format!(
                "{}:{}",
                url.host_str().unwrap_or("127.0.0.1"),
                url.port().unwrap_or(5432)
            );
            let proxy = crate::TcpProxy::start(&upstream)
                .await
                .expect("postgres proxy");
            url.set_host(Some("127.0.0.1")).expect("host");
            url.set_port(Some(proxy.port)).expect("port");
            settings.database.url = SecretString::from(url.to_string());
            Some(proxy)
        } else {
            None
        };
        if let Some(url) = &options.broker_url {
            settings.broker.url = SecretString::from(url.clone());
        }
        if let Some(limit) = options.max_body_bytes {
            settings.ingress.max_body_bytes = limit;
        }
        if let Some(timeout) = options.confirm_timeout {
            settings.broker.confirm_timeout = timeout;
        }
        // Tests send many unauthorized requests from one address; the throttle's own test
        // sets the real allowance.
        settings.security.failed_auth_burst = 100_000;
        if let Some(configure) = options.configure {
            configure(&mut settings);
        }

        let sim = keycrm_sim::build(
            "127.0.0.1:0",
            vec![SIM_API_KEY.to_owned()],
            options.sim_requests_per_minute.unwrap_or(6000),
        )
        .expect("simulator binds");
        let sim_api_url = sim.api_url();
        let sim_control_url = sim.control_url();
        let sim_state = sim.sim.clone();
        tokio::spawn(sim.server);
        // The operator allows the simulator as a keyCRM host (besides keyCRM itself).
        settings.keycrm.allowed_base_urls.push(sim_api_url.clone());
        settings
            .keycrm
            .allowed_base_urls
            .extend(options.allowed_base_urls.iter().cloned());
        let sim_root = sim_api_url.trim_end_matches("/v1").to_owned();
        settings.keycrm.allowed_base_urls.extend(
            options
                .allowed_sim_paths
                .iter()
                .map(|path| format!("{sim_root}{path}")),
        );

        let cancel = CancellationToken::new();
        let ingress = sklad_ingress::Application::build(&settings).expect("ingress builds");
        let ingress_port = ingress.port();
        let ingress_ops_port = ingress.ops_port();
        settings.ingress.public_url = format!("http://127.0.0.1:{ingress_port}");
        tokio::spawn(ingress.run_until_stopped(cancel.clone()));
        let api = sklad_api::Application::build(&settings, Some(sklad_console::configure))
            .expect("api builds");
        let api_port = api.port();
        tokio::spawn(api.run_until_stopped(cancel.clone()));
        if options.order_sync {
            let worker = sklad_order_sync::Worker::build(&settings).expect("order-sync builds");
            tokio::spawn(worker.run_until_stopped(cancel.clone()));
        }
        if options.stock_publisher {
            let worker =
                sklad_stock_publisher::Worker::build(&settings).expect("stock-publisher builds");
            tokio::spawn(worker.run_until_stopped(cancel.clone()));
        }
        if options.relay {
            let relay = sklad_relay::Relay::build(&settings).expect("relay builds");
            tokio::spawn(relay.run_until_stopped(cancel.clone()));
        }

        let mut app = Self {
            db,
            broker,
            settings,
            sim: sim_state,
            sim_api_url,
            sim_control_url,
            ingress_port,
            ingress_ops_port,
            api_port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            account: TestAccount {
                id: Uuid::nil(),
                admin_token: String::new(),
                webhook_url: String::new(),
            },
            postgres,
            cancel,
        };
        app.account = app.create_account("shop", true).await;
        app.sim.lock().webhook_urls = vec![app.account.webhook_url.clone()];
        if options.broker_url.is_none() {
            app.wait_ready().await;
        }
        app
    }

    /// Waits until ingress reports ready (it has then declared the broker topology).
    pub async fn wait_ready(&self) {
        let url = format!("{}/health/ready", self.ingress_ops_url());
        crate::eventually(Duration::from_secs(20), "ingress ready", || async {
            let response = self.http.get(&url).send().await.ok()?;
            response.status().is_success().then_some(())
        })
        .await;
    }

    pub fn ingress_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ingress_port)
    }

    /// Ingress's ops listener: `/health/*` and `/metrics`.
    pub fn ingress_ops_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ingress_ops_port)
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/api/v1{path}", self.api_port)
    }

    pub fn secrets(&self) -> SecretBox {
        #[allow(clippy::expect_used)]
        SecretBox::from_master_key(self.settings.security.master_key.as_ref()).expect("master key")
    }

    pub fn db(&self) -> &Db {
        &self.db.db
    }

    /// Creates an account; with `keycrm`, its integration is enabled against the simulator.
    pub async fn create_account(&self, name: &str, keycrm: bool) -> TestAccount {
        self.create_keyed_account(name, keycrm.then_some(SIM_API_KEY), 6000)
            .await
    }

    /// Creates an account whose integration, given a key, is enabled against the simulator
    /// with that key and budget (the simulator must accept the key).
    #[allow(clippy::expect_used)]
    pub async fn create_keyed_account(
        &self,
        name: &str,
        api_key: Option<&str>,
        requests_per_minute: i32,
    ) -> TestAccount {
        let secrets = self.secrets();
        let mut conn = self.db().conn().await.expect("connection");
        let created = sklad_db::accounts::create(
            &mut conn,
            &secrets,
            name,
            &IntegrationDefaults {
                base_url: self.sim_api_url.clone(),
                requests_per_minute,
            },
        )
        .await
        .expect("account");
        if let Some(api_key) = api_key {
            let mut settings = sklad_db::integrations::get(&mut conn, created.account.id)
                .await
                .expect("integration")
                .settings;
            settings.enabled = true;
            sklad_db::integrations::save(
                &mut conn,
                &secrets,
                created.account.id,
                &settings,
                Some(&SecretString::from(api_key.to_owned())),
            )
            .await
            .expect("integration");
        }
        TestAccount {
            id: created.account.id,
            admin_token: created.admin_token,
            webhook_url: format!(
                "{}/webhooks/keycrm/{}",
                self.settings.ingress.public_url, created.webhook_token
            ),
        }
    }

    /// Ingress's readiness answer: its status and its JSON report.
    #[allow(clippy::expect_used)]
    pub async fn ingress_ready(&self) -> (reqwest::StatusCode, serde_json::Value) {
        let response = self
            .http
            .get(format!("{}/health/ready", self.ingress_ops_url()))
            .send()
            .await
            .expect("ingress ops port answers");
        let status = response.status();
        (status, response.json().await.expect("a JSON report"))
    }

    /// POSTs `body` to the account's own webhook link; the status it answered.
    pub async fn webhook_status(&self, body: impl Into<reqwest::Body>) -> reqwest::StatusCode {
        self.post_webhook(&self.account.webhook_url, body)
            .await
            .status()
    }

    /// POSTs `body` to a webhook link.
    #[allow(clippy::expect_used)]
    pub async fn post_webhook(
        &self,
        url: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("webhook request")
    }

    /// A request to the admin API with `token`.
    ///
    /// A `PUT` or `PATCH` goes with `If-Match: *` (an explicit overwrite, as a client that
    /// does not track versions sends); tests of versions use [`TestApp::api_as_is`].
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        let overwrite = method == reqwest::Method::PUT || method == reqwest::Method::PATCH;
        let request = self.api_as_is(method, path, token);
        if overwrite {
            request.header("if-match", "*")
        } else {
            request
        }
    }

    /// A request to the admin API with `token` and no header added.
    pub fn api_as_is(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.api_url(path))
            .bearer_auth(token)
    }

    /// The status of a body-less request to the admin API with `token`.
    #[allow(clippy::expect_used)]
    pub async fn status(&self, method: reqwest::Method, path: &str, token: &str) -> u16 {
        self.api(method, path, token)
            .send()
            .await
            .expect("API request")
            .status()
            .as_u16()
    }

    /// `GET /api/v1{path}` with `token`, as JSON.
    #[allow(clippy::expect_used)]
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        self.api(reqwest::Method::GET, path, token)
            .send()
            .await
            .expect("API request")
            .json()
            .await
            .expect("JSON body")
    }

    /// `POST /api/v1{path}` with a JSON body, as the account's admin.
    #[allow(clippy::expect_used)]
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.api(reqwest::Method::POST, path, &self.account.admin_token)
            .json(&body)
            .send()
            .await
            .expect("API request")
    }

    /// `POST /api/v1{path}` that must succeed; returns the JSON answer.
    #[allow(clippy::expect_used)]
    pub async fn created(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self.post(path, body.clone()).await;
        let status = response.status();
        let answer: serde_json::Value = response.json().await.expect("JSON body");
        assert!(
            status.is_success(),
            "POST {path} {body} → {status}: {answer}"
        );
        answer
    }

    /// The Prometheus page of ingress (in-process services share one registry).
    #[allow(clippy::expect_used)]
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.ingress_ops_url()))
            .send()
            .await
            .expect("metrics request")
            .text()
            .await
            .expect("metrics body")
    }

    /// Calls the simulator's control API and returns its JSON answer (or `null`).
    #[allow(clippy::expect_used)]
    pub async fn sim_control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.sim_control_url))
            .json(&body)
            .send()
            .await
            .expect("simulator control request");
        assert!(
            response.status().is_success(),
            "sim {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// Creates an order in the simulator ("keyCRM") and returns its keyCRM id.
    #[allow(clippy::expect_used)]
    pub async fn sim_order(&self, spec: serde_json::Value) -> i64 {
        self.sim_control(reqwest::Method::POST, "/orders", spec)
            .await["id"]
            .as_i64()
            .expect("the simulator numbers its orders")
    }

    /// `count` orders the simulator makes up in `statuses` (every `one_time_every`-th line a
    /// one-time product, with payments); returns their keyCRM ids.
    #[allow(clippy::expect_used)]
    pub async fn sim_generate(
        &self,
        count: usize,
        statuses: serde_json::Value,
        seed: u64,
        one_time_every: u32,
    ) -> Vec<i64> {
        let answer = self
            .sim_control(
                reqwest::Method::POST,
                "/orders/generate",
                serde_json::json!({"count": count, "status_ids": statuses, "seed": seed, "one_time_every": one_time_every, "with_payments": true}),
            )
            .await;
        answer["ids"]
            .as_array()
            .expect("the simulator lists what it made")
            .iter()
            .filter_map(serde_json::Value::as_i64)
            .collect()
    }

    /// What the simulator's keyCRM warehouse `warehouse` holds, per SKU.
    pub fn sim_quantities(
        &self,
        warehouse: i64,
    ) -> std::collections::BTreeMap<String, rust_decimal::Decimal> {
        let sim = self.sim.lock();
        sim.stocks
            .iter()
            .filter(|((w, _), _)| *w == warehouse)
            .filter_map(|((_, offer), q)| {
                sim.offers
                    .get(offer)
                    .map(|o| (o.sku.clone(), q.normalize()))
            })
            .collect()
    }

    /// Moves an order to `status_id` in the simulator, which fires keyCRM's automation
    /// webhook; returns the control API's answer (with the deliveries).
    pub async fn sim_status(&self, keycrm_id: i64, status_id: i64) -> serde_json::Value {
        self.sim_control(
            reqwest::Method::PUT,
            &format!("/orders/{keycrm_id}/status"),
            serde_json::json!({"status_id": status_id}),
        )
        .await
    }

    /// Every parked message the relay keeps in PostgreSQL (all accounts), oldest first.
    #[allow(clippy::expect_used)]
    pub async fn parked(&self) -> Vec<sklad_db::parked::ParkedRow> {
        let mut conn = self.db.db.conn().await.expect("database");
        sklad_db::parked::list(&mut conn, &sklad_db::parked::Filter::default(), 10_000)
            .await
            .expect("parked rows")
    }

    /// How many messages are parked anywhere: kept in PostgreSQL or still on a parking queue.
    #[allow(clippy::expect_used)]
    pub async fn parked_anywhere(&self) -> usize {
        let mut queued = 0;
        for spec in sklad_bus::topology::ALL_CONSUMERS {
            let queue = self.broker.topology().parking_queue(spec.name);
            queued += self
                .broker
                .depth(&queue)
                .await
                .expect("parking queue depth");
        }
        self.parked().await.len() + usize::try_from(queued).unwrap_or(usize::MAX)
    }

    /// Polls `GET /api/v1/orders/{keycrm_id}` until `ready` holds for it.
    pub async fn wait_for_order(
        &self,
        keycrm_id: i64,
        what: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let path = format!("/orders/{keycrm_id}");
        crate::eventually(Duration::from_secs(30), what, || async {
            let order = self.get_json(&path, &self.account.admin_token).await;
            (order.get("id").is_some() && ready(&order)).then_some(order)
        })
        .await
    }

    /// Waits until keyCRM's `warehouse` holds exactly `expected` for each SKU named.
    pub async fn wait_keycrm(&self, warehouse: i64, expected: &[(&str, i64)]) {
        crate::eventually(
            Duration::from_secs(30),
            &format!("keyCRM warehouse {warehouse} holding {expected:?}"),
            || async {
                let held = self.sim_quantities(warehouse);
                expected
                    .iter()
                    .all(|(sku, q)| held.get(*sku) == Some(&rust_decimal::Decimal::from(*q)))
                    .then_some(())
            },
        )
        .await;
    }

    /// keyCRM API requests the simulator answered on `path` (e.g. `/v1/order`).
    pub fn sim_requests(&self, path: &str) -> usize {
        self.sim_count(|r| r.path == path)
    }

    /// keyCRM API requests the simulator answered that `matching` picks.
    pub fn sim_count(&self, matching: impl Fn(&keycrm_sim::state::RequestRecord) -> bool) -> usize {
        self.sim
            .lock()
            .requests
            .iter()
            .filter(|r| matching(r))
            .count()
    }

    /// The order-sync work queue of this test's namespace.
    pub fn order_sync_queue(&self) -> String {
        self.broker.topology().queue("order-sync")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Reads a keyCRM example payload from `tests/fixtures/keycrm/`.
#[allow(clippy::expect_used)]
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/keycrm/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).expect("fixture exists")
}
