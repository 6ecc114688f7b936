//! `sklad-bench accounts`: fairness between shops. A few accounts flood sklad with webhooks
//! while many quiet ones each change one order a minute; every account has its own keyCRM
//! key and budget, as real shops do. Reported: webhook → stored order p50/p99 of the quiet
//! accounts (goal p99 ≤ 2.5 s) and of the flooding ones, and the quiet accounts' figures with
//! no flood, measured first in the same run, as the baseline.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use sklad_db::schema::customer_orders;
use sklad_tests::{AppOptions, TestAccount, TestApp};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::orders::{generate, report_latency};

pub struct Plan {
    pub accounts: usize,
    pub flood: usize,
    /// Webhooks per second of each flooding account.
    pub flood_rate: u32,
    pub seconds: u64,
    /// Each key's keyCRM budget (keyCRM's own is 60).
    pub requests_per_minute: u32,
}

/// One webhook: which account, which order, when it was posted.
type Fired = (Uuid, i64, DateTime<Utc>);

/// The order changes in keyCRM (its `updated_at` moves, so a page of recently updated
/// orders finds it) and keyCRM's automation posts the webhook.
async fn post(app: &TestApp, account: &TestAccount, order: i64) -> anyhow::Result<DateTime<Utc>> {
    let body =
        json!({"event": "order.change_order_status", "context": {"id": order, "status_id": 1}});
    let at = Utc::now();
    if let Some(changed) = app.sim.lock().orders.get_mut(&order) {
        changed.updated_at = at;
    }
    let answer = app
        .post_webhook(&account.webhook_url, body.to_string())
        .await;
    anyhow::ensure!(answer.status() == 202, "webhook: {}", answer.status());
    Ok(at)
}

/// Posts `count` webhooks for `account`, evenly over `over`, each for the next of `orders`.
async fn stream(
    app: Arc<TestApp>,
    account: TestAccount,
    orders: Vec<i64>,
    start_in: Duration,
    over: Duration,
) -> anyhow::Result<Vec<Fired>> {
    tokio::time::sleep(start_in).await;
    let gap = over / u32::try_from(orders.len().max(1)).unwrap_or(u32::MAX);
    let mut tick = tokio::time::interval(gap.max(Duration::from_micros(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut fired = Vec::with_capacity(orders.len());
    for order in orders {
        tick.tick().await;
        fired.push((account.id, order, post(&app, &account, order).await?));
    }
    Ok(fired)
}

/// When each (account, order) pair was first stored, waiting up to `deadline` for all.
async fn arrivals(
    app: &TestApp,
    fired: &[Fired],
    deadline: Duration,
) -> anyhow::Result<HashMap<(Uuid, i64), DateTime<Utc>>> {
    let ids: Vec<i64> = fired.iter().map(|(_, id, _)| *id).collect();
    let started = Instant::now();
    loop {
        let mut conn = app.db().conn().await?;
        let rows: Vec<(Uuid, i64, DateTime<Utc>)> = customer_orders::table
            .filter(customer_orders::keycrm_id.eq_any(&ids))
            .select((
                customer_orders::account_id,
                customer_orders::keycrm_id,
                customer_orders::created_at,
            ))
            .load(&mut conn)
            .await?;
        let found: HashMap<(Uuid, i64), DateTime<Utc>> = rows
            .into_iter()
            .map(|(account, id, at)| ((account, id), at))
            .collect();
        let all = fired
            .iter()
            .all(|(a, id, _)| found.contains_key(&(*a, *id)));
        if all || started.elapsed() > deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn latencies(fired: &[Fired], arrived: &HashMap<(Uuid, i64), DateTime<Utc>>) -> Vec<Duration> {
    fired
        .iter()
        .filter_map(|(account, id, at)| {
            arrived
                .get(&(*account, *id))
                .map(|got| (*got - *at).to_std().unwrap_or_default())
        })
        .collect()
}

/// Every quiet account posts one webhook (for an order of its own) within `over`, spread
/// evenly, as shops changing one order a minute do.
async fn quiet_round(
    app: &Arc<TestApp>,
    quiet: &[TestAccount],
    orders: &[i64],
    over: Duration,
) -> anyhow::Result<Vec<Fired>> {
    let mut tasks = JoinSet::new();
    let step = over / u32::try_from(quiet.len().max(1)).unwrap_or(u32::MAX);
    for (n, (account, order)) in quiet.iter().zip(orders).enumerate() {
        let (app, account, order) = (app.clone(), account.clone(), *order);
        let start_in = step * u32::try_from(n).unwrap_or(u32::MAX);
        tasks.spawn(
            async move { stream(app, account, vec![order], start_in, Duration::ZERO).await },
        );
    }
    let mut fired = Vec::new();
    while let Some(done) = tasks.join_next().await {
        fired.extend(done??);
    }
    Ok(fired)
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = Arc::new(
        TestApp::spawn_with(AppOptions {
            order_sync: true,
            sim_requests_per_minute: Some(plan.requests_per_minute),
            configure: Some(|s| {
                s.order_sync.poll = Duration::from_millis(100);
                s.order_sync.coalesce = Duration::from_millis(200);
                s.database.pool_size = 16;
            }),
            ..AppOptions::default()
        })
        .await,
    );
    let quiet_count = plan.accounts.saturating_sub(plan.flood);
    let rate = i32::try_from(plan.requests_per_minute).unwrap_or(60);
    let started = Instant::now();
    let mut accounts = Vec::with_capacity(plan.accounts);
    for n in 0..plan.accounts {
        let key = format!("bench-key-{n:05}-0123456789abcdef");
        app.sim.lock().api_keys.push(key.clone());
        accounts.push(
            app.create_keyed_account(&format!("Shop {n}"), Some(&key), rate)
                .await,
        );
    }
    let (flooding, quiet) = accounts.split_at(plan.flood.min(accounts.len()));
    let per_flood = usize::try_from(u64::from(plan.flood_rate) * plan.seconds).unwrap_or(0);
    let orders = generate(&app, quiet_count * 2 + per_flood * plan.flood, 1, 41).await?;
    anyhow::ensure!(
        orders.len() == quiet_count * 2 + per_flood * plan.flood,
        "the simulator generated {} orders",
        orders.len()
    );
    let (baseline_orders, rest) = orders.split_at(quiet_count);
    let (quiet_orders, flood_orders) = rest.split_at(quiet_count);
    println!(
        "{} accounts ({} flooding at {}/s, {} quiet at one order a minute), each key {} requests/min; set up in {:.1} s\n",
        plan.accounts,
        plan.flood,
        plan.flood_rate,
        quiet_count,
        plan.requests_per_minute,
        started.elapsed().as_secs_f64()
    );
    let over = Duration::from_secs(plan.seconds);

    // Baseline: the quiet accounts alone.
    let fired = quiet_round(&app, quiet, baseline_orders, over).await?;
    let arrived = arrivals(&app, &fired, Duration::from_secs(120)).await?;
    let baseline = latencies(&fired, &arrived);
    report_latency("quiet accounts, no flood", &baseline, fired.len());

    // The same, while the flooding accounts post `flood_rate` webhooks a second each.
    let mut floods = JoinSet::new();
    for (account, orders) in flooding.iter().zip(flood_orders.chunks(per_flood.max(1))) {
        floods.spawn(stream(
            app.clone(),
            account.clone(),
            orders.to_vec(),
            Duration::ZERO,
            over,
        ));
    }
    let quiet_fired = quiet_round(&app, quiet, quiet_orders, over).await?;
    let mut flood_fired = Vec::new();
    while let Some(done) = floods.join_next().await {
        flood_fired.extend(done??);
    }
    let arrived = arrivals(&app, &quiet_fired, Duration::from_secs(120)).await?;
    let during = latencies(&quiet_fired, &arrived);
    report_latency(
        "quiet accounts, during the flood",
        &during,
        quiet_fired.len(),
    );
    // A flood is bounded by its own key: 60 requests a minute bring 50 orders each.
    let arrived = arrivals(&app, &flood_fired, Duration::from_secs(600)).await?;
    let flood = latencies(&flood_fired, &arrived);
    report_latency("flooding accounts", &flood, flood_fired.len());
    let p99 = |l: &[Duration]| crate::percentile(l, 99.0).as_secs_f64();
    println!(
        "\nquiet p99 during the flood / without it: {:.2}x; quiet p99 {:.2} s (goal ≤ 2.5 s)",
        p99(&during) / p99(&baseline).max(1e-9),
        p99(&during)
    );
    Ok(())
}
