//! Message headers: the CloudEvents AMQP binding for event attributes (so other teams'
//! consumers can read them) and sklad's own retry and parking bookkeeping.

use lapin::types::{AMQPValue, FieldTable, ShortString};

/// CloudEvents spec version carried by every event.
pub const CE_SPECVERSION: &str = "cloudEvents:specversion";
pub const CE_ID: &str = "cloudEvents:id";
pub const CE_SOURCE: &str = "cloudEvents:source";
pub const CE_TYPE: &str = "cloudEvents:type";
pub const CE_TIME: &str = "cloudEvents:time";
pub const CE_SUBJECT: &str = "cloudEvents:subject";
/// CloudEvents extension attribute naming the sklad account.
pub const CE_ACCOUNT: &str = "cloudEvents:skladaccount";

/// How many times this message has been attempted before (0 on first delivery).
pub const ATTEMPT: &str = "x-sklad-attempt";
/// Why the last attempt failed.
pub const LAST_ERROR: &str = "x-sklad-last-error";
/// How many times a message waited out an outage of sklad's own infrastructure (not counted
/// as attempts).
pub const OUTAGES: &str = "x-sklad-outages";
/// Why the message was parked.
pub const PARK_REASON: &str = "x-sklad-park-reason";
/// When the message was parked (RFC 3339).
pub const PARKED_AT: &str = "x-sklad-parked-at";
/// The queue the message was parked from; replay sends it back there.
pub const ORIGIN_QUEUE: &str = "x-sklad-origin-queue";

/// Reads a string header (long or short string).
pub fn get_str(headers: Option<&FieldTable>, key: &str) -> Option<String> {
    match headers?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Reads an unsigned integer header, whatever integer width the sender used.
pub fn get_u64(headers: Option<&FieldTable>, key: &str) -> Option<u64> {
    match headers?.inner().get(key)? {
        AMQPValue::ShortShortUInt(v) => Some(u64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(u64::from(*v)),
        AMQPValue::LongUInt(v) => Some(u64::from(*v)),
        AMQPValue::ShortShortInt(v) => u64::try_from(*v).ok(),
        AMQPValue::ShortInt(v) => u64::try_from(*v).ok(),
        AMQPValue::LongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::LongLongInt(v) => u64::try_from(*v).ok(),
        AMQPValue::Timestamp(v) => Some(*v),
        _ => None,
    }
}

/// Sets a string header.
pub fn set_str(headers: &mut FieldTable, key: &str, value: &str) {
    headers.insert(ShortString::from(key), AMQPValue::LongString(value.into()));
}

/// Sets an integer header.
pub fn set_u64(headers: &mut FieldTable, key: &str, value: u64) {
    headers.insert(
        ShortString::from(key),
        AMQPValue::LongLongInt(i64::try_from(value).unwrap_or(i64::MAX)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        let mut h = FieldTable::default();
        set_str(&mut h, PARK_REASON, "bad body");
        set_u64(&mut h, ATTEMPT, 3);
        assert_eq!(get_str(Some(&h), PARK_REASON).as_deref(), Some("bad body"));
        assert_eq!(get_u64(Some(&h), ATTEMPT), Some(3));
        assert_eq!(get_u64(Some(&h), "missing"), None);
        assert_eq!(get_str(None, PARK_REASON), None);
    }
}
