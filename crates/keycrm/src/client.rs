//! The keyCRM HTTP client: every request takes a budget slot, then is retried with backoff
//! on 429 (honouring `Retry-After`), 5xx and transport errors.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures::Stream;
use reqwest::Method;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sklad_domain::budget::Priority;
use sklad_runtime::settings::KeycrmSettings;
use tracing::Instrument;

use crate::answer::DEFAULT_RATE_LIMIT_WAIT;
use crate::budget::{Budget, BudgetKey};
use crate::error::KeycrmError;
use crate::metrics::{REQUEST_SECONDS, REQUESTS};
use crate::models::{
    Offer, OfferStock, Order, OrderStatus, Page, PaymentMethod, StockItem, StockUpdate,
};
use crate::pages::{PageOrder, collect, order_document, page_query, pages};

/// keyCRM's maximum page size.
pub const MAX_PAGE_SIZE: u32 = 50;
/// The includes sklad needs to upsert an order completely.
pub const ORDER_INCLUDES: &str = "products.offer,payments,status,buyer";

/// What a client needs to act for an account: where keyCRM is, the key, and the key's budget.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub base_url: String,
    pub api_key: SecretString,
    /// Names the request budget shared by everyone using this key.
    pub fingerprint: Vec<u8>,
    pub requests_per_minute: u32,
}

/// Builds the process-wide HTTP client for keyCRM. It follows no redirect: keyCRM's API
/// answers where it is asked, so a 3xx is a misconfiguration (flagged like an answer that
/// is not keyCRM's), and the key is never carried to a host nobody allowed.
pub fn http_client(settings: &KeycrmSettings) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.request_timeout)
        .connect_timeout(settings.request_timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("sklad/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// An order as sklad reads it, plus the document exactly as keyCRM sent it (kept for audit).
#[derive(Debug, Clone)]
pub struct OrderDocument {
    pub order: Order,
    pub raw: Value,
}

/// Filters for `GET /order`.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status_ids: Vec<i64>,
    /// `filter[updated_between]`, both ends inclusive, UTC.
    pub updated_between: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
}

/// How a request is retried on 429, 5xx and transport errors.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1: no retry).
    pub max_attempts: u32,
    /// First backoff delay; it doubles (with jitter) up to `max_delay`. A `Retry-After`
    /// longer than the backoff wins.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest wait for the request budget (`None`: as long as it takes).
    pub max_budget_wait: Option<Duration>,
}

impl RetryPolicy {
    /// The workers' patient schedule from settings.
    pub fn from_settings(settings: &KeycrmSettings) -> Self {
        Self {
            max_attempts: settings.max_attempts.max(1),
            min_delay: settings.retry_min_delay,
            max_delay: settings.retry_max_delay,
            max_budget_wait: None,
        }
    }

    /// For a person waiting on an answer: two quick attempts.
    pub fn interactive() -> Self {
        Self {
            max_attempts: 2,
            min_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(2),
            max_budget_wait: Some(Duration::from_secs(5)),
        }
    }
}

/// A keyCRM client for one account's credentials.
#[derive(Clone)]
pub struct KeycrmClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) api_key: SecretString,
    pub(crate) budget: Budget,
    pub(crate) key: BudgetKey,
    retry: RetryPolicy,
    /// The account whose stored settings this client uses: an answer that blocks the
    /// account (key refused, not keyCRM) is recorded on its integration, so workers stop.
    flags: Option<uuid::Uuid>,
}

impl std::fmt::Debug for KeycrmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeycrmClient")
            .field("base_url", &self.base_url)
            .field("requests_per_minute", &self.key.requests_per_minute)
            .finish_non_exhaustive()
    }
}

/// One request to keyCRM.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) body: Option<Value>,
    pub(crate) endpoint: &'static str,
    pub(crate) priority: Priority,
}

impl KeycrmClient {
    pub fn new(
        http: reqwest::Client,
        budget: Budget,
        credentials: &Credentials,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            http,
            base_url: credentials.base_url.trim_end_matches('/').to_owned(),
            api_key: credentials.api_key.clone(),
            budget,
            key: BudgetKey {
                fingerprint: credentials.fingerprint.clone(),
                requests_per_minute: credentials.requests_per_minute,
            },
            retry,
            flags: None,
        }
    }

    /// The same client, recording answers that block `account` on its integration.
    pub fn flagging(mut self, account: uuid::Uuid) -> Self {
        self.flags = Some(account);
        self
    }

    /// One page of order statuses.
    pub async fn order_statuses_page(
        &self,
        page: u32,
        limit: u32,
        priority: Priority,
    ) -> Result<Page<OrderStatus>, KeycrmError> {
        self.call(Call {
            method: Method::GET,
            path: "order/status".into(),
            query: page_query(page, limit),
            body: None,
            endpoint: "GET /order/status",
            priority,
        })
        .await
    }

    /// Every order status, all pages.
    pub async fn order_statuses(&self) -> Result<Vec<OrderStatus>, KeycrmError> {
        collect(pages(1, |page| {
            self.order_statuses_page(page, MAX_PAGE_SIZE, Priority::Normal)
        }))
        .await
    }

    /// Every payment method, all pages.
    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethod>, KeycrmError> {
        collect(pages(1, |page| {
            self.call::<Page<PaymentMethod>>(Call {
                method: Method::GET,
                path: "order/payment-method".into(),
                query: page_query(page, MAX_PAGE_SIZE),
                body: None,
                endpoint: "GET /order/payment-method",
                priority: Priority::Normal,
            })
        }))
        .await
    }

    /// Pages of orders (50 each) from `first_page` on, until keyCRM says there are no more
    /// or the caller stops reading; an error ends the stream.
    pub fn order_pages<'a>(
        &'a self,
        filter: &'a OrderFilter,
        first_page: u32,
        priority: Priority,
    ) -> impl Stream<Item = Result<Page<PageOrder>, KeycrmError>> + 'a {
        pages(first_page, move |page| {
            self.orders_page(filter, page, MAX_PAGE_SIZE, priority)
        })
    }

    /// Pages of offer stocks (with per-warehouse rows when `details`), from the first on.
    pub fn stock_pages(
        &self,
        details: bool,
        priority: Priority,
    ) -> impl Stream<Item = Result<Page<OfferStock>, KeycrmError>> + '_ {
        pages(1, move |page| {
            self.stocks_page(details, page, MAX_PAGE_SIZE, priority)
        })
    }

    /// Pages of the catalogue (`GET /offers?include=product`, 50 each) from `first_page` on;
    /// each row is an offer, or why it could not be read.
    pub fn offer_pages(
        &self,
        first_page: u32,
        priority: Priority,
    ) -> impl Stream<Item = Result<Page<Result<Offer, String>>, KeycrmError>> + '_ {
        pages(first_page, move |page| {
            self.offers_page(page, MAX_PAGE_SIZE, priority)
        })
    }

    /// One page of offers with their products.
    pub async fn offers_page(
        &self,
        page: u32,
        limit: u32,
        priority: Priority,
    ) -> Result<Page<Result<Offer, String>>, KeycrmError> {
        let mut query = page_query(page, limit);
        query.push(("include", "product".into()));
        let page: Page<Value> = self
            .call(Call {
                method: Method::GET,
                path: "offers".into(),
                query,
                body: None,
                endpoint: "GET /offers",
                priority,
            })
            .await?;
        Ok(page.map(|raw| serde_json::from_value::<Offer>(raw).map_err(|e| e.to_string())))
    }

    /// One order with lines, offers, payments, status and buyer.
    pub async fn order(&self, id: i64, priority: Priority) -> Result<OrderDocument, KeycrmError> {
        let raw: Value = self
            .call(Call {
                method: Method::GET,
                path: format!("order/{id}"),
                query: vec![("include", ORDER_INCLUDES.into())],
                body: None,
                endpoint: "GET /order/{id}",
                priority,
            })
            .await?;
        order_document(raw)
    }

    /// One page of orders (up to 50) with the same includes as [`KeycrmClient::order`].
    pub async fn orders_page(
        &self,
        filter: &OrderFilter,
        page: u32,
        limit: u32,
        priority: Priority,
    ) -> Result<Page<PageOrder>, KeycrmError> {
        let mut query = page_query(page, limit);
        query.push(("include", ORDER_INCLUDES.into()));
        query.push(("sort", "id".into()));
        if !filter.status_ids.is_empty() {
            let ids: Vec<String> = filter.status_ids.iter().map(ToString::to_string).collect();
            query.push(("filter[status_id]", ids.join(",")));
        }
        if let Some((from, to)) = filter.updated_between {
            query.push((
                "filter[updated_between]",
                format!(
                    "{}, {}",
                    from.format("%Y-%m-%d %H:%M:%S"),
                    to.format("%Y-%m-%d %H:%M:%S")
                ),
            ));
        }
        let page: Page<Value> = self
            .call(Call {
                method: Method::GET,
                path: "order".into(),
                query,
                body: None,
                endpoint: "GET /order",
                priority,
            })
            .await?;
        Ok(page.map(|raw| {
            let id = raw.get("id").and_then(|id| {
                id.as_i64()
                    .or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()))
            });
            match order_document(raw) {
                Ok(doc) => PageOrder::Read(Box::new(doc)),
                Err(err) => PageOrder::Unreadable {
                    id,
                    reason: err.to_string(),
                },
            }
        }))
    }

    /// One page of offer stocks; with `details` each row lists per-warehouse quantities.
    pub async fn stocks_page(
        &self,
        details: bool,
        page: u32,
        limit: u32,
        priority: Priority,
    ) -> Result<Page<OfferStock>, KeycrmError> {
        let mut query = page_query(page, limit);
        if details {
            query.push(("filter[details]", "true".into()));
        }
        self.call(Call {
            method: Method::GET,
            path: "offers/stocks".into(),
            query,
            body: None,
            endpoint: "GET /offers/stocks",
            priority,
        })
        .await
    }

    /// Sets absolute quantities in one keyCRM warehouse (`PUT /offers/stocks`, ≤ 10 000 items).
    pub async fn put_stocks(
        &self,
        warehouse_id: i64,
        items: &[StockItem],
    ) -> Result<(), KeycrmError> {
        let body = serde_json::to_value(StockUpdate {
            warehouse_id,
            stocks: items,
        })
        .map_err(|e| KeycrmError::Decode(e.to_string()))?;
        let _: Value = self
            .call(Call {
                method: Method::PUT,
                path: "offers/stocks".into(),
                query: Vec::new(),
                body: Some(body),
                endpoint: "PUT /offers/stocks",
                priority: Priority::StockPush,
            })
            .await?;
        Ok(())
    }

    async fn call<T: DeserializeOwned>(&self, call: Call) -> Result<T, KeycrmError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_jitter()
            .with_max_times(
                usize::try_from(self.retry.max_attempts.saturating_sub(1)).unwrap_or(0),
            );
        (|| self.attempt::<T>(&call))
            .retry(backoff)
            .when(KeycrmError::is_transient)
            .adjust(|err, next| next.map(|d| err.retry_after().map_or(d, |ra| ra.max(d))))
            .notify(|err, delay| {
                tracing::warn!(endpoint = call.endpoint, error = %err, ?delay, "keyCRM request failed; retrying");
            })
            .await
    }

    async fn attempt<T: DeserializeOwned>(&self, call: &Call) -> Result<T, KeycrmError> {
        let span = tracing::info_span!(
            "keycrm_request",
            endpoint = call.endpoint,
            priority = call.priority.as_str(),
        );
        async {
            let waited = self
                .budget
                .acquire(&self.key, call.priority, self.retry.max_budget_wait)
                .await?;
            let started = Instant::now();
            let outcome = self.send::<T>(call).await;
            let elapsed = started.elapsed();
            REQUEST_SECONDS
                .with_label_values(&[call.endpoint])
                .observe(elapsed.as_secs_f64());
            let label = match &outcome {
                Ok(_) => "ok",
                Err(err) => err.outcome(),
            };
            REQUESTS.with_label_values(&[call.endpoint, label]).inc();
            tracing::info!(
                outcome = label,
                elapsed_ms = elapsed.as_millis(),
                budget_wait_ms = waited.as_millis(),
                "keyCRM answered"
            );
            if let Err(err) = &outcome {
                self.after_refusal(err).await;
            }
            outcome
        }
        .instrument(span)
        .await
    }

    /// What a refusal means beyond this request: a 429 moves the key's schedule back for
    /// every process; a refused key or a wrong base URL flags the account.
    async fn after_refusal(&self, err: &KeycrmError) {
        if let KeycrmError::RateLimited { retry_after } = err {
            let wait = retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
            if let Err(e) = self.budget.push_back(&self.key, wait).await {
                tracing::warn!(error = %e, "could not move the budget back after a 429");
            }
        }
        let (Some(account), true) = (self.flags, err.blocks_account()) else {
            return;
        };
        let flag = match err {
            KeycrmError::Unauthorized(_) => sklad_db::integrations::Flag::KeyRejected,
            _ => sklad_db::integrations::Flag::Misconfigured,
        };
        let flagged = async {
            let mut conn = self.budget.db().conn().await?;
            sklad_db::integrations::flag(&mut conn, account, flag, &err.to_string()).await
        };
        match flagged.await {
            Ok(()) => {
                tracing::error!(%account, ?flag, error = %err, "keyCRM refuses this account's settings; its keyCRM work stops until they change")
            }
            Err(e) => tracing::warn!(error = %e, "could not flag the integration"),
        }
    }
}
