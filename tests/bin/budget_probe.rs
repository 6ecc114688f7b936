//! Takes `--count` request slots for one API key from the shared PostgreSQL budget. Without
//! `--keycrm-url` it prints one line per grant (unix microseconds when the slot began); with
//! it, each slot is spent on a real `GET /order/status`, and the simulator's request log
//! shows when each arrived.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use secrecy::SecretString;
use sklad_db::Db;
use sklad_keycrm::Credentials as KeycrmCredentials;
use sklad_keycrm::{Budget, BudgetKey, KeycrmClient, Priority, RetryPolicy};

#[derive(Parser)]
struct Args {
    #[arg(long)]
    database_url: String,
    /// Hex fingerprint naming the budget (the same for every probe sharing it).
    #[arg(long)]
    fingerprint: String,
    #[arg(long)]
    requests_per_minute: u32,
    #[arg(long)]
    count: usize,
    /// When set, each slot is spent on a real request to this keyCRM (simulator) base URL.
    #[arg(long)]
    keycrm_url: Option<String>,
    #[arg(long, default_value = "probe-key")]
    api_key: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sklad_runtime::install_crypto_provider();
    let args = Args::parse();
    let db = Db::from_url(&args.database_url, 2, std::time::Duration::from_secs(10))?;
    let budget = Budget::new(db);
    let fingerprint = args.fingerprint.into_bytes();
    match args.keycrm_url {
        None => {
            let key = BudgetKey {
                fingerprint,
                requests_per_minute: args.requests_per_minute,
            };
            for _ in 0..args.count {
                budget.acquire(&key, Priority::Normal, None).await?;
                println!("{}", now_micros());
            }
        }
        Some(url) => {
            let credentials = KeycrmCredentials {
                base_url: url,
                api_key: SecretString::from(args.api_key),
                fingerprint,
                requests_per_minute: args.requests_per_minute,
            };
            let client = KeycrmClient::new(
                reqwest::Client::new(),
                budget,
                &credentials,
                RetryPolicy {
                    max_attempts: 1,
                    min_delay: std::time::Duration::ZERO,
                    max_delay: std::time::Duration::ZERO,
                    max_budget_wait: None,
                },
            );
            // The simulator's request log records when each request arrived.
            for _ in 0..args.count {
                client.order_statuses_page(1, 1, Priority::Normal).await?;
            }
        }
    }
    Ok(())
}

fn now_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}
