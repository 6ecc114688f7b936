//! End-to-end tests against real PostgreSQL and RabbitMQ (one database and one broker
//! namespace per test) and the keyCRM simulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod budget;
mod bus;
mod cli;
mod cluster;
mod console;
mod console_day;
mod console_moving_in;
mod console_traps;
mod contract;
mod daily;
mod db;
mod drills;
mod ingress;
mod input;
mod keycrm_client;
mod layout;
mod moving_in;
mod order_stock;
mod orders;
mod orders_sync;
mod outages;
mod policies;
mod process;
mod production;
mod reservations;
mod reversals;
mod security;
mod stock;
mod stock_more;
mod upkeep;
mod versions;
