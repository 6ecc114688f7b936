//! `sklad-bench catalogue`: moving a big shop in. A catalogue import's keyCRM requests
//! against the pages it must read; webhook → stored order latency while the import runs
//! against the same stream with nothing else running (the import must wait in the budget,
//! not the webhooks); and a take-over's time after keyCRM's stock was read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::json;
use sklad_tests::{AppOptions, TestApp};

use crate::orders::{arrivals, generate, latencies, report_latency};

pub struct Plan {
    pub offers: usize,
    pub requests_per_minute: u32,
    /// Seconds of the baseline webhook stream.
    pub baseline_seconds: u64,
}

/// Fires one webhook a second (an order moved to another status in keyCRM) for `seconds`
/// or until `until` says stop; returns when each fired.
async fn stream(
    app: &TestApp,
    ids: &[i64],
    until: impl Fn() -> bool,
) -> HashMap<i64, DateTime<Utc>> {
    let mut fired = HashMap::new();
    for id in ids {
        if until() {
            break;
        }
        fired.insert(*id, Utc::now());
        app.sim_control(
            Method::PUT,
            &format!("/orders/{id}/status"),
            json!({"status_id": 2}),
        )
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    fired
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        configure: Some(|s| {
            s.order_sync.poll = Duration::from_millis(100);
            s.order_sync.coalesce = Duration::from_millis(200);
        }),
        ..AppOptions::default()
    })
    .await;
    app.sim_control(
        Method::PUT,
        "/config",
        json!({"requests_per_minute": plan.requests_per_minute}),
    )
    .await;
    let put = app
        .api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&json!({"requests_per_minute": plan.requests_per_minute}))
        .send()
        .await?;
    anyhow::ensure!(put.status().is_success(), "settings: {}", put.status());
    app.sim_control(
        Method::POST,
        "/catalogue/generate",
        json!({"offers": plan.offers, "warehouses": [1, 2], "seed": 11, "stock_max": 50}),
    )
    .await;
    let mut warehouses = Vec::new();
    for (name, target) in [("W1", 1), ("W2", 2)] {
        let created = app.created("/warehouses", json!({"name": name})).await;
        warehouses.push(json!({"warehouse_id": created["id"], "keycrm_warehouse_id": target}));
    }
    // By hand: "Update the list" reads every stock page, which the take-over times anyway.
    for (id, name) in [(1, "Склад 1"), (2, "Склад 2")] {
        app.created("/keycrm/warehouses", json!({"id": id, "name": name}))
            .await;
    }
    app.ok(
        Method::PUT,
        "/integrations/keycrm/warehouse-mapping",
        json!({"mapping": warehouses}),
    )
    .await;
    println!(
        "keyCRM budget {} requests/min; catalogue of {} offers in 2 keyCRM warehouses\n",
        plan.requests_per_minute, plan.offers
    );

    // Baseline: the webhook stream alone.
    let ids = generate(&app, plan.baseline_seconds as usize, 1, 21).await?;
    let fired = stream(&app, &ids, || false).await;
    let arrived = arrivals(&app, &ids, Duration::from_secs(120)).await?;
    let baseline = latencies(&fired, &arrived);
    report_latency("webhook → order, alone", &baseline, ids.len());

    // The import, with the same stream running beside it.
    app.sim.lock().requests.clear();
    let started = Instant::now();
    let job = app
        .answers(Method::POST, "/catalogue-imports", json!({}), 202)
        .await;
    let path = format!(
        "/catalogue-imports/{}",
        job["id"].as_str().unwrap_or_default()
    );
    let finished = std::sync::atomic::AtomicBool::new(false);
    let ids = generate(&app, (plan.offers / 10).clamp(60, 1200), 1, 22).await?;
    let (fired, job) = tokio::join!(
        stream(&app, &ids, || finished
            .load(std::sync::atomic::Ordering::Relaxed)),
        async {
            loop {
                let job = app.get_json(&path, &app.account.admin_token).await;
                if job["state"] != "queued" && job["state"] != "running" {
                    finished.store(true, std::sync::atomic::Ordering::Relaxed);
                    return job;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    );
    let took = started.elapsed();
    let fired_ids: Vec<i64> = fired.keys().copied().collect();
    let arrived = arrivals(&app, &fired_ids, Duration::from_secs(120)).await?;
    let during = latencies(&fired, &arrived);
    let offer_requests = app
        .sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.path == "/v1/offers")
        .count();
    let pages_needed = plan.offers.div_ceil(50);
    println!(
        "\ncatalogue import: {} in {:.1} s; {} created, {} updated, {} unchanged; {} keyCRM requests for {} pages of 50 ({:.2}x the pages)",
        job["state"],
        took.as_secs_f64(),
        job["created"],
        job["updated"],
        job["unchanged"],
        offer_requests,
        pages_needed,
        offer_requests as f64 / pages_needed.max(1) as f64
    );
    report_latency("webhook → order, during import", &during, fired.len());
    let p99 = |l: &[Duration]| crate::percentile(l, 99.0).as_secs_f64();
    println!(
        "  p99 during import / p99 alone: {:.2}x (goal: p99 during import ≤ 2.5 s)",
        p99(&during) / p99(&baseline).max(1e-9)
    );

    // The take-over: keyCRM's stock read, then one movement per warehouse.
    let clients = sklad_keycrm::Clients::new(&app.settings.keycrm, app.db().clone(), app.secrets());
    let keycrm = clients.for_account(app.account.id).await?;
    let last_page = Mutex::new(Instant::now());
    let started = Instant::now();
    let done = sklad_app::takeover::take_over(
        app.db(),
        &keycrm.client,
        app.account.id,
        &BTreeMap::new(),
        false,
        |_, _| {
            if let Ok(mut at) = last_page.lock() {
                *at = Instant::now();
            }
        },
    )
    .await?;
    let read = last_page
        .lock()
        .map(|at| at.duration_since(started))
        .unwrap_or_default();
    let total = started.elapsed();
    let lines: usize = done
        .targets
        .iter()
        .map(|t| t.lines.iter().filter(|l| !l.change.is_zero()).count())
        .sum();
    let movements = done
        .targets
        .iter()
        .filter(|t| t.movement_id.is_some())
        .count();
    println!(
        "\ntake-over: {} keyCRM pages read in {:.1} s; then {} movements with {} lines recorded in {:.2} s (goal ≤ 5 s)",
        done.pages,
        read.as_secs_f64(),
        movements,
        lines,
        (total - read).as_secs_f64()
    );
    Ok(())
}
