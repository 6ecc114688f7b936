//! Edits carry the version they were made from: reads answer it as an `ETag` (and a
//! `version` field), every read-modify-write edit requires it as `If-Match`, 428 without,
//! 412 when someone else changed the resource meanwhile (see [`sklad_app::versions`]).

use std::future::{Ready, ready};

use actix_web::http::header::{ETAG, IF_MATCH};
use actix_web::{FromRequest, HttpRequest, HttpResponseBuilder, dev::Payload};
use sklad_app::versions::{Expected, Stale};

use crate::ApiError;

/// The `If-Match` an edit must carry: `"<version>"` (or several), or `*` to overwrite
/// whatever is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Expected);

/// What the OpenAPI document says of the header.
pub const IF_MATCH_DOC: &str = "The `ETag` (or `version`) of the state this edit was made from, \
    quoted: `\"0f3a…\"`; `*` overwrites whatever is there. Missing: 428; someone else changed it \
    meanwhile: 412 `edited_meanwhile`, and nothing changes.";

impl IfMatch {
    /// Reads the header; `None` when it is missing.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        let value = value?.trim();
        if value == "*" {
            return Some(Self(Expected::Any));
        }
        // Weak tags never match an If-Match (RFC 9110 §13.1.1); they and junk match nothing.
        let versions = value
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.starts_with("W/"))
            .map(|tag| tag.trim_matches('"').to_owned())
            .filter(|tag| !tag.is_empty())
            .collect();
        Some(Self(Expected::OneOf(versions)))
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req.headers().get(IF_MATCH);
        // A header that is not text matches nothing (412), like a wrong version.
        let text = header.map(|h| h.to_str().unwrap_or("\"\""));
        ready(Self::parse(text).ok_or_else(required))
    }
}

fn required() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PRECONDITION_REQUIRED,
        "version_required",
        "send If-Match with the ETag of the state you edited (read it first), or * to \
         overwrite whatever is there",
    )
}

impl From<Stale> for ApiError {
    fn from(stale: Stale) -> Self {
        ApiError::new(
            actix_web::http::StatusCode::PRECONDITION_FAILED,
            "edited_meanwhile",
            stale.to_string(),
        )
        .with("current_version", stale.current)
    }
}

/// Adds `ETag: "<version>"` to an answer.
pub fn tagged(mut response: HttpResponseBuilder, version: &str) -> HttpResponseBuilder {
    response.insert_header((ETAG, format!("\"{version}\"")));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_reads_versions_star_and_nothing_else() {
        assert_eq!(IfMatch::parse(None), None);
        assert_eq!(IfMatch::parse(Some(" * ")), Some(IfMatch(Expected::Any)));
        assert_eq!(
            IfMatch::parse(Some("\"a1\", W/\"b2\", c3")),
            Some(IfMatch(Expected::OneOf(vec!["a1".into(), "c3".into()])))
        );
        assert_eq!(
            IfMatch::parse(Some("W/\"a1\"")),
            Some(IfMatch(Expected::OneOf(vec![])))
        );
    }
}
