//! sklad's operations that more than one service performs.
//!
//! The API and the CLI are two doors to the same operations, and the workers run some of
//! them on their own; each lives here once, over the database ([`sklad_db`]), keyCRM
//! ([`sklad_keycrm`]) and the rules ([`sklad_domain`]). Nothing here speaks HTTP.

pub mod integration;
pub mod maintenance;
pub mod mapping;
pub mod movements;
pub mod production;
pub mod spreadsheets;
pub mod takeover;
pub mod versions;
