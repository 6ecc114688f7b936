//! The webhook endpoint.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::BytesMut;
use chrono::Utc;
use futures::StreamExt;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use sklad_bus::{OutgoingMessage, Publisher};
use sklad_domain::webhook::{
    MAX_JSON_DEPTH, WebhookKind, classify, is_event_name, is_token_shaped, json_depth,
};
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_runtime::http::ErrorBody;
use sklad_runtime::lazy_metric;

use crate::tokens::Tokens;

lazy_metric!(WEBHOOKS: IntCounterVec = IntCounterVec::new(
    Opts::new("sklad_ingress_webhooks_total", "keyCRM webhooks by outcome and event"),
    &["outcome", "event"],
));

lazy_metric!(WEBHOOK_SECONDS: HistogramVec = HistogramVec::new(
    HistogramOpts::new("sklad_ingress_webhook_seconds", "Time to answer a webhook (including the broker confirm)")
        .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]),
    &["outcome"],
));

/// Shared by every request.
pub struct WebhookState {
    pub tokens: Arc<Tokens>,
    pub publisher: Publisher,
    pub max_body_bytes: usize,
}

/// How a request ended, for the answer and the metrics.
#[derive(Debug)]
enum Outcome {
    Accepted {
        webhook_id: String,
    },
    Ignored(&'static str),
    NotFound,
    TooLarge(usize),
    /// A body sent as something other than JSON (415).
    NotJson,
    BadJson(String),
    Unprocessable(String),
    Unavailable(String),
}

impl Outcome {
    fn label(&self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Ignored(_) => "ignored",
            Outcome::NotFound => "not_found",
            Outcome::TooLarge(_) => "too_large",
            Outcome::NotJson => "not_json",
            Outcome::BadJson(_) => "bad_json",
            Outcome::Unprocessable(_) => "unprocessable",
            Outcome::Unavailable(_) => "unavailable",
        }
    }

    fn response(&self) -> HttpResponse {
        match self {
            Outcome::Accepted { webhook_id } => HttpResponse::Accepted()
                .json(json!({"status": "accepted", "webhook_id": webhook_id})),
            Outcome::Ignored(reason) => {
                HttpResponse::Accepted().json(json!({"status": "ignored", "reason": reason}))
            }
            Outcome::NotFound => error(StatusCode::NOT_FOUND, "not_found", "not found"),
            Outcome::TooLarge(limit) => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                &format!("the body is larger than {limit} bytes"),
            ),
            Outcome::NotJson => error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the webhook as JSON (Content-Type: application/json)",
            ),
            Outcome::BadJson(why) => error(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                &format!("the body is not valid JSON: {why}"),
            ),
            Outcome::Unprocessable(why) => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable_webhook",
                why,
            ),
            Outcome::Unavailable(_) => {
                let mut response = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the event could not be stored; retry later",
                );
                response.headers_mut().insert(
                    actix_web::http::header::RETRY_AFTER,
                    actix_web::http::header::HeaderValue::from_static("5"),
                );
                response
            }
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    ErrorBody::new(code, message).response(status)
}

/// Where every request to the webhook port goes: `POST /webhooks/keycrm/{token}` is
/// received; anything else gets the same bare 404 as an unknown token.
pub async fn route(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebhookState>,
) -> HttpResponse {
    let token = req
        .path()
        .strip_prefix("/webhooks/keycrm/")
        .filter(|token| !token.is_empty() && !token.contains('/'))
        .map(str::to_owned);
    match token {
        Some(token) if req.method() == actix_web::http::Method::POST => {
            receive(req, payload, state, token).await
        }
        _ => Outcome::NotFound.response(),
    }
}

/// `POST /webhooks/keycrm/{token}`.
///
/// Each request gets its webhook id (UUID v7) at once: it names the request's log line, the
/// published message and every later step, so one id found in the logs shows the webhook's
/// whole way to the stored order. The token is the secret: no line carries the path.
///
/// ingress writes one line per webhook and opens no span: a span (created, its fields
/// recorded, entered on every poll, listed on the line) cost ingress about a tenth of its
/// webhooks/s at `info` (`sklad-bench ingress --logs info`), and there is nothing else
/// inside a request for it to label.
async fn receive(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<WebhookState>,
    token: String,
) -> HttpResponse {
    let webhook_id = uuid::Uuid::now_v7().to_string();
    let started = Instant::now();
    let mut seen = Seen::default();
    let (outcome, event) =
        handle(&req, payload, &state, &token, webhook_id.clone(), &mut seen).await;
    let label = outcome.label();
    WEBHOOKS
        .with_label_values(&[label, event.as_deref().map(metric_event).unwrap_or("-")])
        .inc();
    WEBHOOK_SECONDS
        .with_label_values(&[label])
        .observe(started.elapsed().as_secs_f64());
    let event = event.as_deref().unwrap_or("-");
    match &outcome {
        Outcome::Unavailable(why) => tracing::warn!(
            webhook_id,
            account_id = seen.account_id,
            keycrm_order_id = seen.order_id,
            outcome = label,
            event,
            reason = %why,
            "webhook not stored"
        ),
        _ => tracing::info!(
            webhook_id,
            account_id = seen.account_id,
            keycrm_order_id = seen.order_id,
            outcome = label,
            event,
            "{}",
            if matches!(outcome, Outcome::Accepted { .. }) {
                "webhook stored"
            } else {
                "webhook answered"
            }
        ),
    }
    outcome.response()
}

/// What a request learnt on its way, for its log line.
#[derive(Debug, Default)]
struct Seen {
    account_id: Option<String>,
    order_id: Option<i64>,
}

/// Bounds the metric's label values: known event names as they are, anything else "other".
fn metric_event(event: &str) -> &'static str {
    match event {
        "order.change_order_status" => "order.change_order_status",
        "order.change_payment_status" => "order.change_payment_status",
        e if classify(e) == WebhookKind::Order => "order.other",
        _ => "other",
    }
}

async fn handle(
    req: &HttpRequest,
    payload: web::Payload,
    state: &WebhookState,
    token: &str,
    webhook_id: String,
    seen: &mut Seen,
) -> (Outcome, Option<String>) {
    // Not a link sklad could have issued: no lookup at all.
    if !is_token_shaped(token) {
        return (Outcome::NotFound, None);
    }
    let target = match state.tokens.resolve(token).await {
        Ok(Some(target)) => target,
        Ok(None) => return (Outcome::NotFound, None),
        Err(err) => return (Outcome::Unavailable(err.to_string()), None),
    };
    if !json_content(req) {
        return (Outcome::NotJson, None);
    }
    let body = match read_body(req, payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err(outcome) => return (outcome, None),
    };
    // Checked before parsing: fields sklad skips are not built, so the parser alone would
    // let invalid UTF-8 and any nesting through to the queue.
    if std::str::from_utf8(&body).is_err() {
        return (Outcome::BadJson("the body is not UTF-8".into()), None);
    }
    if json_depth(&body) > MAX_JSON_DEPTH {
        return (
            Outcome::BadJson(format!(
                "the body nests deeper than {MAX_JSON_DEPTH} levels"
            )),
            None,
        );
    }
    let document = match read_webhook(&body) {
        Ok(document) => document,
        Err(outcome) => return (outcome, None),
    };
    let Some(event) = document
        .event
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return (
            Outcome::Unprocessable("the body has no string \"event\"".into()),
            None,
        );
    };
    if !is_event_name(&event) {
        return (
            Outcome::Unprocessable(
                "\"event\" is not a keyCRM event name (like order.change_order_status)".into(),
            ),
            None,
        );
    }
    if classify(&event) == WebhookKind::Unhandled {
        return (
            Outcome::Ignored("sklad does not handle this event"),
            Some(event),
        );
    }
    let context = &document.context;
    let Some(order_id) = context
        .id
        .as_ref()
        .and_then(positive_id)
        .filter(|id| sklad_domain::orders::is_keycrm_id(*id))
    else {
        return (
            Outcome::Unprocessable(
                "the body has no usable \"context.id\" (a keyCRM order id, 1 to 2147483647)".into(),
            ),
            Some(event),
        );
    };
    if !target.integration_enabled {
        return (
            Outcome::Ignored("the keyCRM integration is switched off"),
            Some(event),
        );
    }
    let status_id = context
        .status_id
        .as_ref()
        .and_then(positive_id)
        .filter(|id| sklad_domain::orders::is_keycrm_id(*id));
    let updated_at = context
        .updated_at
        .as_ref()
        .and_then(Value::as_str)
        .and_then(sklad_domain::time::parse_keycrm_datetime);
    let received_at = Utc::now();
    let account_id = target.account_id.to_string();
    seen.account_id = Some(account_id.clone());
    seen.order_id = Some(order_id);
    let event_message = KeycrmWebhookReceived {
        webhook_id: webhook_id.clone(),
        account_id: account_id.clone(),
        received_at: Some(sklad_events::timestamp(received_at)),
        event: event.clone(),
        order_id,
        status_id,
        order_updated_at: updated_at.map(sklad_events::timestamp),
        raw_body: body.to_vec(),
    };
    let message = OutgoingMessage::event(
        &event_message,
        webhook_id.clone(),
        account_id,
        received_at,
        Some(format!("order/{order_id}")),
    );
    match state.publisher.publish(&message).await {
        Ok(()) => (Outcome::Accepted { webhook_id }, Some(event)),
        Err(err) => (Outcome::Unavailable(err.to_string()), Some(event)),
    }
}

/// What sklad reads of a webhook body: `event`, and `id`, `status_id`, `updated_at` of
/// `context`. Everything else (most of the body: the order as keyCRM summarised it) is
/// skipped without being built, and travels on as the raw body.
#[derive(Debug, Default)]
struct Webhook {
    event: Option<Value>,
    context: Context,
}

#[derive(Debug, Default)]
struct Context {
    id: Option<Value>,
    status_id: Option<Value>,
    updated_at: Option<Value>,
}

/// Not JSON is 400; JSON that is not an object reads as an object without fields (and is
/// then refused for what it lacks, like any other body without `event`).
fn read_webhook(body: &[u8]) -> Result<Webhook, Outcome> {
    match serde_json::from_slice::<Webhook>(body) {
        Ok(webhook) => Ok(webhook),
        Err(err) if err.is_data() => Ok(Webhook::default()),
        Err(err) => Err(Outcome::BadJson(err.to_string())),
    }
}

/// Reads the keys named in `wanted` of a JSON object as values and skips the rest; anything
/// but an object reads as no keys.
struct Fields<const N: usize> {
    wanted: [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for Fields<N> {
    type Value = [Option<Value>; N];

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found: [Option<Value>; N] = std::array::from_fn(|_| None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.wanted.iter().position(|w| *w == key) {
                Some(i) => found[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(std::array::from_fn(|_| None))
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let [id, status_id, updated_at] = deserializer.deserialize_any(Fields {
            wanted: ["id", "status_id", "updated_at"],
        })?;
        Ok(Self {
            id,
            status_id,
            updated_at,
        })
    }
}

impl<'de> Deserialize<'de> for Webhook {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `context` is read as its own object: find it among the raw keys first.
        struct Top;
        impl<'de> Visitor<'de> for Top {
            type Value = Webhook;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Webhook, A::Error> {
                let mut webhook = Webhook::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "event" => webhook.event = Some(map.next_value()?),
                        "context" => webhook.context = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(webhook)
            }
        }
        deserializer.deserialize_map(Top)
    }
}

/// JSON, or no content type at all (a bare sender); anything else (`text/plain`, a form) is
/// not a keyCRM webhook.
fn json_content(req: &HttpRequest) -> bool {
    match req.headers().get(CONTENT_TYPE).map(|v| v.to_str()) {
        None => true,
        Some(Ok(value)) => {
            let media = value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        }
        Some(Err(_)) => false,
    }
}

/// Reads the body up to `limit` bytes; a declared or actual excess is 413.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<bytes::Bytes, Outcome> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Outcome::TooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(4096).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Outcome::BadJson(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Outcome::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// keyCRM ids arrive as numbers or numeric strings.
fn positive_id(value: &Value) -> Option<i64> {
    let id = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    (id > 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_may_be_numbers_or_strings_but_must_be_positive() {
        assert_eq!(positive_id(&json!(23196)), Some(23196));
        assert_eq!(positive_id(&json!("67526")), Some(67526));
        assert_eq!(positive_id(&json!(0)), None);
        assert_eq!(positive_id(&json!(-3)), None);
        assert_eq!(positive_id(&json!("x")), None);
        assert_eq!(positive_id(&json!(1.5)), None);
        assert_eq!(positive_id(&Value::Null), None);
    }

    #[test]
    fn a_body_is_read_for_event_and_context_only() {
        let read = |body: &str| read_webhook(body.as_bytes());
        let full = read(
            r#"{"event": "order.change_order_status", "big": {"deep": [1, {"x": 2}]},
                "context": {"id": 7, "products": [{"a": 1}], "status_id": "2", "updated_at": "2024-05-28 09:34:10"}}"#,
        )
        .unwrap();
        assert_eq!(full.event, Some(json!("order.change_order_status")));
        assert_eq!(full.context.id, Some(json!(7)));
        assert_eq!(full.context.status_id, Some(json!("2")));
        assert_eq!(full.context.updated_at, Some(json!("2024-05-28 09:34:10")));
        // Valid JSON of another shape reads as nothing (and is refused for that, with 422).
        for other in [
            r#"[1, 2]"#,
            r#""x""#,
            "3",
            "null",
            r#"{"context": [1]}"#,
            r#"{"context": "x"}"#,
        ] {
            let webhook = read(other).unwrap();
            assert!(webhook.context.id.is_none(), "{other}");
        }
        assert_eq!(read(r#"{"event": 5}"#).unwrap().event, Some(json!(5)));
        // Not JSON at all is 400.
        for broken in ["{", "{\"event\": }", ""] {
            assert!(matches!(read(broken), Err(Outcome::BadJson(_))), "{broken}");
        }
    }

    #[test]
    fn metric_labels_stay_bounded() {
        assert_eq!(
            metric_event("order.change_order_status"),
            "order.change_order_status"
        );
        assert_eq!(metric_event("order.whatever"), "order.other");
        assert_eq!(metric_event("lead.change_lead_status"), "other");
        assert_eq!(metric_event("attacker-chosen-string"), "other");
    }
}
