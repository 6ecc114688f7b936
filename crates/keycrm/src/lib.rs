//! The one way sklad talks to keyCRM.
//!
//! [`KeycrmClient`] reads keyCRM's loose data into typed [`models`], pages through lists,
//! retries 429/5xx/timeouts with backoff (honouring `Retry-After`) and takes every request
//! from the shared [`Budget`], so all of sklad's processes together stay under the key's
//! requests per minute, stock pushes first.

mod answer;
pub mod budget;
pub mod client;
pub mod clients;
pub mod error;
pub mod lenient;
pub mod metrics;
pub mod models;
mod pages;

pub use answer::{MAX_RETRY_AFTER, retry_after};
pub use budget::{Budget, BudgetKey};
pub use client::{
    Credentials, KeycrmClient, MAX_PAGE_SIZE, OrderDocument, OrderFilter, RetryPolicy, http_client,
};
pub use clients::{AccountClient, AccountError, Clients};
pub use error::KeycrmError;
pub use pages::PageOrder;
pub use sklad_domain::budget::Priority;
