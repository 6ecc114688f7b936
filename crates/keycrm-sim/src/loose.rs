//! Renders values the way live keyCRM does: the same field sometimes as a number and
//! sometimes as a string, timestamps in two formats, empty objects as `[]`.
//!
//! Which form a value takes is decided by a stable hash of where it appears, so the same
//! document always renders identically (tests can compare), yet every form occurs.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

/// A stable variant selector for (entity id, field).
pub fn variant(id: i64, field: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (id as u64);
    for b in field.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A decimal as a JSON number or a two-decimal string (`"2.00"`).
pub fn decimal(id: i64, field: &str, value: Decimal) -> Value {
    if variant(id, field).is_multiple_of(3) {
        Value::String(format!("{:.2}", value.round_dp(2)))
    } else if value.fract().is_zero() {
        json!(value.to_i64().unwrap_or(0))
    } else {
        json!(value.to_f64().unwrap_or(0.0))
    }
}

/// An optional decimal; `None` is `null`.
pub fn decimal_opt(id: i64, field: &str, value: Option<Decimal>) -> Value {
    value.map_or(Value::Null, |v| decimal(id, field, v))
}

/// A timestamp as `2024-11-13T18:46:36.000000Z` or `2024-05-28 09:34:10` (both UTC).
pub fn timestamp(id: i64, field: &str, value: DateTime<Utc>) -> Value {
    if variant(id, field).is_multiple_of(4) {
        Value::String(value.format("%Y-%m-%d %H:%M:%S").to_string())
    } else {
        Value::String(value.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    }
}

/// An optional timestamp; `None` is `null`.
pub fn timestamp_opt(id: i64, field: &str, value: Option<DateTime<Utc>>) -> Value {
    value.map_or(Value::Null, |v| timestamp(id, field, v))
}

/// An object that keyCRM sends as `[]` when it is empty.
pub fn object_or_empty_array(value: Option<Value>) -> Value {
    value.unwrap_or_else(|| Value::Array(Vec::new()))
}

/// Timestamps keyCRM accepts in filters: `2020-08-24 00:00:00` (or a bare date).
pub fn parse_filter_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
}
