//! The one shape of every list answer, and the paging every list takes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Largest page a list answers with.
pub const MAX_PER_PAGE: i64 = 200;
/// The last page number a list accepts (20 million items at the largest page size).
pub const MAX_PAGE: i64 = 100_000;

/// A page of a list: `data`, which page it is, its size and how many items match in all.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// This page's number, from 1.
    pub page: i64,
    /// Items per page asked for.
    pub per_page: i64,
    /// Items matching in all pages.
    pub total: i64,
}

impl<T> Page<T> {
    /// A page of `rows` (converted for the answer) out of `total`.
    pub fn of<R>(rows: Vec<R>, paging: (i64, i64), total: i64) -> Self
    where
        T: From<R>,
    {
        Self {
            data: rows.into_iter().map(T::from).collect(),
            page: paging.0,
            per_page: paging.1,
            total,
        }
    }

    /// A short list that is never paged (it always fits on one page).
    pub fn whole<R>(rows: Vec<R>) -> Self
    where
        T: From<R>,
    {
        let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        Self {
            data: rows.into_iter().map(T::from).collect(),
            page: 1,
            per_page: total.max(1),
            total,
        }
    }
}

/// Paging of list endpoints.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
pub struct Paging {
    /// Page number, from 1 (default 1) to 100 000.
    #[param(minimum = 1, maximum = 100000)]
    pub page: Option<i64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

impl Paging {
    /// (page, per page), checked.
    pub fn resolve(&self) -> Result<(i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&page) || !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(ApiError::validation(
                "page must be 1–100000 and per_page 1–200",
            ));
        }
        Ok((page, per_page))
    }
}

/// The longest search text a list takes (`q`).
pub const MAX_SEARCH: usize = 200;

/// A list's search text: `None` when blank, 422 when longer than [`MAX_SEARCH`].
pub fn search(q: Option<String>) -> Result<Option<String>, ApiError> {
    match q {
        Some(q) if q.chars().count() > MAX_SEARCH => Err(ApiError::validation(format!(
            "q is at most {MAX_SEARCH} characters"
        ))),
        Some(q) if q.trim().is_empty() => Ok(None),
        q => Ok(q),
    }
}
