//! The delivery limit lives in a RabbitMQ policy that `sklad migrate` sets, so an operator
//! can change it on a running installation (issue 19.4), and queues an older sklad declared
//! with the limit are recreated without losing a message.

use std::time::Duration;

use lapin::options::{
    BasicConsumeOptions, BasicGetOptions, BasicNackOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use sklad_bus::policies::{Management, QueueInfo};
use sklad_runtime::Settings;
use sklad_tests::{TestApp, TestBroker, eventually, fixture};
use tokio_util::sync::CancellationToken;

use crate::cli::sklad;

/// Starts an ingress process of its own with `settings`; its webhook URL for the account.
async fn ingress(app: &TestApp, settings: &Settings, cancel: &CancellationToken) -> String {
    let ingress = sklad_ingress::Application::build(settings).unwrap();
    let port = ingress.port();
    tokio::spawn(ingress.run_until_stopped(cancel.child_token()));
    let path = app
        .account
        .webhook_url
        .split_once("/webhooks/")
        .map(|(_, tail)| tail.to_owned())
        .unwrap();
    format!("http://127.0.0.1:{port}/webhooks/{path}")
}

/// `sklad migrate` on `broker`'s namespace with the delivery limit `limit`; its output.
async fn migrate(app: &TestApp, broker: &TestBroker, limit: u32) -> String {
    let (ok, stdout, stderr) = try_migrate(app, broker, limit).await;
    assert!(ok, "sklad migrate failed: {stdout}{stderr}");
    stdout
}

/// `sklad migrate`: whether it succeeded, its standard output and its error output.
async fn try_migrate(app: &TestApp, broker: &TestBroker, limit: u32) -> (bool, String, String) {
    let limit = limit.to_string();
    let env = sklad_tests::process_env(
        app,
        &[
            ("SKLAD__BROKER__DELIVERY_LIMIT", &limit),
            ("SKLAD__BROKER__NAMESPACE", &broker.namespace),
        ],
    );
    let out = sklad(&env, &["migrate"]).output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Declares the order-sync queue as sklad did before policies: `x-delivery-limit` among
/// its arguments, one message waiting.
async fn declare_as_an_older_sklad(app: &TestApp, broker: &TestBroker) {
    let topology = broker.topology();
    let (connection, channel) = broker.channel().await.unwrap();
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    channel
        .exchange_declare(
            topology.events_exchange().into(),
            lapin::ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .exchange_declare(
            topology.dead_letter_exchange("order-sync").into(),
            lapin::ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(topology.dead_letter_exchange("order-sync").into()),
    );
    args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(20));
    let expires = app.settings.broker.queue_expires.unwrap().as_millis();
    args.insert(
        "x-expires".into(),
        AMQPValue::LongLongInt(i64::try_from(expires).unwrap()),
    );
    let queue = topology.queue("order-sync");
    channel
        .queue_declare(
            queue.clone().into(),
            QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            args,
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.into(),
            topology.events_exchange().into(),
            "keycrm.webhook.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let _ = connection.close(200, "declared".into()).await;
}

/// Waits until the management API shows `queue` as `expected` (its statistics, which carry
/// the policy in force, are refreshed every few seconds).
async fn settled(management: &Management, queue: &str, expected: &QueueInfo) {
    let mut last = None;
    let shown = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let info = management.queue(queue).await.unwrap();
            if info.as_ref() == Some(expected) {
                return;
            }
            last = info;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(shown.is_ok(), "{queue} shows {last:?}, not {expected:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_limit_is_a_policy_so_changing_it_never_stops_ingress() {
    let app = TestApp::spawn().await;
    // A namespace of its own, which none of the app's services has declared yet.
    let broker = TestBroker::new();
    let mut settings = app.settings.clone();
    settings.broker.namespace = broker.namespace.clone();
    let topology = broker.topology();
    let queue = topology.queue("order-sync");
    let management = Management::new(&settings.broker).unwrap();
    let cancel = CancellationToken::new();
    let body = fixture("webhook-order-change_order_status.A.json");

    // An installation an older sklad declared: ingress still takes webhooks on it.
    declare_as_an_older_sklad(&app, &broker).await;
    let link = ingress(&app, &settings, &cancel).await;
    assert_eq!(app.post_webhook(&link, body.clone()).await.status(), 202);
    assert_eq!(broker.depth(&queue).await.unwrap(), 1);
    let before = management.queue(&queue).await.unwrap().unwrap();
    assert_eq!(before.declared_delivery_limit, Some(20));

    // While a worker still reads the old queue, `sklad migrate` refuses and says what to do;
    // the message stays.
    let (connection, channel) = broker.channel().await.unwrap();
    channel
        .basic_consume(
            queue.clone().into(),
            "an older order-sync".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let (ok, _, stderr) = try_migrate(&app, &broker, 3).await;
    assert!(!ok, "migrate went ahead under a running consumer");
    assert!(
        stderr.contains("still has 1 consumer(s); stop order-sync and stock-publisher"),
        "{stderr}"
    );
    connection.close(200, "stopped".into()).await.unwrap();
    eventually(
        Duration::from_secs(10),
        "the message is ready again",
        || async { (broker.depth(&queue).await.unwrap() == 1).then_some(()) },
    )
    .await;

    // With the workers stopped, `sklad migrate` sets the policy and recreates the queue
    // without its declared limit, keeping the waiting message.
    let out = migrate(&app, &broker, 3).await;
    assert!(
        out.contains(&format!("recreated queue {queue}")) && out.contains("(1 messages kept)"),
        "{out}"
    );
    let policy = topology.policy().name;
    let expected = QueueInfo {
        declared_delivery_limit: None,
        policy_delivery_limit: Some(3),
        policy: Some(policy.clone()),
    };
    settled(&management, &queue, &expected).await;
    assert_eq!(broker.depth(&queue).await.unwrap(), 1);
    assert!(
        management
            .queue(&topology.migrating_queue("order-sync"))
            .await
            .unwrap()
            .is_none(),
        "the side queue is gone"
    );

    // The policy is in force: a message handed back again and again is dead-lettered to the
    // parking queue after the limit, not redelivered forever.
    let (connection, channel) = broker.channel().await.unwrap();
    let mut deliveries = 0;
    while let Some(message) = channel
        .basic_get(queue.clone().into(), BasicGetOptions::default())
        .await
        .unwrap()
    {
        deliveries += 1;
        assert!(deliveries <= 10, "the limit of 3 was not applied");
        channel
            .basic_nack(
                message.delivery.delivery_tag,
                BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let _ = connection.close(200, "done".into()).await;
    assert_eq!(
        deliveries, 4,
        "one delivery and the limit's three redeliveries"
    );
    let parking = topology.parking_queue("order-sync");
    eventually(Duration::from_secs(10), "the message is parked", || async {
        (broker.depth(&parking).await.unwrap() == 1).then_some(())
    })
    .await;

    // The operator changes the limit: ingress restarted with the new setting still takes
    // webhooks, before and after `sklad migrate` carries the new value to the broker.
    let mut changed = settings.clone();
    changed.broker.delivery_limit = 50;
    let link = ingress(&app, &changed, &cancel).await;
    assert_eq!(app.post_webhook(&link, body.clone()).await.status(), 202);
    let out = migrate(&app, &broker, 50).await;
    assert!(
        !out.contains("recreated"),
        "nothing left to recreate: {out}"
    );
    let link = ingress(&app, &changed, &cancel).await;
    assert_eq!(app.post_webhook(&link, body).await.status(), 202);
    let expected = QueueInfo {
        declared_delivery_limit: None,
        policy_delivery_limit: Some(50),
        policy: Some(policy),
    };
    settled(&management, &queue, &expected).await;
    assert_eq!(broker.depth(&queue).await.unwrap(), 2);

    cancel.cancel();
}
