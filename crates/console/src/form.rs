//! Posted forms: parsed into name/value pairs (so multi-selects keep every value) and
//! accepted only with the session's CSRF token.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use subtle::ConstantTimeEq;

use super::ConsoleError;
use super::session::Console;
use sklad_api::error::ApiError;
use sklad_app::versions::Expected;

/// Constant-time comparison of two tokens.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A form's fields in the order sent.
#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl From<Vec<(String, String)>> for FormData {
    fn from(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }
}

impl FormData {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`, blanks included (a multi-select; repeated rows, whose blanks
    /// keep the columns of a row together).
    /// Every field whose name starts with `prefix`, as (rest of the name, value).
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// The version (hidden field `name`) the page was shown at, for an edit's `If-Match`;
    /// a form without it matches no version, so it is shown again as it is now.
    pub fn version(&self, name: &str) -> Expected {
        Expected::OneOf(self.get(name).map(str::to_owned).into_iter().collect())
    }

    /// A checkbox: present means on.
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// Every value of `name` as keyCRM ids; a value that is not one is a 422.
    pub fn ids(&self, name: &str) -> Result<Vec<i64>, ApiError> {
        self.all(name)
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::validation(format!("{name}: {v} is not an id")))
            })
            .collect()
    }
}

/// A form posted by a signed-in browser with its session's CSRF token.
pub struct Posted {
    pub console: Console,
    pub form: FormData,
}

impl FromRequest for Posted {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let console = Console::from_request(req, &mut Payload::None);
        let form = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        let lang = super::session::language(req);
        Box::pin(async move {
            let console = console.await?;
            let form = form
                .await
                .map_err(|err| ApiError::bad_request(format!("unreadable form: {err}")))?
                .into_inner();
            let sent = form
                .iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            if !same_token(sent, &console.csrf) {
                return Err(ConsoleError::Csrf { lang });
            }
            if form
                .iter()
                .any(|(k, v)| k.contains('\0') || v.contains('\0'))
            {
                return Err(ApiError::validation("a field contains the NUL character").into());
            }
            Ok(Posted {
                console,
                form: FormData(form),
            })
        })
    }
}
