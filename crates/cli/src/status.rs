//! `sklad status`: are the dependencies there, and what is waiting?

use clap::Args;
use serde_json::{Value, json};
use sklad_bus::Broker;
use sklad_db::Db;
use sklad_runtime::Settings;

#[derive(Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub async fn run(settings: &Settings, args: StatusArgs) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let database = match db.ping().await {
        Ok(()) => {
            let mut conn = db.conn().await?;
            let accounts = sklad_db::accounts::count(&mut conn).await?;
            let flagged: Vec<Value> = sklad_db::integrations::flagged(&mut conn)
                .await?
                .into_iter()
                .map(|i| {
                    json!({
                        "account_id": i.account_id,
                        "key_rejected_at": i.key_rejected_at,
                        "misconfigured_at": i.misconfigured_at,
                        "answer": i.flag_answer,
                    })
                })
                .collect();
            let failing: Vec<Value> = sklad_db::push_waiting::failing(&mut conn, None)
                .await?
                .into_iter()
                .map(|(account, target, skus, failures, next)| {
                    json!({
                        "account_id": account,
                        "keycrm_warehouse_id": target,
                        "skus": skus,
                        "failures": failures,
                        "next_try": next,
                    })
                })
                .collect();
            let (set_aside, reason) = sklad_db::outbox::set_aside(&mut conn).await?;
            let parked = sklad_db::parked::count(&mut conn, None).await?;
            let waiting: Vec<Value> = sklad_db::order_stock::waiting_counts(&mut conn, None)
                .await?
                .into_iter()
                .map(|(account, orders, since)| {
                    json!({"account_id": account, "orders": orders, "oldest_since": since})
                })
                .collect();
            json!({
                "status": "up",
                "accounts": accounts,
                "flagged_integrations": flagged,
                "failing_pushes": failing,
                "outbox_set_aside": {"events": set_aside, "last_reason": reason},
                "parked_messages": parked,
                "waiting_shipments": waiting,
            })
        }
        Err(err) => json!({"status": "down", "error": err.to_string()}),
    };
    let broker = Broker::new(&settings.broker, "sklad-cli");
    let queues = match broker.queue_depths().await {
        Ok(depths) => {
            let rows: Vec<Value> = depths
                .into_iter()
                .map(
                    |d| json!({"queue": d.queue, "messages": d.messages, "consumers": d.consumers}),
                )
                .collect();
            json!({"status": "up", "queues": rows})
        }
        Err(err) => json!({"status": "down", "error": err.to_string()}),
    };
    let report = json!({"postgres": database, "rabbitmq": queues});
    if args.json {
        println!("{report}");
    } else {
        print_report(&report);
    }
    let healthy = report["postgres"]["status"] == "up" && report["rabbitmq"]["status"] == "up";
    anyhow::ensure!(healthy, "a dependency is down");
    Ok(())
}

fn print_report(report: &Value) {
    let pg = &report["postgres"];
    match pg["status"].as_str() {
        Some("up") => {
            println!("postgres  up    accounts: {}", pg["accounts"]);
            if pg["parked_messages"].as_i64().unwrap_or(0) > 0 {
                println!(
                    "  parked messages: {} (sklad parked list)",
                    pg["parked_messages"]
                );
            }
            for flag in pg["flagged_integrations"].as_array().into_iter().flatten() {
                let what = if flag["key_rejected_at"].is_string() {
                    "keyCRM refused the key"
                } else {
                    "the base URL is not keyCRM's API"
                };
                println!(
                    "  account {}: {what}; keyCRM work waits for new settings ({})",
                    flag["account_id"].as_str().unwrap_or(""),
                    flag["answer"].as_str().unwrap_or("")
                );
            }
            let aside = &pg["outbox_set_aside"];
            if aside["events"].as_i64().unwrap_or(0) > 0 {
                println!(
                    "  {} outbox events set aside (the broker kept refusing them): {}",
                    aside["events"],
                    aside["last_reason"].as_str().unwrap_or("")
                );
            }
            for push in pg["failing_pushes"].as_array().into_iter().flatten() {
                println!(
                    "  account {}: pushes to keyCRM warehouse {} keep failing ({} SKUs, {} failures in a row, next try {}); see the push log",
                    push["account_id"].as_str().unwrap_or(""),
                    push["keycrm_warehouse_id"],
                    push["skus"],
                    push["failures"],
                    push["next_try"].as_str().unwrap_or("-")
                );
            }
            for waiting in pg["waiting_shipments"].as_array().into_iter().flatten() {
                println!(
                    "  account {}: {} orders wait to ship (a line is short; oldest since {}); GET /orders?shipment=waiting",
                    waiting["account_id"].as_str().unwrap_or(""),
                    waiting["orders"],
                    waiting["oldest_since"].as_str().unwrap_or("-")
                );
            }
        }
        _ => println!("postgres  DOWN  {}", pg["error"].as_str().unwrap_or("")),
    }
    let mq = &report["rabbitmq"];
    match mq["status"].as_str() {
        Some("up") => {
            println!("rabbitmq  up");
            for q in mq["queues"].as_array().into_iter().flatten() {
                println!(
                    "  {:<40} messages {:>7}  consumers {}",
                    q["queue"].as_str().unwrap_or(""),
                    q["messages"],
                    q["consumers"]
                );
            }
        }
        _ => println!("rabbitmq  DOWN  {}", mq["error"].as_str().unwrap_or("")),
    }
}
