//! The JSON body extractor of every handler: actix's, read the way JSON Schema reads JSON.
//!
//! - Malformed JSON is 400; JSON of the wrong shape (not an object, say) or breaking a
//!   field's rule is 422.
//! - A number with a zero fraction (`3.0`) is the integer JSON Schema says it is.
//! - PostgreSQL refuses the NUL character in `text` and `jsonb`, so a body carrying one
//!   (`"\u0000"` in any string or key) is answered 422 here, before any handler or query
//!   runs, instead of failing deep inside a write.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A JSON body of `T` whose text holds no NUL character.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix reads and parses (size limit, content type, syntax) with the app's
        // `JsonConfig`, whose error handler already answers in sklad's error body.
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = value.await?.into_inner();
            // Every body of this API is an object (serde would also read a struct from an
            // array of its field values).
            if !value.is_object() {
                return Err(ApiError::validation("the body must be a JSON object").into());
            }
            if holds_nul(&value) {
                return Err(ApiError::validation("text must not contain the NUL character").into());
            }
            whole_numbers_as_integers(&mut value);
            serde_path_to_error::deserialize(value)
                .map(Json)
                .map_err(|e| ApiError::invalid_body(e).into())
        })
    }
}

/// Turns every number with a zero fraction that fits `i64` (`3.0`, `1e2`) into that
/// integer: JSON Schema's `integer` includes them, serde's `i64` does not.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) => {
            if let Some(f) = number.as_f64().filter(|_| number.is_f64())
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *number = serde_json::Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Whether any string or key in `value` contains U+0000.
pub fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_wherever_it_hides() {
        assert!(holds_nul(&json!("a\u{0}b")));
        assert!(holds_nul(&json!({"k": [1, {"x": "\u{0}"}]})));
        assert!(holds_nul(&json!({"k\u{0}": 1})));
        assert!(!holds_nul(&json!({"k": ["a", 1, null, "\\u0000"]})));
    }

    #[test]
    fn whole_numbers_become_integers() {
        let mut value = json!({"a": 3.0, "b": [2.5, 1e2], "c": 1e300});
        whole_numbers_as_integers(&mut value);
        assert_eq!(value, json!({"a": 3, "b": [2.5, 100], "c": 1e300}));
    }
}
