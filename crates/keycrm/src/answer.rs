//! Reading keyCRM's answers: what a status and a body mean (a web server's page is not
//! keyCRM's "not found"), how long keyCRM asks sklad to wait, and how much is read.

use std::time::Duration;

use reqwest::{StatusCode, header};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{Call, KeycrmClient};
use crate::error::KeycrmError;

impl KeycrmClient {
    pub(crate) async fn send<T: DeserializeOwned>(&self, call: &Call) -> Result<T, KeycrmError> {
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
                Some(mut value) => {
                    let cut = crate::lenient::bound_texts(&mut value);
                    if cut > 0 {
                        crate::metrics::TEXTS_TRUNCATED
                            .with_label_values(&[call.endpoint])
                            .inc_by(cut as u64);
                        tracing::warn!(
                            endpoint = call.endpoint,
                            texts = cut,
                            "keyCRM sent texts longer than sklad keeps; cut"
                        );
                    }
                    serde_json::from_value(value)
                        .map_err(|e| KeycrmError::Decode(format!("{}: {e}", call.endpoint)))
                }
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
            // keyCRM's API does not redirect: a 3xx means the base URL is not keyCRM's.
            s if s.is_redirection() => Err(not_keycrm()),
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
pub(crate) const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(10);
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
