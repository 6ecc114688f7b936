//! ingress: every answer of `POST /webhooks/keycrm/{token}`, against real RabbitMQ.

use std::time::Duration;

use lapin::options::{QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use serde_json::{Value, json};
use sklad_events::Message;
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_tests::{AppOptions, TcpProxy, TestApp, eventually, fixture};

fn decode(delivery: &lapin::message::Delivery) -> KeycrmWebhookReceived {
    KeycrmWebhookReceived::decode(delivery.data.as_slice()).expect("protobuf body")
}

fn header(delivery: &lapin::message::Delivery, key: &str) -> Option<String> {
    sklad_bus::headers::get_str(delivery.properties.headers().as_ref(), key)
}

async fn json(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_webhook_bodies_are_queued_exactly_as_sent() {
    let app = TestApp::spawn().await;
    // Loose live data: string decimals, the plain timestamp format, `[]` for an empty object.
    let plain_format =
        br#"{"event":"order.change_payment_status","context":{"id":"515","status_id":"3",
        "grand_total":"99.90","fiscal_result":[],"updated_at":"2024-05-28 09:34:10"}}"#
            .to_vec();
    let bodies = [
        fixture("webhook-order-change_order_status.A.json"),
        fixture("webhook-order-change_order_status.B.json"),
        plain_format,
    ];
    let mut webhook_ids = Vec::new();
    for body in &bodies {
        let response = app
            .post_webhook(&app.account.webhook_url, body.clone())
            .await;
        assert_eq!(response.status(), 202);
        let answer = json(response).await;
        assert_eq!(answer["status"], "accepted");
        webhook_ids.push(
            answer["webhook_id"]
                .as_str()
                .expect("webhook id")
                .to_owned(),
        );
    }

    let messages = app
        .broker
        .drain(&app.order_sync_queue())
        .await
        .expect("drain");
    assert_eq!(messages.len(), 3);
    let expected = [
        (
            23196,
            Some(1),
            "order.change_order_status",
            Some("2026-01-29T18:53:35+00:00"),
        ),
        (
            67526,
            Some(1),
            "order.change_order_status",
            Some("2024-05-28T09:34:20+00:00"),
        ),
        (
            515,
            Some(3),
            "order.change_payment_status",
            Some("2024-05-28T09:34:10+00:00"),
        ),
    ];
    for (((delivery, body), webhook_id), (order_id, status_id, event, updated)) in
        messages.iter().zip(&bodies).zip(&webhook_ids).zip(expected)
    {
        let message = decode(delivery);
        assert_eq!(
            &message.raw_body, body,
            "the raw body is kept byte for byte"
        );
        assert_eq!(message.order_id, order_id);
        assert_eq!(message.status_id, status_id);
        assert_eq!(message.event, event);
        assert_eq!(message.account_id, app.account.id.to_string());
        assert_eq!(&message.webhook_id, webhook_id);
        let updated_at = message
            .order_updated_at
            .as_ref()
            .and_then(sklad_events::from_timestamp)
            .map(|t| t.to_rfc3339());
        assert_eq!(updated_at.as_deref(), updated);
        assert!(message.received_at.is_some());

        let props = &delivery.properties;
        assert_eq!(props.delivery_mode(), &Some(2), "persistent");
        assert_eq!(
            props.message_id().as_ref().map(|s| s.as_str()),
            Some(webhook_id.as_str())
        );
        assert_eq!(
            props.kind().as_ref().map(|s| s.as_str()),
            Some("sklad.events.v1.KeycrmWebhookReceived")
        );
        assert_eq!(
            props.content_type().as_ref().map(|s| s.as_str()),
            Some("application/protobuf")
        );
        assert_eq!(
            header(delivery, "cloudEvents:specversion").as_deref(),
            Some("1.0")
        );
        assert_eq!(
            header(delivery, "cloudEvents:id").as_deref(),
            Some(webhook_id.as_str())
        );
        assert_eq!(
            header(delivery, "cloudEvents:skladaccount"),
            Some(app.account.id.to_string())
        );
        assert_eq!(
            header(delivery, "cloudEvents:subject"),
            Some(format!("order/{order_id}"))
        );
    }

    // Webhooks are counted by event and outcome, never by the secret token in the path.
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(
            r#"sklad_ingress_webhooks_total{event="order.change_order_status",outcome="accepted"}"#
        ),
        "{metrics}"
    );
    let token = app.account.webhook_url.rsplit('/').next().unwrap();
    assert!(!metrics.contains(token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_get_a_bare_404() {
    let app = TestApp::spawn().await;
    for url in [
        format!("{}/webhooks/keycrm/not-a-token", app.ingress_url()),
        format!("{}/webhooks/keycrm/{}", app.ingress_url(), "A".repeat(43)),
        format!("{}/webhooks/other", app.ingress_url()),
    ] {
        let response = app
            .post_webhook(&url, fixture("webhook-order-change_order_status.A.json"))
            .await;
        assert_eq!(response.status(), 404, "{url}");
        assert_eq!(
            json(response).await,
            json!({"error": {"code": "not_found", "message": "not found"}})
        );
    }
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400_and_publish_nothing() {
    let app = TestApp::spawn().await;
    for body in [&b"not json"[..], b"", b"{\"event\": ", b"\xff\xfe"] {
        let response = app
            .post_webhook(&app.account.webhook_url, body.to_vec())
            .await;
        assert_eq!(
            response.status(),
            400,
            "{:?}",
            String::from_utf8_lossy(body)
        );
        let answer = json(response).await;
        assert_eq!(answer["error"]["code"], "invalid_json");
    }
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_413_declared_or_streamed() {
    let app = TestApp::spawn_with(AppOptions {
        max_body_bytes: Some(1024),
        ..AppOptions::default()
    })
    .await;
    let padding = "x".repeat(2000);
    let big = format!(
        r#"{{"event":"order.change_order_status","context":{{"id":1,"pad":"{padding}"}}}}"#
    );

    let declared = app
        .post_webhook(&app.account.webhook_url, big.clone())
        .await;
    assert_eq!(declared.status(), 413);
    assert_eq!(json(declared).await["error"]["code"], "payload_too_large");

    // Chunked, with no Content-Length: the limit is enforced while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .into_bytes()
        .chunks(300)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let streamed = app
        .post_webhook(
            &app.account.webhook_url,
            reqwest::Body::wrap_stream(futures::stream::iter(chunks)),
        )
        .await;
    assert_eq!(streamed.status(), 413);

    // Just under the limit is fine.
    let small = r#"{"event":"order.change_order_status","context":{"id":1}}"#;
    assert_eq!(app.webhook_status(small).await, 202);
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_limit_is_256_kib() {
    let app = TestApp::spawn().await;
    let over = format!(
        r#"{{"event":"order.change_order_status","context":{{"id":1,"pad":"{}"}}}}"#,
        "x".repeat(256 * 1024)
    );
    assert_eq!(app.webhook_status(over).await, 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_without_an_event_or_order_id_get_422() {
    let app = TestApp::spawn().await;
    for body in [
        json!({}),
        json!([1, 2]),
        json!({"event": 5, "context": {"id": 1}}),
        json!({"event": "order.change_order_status"}),
        json!({"event": "order.change_order_status", "context": []}),
        json!({"event": "order.change_order_status", "context": {"id": "abc"}}),
        json!({"event": "order.change_order_status", "context": {"id": 0}}),
        json!({"event": "order.change_order_status", "context": {"id": -4}}),
    ] {
        let response = app
            .post_webhook(&app.account.webhook_url, body.to_string())
            .await;
        assert_eq!(response.status(), 422, "{body}");
        let answer = json(response).await;
        assert_eq!(answer["error"]["code"], "unprocessable_webhook");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhandled_events_are_acknowledged_counted_and_not_published() {
    let app = TestApp::spawn().await;
    let lead = json!({"event": "lead.change_lead_status", "context": {"id": 77, "status_id": 3}});
    let response = app
        .post_webhook(&app.account.webhook_url, lead.to_string())
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(json(response).await["status"], "ignored");
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"sklad_ingress_webhooks_total{event="other",outcome="ignored"}"#),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switched_off_integration_publishes_nothing() {
    let app = TestApp::spawn().await;
    let off = app.create_account("switched off", false).await;
    let response = app
        .post_webhook(
            &off.webhook_url,
            fixture("webhook-order-change_order_status.A.json"),
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(json(response).await["status"], "ignored");
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_gives_503_never_2xx() {
    let app = TestApp::spawn_with(AppOptions {
        broker_url: Some("amqp://guest:guest@127.0.0.1:1/%2f".into()),
        ..AppOptions::default()
    })
    .await;
    for _ in 0..3 {
        let response = app
            .post_webhook(
                &app.account.webhook_url,
                fixture("webhook-order-change_order_status.A.json"),
            )
            .await;
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(json(response).await["error"]["code"], "unavailable");
    }
    let (status, report) = app.ingress_ready().await;
    assert_eq!(status, 503);
    assert_eq!(report["checks"]["rabbitmq"]["status"], "down");
    assert_eq!(report["checks"]["postgres"]["status"], "up");
    assert_eq!(
        report["checks"]["rabbitmq"],
        json!({"status": "down"}),
        "no internal error text in a readiness answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_dies_gives_503_and_ingress_recovers_when_it_returns() {
    let proxy = TcpProxy::start("127.0.0.1:5672").await.unwrap();
    let app = TestApp::spawn_with(AppOptions {
        broker_url: Some(proxy.amqp_url()),
        ..AppOptions::default()
    })
    .await;
    let body = fixture("webhook-order-change_order_status.A.json");
    let mut accepted = 0;
    assert_eq!(app.webhook_status(body.clone()).await, 202);
    accepted += 1;

    proxy.cut();
    for _ in 0..3 {
        assert_eq!(app.webhook_status(body.clone()).await, 503);
    }

    proxy.forward();
    eventually(Duration::from_secs(20), "ingress reconnects", || async {
        (app.webhook_status(body.clone()).await == 202).then_some(())
    })
    .await;
    accepted += 1;
    assert_eq!(
        app.broker.depth(&app.order_sync_queue()).await.unwrap(),
        accepted,
        "exactly the accepted webhooks are queued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_confirm_within_the_timeout_gives_503() {
    let proxy = TcpProxy::start("127.0.0.1:5672").await.unwrap();
    let app = TestApp::spawn_with(AppOptions {
        broker_url: Some(proxy.amqp_url()),
        confirm_timeout: Some(Duration::from_millis(500)),
        ..AppOptions::default()
    })
    .await;
    let body = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(app.webhook_status(body.clone()).await, 202);

    proxy.stall();
    let started = std::time::Instant::now();
    let response = app
        .post_webhook(&app.account.webhook_url, body.clone())
        .await;
    assert_eq!(
        response.status(),
        503,
        "a publish the broker never confirmed is not a 2xx"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    proxy.forward();
    eventually(
        Duration::from_secs(20),
        "ingress publishes again",
        || async { (app.webhook_status(body.clone()).await == 202).then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nacked_publish_gives_503() {
    let app = TestApp::spawn().await;
    let body = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(app.webhook_status(body.clone()).await, 202);

    // Replace the work queue with one that refuses every message.
    let queue = app.order_sync_queue();
    let (connection, channel) = app.broker.channel().await.unwrap();
    channel
        .queue_delete(queue.clone().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    let mut args = FieldTable::default();
    args.insert("x-max-length".into(), AMQPValue::LongLongInt(0));
    args.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    args.insert("x-expires".into(), AMQPValue::LongLongInt(600_000));
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
            app.broker.topology().events_exchange().into(),
            "keycrm.webhook.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let _ = connection.close(200, "done".into()).await;

    let response = app.post_webhook(&app.account.webhook_url, body).await;
    assert_eq!(response.status(), 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_publish_gives_503() {
    let app = TestApp::spawn().await;
    let body = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(app.webhook_status(body.clone()).await, 202);

    let (connection, channel) = app.broker.channel().await.unwrap();
    channel
        .queue_delete(app.order_sync_queue().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    let _ = connection.close(200, "done".into()).await;

    let response = app.post_webhook(&app.account.webhook_url, body).await;
    assert_eq!(
        response.status(),
        503,
        "no queue took it, so it is not durable"
    );
}

/// Input that no keyCRM sends is refused before anything is queued: a body that is not
/// JSON by its type (415), not UTF-8 or nested without end in fields sklad skips (400), an
/// event that is not a short `entity.action` name or an order id keyCRM cannot have (422).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_input_is_refused_before_anything_is_queued() {
    let app = TestApp::spawn().await;
    let good = json!({"event": "order.change_order_status", "context": {"id": 5}});
    for media in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ] {
        let response = app
            .http
            .post(&app.account.webhook_url)
            .header("content-type", media)
            .body(good.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{media}");
        assert_eq!(
            json(response).await["error"]["code"],
            "unsupported_media_type"
        );
    }
    let deep = format!(
        r#"{{"event": "order.change_order_status", "context": {{"id": 5}}, "skipped": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut invalid =
        br#"{"event": "order.change_order_status", "context": {"id": 5}, "skipped": ""#.to_vec();
    invalid.extend_from_slice(b"\xff\xfe\"}");
    for body in [deep.into_bytes(), invalid] {
        let response = app.post_webhook(&app.account.webhook_url, body).await;
        assert_eq!(response.status(), 400);
        assert_eq!(json(response).await["error"]["code"], "invalid_json");
    }
    let long = format!("order.{}", "x".repeat(10_000));
    for body in [
        json!({"event": "order.change\u{0}", "context": {"id": 5}}),
        json!({"event": "order.\u{202e}sutats", "context": {"id": 5}}),
        json!({"event": long, "context": {"id": 5}}),
        json!({"event": "order.change_order_status", "context": {"id": 2_147_483_648_i64}}),
        json!({"event": "order.change_order_status", "context": {"id": i64::MAX}}),
    ] {
        let response = app
            .post_webhook(&app.account.webhook_url, body.to_string())
            .await;
        assert_eq!(
            response.status(),
            422,
            "{}",
            &body.to_string()[..80.min(body.to_string().len())]
        );
        assert_eq!(
            json(response).await["error"]["code"],
            "unprocessable_webhook"
        );
    }
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 0);
    // What keyCRM sends still goes through, with or without a content type.
    assert_eq!(app.webhook_status(good.to_string()).await, 202);
    let bare = app
        .http
        .post(&app.account.webhook_url)
        .body(good.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 202);
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 2);
}
