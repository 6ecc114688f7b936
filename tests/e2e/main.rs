//! End-to-end tests against real PostgreSQL and RabbitMQ (one database and one broker
//! namespace per test) and the keyCRM simulator.

mod api;
mod budget;
mod bus;
mod db;
mod ingress;
mod keycrm_client;
mod process;
