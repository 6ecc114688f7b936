//! The JSON body extractor of every handler: actix's, plus the one rule PostgreSQL adds.
//!
//! PostgreSQL refuses the NUL character in `text` and `jsonb`, so a body carrying one
//! (`"\u0000"` in any string or key) is answered 422 here, before any handler or query
//! runs, instead of failing deep inside a write.

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
            let value = value.await?.into_inner();
            if holds_nul(&value) {
                return Err(ApiError::validation("text must not contain the NUL character").into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")).into())
        })
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
}
