//! Deserializers for keyCRM's loose live data.
//!
//! keyCRM (a PHP application) sends decimals as numbers or strings (`45.22`, `"2.00"`),
//! timestamps as `2024-11-13T18:46:36.000000Z` or `2024-05-28 09:34:10` (both UTC), empty
//! objects as `[]`, ids sometimes as strings, and `null` for lists. Each function here takes
//! all of those; use them with `#[serde(default, deserialize_with = "…")]`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sklad_domain::time::parse_keycrm_datetime;

/// A decimal from a number, a numeric string, `null` or `""`.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => parse_decimal(&n.to_string())
            .map(Some)
            .map_err(D::Error::custom),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_decimal(s.trim()).map(Some).map_err(D::Error::custom),
        Value::Bool(b) => Ok(Some(Decimal::from(u8::from(b)))),
        other => Err(D::Error::custom(format!("expected a decimal, got {other}"))),
    }
}

fn parse_decimal(s: &str) -> Result<Decimal, String> {
    let s = s.replace(',', ".");
    Decimal::from_str(&s)
        .or_else(|_| Decimal::from_scientific(&s))
        .map_err(|_| format!("not a decimal: {s:?}"))
}

/// A UTC timestamp in any of keyCRM's formats; `null`, `""` and unreadable values give `None`.
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => parse_keycrm_datetime(&s),
        _ => None,
    })
}

/// An integer from a number, a numeric string or a whole float; `null`/`""` give `None`.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected an integer, got {n}"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected an integer, got {s:?}"))),
        other => Err(D::Error::custom(format!(
            "expected an integer, got {other}"
        ))),
    }
}

/// A string from a string, a number or a bool; `null` gives `None`.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// A bool from `true`/`false`, `0`/`1` or their string forms; anything else gives `None`.
pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// An object that keyCRM may send as `[]` or `null` when empty.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Array(items) if items.is_empty() => Ok(None),
        value => serde_json::from_value(value)
            .map(Some)
            .map_err(D::Error::custom),
    }
}

/// A list that may come as `null` or `{}`.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(D::Error::custom))
            .collect(),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        Value::Object(map) => map
            .into_iter()
            .map(|(_, v)| serde_json::from_value(v).map_err(D::Error::custom))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[derive(Deserialize, Debug)]
    struct Probe {
        #[serde(default, deserialize_with = "decimal")]
        d: Option<Decimal>,
        #[serde(default, deserialize_with = "datetime")]
        t: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "int")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "object")]
        o: Option<std::collections::BTreeMap<String, i64>>,
        #[serde(default, deserialize_with = "list")]
        l: Vec<i64>,
        #[serde(default, deserialize_with = "boolean")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "string")]
        s: Option<String>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn decimals_come_as_numbers_or_strings() {
        assert_eq!(probe(r#"{"d": 45.22}"#).d, Some(dec!(45.22)));
        assert_eq!(probe(r#"{"d": "2.00"}"#).d, Some(dec!(2)));
        assert_eq!(probe(r#"{"d": 1198}"#).d, Some(dec!(1198)));
        assert_eq!(probe(r#"{"d": "0,5"}"#).d, Some(dec!(0.5)));
        assert_eq!(probe(r#"{"d": null}"#).d, None);
        assert_eq!(probe(r#"{"d": ""}"#).d, None);
        assert_eq!(probe(r#"{}"#).d, None);
        assert!(serde_json::from_str::<Probe>(r#"{"d": "abc"}"#).is_err());
    }

    #[test]
    fn timestamps_come_in_both_formats_as_utc() {
        let iso = probe(r#"{"t": "2024-11-13T18:46:36.000000Z"}"#).t.unwrap();
        let plain = probe(r#"{"t": "2024-11-13 18:46:36"}"#).t.unwrap();
        assert_eq!(iso, plain);
        assert_eq!(iso.to_rfc3339(), "2024-11-13T18:46:36+00:00");
        let offset = probe(r#"{"t": "2024-11-13T20:46:36+02:00"}"#).t.unwrap();
        assert_eq!(offset, iso);
        assert_eq!(
            probe(r#"{"t": "2024-11-13"}"#).t.unwrap().to_rfc3339(),
            "2024-11-13T00:00:00+00:00"
        );
        assert_eq!(probe(r#"{"t": null}"#).t, None);
        assert_eq!(probe(r#"{"t": "soon"}"#).t, None);
    }

    #[test]
    fn empty_objects_may_be_arrays() {
        assert_eq!(probe(r#"{"o": []}"#).o, None);
        assert_eq!(probe(r#"{"o": null}"#).o, None);
        assert_eq!(probe(r#"{"o": {"a": 1}}"#).o.unwrap()["a"], 1);
        assert_eq!(probe(r#"{"l": null}"#).l, Vec::<i64>::new());
        assert_eq!(probe(r#"{"l": {}}"#).l, Vec::<i64>::new());
        assert_eq!(probe(r#"{"l": [1, 2]}"#).l, vec![1, 2]);
    }

    #[test]
    fn ids_bools_and_strings_are_coerced() {
        assert_eq!(probe(r#"{"i": "42"}"#).i, Some(42));
        assert_eq!(probe(r#"{"i": 42.0}"#).i, Some(42));
        assert!(serde_json::from_str::<Probe>(r#"{"i": 4.5}"#).is_err());
        assert_eq!(probe(r#"{"b": 1}"#).b, Some(true));
        assert_eq!(probe(r#"{"b": "false"}"#).b, Some(false));
        assert_eq!(probe(r#"{"s": 115}"#).s.as_deref(), Some("115"));
    }
}
