//! `sklad-bench ship`: orders reaching a ship status become shipments without a keyCRM
//! request of their own. Two phases of the same size in one run: orders moved to a status
//! that ships nothing (the baseline: what syncing them costs), then orders moved to a ship
//! status; the difference in keyCRM requests is what shipping costs, and it should be only
//! the stock PUTs, a handful per keyCRM warehouse rather than one per order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::json;
use sklad_tests::{AppOptions, TestApp};

pub struct Plan {
    pub orders: usize,
    pub skus: usize,
    /// The orders of a phase reach their status spread over this long.
    pub spread: Duration,
    pub requests_per_minute: u32,
}

/// keyCRM requests the simulator answered, by kind.
#[derive(Debug, Default, Clone, Copy)]
struct Requests {
    /// `GET /order` pages (50 orders each at most).
    order_pages: usize,
    /// `GET /order/{id}`.
    order_reads: usize,
    stock_puts: usize,
    other: usize,
}

impl Requests {
    fn total(&self) -> usize {
        self.order_pages + self.order_reads + self.stock_puts + self.other
    }
}

fn requests(app: &TestApp) -> Requests {
    let sim = app.sim.lock();
    let mut counted = Requests::default();
    for r in &sim.requests {
        if r.method == "GET" && r.path == "/v1/order" {
            counted.order_pages += 1;
        } else if r.method == "GET" && r.path.starts_with("/v1/order/") {
            counted.order_reads += 1;
        } else if r.method == "PUT" && r.path == "/v1/offers/stocks" {
            counted.stock_puts += 1;
        } else {
            counted.other += 1;
        }
    }
    counted
}

/// Creates `count` orders in status 1, two lines each over `skus`; their ids and what they hold.
async fn create_orders(
    app: &TestApp,
    count: usize,
    skus: &[String],
    offset: usize,
) -> (Vec<i64>, BTreeMap<String, Decimal>) {
    let mut ids = Vec::with_capacity(count);
    let mut held = BTreeMap::new();
    for n in 0..count {
        let (a, b) = (
            &skus[(offset + n) % skus.len()],
            &skus[(offset + n * 7 + 3) % skus.len()],
        );
        ids.push(
            app.sim_order(json!({"status_id": 1, "lines": [{"sku": a, "quantity": 1}, {"sku": b, "quantity": 2}]}))
                .await,
        );
        *held.entry(a.clone()).or_default() += Decimal::ONE;
        *held.entry(b.clone()).or_default() += Decimal::TWO;
    }
    (ids, held)
}

/// Moves `ids` to `status` in slices spread over `spread` (keyCRM fires a webhook per order).
async fn move_spread(app: &TestApp, ids: &[i64], status: i64, spread: Duration) {
    let slices = spread.as_secs().max(1) as usize;
    let per_slice = ids.len().div_ceil(slices).max(1);
    let gap = spread / u32::try_from(slices).unwrap_or(u32::MAX);
    for slice in ids.chunks(per_slice) {
        app.sim_control(
            Method::PUT,
            "/orders/status",
            json!({"order_ids": slice, "status_id": status}),
        )
        .await;
        tokio::time::sleep(gap).await;
    }
}

/// Polls `done` once a second until it holds or `limit` passes; how long it took.
async fn until<F, Fut>(limit: Duration, done: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        anyhow::ensure!(started.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(started.elapsed())
}

pub async fn run(plan: Plan) -> anyhow::Result<()> {
    let app = TestApp::spawn_with(AppOptions {
        sim_requests_per_minute: Some(plan.requests_per_minute),
        ..AppOptions::all_workers()
    })
    .await;
    let skus: Vec<String> = (0..plan.skus).map(|i| format!("S-{i:04}")).collect();
    let names: Vec<&str> = skus.iter().map(String::as_str).collect();
    let rig = app.stock_rig(&names).await;
    let plenty = plan.orders * 10;
    let lines: Vec<_> = skus
        .iter()
        .map(|s| json!({"sku": s, "quantity": plenty}))
        .collect();
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": lines}),
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"requests_per_minute": plan.requests_per_minute, "ship_status_ids": [3], "ship_warehouse_id": rig.w1}),
    )
    .await;
    let start = Decimal::from(plenty);
    until(Duration::from_secs(120), || async {
        let q = app.sim_quantities(1);
        skus.iter().all(|s| q.get(s) == Some(&start))
    })
    .await?;
    println!(
        "{} orders per phase, 2 lines each over {} SKUs, reaching their status over {} s; keyCRM budget {} requests/min\n",
        plan.orders,
        plan.skus,
        plan.spread.as_secs(),
        plan.requests_per_minute
    );

    // Baseline: the same number of orders into a status that ships nothing.
    let (ids, _) = create_orders(&app, plan.orders, &skus, 0).await;
    app.sim.lock().requests.clear();
    let started = Instant::now();
    move_spread(&app, &ids, 2, plan.spread).await;
    until(Duration::from_secs(900), || async {
        let page = app
            .get_json("/orders?status_id=2&per_page=1", &app.account.admin_token)
            .await;
        page["total"].as_u64() == Some(ids.len() as u64)
    })
    .await?;
    let baseline_time = started.elapsed();
    let baseline = requests(&app);

    // Into a ship status: every order ships, and keyCRM ends with what is left.
    let (ids, held) = create_orders(&app, plan.orders, &skus, 1).await;
    app.sim.lock().requests.clear();
    let started = Instant::now();
    move_spread(&app, &ids, 3, plan.spread).await;
    until(Duration::from_secs(900), || async {
        let page = app
            .get_json(
                "/orders?shipment=shipped&per_page=1",
                &app.account.admin_token,
            )
            .await;
        page["total"].as_u64() == Some(ids.len() as u64)
    })
    .await?;
    let shipped_time = started.elapsed();
    until(Duration::from_secs(300), || async {
        let q = app.sim_quantities(1);
        held.iter().all(|(sku, n)| q.get(sku) == Some(&(start - n)))
    })
    .await?;
    let in_keycrm_time = started.elapsed();
    let shipping = requests(&app);

    println!(
        "{:<28} {:>7} {:>10} {:>11} {:>8} {:>6} {:>6} {:>9}",
        "", "orders", "GET pages", "GET by id", "PUT stk", "other", "all", "all done"
    );
    for (name, r, time) in [
        ("status that ships nothing", baseline, baseline_time),
        ("ship status", shipping, in_keycrm_time),
    ] {
        println!(
            "{:<28} {:>7} {:>10} {:>11} {:>8} {:>6} {:>6} {:>8.1}s",
            name,
            plan.orders,
            r.order_pages,
            r.order_reads,
            r.stock_puts,
            r.other,
            r.total(),
            time.as_secs_f64()
        );
    }
    println!();
    println!(
        "all {} orders shipped {:.1} s after the first status change; keyCRM had every quantity after {:.1} s",
        plan.orders,
        shipped_time.as_secs_f64(),
        in_keycrm_time.as_secs_f64()
    );
    println!(
        "keyCRM requests other than reading orders and pushing stock: {} (shipping asks keyCRM nothing; \
         reading orders differs between phases only by how the fetcher batched them)",
        shipping.other
    );
    println!(
        "stock PUTs: {} for {} shipments in one keyCRM warehouse ({:.1} per 100 orders; one per order would be {})",
        shipping.stock_puts,
        plan.orders,
        shipping.stock_puts as f64 * 100.0 / plan.orders as f64,
        plan.orders
    );
    Ok(())
}
