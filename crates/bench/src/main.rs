//! `sklad-bench`: measured figures, each beside a baseline from the same run.
//!
//! `sklad-bench ingress` compares the webhook path (HTTP → link lookup, cached → checks →
//! confirmed publish → 202) with raw confirmed publishes of an event of the same size to the
//! same broker, at the same concurrency, in alternating rounds (ABBA order), so the ratio
//! shows what ingress adds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use lapin::options::QueuePurgeOptions;
use sklad_bus::{OutgoingMessage, Publisher};
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_tests::{TestApp, fixture};

mod accounts;
mod catalogue;
mod http;
mod orders;
mod production;
mod ship;
mod stock;
mod wrk;

#[derive(Parser)]
#[command(about)]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Orders per keyCRM request (sync job, webhook burst) against one request per order, and
    /// webhook → order latency against a bare keyCRM fetch, with budget wait shown apart.
    Orders {
        /// Orders the sync job pulls.
        #[arg(long, default_value_t = 1000)]
        sync_orders: usize,
        /// Webhooks fired at once.
        #[arg(long, default_value_t = 300)]
        burst: usize,
        /// Webhooks fired one by one.
        #[arg(long, default_value_t = 60)]
        trickle: usize,
        /// Milliseconds between trickled webhooks.
        #[arg(long, default_value_t = 500)]
        trickle_interval_ms: u64,
        /// The account's keyCRM requests per minute (keyCRM's own limit is 60).
        #[arg(long, default_value_t = 60)]
        requests_per_minute: u32,
    },
    /// Movement → keyCRM PUT latency against a bare PUT, and keyCRM requests per 1 000
    /// movements against one request per movement.
    Stock {
        #[arg(long, default_value_t = 200)]
        skus: usize,
        /// Receipts sent one by one.
        #[arg(long, default_value_t = 200)]
        trickle: usize,
        #[arg(long, default_value_t = 10)]
        trickle_per_second: u64,
        /// Receipts sent back to back.
        #[arg(long, default_value_t = 3000)]
        burst: usize,
        #[arg(long, default_value_t = 60)]
        requests_per_minute: u32,
    },
    /// Orders reaching a ship status: shipments, the keyCRM requests shipping adds against a
    /// phase of orders that ship nothing, and the stock PUTs they cause.
    Ship {
        /// Orders per phase.
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        #[arg(long, default_value_t = 50)]
        skus: usize,
        /// Seconds over which a phase's orders reach their status.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        #[arg(long, default_value_t = 60)]
        requests_per_minute: u32,
    },
    /// Makeable over a 3-level catalogue against a plain balance read, and the products a
    /// component's change marks at two catalogue sizes.
    Production {
        #[arg(long, default_value_t = 1000)]
        finished: usize,
        #[arg(long, default_value_t = 200)]
        components: usize,
        #[arg(long, default_value_t = 50)]
        repeat: usize,
    },
    /// Moving a big shop in: a catalogue import's keyCRM requests against the pages it reads,
    /// webhook → order latency during the import against the same stream alone, and a
    /// take-over's time after the read.
    Catalogue {
        #[arg(long, default_value_t = 10_000)]
        offers: usize,
        /// The key's requests per minute (keyCRM's own is 60; a 1/s webhook stream alone
        /// spends all of that, so the default leaves the import room).
        #[arg(long, default_value_t = 300)]
        requests_per_minute: u32,
        /// Seconds of the webhook stream measured alone first.
        #[arg(long, default_value_t = 30)]
        baseline_seconds: u64,
    },
    /// Fairness: webhook → stored order latency of quiet accounts while others flood sklad
    /// with webhooks, against the quiet accounts alone; every account has its own key.
    Accounts {
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        /// How many of them flood.
        #[arg(long, default_value_t = 1)]
        flood: usize,
        /// Webhooks per second of each flooding account.
        #[arg(long, default_value_t = 100)]
        flood_rate: u32,
        /// Seconds the flood lasts (each quiet account changes one order in that time).
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Each key's keyCRM requests per minute (keyCRM's own limit).
        #[arg(long, default_value_t = 60)]
        requests_per_minute: u32,
    },
    /// Webhooks/s and latency of ingress vs. raw confirmed publishes of the same message.
    Ingress {
        /// Seconds per phase.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent senders.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Raw and webhook phases alternate this many times: the broker's own pace drifts
        /// (its queue files, its garbage collector), so each ratio compares neighbours.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// Log filter for the run, as JSON lines on stderr like a deployed service. `info`
        /// (sklad's default) adds ingress's line per webhook to what is measured; the
        /// default `warn` leaves it out.
        #[arg(long, default_value = "warn")]
        logs: String,
        /// What sends the webhooks: `lean`, the bench's own keep-alive client, or `wrk`
        /// (Debian's package) with `tests/load/webhook.lua`, a generator from outside.
        #[arg(long, value_enum, default_value_t = wrk::Load::Lean)]
        load: wrk::Load,
        /// Records a CPU profile of this process (ingress) with `perf` during round 1's
        /// webhook phase and prints where the time went.
        #[arg(long)]
        profile: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().bench {
        Bench::Ingress {
            seconds,
            concurrency,
            rounds,
            logs,
            load,
            profile,
        } => {
            // Before the services start (their own set-up leaves an installed one alone).
            sklad_runtime::telemetry::init(&sklad_runtime::settings::LogSettings {
                filter: logs,
                format: "json".into(),
            });
            let how = wrk::How { load, profile };
            ingress(
                Duration::from_secs(seconds),
                concurrency,
                rounds.max(1),
                how,
            )
            .await
        }
        Bench::Stock {
            skus,
            trickle,
            trickle_per_second,
            burst,
            requests_per_minute,
        } => {
            stock::run(stock::Plan {
                skus,
                trickle,
                trickle_per_second,
                burst,
                requests_per_minute,
            })
            .await
        }
        Bench::Ship {
            orders,
            skus,
            seconds,
            requests_per_minute,
        } => {
            ship::run(ship::Plan {
                orders,
                skus,
                spread: Duration::from_secs(seconds),
                requests_per_minute,
            })
            .await
        }
        Bench::Production {
            finished,
            components,
            repeat,
        } => {
            production::run(production::Plan {
                finished,
                components,
                repeat,
            })
            .await
        }
        Bench::Accounts {
            accounts,
            flood,
            flood_rate,
            seconds,
            requests_per_minute,
        } => {
            accounts::run(accounts::Plan {
                accounts,
                flood,
                flood_rate,
                seconds,
                requests_per_minute,
            })
            .await
        }
        Bench::Catalogue {
            offers,
            requests_per_minute,
            baseline_seconds,
        } => {
            catalogue::run(catalogue::Plan {
                offers,
                requests_per_minute,
                baseline_seconds,
            })
            .await
        }
        Bench::Orders {
            sync_orders,
            burst,
            trickle,
            trickle_interval_ms,
            requests_per_minute,
        } => {
            orders::run(orders::Plan {
                sync_orders,
                burst,
                trickle,
                trickle_interval: Duration::from_millis(trickle_interval_ms),
                requests_per_minute,
            })
            .await
        }
    }
}

/// The `p`th percentile of `values` (nearest rank); zero when empty.
pub(crate) fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Latencies of one phase.
struct Phase {
    name: &'static str,
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Phase {
    /// Several runs of one phase as one: all their latencies over their summed time.
    fn merged(name: &'static str, phases: Vec<Phase>) -> Phase {
        let mut all = Phase {
            name,
            latencies: Vec::new(),
            errors: 0,
            elapsed: Duration::ZERO,
        };
        for phase in phases {
            all.latencies.extend(phase.latencies);
            all.errors += phase.errors;
            all.elapsed += phase.elapsed;
        }
        all
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }

    fn print(&self) {
        println!(
            "{:<26} {:>10.0} {:>10.2} {:>10.2} {:>8}",
            self.name,
            self.rate(),
            ms(self.percentile(50.0)),
            ms(self.percentile(99.0)),
            self.errors
        );
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `op` from `concurrency` tasks until `duration` has passed; each task passes its index.
async fn drive<F, Fut>(name: &'static str, duration: Duration, concurrency: usize, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for index in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                if op(index).await {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    let mut phase = Phase {
        name,
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        if let Ok((latencies, errors)) = task.await {
            phase.latencies.extend(latencies);
            phase.errors += errors;
        }
    }
    phase.elapsed = started.elapsed();
    phase
}

async fn purge(app: &TestApp) -> anyhow::Result<()> {
    let (connection, channel) = app.broker.channel().await?;
    channel
        .queue_purge(app.order_sync_queue().into(), QueuePurgeOptions::default())
        .await?;
    let _ = connection.close(200, "purged".into()).await;
    Ok(())
}

async fn ingress(
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
    for round in 1..=rounds {
        // Every other round runs its webhook phase first, so neither path always follows
        // the other's purge.
        let webhook_first = round % 2 == 0;
        let mut raw = None;
        let mut webhook = None;
        for webhook_turn in [webhook_first, !webhook_first] {
            if webhook_turn && how.load == wrk::Load::Wrk {
                let before = ServerTimes::read();
                let perf = (how.profile && round == 1).then(|| wrk::profile(duration));
                let url = &app.account.webhook_url;
                let phase = wrk::run(url, &body_file, duration.as_secs(), concurrency).await?;
                if let Some(perf) = perf {
                    perf.await?;
                }
                server.add(&ServerTimes::read().since(&before));
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
