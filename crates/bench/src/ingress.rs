//! `sklad-bench ingress`: the webhook path (HTTP → link lookup, cached → checks → confirmed
//! publish → 202) against raw confirmed publishes of an event of the same size to the same
//! broker, at the same concurrency, in alternating rounds, so the ratio shows what ingress
//! adds; the webhooks come from the bench's own lean client or from wrk.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lapin::options::QueuePurgeOptions;
use sklad_bus::{OutgoingMessage, Publisher};
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_tests::{TestApp, fixture};

use crate::cpu::CpuTimes;
use crate::{Phase, drive, http, ms, percentile, wrk};

async fn purge(app: &TestApp) -> anyhow::Result<()> {
    let (connection, channel) = app.broker.channel().await?;
    channel
        .queue_purge(app.order_sync_queue().into(), QueuePurgeOptions::default())
        .await?;
    let _ = connection.close(200, "purged".into()).await;
    Ok(())
}

pub async fn run(
    duration: Duration,
    concurrency: usize,
    rounds: usize,
    how: wrk::How,
) -> anyhow::Result<()> {
    let app = TestApp::spawn().await;
    let body = fixture("webhook-order-change_order_status.A.json");
    let body_file = std::env::temp_dir().join(format!("sklad-webhook-{}.json", std::process::id()));
    std::fs::write(&body_file, &body)?;
    let mut by_wrk = Vec::new();

    // The event ingress publishes for this body, to publish raw at the same size.
    let now = chrono::Utc::now();
    let event = KeycrmWebhookReceived {
        webhook_id: uuid::Uuid::now_v7().to_string(),
        account_id: app.account.id.to_string(),
        received_at: Some(sklad_events::timestamp(now)),
        event: "order.change_order_status".into(),
        order_id: 23196,
        status_id: Some(1),
        order_updated_at: Some(sklad_events::timestamp(now)),
        raw_body: body.clone(),
    };
    let template = OutgoingMessage::event(
        &event,
        String::new(),
        app.account.id.to_string(),
        now,
        Some("order/23196".into()),
    );
    println!(
        "webhook body {} bytes; event {} bytes; {} s per phase; {} concurrent senders",
        body.len(),
        template.payload.len(),
        duration.as_secs(),
        concurrency
    );

    let publisher = Publisher::new(sklad_bus::Broker::new(&app.settings.broker, "sklad-bench"));
    // Warm both paths (connections, prepared statements) before measuring.
    for _ in 0..50 {
        let mut m = template.clone();
        m.message_id = uuid::Uuid::now_v7().to_string();
        publisher.publish(&m).await?;
        app.post_webhook(&app.account.webhook_url, body.clone())
            .await;
    }
    purge(&app).await?;

    // The load generator shares the machine's cores with ingress and RabbitMQ: the measured
    // phase uses a lean keep-alive client; reqwest's figure is shown once, for scale.
    let request = http::Request::post_json(&app.account.webhook_url, &body)?;
    let connections: Arc<Vec<tokio::sync::Mutex<http::Connection>>> = Arc::new(
        (0..concurrency)
            .map(|_| tokio::sync::Mutex::new(http::Connection::new(request.clone())))
            .collect(),
    );

    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>8}",
        "", "per s", "p50 ms", "p99 ms", "errors"
    );
    let mut raws = Vec::new();
    let mut webhooks = Vec::new();
    let mut server = ServerTimes::default();
    // CPU by process over the wrk phases and over the raw ones.
    let (mut cpu_wrk, mut cpu_raw) = (CpuTimes::default(), CpuTimes::default());
    let (mut wrk_messages, mut raw_messages) = (0u64, 0u64);
    for round in 1..=rounds {
        // Every other round runs its webhook phase first, so neither path always follows
        // the other's purge.
        let webhook_first = round % 2 == 0;
        let mut raw = None;
        let mut webhook = None;
        for webhook_turn in [webhook_first, !webhook_first] {
            let cpu_before = CpuTimes::read();
            if webhook_turn && how.load == wrk::Load::Wrk {
                let before = ServerTimes::read();
                let perf = (how.profile && round == 1).then(|| wrk::profile(duration));
                let profiled = perf.is_some();
                let url = &app.account.webhook_url;
                let phase = wrk::run(url, &body_file, duration.as_secs(), concurrency).await?;
                if let Some(perf) = perf {
                    perf.await?;
                }
                server.add(&ServerTimes::read().since(&before));
                // Not the profiled phase: perf's own work would count as wrk's.
                if !profiled {
                    cpu_wrk += CpuTimes::read() - cpu_before;
                    wrk_messages += phase.requests;
                }
                by_wrk.push(phase);
                // The lean phase's slot holds an empty phase; wrk's figures are kept apart.
                webhook = Some(Phase::merged("ingress webhook (wrk)", Vec::new()));
            } else if webhook_turn {
                let before = ServerTimes::read();
                let connections = connections.clone();
                webhook = Some(
                    drive("ingress webhook → 202", duration, concurrency, move |i| {
                        let connections = connections.clone();
                        async move { matches!(connections[i].lock().await.send().await, Ok(202)) }
                    })
                    .await,
                );
                server.add(&ServerTimes::read().since(&before));
            } else {
                let publisher = publisher.clone();
                let template = template.clone();
                raw = Some(
                    drive(
                        "confirmed publish (raw)",
                        duration,
                        concurrency,
                        move |_| {
                            let publisher = publisher.clone();
                            let mut message = template.clone();
                            async move {
                                message.message_id = uuid::Uuid::now_v7().to_string();
                                publisher.publish(&message).await.is_ok()
                            }
                        },
                    )
                    .await,
                );
                cpu_raw += CpuTimes::read() - cpu_before;
                raw_messages += raw.as_ref().map_or(0, |r| r.latencies.len() as u64);
            }
            purge(&app).await?;
        }
        let (raw, webhook) = (raw.context("raw phase")?, webhook.context("webhook phase")?);
        raw.print();
        if let Some(phase) = by_wrk.last().filter(|_| how.load == wrk::Load::Wrk) {
            wrk::print_round(round, phase, raw.rate(), raw.percentile(99.0));
            raws.push(raw);
            continue;
        }
        webhook.print();
        println!(
            "{:<26} {:>10.2}x",
            format!("  round {round} ratio"),
            webhook.rate() / raw.rate()
        );
        raws.push(raw);
        webhooks.push(webhook);
    }
    let _ = std::fs::remove_file(&body_file);
    if how.load == wrk::Load::Wrk {
        let raw = Phase::merged("confirmed publish (raw)", raws);
        let p99s: Vec<Duration> = by_wrk.iter().map(|p| p.p99).collect();
        wrk::print_summary(
            &by_wrk,
            raw.rate(),
            percentile(&p99s, 50.0),
            raw.percentile(99.0),
        );
        println!(
            "mean webhook in ingress {:.2} ms, of which publish → confirm {:.2} ms",
            ServerTimes::mean_ms(server.handled),
            ServerTimes::mean_ms(server.confirmed),
        );
        wrk::print_cpu(
            &cpu_wrk.per_message(wrk_messages),
            &cpu_raw.per_message(raw_messages),
        );
        if how.profile {
            wrk::print_profile()?;
        }
        return Ok(());
    }

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .http1_only()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = app.account.webhook_url.clone();
    let through_reqwest = drive("webhook, reqwest client", duration, concurrency, move |_| {
        let client = client.clone();
        let url = url.clone();
        let body = body.clone();
        async move {
            matches!(
                client.post(&url).header("content-type", "application/json").body(body).send().await,
                Ok(r) if r.status() == 202
            )
        }
    })
    .await;
    purge(&app).await?;
    through_reqwest.print();

    let raw = Phase::merged("confirmed publish (raw)", raws);
    let webhooks = Phase::merged("ingress webhook → 202", webhooks);
    println!();
    println!("all {rounds} rounds");
    raw.print();
    webhooks.print();
    println!();
    println!(
        "ingress / raw publish: throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
        webhooks.rate() / raw.rate(),
        ms(webhooks.percentile(50.0)) / ms(raw.percentile(50.0)),
        ms(webhooks.percentile(99.0)) / ms(raw.percentile(99.0)),
    );
    let sent = webhooks.latencies.iter().sum::<Duration>() / webhooks.latencies.len().max(1) as u32;
    println!(
        "mean webhook: {:.2} ms at the sender; in ingress {:.2} ms, of which publish → confirm {:.2} ms",
        ms(sent),
        ServerTimes::mean_ms(server.handled),
        ServerTimes::mean_ms(server.confirmed),
    );
    Ok(())
}

/// Ingress's own timing of the webhook phases, from its metrics (it runs in this process):
/// where a webhook's time goes between the sender, ingress and the broker's confirm.
#[derive(Debug, Default, Clone, Copy)]
struct ServerTimes {
    /// `sklad_ingress_webhook_seconds{outcome="accepted"}`: seconds summed, count.
    handled: (f64, u64),
    /// `sklad_broker_publish_seconds{outcome="confirmed"}`.
    confirmed: (f64, u64),
}

impl ServerTimes {
    fn read() -> Self {
        let mut times = Self::default();
        for family in prometheus::gather() {
            let slot = match family.name() {
                "sklad_ingress_webhook_seconds" => &mut times.handled,
                "sklad_broker_publish_seconds" => &mut times.confirmed,
                _ => continue,
            };
            for metric in family.get_metric() {
                let outcome = metric
                    .get_label()
                    .iter()
                    .find(|l| l.name() == "outcome")
                    .map(|l| l.value());
                if matches!(outcome, Some("accepted" | "confirmed")) {
                    let h = metric.get_histogram();
                    *slot = (h.get_sample_sum(), h.get_sample_count());
                }
            }
        }
        times
    }

    fn since(&self, before: &Self) -> Self {
        Self {
            handled: (
                self.handled.0 - before.handled.0,
                self.handled.1 - before.handled.1,
            ),
            confirmed: (
                self.confirmed.0 - before.confirmed.0,
                self.confirmed.1 - before.confirmed.1,
            ),
        }
    }

    fn add(&mut self, other: &Self) {
        self.handled = (
            self.handled.0 + other.handled.0,
            self.handled.1 + other.handled.1,
        );
        self.confirmed = (
            self.confirmed.0 + other.confirmed.0,
            self.confirmed.1 + other.confirmed.1,
        );
    }

    /// The mean of a (seconds summed, count) pair, in milliseconds.
    fn mean_ms((sum, count): (f64, u64)) -> f64 {
        sum / count.max(1) as f64 * 1000.0
    }
}
