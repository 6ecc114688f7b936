//! `sklad-bench stock`: how long a movement takes to reach keyCRM and how few requests the
//! stock-publisher spends, next to one request per movement and a bare keyCRM PUT.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, SIM_API_KEY, TestApp};

use crate::{ms, percentile};

pub struct Plan {
    pub skus: usize,
    pub trickle: usize,
    pub trickle_per_second: u64,
    pub burst: usize,
    pub requests_per_minute: u32,
}

async fn post(app: &TestApp, path: &str, body: Value) -> anyhow::Result<Value> {
    let response = app
        .api(Method::POST, path, &app.account.admin_token)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    anyhow::ensure!(status.is_success(), "POST {path}: {status} {answer}");
    Ok(answer)
}

/// (time, SKU, balance after) of each receipt, to find the push that carried it.
struct Sent {
    at: DateTime<Utc>,
    sku: String,
    balance_after: Decimal,
}

/// When keyCRM first accepted a quantity of at least each receipt's balance for its SKU.
fn latencies(app: &TestApp, sent: &[Sent]) -> Vec<Duration> {
    let sim = app.sim.lock();
    let mut writes: Vec<(i64, HashMap<String, Decimal>)> = sim
        .stock_writes
        .iter()
        .filter(|w| w.status == 202)
        .map(|w| {
            let items = w
                .items
                .iter()
                .filter_map(|i| {
                    let sku = i.get("sku")?.as_str()?.to_owned();
                    let q = Decimal::try_from(i.get("quantity")?.as_f64()?).ok()?;
                    Some((sku, q))
                })
                .collect();
            (w.at_ms, items)
        })
        .collect();
    writes.sort_by_key(|(at, _)| *at);
    sent.iter()
        .filter_map(|s| {
            let at = s.at.timestamp_millis();
            writes
                .iter()
                .find(|(w_at, items)| {
                    *w_at >= at && items.get(&s.sku).is_some_and(|q| *q >= s.balance_after)
                })
                .map(|(w_at, _)| Duration::from_millis(u64::try_from(w_at - at).unwrap_or(0)))
        })
        .collect()
}

fn puts(app: &TestApp) -> usize {
    app.sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path == "/v1/offers/stocks")
        .count()
}

async fn wait_drained(app: &TestApp, sent: &[Sent], deadline: Duration) {
    let started = Instant::now();
    while latencies(app, sent).len() < sent.len() && started.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(AppOptions {
        stock_publisher: true,
        relay: true,
        configure: Some(|s| {
            s.stock_publisher.settle = Duration::from_millis(500);
            s.stock_publisher.max_delay = Duration::from_secs(3);
            s.stock_publisher.poll = Duration::from_millis(100);
            s.relay.poll = Duration::from_millis(50);
        }),
        ..AppOptions::default()
    })
    .await;
    let skus: Vec<String> = (0..plan.skus).map(|i| format!("B-{i:05}")).collect();
    app.sim_control(
        Method::PUT,
        "/warehouses",
        json!([{"id": 1, "name": "Main"}]),
    )
    .await;
    let offers: Vec<Value> = skus
        .iter()
        .map(|s| json!({"sku": s, "name": s, "price": 1}))
        .collect();
    app.sim_control(Method::POST, "/offers", Value::Array(offers))
        .await;
    for sku in &skus {
        post(&app, "/products", json!({"sku": sku, "name": sku})).await?;
    }
    let warehouse = post(&app, "/warehouses", json!({"name": "Main"})).await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    post(&app, "/keycrm/warehouses", json!({"id": 1, "name": "Main"})).await?;
    let put = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            let r = app
                .api(Method::PUT, path, &app.account.admin_token)
                .json(&body)
                .send()
                .await?;
            anyhow::ensure!(r.status().is_success(), "PUT {path}: {}", r.status());
            anyhow::Ok(())
        }
    };
    put(
        "/integrations/keycrm/warehouse-mapping",
        json!({"mapping": [{"warehouse_id": warehouse, "keycrm_warehouse_id": 1}]}),
    )
    .await?;
    put(
        "/integrations/keycrm",
        json!({"stock_push_enabled": true, "requests_per_minute": plan.requests_per_minute}),
    )
    .await?;
    println!(
        "keyCRM budget {} requests/min; settle 500 ms, max delay 3000 ms; {} SKUs in one keyCRM warehouse\n",
        plan.requests_per_minute, plan.skus
    );

    // Baseline: a bare PUT /offers/stocks of one SKU straight to keyCRM.
    let http = reqwest::Client::new();
    let mut bare = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        http.put(format!("{}/offers/stocks", app.sim_api_url))
            .bearer_auth(SIM_API_KEY)
            .json(&json!({"warehouse_id": 1, "stocks": [{"sku": skus[i % skus.len()], "quantity": 0}]}))
            .send()
            .await?
            .error_for_status()?;
        bare.push(t.elapsed());
    }
    println!(
        "{:<36} p50 {:>8.1} ms   p99 {:>8.1} ms",
        "bare keyCRM PUT /offers/stocks",
        ms(percentile(&bare, 50.0)),
        ms(percentile(&bare, 99.0))
    );

    let mut balances: HashMap<String, Decimal> = HashMap::new();
    let mut receipt = |sku: &str| {
        let b = balances.entry(sku.to_owned()).or_default();
        *b += Decimal::ONE;
        *b
    };

    // 1. A steady trickle of receipts.
    app.sim.lock().requests.clear();
    let mut sent = Vec::new();
    let gap = Duration::from_millis(1000 / plan.trickle_per_second.max(1));
    for n in 0..plan.trickle {
        let sku = skus[n % skus.len()].clone();
        let at = Utc::now();
        post(&app, "/movements", json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": sku, "quantity": 1}]})).await?;
        sent.push(Sent {
            at,
            balance_after: receipt(&sku),
            sku,
        });
        tokio::time::sleep(gap).await;
    }
    wait_drained(&app, &sent, Duration::from_secs(120)).await;
    let lat = latencies(&app, &sent);
    let requests = puts(&app);
    println!(
        "{:<36} p50 {:>8.1} ms   p99 {:>8.1} ms   ({}/{} arrived)",
        format!(
            "trickle {}/s: movement → keyCRM PUT",
            plan.trickle_per_second
        ),
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 99.0)),
        lat.len(),
        sent.len()
    );
    println!(
        "  {} movements → {} PUTs = {:.0} per 1 000 movements (naive: 1 000; {:.0}x fewer)",
        sent.len(),
        requests,
        requests as f64 * 1000.0 / sent.len() as f64,
        sent.len() as f64 / requests.max(1) as f64
    );

    // 2. A burst as fast as the API takes it.
    app.sim.lock().requests.clear();
    let mut sent = Vec::new();
    let started = Instant::now();
    for n in 0..plan.burst {
        let sku = skus[n % skus.len()].clone();
        let at = Utc::now();
        post(&app, "/movements", json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": sku, "quantity": 1}]})).await?;
        sent.push(Sent {
            at,
            balance_after: receipt(&sku),
            sku,
        });
    }
    let posting = started.elapsed();
    wait_drained(&app, &sent, Duration::from_secs(300)).await;
    let lat = latencies(&app, &sent);
    let requests = puts(&app);
    println!(
        "{:<36} p50 {:>8.1} ms   p99 {:>8.1} ms   ({}/{} arrived; posted in {:.1} s)",
        "burst: movement → keyCRM PUT",
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 99.0)),
        lat.len(),
        sent.len(),
        posting.as_secs_f64()
    );
    println!(
        "  {} movements → {} PUTs = {:.1} per 1 000 movements (naive: 1 000; {:.0}x fewer)",
        sent.len(),
        requests,
        requests as f64 * 1000.0 / sent.len() as f64,
        sent.len() as f64 / requests.max(1) as f64
    );
    Ok(())
}
