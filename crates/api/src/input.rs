//! What the API accepts, each rule written once: an input type's JSON Schema and its check
//! come from the same constants, so the served document and the server cannot disagree.
//! The contract test (schemathesis) holds them to that: a value the schema allows must be
//! taken, a value it forbids refused.
//!
//! Patterns are read by JSON Schema validators in two dialects (ECMA-262 and Python's
//! `re`), so they use only what both read the same way: character classes with `\uXXXX`
//! escapes, `{m,n}`, alternation. Python lets `$` match before one trailing newline; the
//! amount check allows that newline too, so both dialects agree with the server.

use std::borrow::Cow;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// Unicode `White_Space`: exactly what `char::is_whitespace` and `str::trim` see.
const WHITE_SPACE: &[(char, char)] = &[
    ('\u{9}', '\u{d}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// Any text without NUL (PostgreSQL stores no NUL in `text` or `jsonb`).
pub const NO_NUL: &str = r"^[^\u0000]*$";

fn escape(c: char) -> String {
    format!("\\u{:04x}", u32::from(c))
}

/// A regex character-class body of [`WHITE_SPACE`].
fn white_space_class() -> String {
    WHITE_SPACE
        .iter()
        .map(|(from, to)| {
            if from == to {
                escape(*from)
            } else {
                format!("{}-{}", escape(*from), escape(*to))
            }
        })
        .collect()
}

/// Text without NUL holding at least one character that is not white space.
pub fn not_blank_pattern() -> String {
    let spaces = white_space_class();
    format!(r"^[^\u0000]*[^\u0000{spaces}][^\u0000]*$")
}

/// An API key as pasted: visible ASCII (it travels in an HTTP header), with white space
/// allowed only around it.
pub fn api_key_pattern() -> String {
    let spaces = white_space_class();
    format!(r"^[{spaces}]*[\u0021-\u007e]+[{spaces}]*$")
}

/// Why a text is refused, if it is.
fn text_problem(value: &str, max: usize, blank_ok: bool) -> Option<String> {
    if value.contains('\0') {
        return Some("must not contain the NUL character".into());
    }
    if !blank_ok && value.chars().all(char::is_whitespace) {
        return Some("must not be empty or blank".into());
    }
    if value.chars().count() > max {
        return Some(format!("must be at most {max} characters"));
    }
    None
}

fn text_schema(max: usize, blank_ok: bool, description: &str) -> Schema {
    let mut builder = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(max))
        .description(Some(description));
    builder = if blank_ok {
        builder.pattern(Some(NO_NUL))
    } else {
        builder
            .min_length(Some(1))
            .pattern(Some(not_blank_pattern()))
    };
    builder.into()
}

/// A text input: `$name(String)` of at most `max` characters, never NUL, and unless
/// `blank_ok` never blank (such texts are stored trimmed). `$doc` is both the rustdoc and
/// the schema's description.
macro_rules! text_input {
    ($doc:literal $name:ident, max = $max:expr, blank_ok = $blank_ok:expr, field = $field:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                if let Some(problem) = text_problem(&value, $max, $blank_ok) {
                    return Err(de::Error::custom(format!("{} {problem}", $field)));
                }
                Ok(Self(if $blank_ok {
                    value
                } else {
                    value.trim().to_owned()
                }))
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(text_schema($max, $blank_ok, $doc))
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

text_input!("A name: 1–200 characters, not blank (stored trimmed)."
    Name, max = 200, blank_ok = false, field = "name");
text_input!("A SKU, unique per account: 1–200 characters, not blank (stored trimmed)."
    Sku, max = 200, blank_ok = false, field = "sku");
text_input!("A unit of measure, e.g. `pcs`: at most 50 characters."
    Unit, max = 50, blank_ok = true, field = "unit");
text_input!("A barcode as printed (EAN, UPC, own codes): at most 100 characters; empty clears it."
    Barcode, max = 100, blank_ok = true, field = "barcode");
text_input!("A note: at most 2000 characters."
    Note, max = 2000, blank_ok = true, field = "note");
text_input!("A key chosen by the client that makes the request safe to repeat: 1–200 characters, not blank."
    IdempotencyKey, max = 200, blank_ok = false, field = "idempotency_key");
text_input!("A property's name, e.g. `Colour`: 1–200 characters, not blank (stored trimmed)."
    PropertyName, max = 200, blank_ok = false, field = "property name");
text_input!("A property's value, e.g. `white`: at most 1000 characters."
    PropertyValue, max = 1000, blank_ok = true, field = "property value");

/// Reads `T` from a JSON object only. serde also builds a struct from an array of its
/// field values (`["a", 1]`), which no schema here allows; nested structs of a body read
/// through this (`#[serde(deserialize_with = "input::objects")]`), the body itself is
/// checked by [`crate::json::Json`].
pub fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let map = Map::<String, Value>::deserialize(d)?;
    T::deserialize(Value::Object(map)).map_err(de::Error::custom)
}

/// [`object`] for each item of a list.
pub fn objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    Vec::<Map<String, Value>>::deserialize(d)?
        .into_iter()
        .map(|map| T::deserialize(Value::Object(map)).map_err(de::Error::custom))
        .collect()
}

/// [`objects`] for a list that may be absent or `null` (with `#[serde(default)]`).
pub fn some_objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Vec<Map<String, Value>>>::deserialize(d)?
        .map(|maps| {
            maps.into_iter()
                .map(|map| T::deserialize(Value::Object(map)).map_err(de::Error::custom))
                .collect()
        })
        .transpose()
}

/// The largest whole part an amount may have: every amount column is `numeric(18, 4)`.
const MAX_WHOLE: i64 = 99_999_999_999_999;

/// Zero or more, at most 14 digits before the point and 4 after.
const NON_NEGATIVE: &str = r"^(0|[1-9][0-9]{0,13})(\.[0-9]{1,4})?$";
/// The same, above zero (a pattern cannot compare, so it spells out the non-zero forms).
const POSITIVE: &str = r"^([1-9][0-9]{0,13}(\.[0-9]{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$";

/// Reads `text` as an amount written the way [`NON_NEGATIVE`] allows.
fn parse_amount(text: &str) -> Option<Decimal> {
    // Python's `$` also matches before one final newline (see the module docs).
    let text = text.strip_suffix('\n').unwrap_or(text);
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = digits(whole) && whole.len() <= 14 && (whole == "0" || !whole.starts_with('0'));
    let fraction_ok = fraction.is_none_or(|f| digits(f) && f.len() <= 4);
    if !(whole_ok && fraction_ok) {
        return None;
    }
    text.parse().ok()
}

fn amount_schema(positive: bool, description: &str) -> Schema {
    let minimum = if positive { 1 } else { 0 };
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(if positive { POSITIVE } else { NON_NEGATIVE })),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(minimum))
                .maximum(Some(MAX_WHOLE)),
        )
        .description(Some(description))
        .into()
}

/// An amount input: a decimal string (`"2.5"`) or a whole JSON number, with at most 14
/// digits before the point and 4 after; `positive` ones are above zero, the others zero or
/// more.
macro_rules! amount_input {
    ($doc:literal $name:ident, positive = $positive:expr, field = $field:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(Decimal);

        impl $name {
            pub fn get(self) -> Decimal {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer
                    .deserialize_any(AmountVisitor {
                        positive: $positive,
                        field: $field,
                    })
                    .map(Self)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(amount_schema($positive, $doc))
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

amount_input!("How many, above zero: a decimal string (`\"2.5\"`, at most 4 places) or a whole number."
    Quantity, positive = true, field = "quantity");
amount_input!("A counted quantity, zero or more: a decimal string (`\"2.5\"`, at most 4 places) or a whole number."
    Counted, positive = false, field = "quantity");
amount_input!("Safety stock kept back from keyCRM, zero or more: a decimal string (`\"2.5\"`, at most 4 places) or a whole number."
    Buffer, positive = false, field = "push_buffer");
amount_input!("A price, zero or more: a decimal string (`\"12.50\"`, at most 4 places) or a whole number."
    Price, positive = false, field = "price");

struct AmountVisitor {
    positive: bool,
    field: &'static str,
}

impl AmountVisitor {
    fn checked<E: de::Error>(&self, amount: Option<Decimal>) -> Result<Decimal, E> {
        let above_floor = |amount: Decimal| {
            if self.positive {
                amount > Decimal::ZERO
            } else {
                amount >= Decimal::ZERO
            }
        };
        match amount {
            Some(amount) if above_floor(amount) && amount <= Decimal::from(MAX_WHOLE) => Ok(amount),
            _ => Err(E::custom(format!(
                "{} must be {} with at most 14 digits before the point and 4 after: a string like \"2.5\" or a whole number",
                self.field,
                if self.positive {
                    "above zero"
                } else {
                    "zero or more"
                }
            ))),
        }
    }
}

impl Visitor<'_> for AmountVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a decimal string or a whole number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
        self.checked(parse_amount(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
        self.checked(Some(Decimal::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
        self.checked(i64::try_from(v).ok().map(Decimal::from))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
        // JSON Schema counts 8.0 as an integer; a fraction is refused (money as a float).
        let whole = (v.fract() == 0.0 && v.abs() <= MAX_WHOLE as f64).then_some(v as i64);
        self.checked(whole.map(Decimal::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_is_what_rust_trims() {
        for c in (0..=0x10ffff_u32).filter_map(char::from_u32) {
            let listed = WHITE_SPACE
                .iter()
                .any(|(from, to)| (*from..=*to).contains(&c));
            assert_eq!(listed, c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn amounts_read_as_their_patterns_say() {
        for (text, ok) in [
            ("0", true),
            ("2.5", true),
            ("12345678901234.1234", true),
            ("123456789012345", false),
            ("1.23456", false),
            ("01", false),
            (".5", false),
            ("5.", false),
            ("-1", false),
            ("1e3", false),
            ("1_000", false),
            (" 1", false),
            ("1\n", true),
        ] {
            assert_eq!(parse_amount(text).is_some(), ok, "{text:?}");
        }
        // Numbers follow the same floors (zero or more, or above zero); fractions come as strings.
        for (number, counted, quantity) in [
            (serde_json::json!(-1), false, false),
            (serde_json::json!(0), true, false),
            (serde_json::json!(2), true, true),
            (serde_json::json!(0.5), false, false),
        ] {
            assert_eq!(
                serde_json::from_value::<Counted>(number.clone()).is_ok(),
                counted,
                "{number}"
            );
            assert_eq!(
                serde_json::from_value::<Quantity>(number.clone()).is_ok(),
                quantity,
                "{number}"
            );
        }
    }

    /// Every string of up to 7 characters from `0`, `1`, `5`, `.` and `-`, and a few longer.
    fn amount_texts() -> Vec<String> {
        let mut texts = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..7 {
            texts = texts
                .iter()
                .flat_map(|t| ["0", "1", "5", ".", "-"].map(|c| format!("{t}{c}")))
                .collect();
            all.extend(texts.iter().cloned());
        }
        all.extend(
            [
                "99999999999999.9999",
                "100000000000000",
                "0.0001",
                "0.00001",
            ]
            .map(String::from),
        );
        all
    }

    #[test]
    fn amount_patterns_and_the_check_agree() {
        let non_negative = regex::Regex::new(NON_NEGATIVE).unwrap();
        let positive = regex::Regex::new(POSITIVE).unwrap();
        for text in amount_texts() {
            let parsed = parse_amount(&text);
            assert_eq!(non_negative.is_match(&text), parsed.is_some(), "{text:?}");
            assert_eq!(
                positive.is_match(&text),
                parsed.is_some_and(|d| d > Decimal::ZERO),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_not_blank_pattern_and_the_check_agree() {
        let pattern = regex::Regex::new(&not_blank_pattern()).unwrap();
        let samples = (0..0x3100_u32)
            .filter_map(char::from_u32)
            .flat_map(|c| [c.to_string(), format!(" {c} "), format!("a{c}")]);
        for text in samples {
            assert_eq!(
                pattern.is_match(&text),
                text_problem(&text, 10, false).is_none(),
                "{text:?}"
            );
        }
        let no_nul = regex::Regex::new(NO_NUL).unwrap();
        assert!(no_nul.is_match("a b") && !no_nul.is_match("a\u{0}"));
    }

    #[test]
    fn texts_follow_their_rules() {
        assert!(text_problem("a\u{0}b", 10, true).is_some());
        assert!(text_problem(" \u{3000} ", 10, false).is_some());
        assert!(text_problem("\u{1c}", 10, false).is_none());
        assert!(text_problem("abc", 2, true).is_some());
        assert!(text_problem("", 2, true).is_none());
    }
}
