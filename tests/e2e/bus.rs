//! The consumer runner against real RabbitMQ: acks, delayed retries, parking with reasons,
//! panics, reconnection and graceful drain.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sklad_bus::topology::ORDER_SYNC;
use sklad_bus::{
    Broker, ConsumerRunner, Handler, HandlerError, IncomingMessage, OutgoingMessage, Publisher,
    headers,
};
use sklad_tests::{TcpProxy, TestBroker, eventually, test_settings};
use tokio_util::sync::CancellationToken;

type Behaviour = dyn Fn(&IncomingMessage) -> Result<(), HandlerError> + Send + Sync;

/// Records every attempt and answers with `behaviour`.
struct Recorder {
    seen: Mutex<Vec<(String, u32)>>,
    behaviour: Box<Behaviour>,
    delay: Duration,
    started: AtomicBool,
}

impl Recorder {
    fn new(
        behaviour: impl Fn(&IncomingMessage) -> Result<(), HandlerError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Self::slow(Duration::ZERO, behaviour)
    }

    fn slow(
        delay: Duration,
        behaviour: impl Fn(&IncomingMessage) -> Result<(), HandlerError> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            behaviour: Box::new(behaviour),
            delay,
            started: AtomicBool::new(false),
        })
    }

    fn attempts(&self) -> Vec<(String, u32)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Handler for Recorder {
    fn handle<'a>(
        &'a self,
        message: &'a IncomingMessage,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            self.started.store(true, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            let id = message.message_id.clone().unwrap_or_default();
            self.seen.lock().unwrap().push((id, message.attempt));
            (self.behaviour)(message)
        })
    }
}

struct Rig {
    broker: TestBroker,
    publisher: Publisher,
    cancel: CancellationToken,
    runner: Option<tokio::task::JoinHandle<()>>,
}

impl Rig {
    async fn start(handler: Arc<Recorder>, max_attempts: u32, amqp_url: Option<String>) -> Self {
        sklad_runtime::install_crypto_provider();
        let broker = TestBroker::new();
        let mut settings = test_settings("postgres://unused", &broker).broker;
        settings.max_attempts = max_attempts;
        let publisher = Publisher::new(Broker::new(&settings, "test-publisher"));
        if let Some(url) = amqp_url {
            settings.url = url.into();
        }
        let consumer =
            ConsumerRunner::new(Broker::new(&settings, "test-consumer"), ORDER_SYNC, handler);
        let readiness = consumer.readiness();
        let cancel = CancellationToken::new();
        let runner = tokio::spawn(consumer.run(cancel.clone()));
        eventually(Duration::from_secs(20), "consumer subscribed", || async {
            use sklad_runtime::health::ReadinessCheck;
            readiness.check().await.ok()
        })
        .await;
        Self {
            broker,
            publisher,
            cancel,
            runner: Some(runner),
        }
    }

    async fn publish(&self, id: &str) {
        let message = OutgoingMessage {
            routing_key: "keycrm.webhook.order".into(),
            message_id: id.into(),
            message_type: "test".into(),
            account_id: "acc".into(),
            time: chrono::Utc::now(),
            subject: None,
            payload: id.as_bytes().to_vec(),
        };
        self.publisher.publish(&message).await.expect("published");
    }

    /// Cancels the consumer and waits (bounded) until it has drained and closed.
    async fn stop(&mut self) {
        self.cancel.cancel();
        if let Some(runner) = self.runner.take() {
            tokio::time::timeout(Duration::from_secs(10), runner)
                .await
                .expect("runner stops")
                .unwrap();
        }
    }

    fn queue(&self) -> String {
        self.broker.topology().queue("order-sync")
    }

    fn parking(&self) -> String {
        self.broker.topology().parking_queue("order-sync")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handled_messages_are_acked_once() {
    let recorder = Recorder::new(|_| Ok(()));
    let mut rig = Rig::start(recorder.clone(), 3, None).await;
    for i in 0..50 {
        rig.publish(&format!("m{i}")).await;
    }
    eventually(Duration::from_secs(20), "50 handled", || async {
        (recorder.attempts().len() == 50).then_some(())
    })
    .await;
    let mut ids: Vec<String> = recorder.attempts().into_iter().map(|(id, _)| id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 50);
    rig.stop().await;
    assert_eq!(
        rig.broker.depth(&rig.queue()).await.unwrap(),
        0,
        "nothing left unacked"
    );
    assert_eq!(recorder.attempts().len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_retry_with_delay_then_park_with_the_reason() {
    let recorder = Recorder::new(|_| Err(HandlerError::Retry("keyCRM is down".into())));
    let rig = Rig::start(recorder.clone(), 3, None).await;
    rig.publish("doomed").await;
    let parked = eventually(Duration::from_secs(20), "message parked", || async {
        let parked = rig.broker.drain(&rig.parking()).await.ok()?;
        (!parked.is_empty()).then_some(parked)
    })
    .await;
    assert_eq!(parked.len(), 1);
    let h = parked[0].properties.headers().as_ref();
    assert_eq!(
        headers::get_str(h, headers::PARK_REASON).as_deref(),
        Some("gave up after 3 attempts: keyCRM is down")
    );
    assert_eq!(headers::get_u64(h, headers::ATTEMPT), Some(3));
    assert_eq!(
        headers::get_str(h, headers::ORIGIN_QUEUE),
        Some(rig.queue())
    );
    assert!(headers::get_str(h, headers::PARKED_AT).is_some());
    assert_eq!(parked[0].data, b"doomed");
    assert_eq!(
        parked[0]
            .properties
            .message_id()
            .as_ref()
            .map(|m| m.as_str()),
        Some("doomed")
    );
    let attempts: Vec<u32> = recorder.attempts().into_iter().map(|(_, a)| a).collect();
    assert_eq!(attempts, [0, 1, 2]);
    assert_eq!(rig.broker.depth(&rig.queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_then_works_is_handled_and_not_parked() {
    let failures = Arc::new(AtomicU32::new(0));
    let counter = failures.clone();
    let recorder = Recorder::new(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) < 2 {
            Err(HandlerError::Retry("database busy".into()))
        } else {
            Ok(())
        }
    });
    let mut rig = Rig::start(recorder.clone(), 5, None).await;
    rig.publish("flaky").await;
    eventually(Duration::from_secs(20), "third attempt", || async {
        (recorder.attempts().len() == 3).then_some(())
    })
    .await;
    rig.stop().await;
    assert_eq!(rig.broker.depth(&rig.parking()).await.unwrap(), 0);
    assert_eq!(rig.broker.depth(&rig.queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failures_are_parked_at_once() {
    let recorder = Recorder::new(|_| {
        Err(HandlerError::Park(
            "body is not a KeycrmWebhookReceived".into(),
        ))
    });
    let rig = Rig::start(recorder.clone(), 5, None).await;
    rig.publish("garbage").await;
    let parked = eventually(Duration::from_secs(20), "message parked", || async {
        let parked = rig.broker.drain(&rig.parking()).await.ok()?;
        (!parked.is_empty()).then_some(parked)
    })
    .await;
    assert_eq!(
        headers::get_str(
            parked[0].properties.headers().as_ref(),
            headers::PARK_REASON
        )
        .as_deref(),
        Some("body is not a KeycrmWebhookReceived")
    );
    assert_eq!(recorder.attempts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_strand_its_message() {
    let first = Arc::new(AtomicBool::new(true));
    let flag = first.clone();
    let recorder = Recorder::new(move |_| {
        if flag.swap(false, Ordering::SeqCst) {
            panic!("bug in a handler");
        }
        Ok(())
    });
    let rig = Rig::start(recorder.clone(), 5, None).await;
    rig.publish("p").await;
    eventually(
        Duration::from_secs(20),
        "retried after the panic",
        || async { (recorder.attempts().len() == 2).then_some(()) },
    )
    .await;
    assert_eq!(
        recorder.attempts()[1].1,
        1,
        "the second attempt is counted as a retry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_reconnects_when_the_broker_comes_back() {
    let proxy = TcpProxy::start("127.0.0.1:5672").await.unwrap();
    let recorder = Recorder::new(|_| Ok(()));
    let rig = Rig::start(recorder.clone(), 3, Some(proxy.amqp_url())).await;
    rig.publish("before").await;
    eventually(Duration::from_secs(20), "first handled", || async {
        (recorder.attempts().len() == 1).then_some(())
    })
    .await;
    proxy.cut();
    rig.publish("while-down").await; // the publisher talks to the broker directly
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.forward();
    eventually(
        Duration::from_secs(30),
        "handled after reconnecting",
        || async {
            let seen = recorder.attempts();
            seen.iter().any(|(id, _)| id == "while-down").then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_drains_in_flight_work_before_closing() {
    let recorder = Recorder::slow(Duration::from_millis(800), |_| Ok(()));
    let mut rig = Rig::start(recorder.clone(), 3, None).await;
    rig.publish("slow").await;
    eventually(Duration::from_secs(20), "handler started", || async {
        recorder.started.load(Ordering::SeqCst).then_some(())
    })
    .await;
    rig.stop().await;
    assert_eq!(
        recorder.attempts().len(),
        1,
        "the in-flight message finished"
    );
    assert_eq!(
        rig.broker.depth(&rig.queue()).await.unwrap(),
        0,
        "and was acked before the connection closed"
    );
}
