//! stock-publisher: keeps keyCRM's stock equal to sklad's.
//!
//! - The consumer takes `StockMovementRecorded` off `{ns}.stock-publisher` and marks each
//!   changed (keyCRM warehouse, SKU) dirty, with an inbox row, then acks.
//! - The push loop ([`pusher`]) sends one `PUT /offers/stocks` per dirty keyCRM warehouse with
//!   the summed quantities, at stock-push priority in the shared keyCRM budget.
//!
//! Resync and reconcile (repairs the API and the CLI start) live in `sklad_app::maintenance`:
//! they only mark SKUs dirty, and this worker pushes them like any other change.

mod consumer;
mod context;
mod metrics;
pub mod pusher;

use std::sync::Arc;

use sklad_bus::topology::STOCK_PUBLISHER;
use sklad_bus::{Broker, ConsumerService};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use consumer::CONSUMER;
use context::Context;

/// A built worker.
pub struct Worker {
    ctx: Arc<Context>,
    service: ConsumerService,
}

impl Worker {
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Db::new(&settings.database)?)
    }

    /// Builds on an existing pool (used by `sklad run` and tests).
    pub fn build_with(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        let broker = Broker::new(&settings.broker, "sklad-stock-publisher");
        let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
        let ctx = Arc::new(Context {
            keycrm: Clients::new(&settings.keycrm, db.clone(), secrets),
            settings: settings.stock_publisher.clone(),
            push_wanted: Notify::new(),
            db: db.clone(),
        });
        let service = ConsumerService::build(
            broker,
            STOCK_PUBLISHER,
            Arc::new(consumer::MovementHandler { ctx: ctx.clone() }),
            vec![Arc::new(db)],
            &settings.stock_publisher.bind,
        )?;
        Ok(Self { ctx, service })
    }

    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// Runs until `cancel` fires; in-flight messages ack and pushes complete first.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> std::io::Result<()> {
        let pushes = pusher::run(self.ctx, cancel.clone());
        self.service.run(cancel, pushes).await
    }
}
