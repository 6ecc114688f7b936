//! The keyCRM HTTP client: every request takes a budget slot, then is retried with backoff
//! on 429 (honouring `Retry-After`), 5xx and transport errors.

use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures::{Stream, TryStreamExt};
use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sklad_domain::budget::Priority;
use sklad_runtime::settings::KeycrmSettings;
use tracing::Instrument;

use crate::budget::{Budget, BudgetKey};
use crate::error::KeycrmError;
use crate::metrics::{REQUEST_SECONDS, REQUESTS};
use crate::models::{OfferStock, Order, OrderStatus, Page, PaymentMethod, StockItem, StockUpdate};

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

/// keyCRM stops at this page whatever its envelope says, so a lying `last_page` cannot loop.
const PAGE_LIMIT: u32 = 10_000;

/// Builds the process-wide HTTP client for keyCRM.
pub fn http_client(settings: &KeycrmSettings) -> reqwest::Client {
    reqwest::Client::builder()
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
}

impl RetryPolicy {
    /// The workers' patient schedule from settings.
    pub fn from_settings(settings: &KeycrmSettings) -> Self {
        Self {
            max_attempts: settings.max_attempts.max(1),
            min_delay: settings.retry_min_delay,
            max_delay: settings.retry_max_delay,
        }
    }

    /// For a person waiting on an answer: two quick attempts.
    pub fn interactive() -> Self {
        Self {
            max_attempts: 2,
            min_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// A keyCRM client for one account's credentials.
#[derive(Clone)]
pub struct KeycrmClient {
    http: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    budget: Budget,
    key: BudgetKey,
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

struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    endpoint: &'static str,
    priority: Priority,
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
    ) -> impl Stream<Item = Result<Page<OrderDocument>, KeycrmError>> + 'a {
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
    ) -> Result<Page<OrderDocument>, KeycrmError> {
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
        let data = page
            .data
            .into_iter()
            .map(order_document)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            total: page.total,
            current_page: page.current_page,
            per_page: page.per_page,
            last_page: page.last_page,
            next_page_url: page.next_page_url,
            data,
        })
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
            let waited = self.budget.acquire(&self.key, call.priority).await?;
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

    async fn send<T: DeserializeOwned>(&self, call: &Call) -> Result<T, KeycrmError> {
        let url = format!("{}/{}", self.base_url, call.path);
        let mut request = self
            .http
            .request(call.method.clone(), &url)
            .bearer_auth(self.api_key.expose_secret())
            .header(header::ACCEPT, "application/json")
            .query(&call.query);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, chrono::Utc::now()));
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(KeycrmError::Decode(format!(
                    "{}: the answer is larger than {MAX_BODY_BYTES} bytes",
                    call.endpoint
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let not_keycrm = || KeycrmError::NotKeycrm {
            status: status.as_u16(),
            answer: snippet(&body),
        };
        match status {
            // A page that is not JSON with a 2xx (a maintenance page, a proxy) is unreadable,
            // not a verdict on the settings.
            s if s.is_success() => match parsed {
                Some(value) => serde_json::from_value(value)
                    .map_err(|e| KeycrmError::Decode(format!("{}: {e}", call.endpoint))),
                None => Err(KeycrmError::Decode(format!(
                    "{}: the answer is not JSON ({})",
                    call.endpoint,
                    if json {
                        "malformed"
                    } else {
                        "another content type"
                    }
                ))),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(KeycrmError::Unauthorized(status.as_u16()))
            }
            // Only keyCRM's API answers a missing record with JSON; a web server's page
            // means the base URL is wrong, and must never mark an order deleted.
            StatusCode::NOT_FOUND if parsed.is_some() => Err(KeycrmError::NotFound),
            StatusCode::NOT_FOUND => Err(not_keycrm()),
            StatusCode::UNPROCESSABLE_ENTITY => Err(KeycrmError::Validation(
                String::from_utf8_lossy(&body[..body.len().min(MAX_REFUSAL_BYTES)]).into_owned(),
            )),
            StatusCode::TOO_MANY_REQUESTS => Err(KeycrmError::RateLimited { retry_after }),
            s if s.is_server_error() => Err(KeycrmError::Server(s.as_u16())),
            s => Err(KeycrmError::Http {
                status: s.as_u16(),
                body: snippet(&body),
            }),
        }
    }
}

/// Largest answer sklad reads from keyCRM (a page of 50 orders with every include is far
/// smaller).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How much of a 422 is kept to find every refused item (a refusal of 10 000 SKUs fits).
const MAX_REFUSAL_BYTES: usize = 1024 * 1024;
/// How long every process holds off after a 429 that named no `Retry-After`.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);
/// The longest `Retry-After` sklad honours; a longer one is taken as this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110), capped at
/// [`MAX_RETRY_AFTER`]; a date in the past is no wait.
pub fn retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The one way sklad pages through keyCRM: fetch page `n`, yield it (numbered, in case the
/// envelope leaves `current_page` out), go on while keyCRM says there is a next page.
fn pages<T, F, Fut>(first_page: u32, fetch: F) -> impl Stream<Item = Result<Page<T>, KeycrmError>>
where
    F: Fn(u32) -> Fut,
    Fut: Future<Output = Result<Page<T>, KeycrmError>>,
{
    futures::stream::try_unfold(Some(first_page.max(1)), move |next| {
        let fetched = next.map(&fetch);
        async move {
            let (Some(number), Some(fetched)) = (next, fetched) else {
                return Ok(None);
            };
            let mut page = fetched.await?;
            page.current_page.get_or_insert(i64::from(number));
            let more = page.has_next() && !page.data.is_empty() && number < PAGE_LIMIT;
            Ok(Some((page, more.then_some(number + 1))))
        }
    })
}

/// Every item of every page.
async fn collect<T>(
    stream: impl Stream<Item = Result<Page<T>, KeycrmError>>,
) -> Result<Vec<T>, KeycrmError> {
    stream
        .try_fold(Vec::new(), |mut items, page| async move {
            items.extend(page.data);
            Ok(items)
        })
        .await
}

fn page_query(page: u32, limit: u32) -> Vec<(&'static str, String)> {
    vec![
        ("page", page.max(1).to_string()),
        ("limit", limit.clamp(1, MAX_PAGE_SIZE).to_string()),
    ]
}

fn order_document(raw: Value) -> Result<OrderDocument, KeycrmError> {
    let order: Order = serde_json::from_value(raw.clone())
        .map_err(|e| KeycrmError::Decode(format!("order: {e}")))?;
    Ok(OrderDocument { order, raw })
}

/// Transport errors without the URL's query (nothing secret is in it, but it is noise).
fn transport(err: reqwest::Error) -> KeycrmError {
    KeycrmError::Transport(err.without_url().to_string())
}

/// The start of an answer, for messages and logs.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(2000)]);
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates_and_is_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 10:00:00 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
