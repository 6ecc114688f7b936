//! Deserializers for keyCRM's loose live data.
//!
//! keyCRM (a PHP application) sends decimals as numbers or strings (`45.22`, `"2.00"`),
//! timestamps as `2024-11-13T18:46:36.000000Z` or `2024-05-28 09:34:10` (both UTC), empty
//! objects as `[]`, ids sometimes as strings, and `null` for lists. Each function here takes
//! all of those; use them with `#[serde(default, deserialize_with = "…")]`. Junk in an
//! optional field (`"price": "n/a"`, `"buyer": 5`) reads as absent, never as an error: one
//! odd field must not make a whole order unreadable. A list element that cannot be read is
//! left out.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sklad_domain::time::parse_keycrm_datetime;

/// A decimal from a number or a numeric string; `null`, `""` and junk give `None`.
pub fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => parse_decimal(&n.to_string()).ok(),
        Value::String(s) => parse_decimal(s.trim()).ok(),
        Value::Bool(b) => Some(Decimal::from(u8::from(b))),
        _ => None,
    })
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

/// An integer from a number, a numeric string or a whole float; `null`, `""` and junk
/// (fractions, words, out of range) give `None`.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    })
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
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::Array(items) if items.is_empty() => None,
        value => serde_json::from_value(value).ok(),
    })
}

/// A list that may come as `null` or `{}`.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let items: Vec<Value> = match Value::deserialize(d)? {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    };
    Ok(items
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect())
}

/// The most characters sklad keeps of any one text keyCRM sends (a name, a comment, a key).
pub const MAX_TEXT_CHARS: usize = 4000;

/// What a cut text ends with, so a reader sees it was cut.
pub const CUT_MARKER: &str = "… [truncated]";

/// Cuts every string in `value` (object keys too) to [`MAX_TEXT_CHARS`] characters, ending
/// each cut one with [`CUT_MARKER`], so one odd order (a 100 KB buyer name) cannot bloat
/// pages, dumps and logs. Returns how many texts were cut.
pub fn bound_texts(value: &mut serde_json::Value) -> usize {
    use serde_json::Value;
    fn cut(text: &str) -> Option<String> {
        let mut chars = text.char_indices();
        let (end, _) = chars.nth(MAX_TEXT_CHARS)?;
        Some(format!("{}{CUT_MARKER}", &text[..end]))
    }
    match value {
        Value::String(text) => match cut(text) {
            Some(shorter) => {
                *text = shorter;
                1
            }
            None => 0,
        },
        Value::Array(items) => items.iter_mut().map(bound_texts).sum(),
        Value::Object(map) => {
            let mut count = 0;
            if map.keys().any(|k| k.chars().nth(MAX_TEXT_CHARS).is_some()) {
                let entries = std::mem::take(map);
                for (key, value) in entries {
                    let key = match cut(&key) {
                        Some(shorter) => {
                            count += 1;
                            shorter
                        }
                        None => key,
                    };
                    map.insert(key, value);
                }
            }
            count + map.values_mut().map(bound_texts).sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn texts_longer_than_sklad_keeps_are_cut_with_a_marker_keys_too() {
        let long = "я".repeat(MAX_TEXT_CHARS + 10);
        let mut value = serde_json::json!({"buyer": {"full_name": long.clone()}, "ok": "short",
            "list": [long.clone(), 5], long.clone(): 1});
        assert_eq!(bound_texts(&mut value), 3);
        let name = value["buyer"]["full_name"].as_str().unwrap();
        assert_eq!(
            name.chars().count(),
            MAX_TEXT_CHARS + CUT_MARKER.chars().count()
        );
        assert!(name.ends_with(CUT_MARKER));
        assert_eq!(value["ok"], "short");
        assert!(
            value
                .as_object()
                .unwrap()
                .keys()
                .all(|k| k.chars().count() < MAX_TEXT_CHARS + 20)
        );
    }

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
        assert_eq!(probe(r#"{"d": "abc"}"#).d, None, "junk is absent");
        assert_eq!(probe(r#"{"d": {"x": 1}}"#).d, None);
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
        assert_eq!(probe(r#"{"i": 4.5}"#).i, None, "junk is absent");
        assert_eq!(probe(r#"{"i": "x"}"#).i, None);
        assert_eq!(probe(r#"{"o": 5}"#).o, None);
        assert_eq!(
            probe(r#"{"l": [1, "x", 2]}"#).l,
            vec![1, 2],
            "unreadable items are left out"
        );
        assert_eq!(probe(r#"{"b": 1}"#).b, Some(true));
        assert_eq!(probe(r#"{"b": "false"}"#).b, Some(false));
        assert_eq!(probe(r#"{"s": 115}"#).s.as_deref(), Some("115"));
    }
}
