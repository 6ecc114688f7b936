//! The queue arguments an operator may change, kept in a RabbitMQ policy.
//!
//! A quorum queue's declared arguments are fixed for its life: declaring it again with
//! another delivery limit fails (PRECONDITION_FAILED), which would stop every process's
//! connect and make ingress answer 503. So the delivery limit lives in one policy per
//! namespace, set through RabbitMQ's management API by `sklad migrate` and changeable at any
//! time. Work queues an older sklad declared with `x-delivery-limit` are recreated without
//! it: their messages wait in a side queue meanwhile, and nothing is lost.

use lapin::options::{BasicAckOptions, BasicGetOptions, QueueBindOptions, QueueDeleteOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection};
use secrecy::{ExposeSecret, SecretString};
use sklad_runtime::settings::BrokerSettings;

use crate::publisher::publish_confirmed;
use crate::topology::{ALL_CONSUMERS, ConsumerSpec, Policy, Topology, queue_depth};
use crate::{BusError, PublishError};

/// The declaration argument older sklad versions set and policies now carry.
const LEGACY_ARGUMENT: &str = "x-delivery-limit";

/// What could not be done; each says what the operator can do about it.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the broker URL or the management URL cannot be read: {0}")]
    BadUrl(String),
    #[error(
        "RabbitMQ's management API at {url} did not answer ({reason}); enable the \
         rabbitmq_management plugin or set SKLAD__BROKER__MANAGEMENT_URL"
    )]
    Unreachable { url: String, reason: String },
    #[error("RabbitMQ's management API answered {status} to {what}: {body}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error(
        "queue {queue} was declared by an older sklad and still has {consumers} consumer(s); \
         stop order-sync and stock-publisher, run `sklad migrate` again, then start them"
    )]
    InUse { queue: String, consumers: u32 },
    #[error("moving a message to {queue}: {source}")]
    Move {
        queue: String,
        #[source]
        source: PublishError,
    },
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Amqp(#[from] lapin::Error),
}

/// RabbitMQ's management API, logged in as the AMQP URL's user, in its vhost.
pub struct Management {
    http: reqwest::Client,
    base: url::Url,
    user: String,
    password: SecretString,
    vhost: String,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Management")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("vhost", &self.vhost)
            .finish()
    }
}

impl Management {
    pub fn new(settings: &BrokerSettings) -> Result<Self, PolicyError> {
        sklad_runtime::install_crypto_provider();
        let first = crate::connection::node_urls(settings.url.expose_secret())
            .first()
            .copied()
            .unwrap_or_default();
        let amqp = url::Url::parse(first)
            .map_err(|_| PolicyError::BadUrl("SKLAD__BROKER__URL is not a URL".into()))?;
        let base = url::Url::parse(&settings.management_url)
            .map_err(|e| PolicyError::BadUrl(format!("SKLAD__BROKER__MANAGEMENT_URL: {e}")))?;
        if base.cannot_be_a_base() {
            return Err(PolicyError::BadUrl(
                "SKLAD__BROKER__MANAGEMENT_URL must be an http(s) URL".into(),
            ));
        }
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned()
        };
        let vhost = match amqp.path().strip_prefix('/').unwrap_or("") {
            "" => "/".to_owned(),
            path => decode(path),
        };
        let user = match amqp.username() {
            "" => "guest".to_owned(),
            user => decode(user),
        };
        let password = SecretString::from(decode(amqp.password().unwrap_or("guest")));
        let http = reqwest::Client::builder()
            .timeout(
                settings
                    .connect_timeout
                    .max(std::time::Duration::from_secs(5)),
            )
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PolicyError::BadUrl(e.to_string()))?;
        Ok(Self {
            http,
            base,
            user,
            password,
            vhost,
        })
    }

    /// `{base}/api/{kind}/{vhost}/{name}`, every segment escaped (the default vhost is `/`).
    fn url(&self, kind: &str, name: &str) -> url::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", kind, &self.vhost, name]);
        }
        url
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PolicyError> {
        request
            .basic_auth(&self.user, Some(self.password.expose_secret()))
            .send()
            .await
            .map_err(|e| PolicyError::Unreachable {
                url: self.base.to_string(),
                reason: format!("{what}: {}", e.without_url()),
            })
    }

    async fn refused(what: &str, response: reqwest::Response) -> PolicyError {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        PolicyError::Refused {
            what: what.to_owned(),
            status,
            body: body.chars().take(300).collect(),
        }
    }

    /// Sets (or replaces) a policy on queues.
    pub async fn put_policy(&self, policy: &Policy) -> Result<(), PolicyError> {
        let what = format!("setting policy {}", policy.name);
        let body = serde_json::json!({
            "pattern": policy.pattern,
            "definition": policy.definition(),
            "apply-to": "queues",
            // Above a catch-all policy an operator may have, so the limit reaches sklad's queues.
            "priority": 10,
        });
        let response = self
            .send(
                &what,
                self.http
                    .put(self.url("policies", &policy.name))
                    .json(&body),
            )
            .await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::refused(&what, response).await)
        }
    }

    /// Removes a policy (absent is fine).
    pub async fn delete_policy(&self, name: &str) -> Result<(), PolicyError> {
        let what = format!("deleting policy {name}");
        let response = self
            .send(&what, self.http.delete(self.url("policies", name)))
            .await?;
        if response.status().is_success() || response.status() == reqwest::StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(Self::refused(&what, response).await)
        }
    }

    /// A queue as the management API shows it (`None`: there is no such queue).
    pub async fn queue(&self, name: &str) -> Result<Option<QueueInfo>, PolicyError> {
        let what = format!("reading queue {name}");
        let response = self
            .send(&what, self.http.get(self.url("queues", name)))
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(Self::refused(&what, response).await);
        }
        let value: serde_json::Value = response.json().await.map_err(|e| PolicyError::Refused {
            what,
            status: 200,
            body: e.without_url().to_string(),
        })?;
        Ok(Some(QueueInfo::from_json(&value)))
    }
}

/// What sklad reads of a queue through the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// Declared `x-delivery-limit`, if an older sklad set it.
    pub declared_delivery_limit: Option<i64>,
    /// The delivery limit of the policy in force, if any.
    pub policy_delivery_limit: Option<i64>,
    /// The policy in force.
    pub policy: Option<String>,
}

impl QueueInfo {
    fn from_json(value: &serde_json::Value) -> Self {
        Self {
            declared_delivery_limit: value["arguments"][LEGACY_ARGUMENT].as_i64(),
            policy_delivery_limit: value["effective_policy_definition"]["delivery-limit"].as_i64(),
            policy: value["policy"].as_str().map(str::to_owned),
        }
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub policy: Policy,
    /// Queues recreated without their declared limit, with the messages moved back.
    pub recreated: Vec<(String, u64)>,
    /// Classic retry queues of an older sklad, deleted once empty.
    pub removed: Vec<String>,
    /// Classic retry queues still holding messages: they drain into their work queue by
    /// themselves; a later `sklad migrate` removes them.
    pub draining: Vec<(String, u32)>,
}

/// Sets this namespace's policy, then recreates every work queue an older sklad declared
/// with a delivery limit (or finishes a recreation that was cut short). Safe to repeat.
/// `connection` must come from [`crate::Broker::open`], which declares the retry queues.
pub async fn apply(
    topology: &Topology,
    connection: &Connection,
    management: &Management,
) -> Result<Applied, PolicyError> {
    let policy = topology.policy();
    management.put_policy(&policy).await?;
    let mut recreated = Vec::new();
    for spec in ALL_CONSUMERS {
        let queue = topology.queue(spec.name);
        let legacy = management
            .queue(&queue)
            .await?
            .is_some_and(|q| q.declared_delivery_limit.is_some());
        let unfinished = management
            .queue(&topology.migrating_queue(spec.name))
            .await?
            .is_some();
        if legacy || unfinished {
            let moved = recreate(topology, connection, spec, legacy).await?;
            tracing::info!(queue = %queue, moved, "recreated the queue without declared limits");
            recreated.push((queue, moved));
        }
    }
    let (mut removed, mut draining) = (Vec::new(), Vec::new());
    let channel = connection.create_channel().await?;
    for spec in ALL_CONSUMERS {
        for delay in topology.retry_delays_ms() {
            let legacy = topology.legacy_retry_queue(spec.name, *delay);
            if management.queue(&legacy).await?.is_none() {
                continue;
            }
            let depth = queue_depth(&channel, &legacy).await?;
            if depth.messages > 0 {
                draining.push((legacy, depth.messages));
                continue;
            }
            channel
                .queue_delete(
                    legacy.clone().into(),
                    QueueDeleteOptions {
                        if_empty: true,
                        ..Default::default()
                    },
                )
                .await?;
            removed.push(legacy);
        }
    }
    let _ = channel.close(200, "legacy queues checked".into()).await;
    Ok(Applied {
        policy,
        recreated,
        removed,
        draining,
    })
}

/// Holds new messages in a side queue, moves the old queue's messages there, declares the
/// queue anew and moves everything back; how many messages came back. A message published while both queues are bound
/// arrives twice (consumers are idempotent); none is lost.
async fn recreate(
    topology: &Topology,
    connection: &Connection,
    spec: &ConsumerSpec,
    legacy: bool,
) -> Result<u64, PolicyError> {
    let queue = topology.queue(spec.name);
    let side = topology.migrating_queue(spec.name);
    let channel = connection.create_channel().await?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await?;
    if legacy {
        ensure_unused(&channel, &queue).await?;
        channel
            .queue_declare(
                side.clone().into(),
                lapin::options::QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                topology.work_queue_args(spec.name),
            )
            .await?;
        rebind(topology, &channel, spec, &side, true).await?;
        rebind(topology, &channel, spec, &queue, false).await?;
        // Retries come back to the queue by name, so while it is briefly gone they wait in
        // the side queue too (they come back early rather than never).
        for delay in topology.retry_delays_ms() {
            let retry = topology.retry_queue_for_delay(spec.name, *delay);
            move_all(&channel, &retry, &side).await?;
        }
        move_all(&channel, &queue, &side).await?;
        // Quorum queues take no if-unused or if-empty on delete: check just before.
        ensure_unused(&channel, &queue).await?;
        channel
            .queue_delete(queue.clone().into(), QueueDeleteOptions::default())
            .await?;
    }
    let channel = topology.declare_consumer(connection, channel, spec).await?;
    rebind(topology, &channel, spec, &side, false).await?;
    let kept = move_all(&channel, &side, &queue).await?;
    if queue_depth(&channel, &side).await?.messages == 0 {
        channel
            .queue_delete(side.into(), QueueDeleteOptions::default())
            .await?;
    }
    let _ = channel.close(200, "queue recreated".into()).await;
    Ok(kept)
}

/// Refuses while a consumer (an older sklad, or a worker not yet stopped) reads the queue.
async fn ensure_unused(channel: &Channel, queue: &str) -> Result<(), PolicyError> {
    let depth = queue_depth(channel, queue).await?;
    if depth.consumers > 0 {
        return Err(PolicyError::InUse {
            queue: queue.to_owned(),
            consumers: depth.consumers,
        });
    }
    Ok(())
}

/// Binds (or unbinds) `queue` with the consumer's routing keys.
async fn rebind(
    topology: &Topology,
    channel: &Channel,
    spec: &ConsumerSpec,
    queue: &str,
    bind: bool,
) -> Result<(), lapin::Error> {
    for key in spec.bindings {
        if bind {
            channel
                .queue_bind(
                    queue.into(),
                    topology.events_exchange().into(),
                    ShortString::from(*key),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        } else {
            channel
                .queue_unbind(
                    queue.into(),
                    topology.events_exchange().into(),
                    ShortString::from(*key),
                    FieldTable::default(),
                )
                .await?;
        }
    }
    Ok(())
}

/// Moves every ready message of `from` to `to`: each is acked only once `to` confirmed it.
async fn move_all(channel: &Channel, from: &str, to: &str) -> Result<u64, PolicyError> {
    let mut moved = 0;
    while let Some(message) = channel
        .basic_get(from.into(), BasicGetOptions { no_ack: false })
        .await?
    {
        let delivery = message.delivery;
        publish_confirmed(
            channel,
            "",
            to,
            &delivery.data,
            delivery.properties.clone(),
            std::time::Duration::from_secs(10),
        )
        .await
        .map_err(|source| PolicyError::Move {
            queue: to.to_owned(),
            source,
        })?;
        channel
            .basic_ack(delivery.delivery_tag, BasicAckOptions::default())
            .await?;
        moved += 1;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, management: &str) -> BrokerSettings {
        BrokerSettings {
            url: url.into(),
            management_url: management.into(),
            ..BrokerSettings::default()
        }
    }

    #[test]
    fn the_management_api_is_reached_as_the_amqp_user_in_its_vhost() {
        let m = Management::new(&settings(
            "amqp://shop%40a:p%2Fw@rabbit:5672/%2f",
            "http://rabbit:15672",
        ))
        .unwrap();
        assert_eq!(m.user, "shop@a");
        assert_eq!(m.password.expose_secret(), "p/w");
        assert_eq!(m.vhost, "/");
        assert_eq!(
            m.url("policies", "sklad.work-queues").as_str(),
            "http://rabbit:15672/api/policies/%2F/sklad.work-queues"
        );
        let m = Management::new(&settings(
            "amqp://u:p@rabbit/shops",
            "https://rabbit.example/mgmt/",
        ))
        .unwrap();
        assert_eq!(m.vhost, "shops");
        assert_eq!(
            m.url("queues", "sklad.order-sync").as_str(),
            "https://rabbit.example/mgmt/api/queues/shops/sklad.order-sync"
        );
        let m = Management::new(&settings("amqp://rabbit", "http://rabbit:15672")).unwrap();
        assert_eq!((m.user.as_str(), m.vhost.as_str()), ("guest", "/"));
    }

    #[test]
    fn a_management_url_that_is_not_one_is_refused() {
        let err = Management::new(&settings("amqp://rabbit", "rabbit:15672")).unwrap_err();
        assert!(err.to_string().contains("MANAGEMENT_URL"), "{err}");
    }

    #[test]
    fn a_queue_shows_its_declared_and_its_policys_limit() {
        let info = QueueInfo::from_json(&serde_json::json!({
            "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 20},
            "policy": "sklad.work-queues",
            "effective_policy_definition": {"delivery-limit": 5},
        }));
        assert_eq!(info.declared_delivery_limit, Some(20));
        assert_eq!(info.policy_delivery_limit, Some(5));
        assert_eq!(info.policy.as_deref(), Some("sklad.work-queues"));
        let info = QueueInfo::from_json(&serde_json::json!({"arguments": {}}));
        assert_eq!(info.declared_delivery_limit, None);
        assert_eq!(info.policy, None);
    }
}
