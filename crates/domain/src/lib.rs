//! sklad's domain rules as pure functions.
//!
//! Services move data in and out; the decisions they make about that data live here so they
//! can be unit-tested without a database, a broker or keyCRM.

pub mod budget;
pub mod nomenclature;
pub mod orders;
pub mod secret;
pub mod stock;
pub mod webhook;
