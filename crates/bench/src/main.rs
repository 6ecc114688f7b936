//! `sklad-bench`: measured figures, each beside a baseline from the same run (see each
//! module; `ingress` compares the webhook path with raw confirmed publishes).

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

mod accounts;
mod catalogue;
mod cpu;
mod http;
mod ingress;
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
            ingress::run(
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
