//! Connections to RabbitMQ and the shared confirm-mode publishing channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use lapin::options::{ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use secrecy::ExposeSecret;
use sklad_runtime::health::ReadinessCheck;
use sklad_runtime::settings::BrokerSettings;
use tokio::sync::Mutex;

use crate::BusError;
use crate::topology::Topology;

/// After a failed connection attempt, publishes fail fast for this long instead of each
/// waiting out its own connection timeout.
const FAIL_FAST: Duration = Duration::from_millis(500);

/// A process's handle on the broker.
///
/// Publishing shares one connection and one confirm-mode channel (lapin pipelines many
/// outstanding publishes on it). Consumers open connections of their own with
/// [`Broker::open`], as RabbitMQ recommends, so flow control on publishers never stalls them.
///
/// `broker.url` may name several nodes of a RabbitMQ cluster, comma-separated: a connection
/// tries them in turn, starting with the one that worked last, so a process reconnects to a
/// surviving node when its node stops.
pub struct Broker {
    settings: BrokerSettings,
    topology: Topology,
    app_id: String,
    shared: Mutex<Shared>,
    /// The node to try first.
    preferred: AtomicUsize,
}

#[derive(Default)]
struct Shared {
    link: Option<(Connection, Channel)>,
    failed_at: Option<Instant>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("namespace", &self.topology.namespace())
            .field("app_id", &self.app_id)
            .finish()
    }
}

impl Broker {
    /// `app_id` names the process in AMQP properties and connection names (e.g. `sklad-ingress`).
    pub fn new(settings: &BrokerSettings, app_id: &str) -> Arc<Self> {
        Arc::new(Self {
            settings: settings.clone(),
            topology: Topology::new(settings),
            app_id: app_id.to_owned(),
            shared: Mutex::new(Shared::default()),
            preferred: AtomicUsize::new(0),
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    pub fn settings(&self) -> &BrokerSettings {
        &self.settings
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    fn connect_timeout(&self) -> Duration {
        self.settings.connect_timeout
    }

    /// Opens a new connection (each node tried within the connect timeout) and declares the
    /// whole topology on it, so nothing published afterwards is unroutable for lack of a
    /// queue.
    pub async fn open(&self, purpose: &str) -> Result<Connection, BusError> {
        let timeout = self.connect_timeout();
        let name = format!("{} {purpose}", self.app_id);
        let urls = node_urls(self.settings.url.expose_secret());
        let first = self.preferred.load(Ordering::Relaxed);
        let mut failure = BusError::Connect("broker.url names no node".into());
        for step in 0..urls.len() {
            let node = (first + step) % urls.len();
            let connect = async {
                let connection = Connection::connect(
                    urls[node],
                    ConnectionProperties::default().with_connection_name(name.clone().into()),
                )
                .await
                .map_err(|e| BusError::Connect(e.to_string()))?;
                self.topology.declare_all(&connection).await?;
                Ok::<_, BusError>(connection)
            };
            match tokio::time::timeout(timeout, connect).await {
                Ok(Ok(connection)) => {
                    if step > 0 {
                        crate::metrics::FAILOVERS.inc();
                    }
                    self.preferred.store(node, Ordering::Relaxed);
                    return Ok(connection);
                }
                Ok(Err(err)) => failure = err,
                Err(_) => failure = BusError::Timeout(timeout),
            }
            if urls.len() > 1 {
                tracing::warn!(node, error = %failure, "a broker node is unreachable; trying the next");
            }
        }
        Err(failure)
    }

    /// The shared publishing channel, in confirm mode; reconnects when it is gone.
    pub async fn publish_channel(&self) -> Result<Channel, BusError> {
        let mut shared = self.shared.lock().await;
        if let Some((connection, channel)) = &shared.link
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        if let Some(failed_at) = shared.failed_at
            && failed_at.elapsed() < FAIL_FAST
        {
            return Err(BusError::Connect(
                "broker was unreachable a moment ago".into(),
            ));
        }
        if let Some((connection, _)) = shared.link.take() {
            close_quietly(connection);
        }
        let linked = async {
            let connection = self.open("publisher").await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            Ok::<_, BusError>((connection, channel))
        }
        .await;
        match linked {
            Ok((connection, channel)) => {
                shared.failed_at = None;
                shared.link = Some((connection, channel.clone()));
                Ok(channel)
            }
            Err(err) => {
                shared.failed_at = Some(Instant::now());
                Err(err)
            }
        }
    }

    /// Drops the shared connection after a failure (e.g. a confirm that never came), so the
    /// next publish starts from a fresh one.
    pub async fn reset(&self) {
        if let Some((connection, _)) = self.shared.lock().await.link.take() {
            close_quietly(connection);
        }
    }

    /// Proves the broker answers: a live channel plus a passive declare of the events exchange.
    pub async fn ping(&self) -> Result<(), BusError> {
        let timeout = self.connect_timeout();
        let probe = async {
            let channel = self.publish_channel().await?;
            let probe = channel.clone();
            let outcome = probe
                .exchange_declare(
                    self.topology.events_exchange().into(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        passive: true,
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await;
            if outcome.is_err() {
                self.reset().await;
            }
            outcome.map_err(BusError::from)
        };
        tokio::time::timeout(timeout, probe)
            .await
            .map_err(|_| BusError::Timeout(timeout))?
    }

    /// The depth of every consumer's work and parking queue, on a connection of its own.
    pub async fn queue_depths(&self) -> Result<Vec<crate::topology::QueueDepth>, BusError> {
        let connection = self.open("status").await?;
        let channel = connection.create_channel().await?;
        let mut depths = Vec::new();
        for spec in crate::topology::ALL_CONSUMERS {
            for queue in [
                self.topology.queue(spec.name),
                self.topology.parking_queue(spec.name),
            ] {
                depths.push(crate::topology::queue_depth(&channel, &queue).await?);
            }
        }
        let _ = connection.close(200, "status done".into()).await;
        Ok(depths)
    }

    /// Closes the shared connection (graceful shutdown).
    pub async fn close(&self) {
        if let Some((connection, _)) = self.shared.lock().await.link.take() {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                connection.close(200, "shutting down".into()),
            )
            .await;
        }
    }
}

/// Closes a connection in the background without waiting on a broker that may be gone.
fn close_quietly(connection: Connection) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            connection.close(320, "replaced".into()),
        )
        .await;
    });
}

/// Readiness check for services that publish.
pub struct BrokerReadiness(pub Arc<Broker>);

impl ReadinessCheck for BrokerReadiness {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.0.ping().await.map_err(|e| e.to_string()) })
    }
}

/// The nodes `broker.url` names: one AMQP URL, or several separated by commas (a comma in a
/// password is written `%2C`).
pub fn node_urls(urls: &str) -> Vec<&str> {
    urls.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::node_urls;

    #[test]
    fn a_cluster_is_named_node_by_node() {
        assert_eq!(
            node_urls("amqp://u:p@a:5672/%2f, amqp://u:p@b:5673/%2f,"),
            ["amqp://u:p@a:5672/%2f", "amqp://u:p@b:5673/%2f"]
        );
        assert_eq!(node_urls("amqp://u:p%2Cq@a/%2f"), ["amqp://u:p%2Cq@a/%2f"]);
    }
}
