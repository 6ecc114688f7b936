//! Stock end to end: movements → outbox → relay → RabbitMQ → stock-publisher → keyCRM
//! (the simulator), and the stock API around it.

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, StockRig, TestApp, eventually, process_env};

use crate::cli::sklad;
use uuid::Uuid;

struct Rig {
    app: TestApp,
    /// Mapped to keyCRM warehouse 1.
    w1: String,
    /// Also mapped to keyCRM warehouse 1.
    w2: String,
    /// Not mapped.
    w3: String,
}

async fn rig_with(options: AppOptions, skus: &[&str]) -> Rig {
    let app = TestApp::spawn_with(options).await;
    let StockRig { w1, w2, w3 } = app.stock_rig(skus).await;
    Rig { app, w1, w2, w3 }
}

async fn rig() -> Rig {
    rig_with(
        AppOptions {
            stock_publisher: true,
            relay: true,
            ..AppOptions::default()
        },
        &["A-1", "B-2", "C-3"],
    )
    .await
}

async fn receipt(app: &TestApp, warehouse: &str, sku: &str, quantity: i64) -> Value {
    app.created("/movements",
        json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": sku, "quantity": quantity}]}),
    )
    .await
}

/// The quantity keyCRM (the simulator) holds for a SKU in one of its warehouses.
fn sim_stock(app: &TestApp, warehouse: i64, sku: &str) -> Option<Decimal> {
    let sim = app.sim.lock();
    let offer = sim.offer_by_sku(sku)?.id;
    sim.stocks.get(&(warehouse, offer)).copied()
}

async fn wait_sim_stock(app: &TestApp, warehouse: i64, sku: &str, expected: i64) {
    eventually(
        Duration::from_secs(30),
        &format!("keyCRM {sku}@{warehouse} = {expected}"),
        || async {
            (sim_stock(app, warehouse, sku) == Some(Decimal::from(expected))).then_some(())
        },
    )
    .await;
}

/// Waits until the stock-publisher has consumed `movement` and nothing is left to push.
async fn wait_settled(app: &TestApp, movement: &Value) {
    use sklad_db::schema::inbox;
    let id = movement["id"].as_str().unwrap().to_owned();
    eventually(
        Duration::from_secs(30),
        "movement consumed and pushed",
        || async {
            let mut conn = app.db().conn().await.ok()?;
            let seen: i64 = inbox::table
                .filter(inbox::consumer.eq("stock-publisher"))
                .filter(inbox::message_id.eq(&id))
                .count()
                .get_result(&mut conn)
                .await
                .ok()?;
            let (dirty, _) = sklad_db::push_waiting::dirty_stats(&mut conn, Some(app.account.id))
                .await
                .ok()?;
            (seen == 1 && dirty == 0).then_some(())
        },
    )
    .await;
}

fn writes(app: &TestApp) -> usize {
    app.sim
        .lock()
        .stock_writes
        .iter()
        .filter(|w| w.status == 202)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_reaches_keycrm_as_an_absolute_quantity() {
    let Rig { app, w1, .. } = rig().await;
    receipt(&app, &w1, "A-1", 5).await;
    wait_sim_stock(&app, 1, "A-1", 5).await;
    let last = receipt(&app, &w1, "A-1", 3).await;
    wait_sim_stock(&app, 1, "A-1", 8).await;
    wait_settled(&app, &last).await;
    let write = app
        .sim
        .lock()
        .stock_writes
        .iter()
        .rev()
        .find(|w| w.status == 202)
        .cloned()
        .unwrap();
    assert_eq!(write.warehouse_id, Some(1));
    assert_eq!(
        write.items,
        vec![json!({"sku": "A-1", "quantity": 8.0})],
        "the absolute quantity, not +3"
    );
    let log = app
        .get_json("/stock-pushes", &app.account.admin_token)
        .await;
    assert_eq!(log["data"][0]["outcome"], "accepted");
    assert_eq!(log["data"][0]["quantities"], json!({"A-1": "8"}));
    assert_eq!(log["data"][0]["http_status"], 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warehouses_mapped_to_one_keycrm_warehouse_arrive_summed() {
    let Rig { app, w1, w2, .. } = rig().await;
    receipt(&app, &w1, "A-1", 5).await;
    receipt(&app, &w2, "A-1", 7).await;
    wait_sim_stock(&app, 1, "A-1", 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_within_one_keycrm_warehouse_sends_nothing_new() {
    let Rig { app, w1, w2, .. } = rig().await;
    receipt(&app, &w1, "A-1", 5).await;
    let last = receipt(&app, &w2, "A-1", 7).await;
    wait_sim_stock(&app, 1, "A-1", 12).await;
    wait_settled(&app, &last).await;
    let before = writes(&app);
    let transfer = app.created("/movements",
        json!({"kind": "transfer", "from_warehouse_id": w1, "to_warehouse_id": w2, "lines": [{"sku": "A-1", "quantity": 3}]}),
    )
    .await;
    assert_eq!(transfer["lines"].as_array().unwrap().len(), 2);
    wait_settled(&app, &transfer).await;
    assert_eq!(
        writes(&app),
        before,
        "the sum did not change, so nothing was sent"
    );
    let balances = app
        .get_json("/balances?sku=A-1", &app.account.admin_token)
        .await;
    let quantities: Vec<&str> = balances["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(quantities, ["2", "10"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmapped_warehouse_sends_nothing() {
    let Rig { app, w3, .. } = rig().await;
    let movement = receipt(&app, &w3, "A-1", 5).await;
    wait_settled(&app, &movement).await;
    assert_eq!(writes(&app), 0);
    assert_eq!(sim_stock(&app, 1, "A-1"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_switch_off_sends_nothing_and_switching_on_pushes_everything_mapped() {
    let Rig { app, w1, .. } = rig().await;
    let off = app
        .api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&json!({"stock_push_enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    let movement = receipt(&app, &w1, "B-2", 4).await;
    wait_settled(&app, &movement).await;
    assert_eq!(writes(&app), 0, "switched off: nothing sent");

    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"stock_push_enabled": true}),
    )
    .await;
    wait_sim_stock(&app, 1, "B-2", 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_mapping_pushes_the_affected_sums() {
    let Rig { app, w1, w3, .. } = rig().await;
    receipt(&app, &w1, "A-1", 5).await;
    let last = receipt(&app, &w3, "A-1", 9).await;
    wait_sim_stock(&app, 1, "A-1", 5).await;
    wait_settled(&app, &last).await;
    // Warehouse 3 now feeds keyCRM warehouse 2.
    let mapped = app
        .api(
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping",
            &app.account.admin_token,
        )
        .json(&json!({"mapping": [{"warehouse_id": w3, "keycrm_warehouse_id": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(mapped.status(), 200);
    wait_sim_stock(&app, 2, "A-1", 9).await;
    // Warehouse 1 leaves keyCRM warehouse 1: its sum there drops to zero.
    app.api(
        Method::PUT,
        "/integrations/keycrm/warehouse-mapping",
        &app.account.admin_token,
    )
    .json(&json!({"mapping": [{"warehouse_id": w1, "keycrm_warehouse_id": null}]}))
    .send()
    .await
    .unwrap();
    wait_sim_stock(&app, 1, "A-1", 0).await;

    let unknown = app
        .api(
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping",
            &app.account.admin_token,
        )
        .json(&json!({"mapping": [{"warehouse_id": w1, "keycrm_warehouse_id": 777}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let missing = app
        .api(
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping",
            &app.account.admin_token,
        )
        .json(&json!({"mapping": [{"warehouse_id": Uuid::now_v7(), "keycrm_warehouse_id": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_keycrm_does_not_know_is_recorded_and_does_not_block_the_rest() {
    let Rig { app, w1, .. } = rig().await;
    app.created("/products", json!({"sku": "GHOST", "name": "Лише в sklad"}))
        .await;
    let movement = app.created("/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "GHOST", "quantity": 2}, {"sku": "A-1", "quantity": 6}]}),
    )
    .await;
    wait_sim_stock(&app, 1, "A-1", 6).await;
    wait_settled(&app, &movement).await;
    let log = app
        .get_json("/stock-pushes", &app.account.admin_token)
        .await;
    let pushes = log["data"].as_array().unwrap();
    let rejected = pushes
        .iter()
        .find(|p| p["outcome"] == "rejected")
        .expect("a rejected push");
    assert_eq!(rejected["http_status"], 422);
    assert!(
        rejected["rejected"]["GHOST"]
            .as_str()
            .unwrap()
            .contains("invalid")
    );
    let accepted = pushes.iter().find(|p| p["outcome"] == "accepted").unwrap();
    assert_eq!(accepted["quantities"], json!({"A-1": "6"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_repairs_a_value_changed_behind_sklads_back() {
    let Rig { app, w1, w2, .. } = rig().await;
    receipt(&app, &w1, "A-1", 5).await;
    let last = receipt(&app, &w2, "B-2", 3).await;
    wait_sim_stock(&app, 1, "A-1", 5).await;
    wait_sim_stock(&app, 1, "B-2", 3).await;
    wait_settled(&app, &last).await;
    // Someone edits keyCRM's stock by hand.
    app.sim_control(
        Method::PUT,
        "/stocks",
        json!([{"warehouse_id": 1, "sku": "A-1", "quantity": 99}]),
    )
    .await;

    let report = app.created("/stock/reconcile", json!({})).await;
    assert_eq!(
        report["drift"],
        json!([{"keycrm_warehouse_id": 1, "sku": "A-1", "keycrm_quantity": "99", "sklad_quantity": "5"}])
    );
    assert_eq!(report["checked"], 3);
    wait_sim_stock(&app, 1, "A-1", 5).await;
    assert_eq!(sim_stock(&app, 1, "B-2"), Some(Decimal::from(3)));

    let again = app.created("/stock/reconcile", json!({})).await;
    assert_eq!(again["drift"], json!([]), "nothing differs any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_pushes_everything_mapped_again() {
    let Rig { app, w1, .. } = rig().await;
    let last = receipt(&app, &w1, "C-3", 4).await;
    wait_sim_stock(&app, 1, "C-3", 4).await;
    wait_settled(&app, &last).await;
    let before = writes(&app);
    let resynced = app.created("/stock/resync", json!({})).await;
    assert_eq!(resynced["marked"], 1);
    eventually(Duration::from_secs(30), "resync pushed", || async {
        (writes(&app) > before).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_refusal_is_read_whole_and_does_not_loop() {
    let Rig { app, w1, .. } = rig().await;
    // 150 products keyCRM has never heard of: its 422 lists every one (far over 500 bytes).
    let ghosts: Vec<String> = (0..150).map(|i| format!("GHOST-{i:03}")).collect();
    for sku in &ghosts {
        app.created("/products", json!({"sku": sku, "name": sku}))
            .await;
    }
    let mut lines: Vec<Value> = ghosts
        .iter()
        .map(|s| json!({"sku": s, "quantity": 1}))
        .collect();
    lines.push(json!({"sku": "A-1", "quantity": 2}));
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": lines}),
    )
    .await;
    wait_sim_stock(&app, 1, "A-1", 2).await;
    // Afterwards keyCRM gets only what changes: a later receipt is one PUT with one SKU.
    let last = receipt(&app, &w1, "B-2", 3).await;
    wait_sim_stock(&app, 1, "B-2", 3).await;
    wait_settled(&app, &last).await;
    let writes = app.sim.lock().stock_writes.clone();
    let with_ghosts = writes
        .iter()
        .filter(|w| w.items.iter().any(|i| i["sku"] == "GHOST-149"))
        .count();
    assert_eq!(
        with_ghosts, 1,
        "the refused SKUs were sent once, not again and again"
    );
    assert_eq!(
        writes.len(),
        3,
        "refused, accepted without them, then B-2: {writes:?}"
    );
    let pushes = app
        .get_json("/stock-pushes?per_page=10", &app.account.admin_token)
        .await;
    let refused = pushes["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["outcome"] == "rejected")
        .unwrap();
    assert_eq!(refused["rejected"].as_object().unwrap().len(), 150);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_keeps_failing_backs_off_and_shows_in_status() {
    let Rig { app, w1, .. } = rig().await;
    app.sim.lock().faults.error_rate = 1.0;
    receipt(&app, &w1, "C-3", 7).await;
    // Three failed rounds; each waits longer than the one before.
    let failed = eventually(Duration::from_secs(60), "three failed pushes", || async {
        let pushes = app
            .get_json("/stock-pushes?per_page=50", &app.account.admin_token)
            .await;
        let mut times: Vec<chrono::DateTime<chrono::Utc>> = pushes["data"]
            .as_array()?
            .iter()
            .filter(|p| p["outcome"] == "failed")
            .map(|p| p["started_at"].as_str().unwrap().parse().unwrap())
            .collect();
        times.sort();
        (times.len() >= 4).then_some(times)
    })
    .await;
    let gaps: Vec<i64> = failed
        .windows(2)
        .map(|w| (w[1] - w[0]).num_milliseconds())
        .collect();
    assert!(gaps[2] > gaps[0] + 1500, "the waits grow: {gaps:?}");
    let env = process_env(&app, &[]);
    let status = sklad(&env, &["status", "--json"]).output().await.unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let failing = &status["postgres"]["failing_pushes"][0];
    assert_eq!(failing["keycrm_warehouse_id"], 1, "{status}");
    assert!(failing["failures"].as_i64().unwrap() >= 3);
    // keyCRM recovers: the quantity arrives at the next try.
    app.sim.lock().faults.error_rate = 0.0;
    wait_sim_stock(&app, 1, "C-3", 7).await;
}

/// Two pushers, a slow budget, keyCRM failing now and then, and a short lease: without the
/// per-target push lock a push waiting to retry could be overtaken by a newer one and then
/// land after it. Receipts only raise the balance, so keyCRM must only ever see it rise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_quantity_never_lands_after_a_newer_one() {
    let Rig { app, w1, .. } = rig_with(
        AppOptions {
            stock_publisher: true,
            relay: true,
            configure: Some(|s| {
                s.stock_publisher.push_lease = Duration::from_millis(600);
                s.stock_publisher.settle = Duration::from_millis(50);
                s.stock_publisher.max_delay = Duration::from_millis(300);
            }),
            ..AppOptions::default()
        },
        &["A-1", "B-2", "C-3"],
    )
    .await;
    let second = sklad_stock_publisher::Worker::build(&app.settings).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(second.run_until_stopped(stop.clone()));
    // A slow budget: each push waits about a second for its slot.
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"requests_per_minute": 60}),
    )
    .await;
    // keyCRM fails a third of the requests: a push retried after its backoff is the one a
    // newer push could overtake.
    app.sim.lock().faults.error_rate = 0.3;
    let mut last = Value::Null;
    for _ in 0..25 {
        last = receipt(&app, &w1, "A-1", 1).await;
        tokio::time::sleep(Duration::from_millis(120)).await; // movements spread over time
    }
    wait_settled(&app, &last).await;
    app.sim.lock().faults.error_rate = 0.0;
    wait_sim_stock(&app, 1, "A-1", 25).await;
    stop.cancel();
    let seen: Vec<Decimal> = app
        .sim
        .lock()
        .stock_writes
        .iter()
        .filter(|w| w.status == 202)
        .flat_map(|w| w.items.iter())
        .filter(|i| i["sku"] == "A-1")
        .map(|i| i["quantity"].to_string().parse().unwrap())
        .collect();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "keyCRM saw the quantity go back: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&Decimal::from(25)));
}
