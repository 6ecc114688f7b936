//! The parking lot in PostgreSQL: what the [`sklad_bus::parking::Keeper`] takes off the
//! parking queues is stored here, bounded and cleaned so that no message can be refused.

use futures::future::BoxFuture;
use prometheus::IntCounter;
use sklad_bus::parking::{ParkedMessage, ParkingLot};
use sklad_db::Db;
use sklad_db::parked::NewParked;
use sklad_runtime::lazy_metric;

lazy_metric!(KEPT: IntCounter = IntCounter::new(
    "sklad_parked_kept_total", "Parked messages moved off their parking queue into PostgreSQL",
));

/// Texts longer than this are cut: a reason or a header is for reading, not for storing.
const MAX_TEXT: usize = 2000;

/// The relay's [`ParkingLot`].
pub struct DbLot(pub Db);

impl ParkingLot for DbLot {
    fn keep(&self, message: ParkedMessage) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let row = row(message);
            let mut conn = self.0.conn().await.map_err(|err| err.to_string())?;
            let added = sklad_db::parked::keep(&mut conn, &row)
                .await
                .map_err(|err| err.to_string())?;
            if added {
                KEPT.inc();
            }
            Ok(())
        })
    }
}

/// The row for `message`: PostgreSQL takes no NUL in text or jsonb, so they go; texts are
/// bounded; an account that is not a UUID is none (the message is still kept).
fn row(message: ParkedMessage) -> NewParked {
    let mut properties = message.properties;
    strip_nul(&mut properties);
    let keycrm_id = message
        .subject
        .as_deref()
        .and_then(|s| s.strip_prefix("order/"))
        .and_then(|id| id.parse::<i64>().ok());
    NewParked {
        consumer: message.consumer.to_owned(),
        message_id: message.message_id.as_deref().map(text),
        account_id: message
            .account_id
            .as_deref()
            .and_then(|a| uuid::Uuid::parse_str(a).ok()),
        message_type: message.message_type.as_deref().map(text),
        subject: message.subject.as_deref().map(text),
        keycrm_id,
        reason: text(&message.reason),
        attempts: i32::try_from(message.attempts).unwrap_or(i32::MAX),
        parked_at: message.parked_at,
        properties,
        body: message.body,
    }
}

fn text(value: &str) -> String {
    value
        .chars()
        .filter(|c| *c != '\0')
        .take(MAX_TEXT)
        .collect()
}

fn strip_nul(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => *s = s.replace('\0', ""),
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nul),
        serde_json::Value::Object(fields) => {
            let keys: Vec<String> = fields
                .keys()
                .filter(|k| k.contains('\0'))
                .cloned()
                .collect();
            for key in keys {
                if let Some(v) = fields.remove(&key) {
                    fields.insert(key.replace('\0', ""), v);
                }
            }
            fields.values_mut().for_each(strip_nul);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_with_junk_headers_still_gets_a_row() {
        let message = ParkedMessage {
            consumer: "order-sync",
            message_id: Some("m\0-1".into()),
            message_type: None,
            account_id: Some("not-a-uuid".into()),
            subject: Some("order/23196".into()),
            reason: "x".repeat(5000),
            attempts: u64::MAX,
            parked_at: chrono::Utc::now(),
            properties: serde_json::json!({"headers": {"a\0b": ["c\0d"]}}),
            body: b"\0".to_vec(),
        };
        let row = row(message);
        assert_eq!(row.message_id.as_deref(), Some("m-1"));
        assert_eq!(row.account_id, None);
        assert_eq!(row.keycrm_id, Some(23196));
        assert_eq!(row.reason.len(), MAX_TEXT);
        assert_eq!(row.attempts, i32::MAX);
        assert_eq!(
            row.properties,
            serde_json::json!({"headers": {"ab": ["cd"]}})
        );
        assert_eq!(row.body, b"\0");
    }
}
