//! `sklad-bench orders`: what order-sync spends of the keyCRM budget and how long a webhook
//! takes to become an order, each next to its baseline from the same run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;
use sklad_db::schema::customer_orders;
use sklad_tests::{AppOptions, SIM_API_KEY, TestApp};

use crate::{ms, percentile};

pub struct Plan {
    pub sync_orders: usize,
    pub burst: usize,
    pub trickle: usize,
    pub trickle_interval: Duration,
    pub requests_per_minute: u32,
}

/// Sum and count of the budget-wait histogram, by priority.
fn budget_wait() -> HashMap<String, (f64, u64)> {
    let mut out = HashMap::new();
    for family in prometheus::gather() {
        if family.name() != "sklad_keycrm_budget_wait_seconds" {
            continue;
        }
        for metric in family.get_metric() {
            let priority = metric
                .get_label()
                .iter()
                .find(|l| l.name() == "priority")
                .map(|l| l.value().to_owned())
                .unwrap_or_default();
            let h = metric.get_histogram();
            out.insert(priority, (h.get_sample_sum(), h.get_sample_count()));
        }
    }
    out
}

fn wait_since(before: &HashMap<String, (f64, u64)>, priority: &str) -> (f64, u64) {
    let now = budget_wait();
    let (s1, c1) = now.get(priority).copied().unwrap_or_default();
    let (s0, c0) = before.get(priority).copied().unwrap_or_default();
    (s1 - s0, c1 - c0)
}

fn order_requests(app: &TestApp) -> (usize, usize) {
    let sim = app.sim.lock();
    let pages = sim
        .requests
        .iter()
        .filter(|r| r.path == "/v1/order")
        .count();
    let singles = sim
        .requests
        .iter()
        .filter(|r| r.path.starts_with("/v1/order/") && r.path != "/v1/order/status")
        .count();
    (pages, singles)
}

pub(crate) async fn generate(
    app: &TestApp,
    count: usize,
    status: i64,
    seed: u64,
) -> anyhow::Result<Vec<i64>> {
    let answer = app
        .sim_control(
            Method::POST,
            "/orders/generate",
            json!({"count": count, "status_ids": [status], "seed": seed, "one_time_every": 7, "with_payments": true}),
        )
        .await;
    Ok(answer["ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|v| v.as_i64()).collect())
        .unwrap_or_default())
}

/// When each of `ids` first appeared in sklad.
pub(crate) async fn arrivals(
    app: &TestApp,
    ids: &[i64],
    deadline: Duration,
) -> anyhow::Result<HashMap<i64, DateTime<Utc>>> {
    let started = Instant::now();
    loop {
        let mut conn = app.db().conn().await?;
        let rows: Vec<(i64, DateTime<Utc>)> = customer_orders::table
            .filter(customer_orders::account_id.eq(app.account.id))
            .filter(customer_orders::keycrm_id.eq_any(ids))
            .select((customer_orders::keycrm_id, customer_orders::created_at))
            .load(&mut conn)
            .await?;
        if rows.len() == ids.len() || started.elapsed() > deadline {
            return Ok(rows.into_iter().collect());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn latencies(
    fired: &HashMap<i64, DateTime<Utc>>,
    arrived: &HashMap<i64, DateTime<Utc>>,
) -> Vec<Duration> {
    fired
        .iter()
        .filter_map(|(id, at)| {
            arrived
                .get(id)
                .map(|got| (*got - *at).to_std().unwrap_or_default())
        })
        .collect()
}

pub(crate) fn report_latency(name: &str, lat: &[Duration], expected: usize) {
    println!(
        "{name:<34} {:>5}/{expected} orders   p50 {:>8.1} ms   p99 {:>8.1} ms",
        lat.len(),
        ms(percentile(lat, 50.0)),
        ms(percentile(lat, 99.0))
    );
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        configure: Some(|s| {
            s.order_sync.poll = Duration::from_millis(100);
            s.order_sync.coalesce = Duration::from_secs(1);
        }),
        ..AppOptions::default()
    })
    .await;
    let put = app
        .api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&json!({"requests_per_minute": plan.requests_per_minute, "receive_payments": true}))
        .send()
        .await?;
    anyhow::ensure!(put.status().is_success(), "settings: {}", put.status());
    println!(
        "keyCRM budget {} requests/min; coalescing 1000 ms; batch threshold 5\n",
        plan.requests_per_minute
    );

    // Baseline: a bare keyCRM fetch of one order (what every webhook costs at the least).
    let sample = generate(&app, 20, 9, 1).await?;
    let http = reqwest::Client::new();
    let mut bare = Vec::new();
    for id in &sample {
        let t = Instant::now();
        http.get(format!(
            "{}/order/{id}?include=products.offer,payments,status,buyer",
            app.sim_api_url
        ))
        .bearer_auth(SIM_API_KEY)
        .send()
        .await?
        .error_for_status()?;
        bare.push(t.elapsed());
    }
    report_latency("bare keyCRM GET /order/{id}", &bare, sample.len());

    // 1. "Synchronize orders".
    generate(&app, plan.sync_orders, 1, 2).await?;
    app.sim.lock().requests.clear();
    let before = budget_wait();
    let started = Instant::now();
    let job: serde_json::Value = app
        .api(Method::POST, "/sync-jobs", &app.account.admin_token)
        .json(&json!({"status_ids": [1]}))
        .send()
        .await?
        .json()
        .await?;
    let path = format!("/sync-jobs/{}", job["id"].as_str().unwrap_or_default());
    let job = loop {
        let job = app.get_json(&path, &app.account.admin_token).await;
        if job["state"] != "queued" && job["state"] != "running" {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let (pages, _) = order_requests(&app);
    let (wait, grants) = wait_since(&before, "bulk");
    println!(
        "\nsync job: {} orders in {:.1} s with {} keyCRM requests = {:.1} orders/request (naive: 1.0; {:.0}x fewer requests); budget wait {:.1} s over {} grants",
        job["orders_done"],
        started.elapsed().as_secs_f64(),
        pages,
        job["orders_done"].as_f64().unwrap_or(0.0) / pages.max(1) as f64,
        job["orders_done"].as_f64().unwrap_or(0.0) / pages.max(1) as f64,
        wait,
        grants
    );

    // 2. A trickle: orders change status one by one.
    let ids = generate(&app, plan.trickle, 2, 3).await?;
    app.sim.lock().requests.clear();
    let before = budget_wait();
    let mut fired = HashMap::new();
    for id in &ids {
        fired.insert(*id, Utc::now());
        app.sim_control(
            Method::PUT,
            &format!("/orders/{id}/status"),
            json!({"status_id": 5}),
        )
        .await;
        tokio::time::sleep(plan.trickle_interval).await;
    }
    let arrived = arrivals(&app, &ids, Duration::from_secs(600)).await?;
    let (pages, singles) = order_requests(&app);
    let (wait, grants) = wait_since(&before, "normal");
    println!();
    report_latency(
        "trickle: webhook → order",
        &latencies(&fired, &arrived),
        ids.len(),
    );
    println!(
        "  {} webhooks → {} keyCRM requests ({} pages + {} single); budget wait {:.2} s total, {:.0} ms mean per request",
        ids.len(),
        pages + singles,
        pages,
        singles,
        wait,
        wait * 1000.0 / grants.max(1) as f64
    );

    // 3. A burst: a manager moves many orders to another status at once; keyCRM fires a
    // webhook per order.
    let ids = generate(&app, plan.burst, 3, 4).await?;
    app.sim.lock().requests.clear();
    let before = budget_wait();
    let now = Utc::now();
    let fired: HashMap<i64, DateTime<Utc>> = ids.iter().map(|id| (*id, now)).collect();
    app.sim_control(
        Method::PUT,
        "/orders/status",
        json!({"order_ids": ids, "status_id": 4}),
    )
    .await;
    let arrived = arrivals(&app, &ids, Duration::from_secs(600)).await?;
    let (pages, singles) = order_requests(&app);
    let (wait, grants) = wait_since(&before, "normal");
    println!();
    report_latency(
        "burst: webhook → order",
        &latencies(&fired, &arrived),
        ids.len(),
    );
    println!(
        "  {} webhooks → {} keyCRM requests ({} pages + {} single) = {:.1} webhooks/request (naive 1.0); budget wait {:.2} s total, {:.0} ms mean per request",
        ids.len(),
        pages + singles,
        pages,
        singles,
        ids.len() as f64 / (pages + singles).max(1) as f64,
        wait,
        wait * 1000.0 / grants.max(1) as f64
    );
    Ok(())
}
