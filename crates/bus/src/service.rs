//! The frame every consuming worker shares: a consumer, its broker handle, and the health
//! and metrics server, run and stopped together with the worker's own loops.

use std::sync::Arc;

use sklad_runtime::health::{OpsServer, Readiness, ReadinessCheck, ops_server};
use tokio_util::sync::CancellationToken;

use crate::connection::Broker;
use crate::consumer::{ConsumerRunner, Handler};
use crate::topology::ConsumerSpec;

/// A consumer with its ops server. Readiness = the given checks plus the live subscription.
pub struct ConsumerService {
    consumer: ConsumerRunner,
    broker: Arc<Broker>,
    ops: OpsServer,
}

impl ConsumerService {
    /// Builds the consumer of `spec` and binds the ops server on `bind` (port 0 picks one).
    pub fn build(
        broker: Arc<Broker>,
        spec: ConsumerSpec,
        handler: Arc<dyn Handler>,
        mut checks: Vec<Arc<dyn ReadinessCheck>>,
        bind: &str,
    ) -> std::io::Result<Self> {
        let consumer = ConsumerRunner::new(broker.clone(), spec, handler);
        checks.push(Arc::new(consumer.readiness()));
        let ops = ops_server(bind, Readiness::new(checks))?;
        Ok(Self {
            consumer,
            broker,
            ops,
        })
    }

    /// The ops server's port.
    pub fn port(&self) -> u16 {
        self.ops.port
    }

    /// Runs the consumer and `loops` until `cancel` fires and both finished their in-flight
    /// work, then closes the broker connection and the ops server.
    pub async fn run(
        self,
        cancel: CancellationToken,
        loops: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let ops = tokio::spawn(sklad_runtime::serve_until_cancelled(
            self.ops.server,
            cancel.clone(),
        ));
        tokio::join!(self.consumer.run(cancel.clone()), loops);
        self.broker.close().await;
        ops.await.unwrap_or(Ok(()))
    }
}
