//! A private namespace of exchanges and queues on the real RabbitMQ.

use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::{Channel, Connection, ConnectionProperties};
use sklad_bus::Topology;

/// Broker URL for tests; override with `SKLAD_TEST_AMQP_URL`.
pub fn amqp_url() -> String {
    std::env::var("SKLAD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// A unique namespace (`t<random>`) whose exchanges, queues and policy are deleted on drop.
/// Queues also carry `x-expires`, so a test killed mid-run leaves no queue behind for long.
pub struct TestBroker {
    pub url: String,
    pub namespace: String,
}

impl Default for TestBroker {
    fn default() -> Self {
        Self::new()
    }
}

impl TestBroker {
    pub fn new() -> Self {
        Self {
            url: amqp_url(),
            namespace: format!("t{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The topology these tests' services declare.
    pub fn topology(&self) -> Topology {
        Topology::new(&crate::test_settings("postgres://unused", self).broker)
    }

    /// A fresh connection and channel for the test's own checks.
    pub async fn channel(&self) -> anyhow::Result<(Connection, Channel)> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        Ok((connection, channel))
    }

    /// Takes every message currently in `queue` (acking them).
    pub async fn drain(&self, queue: &str) -> anyhow::Result<Vec<lapin::message::Delivery>> {
        let (connection, channel) = self.channel().await?;
        let mut out = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await?
        {
            out.push(message.delivery);
        }
        let _ = connection.close(200, "drained".into()).await;
        Ok(out)
    }

    /// Messages waiting in `queue` (without taking them).
    pub async fn depth(&self, queue: &str) -> anyhow::Result<u32> {
        let (connection, channel) = self.channel().await?;
        let q = channel
            .queue_declare(
                queue.into(),
                lapin::options::QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                lapin::types::FieldTable::default(),
            )
            .await?;
        let _ = connection.close(200, "depth".into()).await;
        Ok(q.message_count())
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        let url = self.url.clone();
        let topology = self.topology();
        let settings = crate::test_settings("postgres://unused", self).broker;
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                // A test that ran `sklad migrate` left this namespace's policy behind.
                if let Ok(management) = sklad_bus::policies::Management::new(&settings) {
                    let _ = management.delete_policy(&topology.policy().name).await;
                }
                let connection = tokio::time::timeout(
                    Duration::from_secs(5),
                    Connection::connect(&url, ConnectionProperties::default()),
                )
                .await??;
                let channel = connection.create_channel().await?;
                topology.delete_all(&channel).await?;
                let _ = connection.close(200, "cleaned up".into()).await;
                anyhow::Ok(())
            })
        })
        .join();
    }
}
