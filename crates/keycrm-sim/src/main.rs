//! `keycrm-sim`: run the keyCRM simulator.

use clap::Parser;

/// A keyCRM API simulator for tests and demos.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "KEYCRM_SIM_BIND", default_value = "127.0.0.1:8090")]
    bind: String,
    /// Accepted API keys (repeat or comma-separate).
    #[arg(
        long = "api-key",
        env = "KEYCRM_SIM_API_KEYS",
        value_delimiter = ',',
        default_value = "demo-keycrm-api-key-0001"
    )]
    api_keys: Vec<String>,
    /// Requests per minute per key before 429.
    #[arg(long, env = "KEYCRM_SIM_RPM", default_value_t = 60)]
    requests_per_minute: u32,
    /// Generate this many demo orders at start (statuses 1–4).
    #[arg(long, default_value_t = 0)]
    demo_orders: usize,
    /// Generate a catalogue of this many offers at start, with stock in warehouses 1 and 2.
    #[arg(long, default_value_t = 0)]
    catalogue: usize,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let running = keycrm_sim::build(&args.bind, args.api_keys, args.requests_per_minute)?;
    println!(
        "keycrm-sim listening: API {} control {}",
        running.api_url(),
        running.control_url()
    );
    if args.catalogue > 0 {
        let spec = keycrm_sim::catalogue::CatalogueSpec {
            offers: args.catalogue,
            warehouses: vec![1, 2],
            seed: 7,
            stock_max: 50,
        };
        running.sim.lock().generate_catalogue(&spec);
    }
    if args.demo_orders > 0 {
        let control = running.control_url();
        let count = args.demo_orders;
        actix_web::rt::spawn(async move {
            let client = reqwest::Client::new();
            let _ = client
                .post(format!("{control}/orders/generate"))
                .json(
                    &serde_json::json!({"count": count, "status_ids": [1, 2, 3, 4], "seed": 7,
                                          "one_time_every": 5, "with_payments": true}),
                )
                .send()
                .await;
        });
    }
    running.server.await?;
    Ok(())
}
