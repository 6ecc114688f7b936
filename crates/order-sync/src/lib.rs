//! order-sync: brings keyCRM orders into sklad.
//!
//! Five loops share one process:
//! - the consumer takes `KeycrmWebhookReceived` off `{ns}.order-sync`, records it in the inbox
//!   and queues the order for fetching (coalescing repeated events), then acks;
//! - the fetcher serves that queue within the account's keyCRM budget, one order at a time
//!   or in pages of 50 when many are waiting;
//! - the job runner pages through "Synchronize orders" jobs and catalogue imports, resumably,
//!   and queues the periodic catalogue refresh;
//! - the reconciler pulls orders updated since the last pass, so no change is missed even if
//!   keyCRM never delivered its webhook;
//! - the shipping loop tries orders waiting to ship (a line was short) again.
//!
//! The fetcher, the job runner and the reconciler write orders through [`upsert::apply`]: one transaction per order, never letting an
//! older keyCRM `updated_at` overwrite a newer one.

mod catalogue;
mod consumer;
mod context;
mod failures;
mod fetcher;
mod jobs;
mod metrics;
mod reconcile;
mod shipping;
pub mod upsert;

use std::sync::Arc;

use sklad_bus::topology::ORDER_SYNC;
use sklad_bus::{Broker, ConsumerService, Publisher};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use consumer::CONSUMER;
use context::Context;

/// A built worker, ready to run.
pub struct Worker {
    ctx: Arc<Context>,
    service: ConsumerService,
}

impl Worker {
    /// Builds the worker and binds its health/metrics server on `order_sync.bind`.
    pub fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = Db::new(&settings.database)?;
        Self::build_with(settings, db)
    }

    /// Builds on an existing pool (used by `sklad run` and tests).
    pub fn build_with(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        let broker = Broker::new(&settings.broker, "sklad-order-sync");
        let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
        let ctx = Arc::new(Context {
            keycrm: Clients::new(&settings.keycrm, db.clone(), secrets),
            publisher: Publisher::new(broker.clone()),
            settings: settings.order_sync.clone(),
            fetch_wanted: Notify::new(),
            catalogue_refresh: settings.catalogue.refresh_interval,
            db: db.clone(),
        });
        let service = ConsumerService::build(
            broker,
            ORDER_SYNC,
            Arc::new(consumer::WebhookHandler { ctx: ctx.clone() }),
            vec![Arc::new(db)],
            &settings.order_sync.bind,
        )?;
        Ok(Self { ctx, service })
    }

    /// The health/metrics port.
    pub fn port(&self) -> u16 {
        self.service.port()
    }

    /// Runs every loop until `cancel` fires, then lets each finish what it holds (in-flight
    /// messages ack, the current page or fetch completes) and closes.
    pub async fn run_until_stopped(self, cancel: CancellationToken) -> std::io::Result<()> {
        let ctx = self.ctx;
        let loops = async {
            tokio::join!(
                fetcher::run(ctx.clone(), cancel.clone()),
                jobs::run(ctx.clone(), cancel.clone()),
                reconcile::run(ctx.clone(), cancel.clone()),
                shipping::run(ctx.clone(), cancel.clone()),
            );
        };
        self.service.run(cancel.clone(), loops).await
    }
}
