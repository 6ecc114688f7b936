//! Orders move stock by themselves (shipment on a keyCRM status, once; waiting when short;
//! corrections and returns), and what keyCRM receives (push buffers).

use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually, process_env};

use crate::cli::sklad;

/// Shipments recorded for `sku` (one line each), from the movement list.
async fn shipments_of(app: &TestApp, sku: &str) -> Vec<Value> {
    let page = app
        .get_json(
            &format!("/movements?sku={sku}&per_page=200"),
            &app.account.admin_token,
        )
        .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "shipment")
        .cloned()
        .collect()
}

/// Ship statuses need a warehouse of the account's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ship_settings_are_checked() {
    let app = TestApp::spawn().await;
    let answer = app
        .answers(
            Method::PUT,
            "/integrations/keycrm",
            json!({"ship_status_ids": [3]}),
            422,
        )
        .await;
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ship_warehouse_id"),
        "{answer}"
    );
    let other = app.create_account("other shop", true).await;
    let theirs = app
        .api(Method::POST, "/warehouses", &other.admin_token)
        .json(&json!({"name": "Theirs"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    app.answers(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": theirs["id"]}),
        422,
    )
    .await;
    let ours = app.created("/warehouses", json!({"name": "Ours"})).await;
    let saved = app
        .ok(
            Method::PUT,
            "/integrations/keycrm",
            json!({"ship_status_ids": [4, 3, 3], "ship_warehouse_id": ours["id"]}),
        )
        .await;
    assert_eq!(saved["ship_status_ids"], json!([3, 4]));
    assert_eq!(saved["ship_warehouse_id"], ours["id"]);
}

/// An order moved to a ship status in keyCRM ships once, whatever arrives how often and
/// through which worker; keyCRM then receives the reduced quantity. A short order waits,
/// is listed as waiting with its reason, and ships by itself when a receipt covers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_in_a_ship_status_ships_once_and_a_short_one_waits_for_stock() {
    let app = TestApp::spawn_with(AppOptions {
        configure: Some(|s| {
            s.order_sync.waiting_shipments_interval = Duration::from_millis(300);
        }),
        ..AppOptions::all_workers()
    })
    .await;
    // A second order-sync process competes for every fetch and every waiting order.
    let second = sklad_order_sync::Worker::build(&app.settings).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(second.run_until_stopped(stop.clone()));

    let rig = app.stock_rig(&["OS-1", "OS-2"]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "OS-1", "quantity": 5}, {"sku": "OS-2", "quantity": 5}]})).await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1}),
    )
    .await;

    let id = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "OS-1", "quantity": 2}, {"sku": "OS-2", "quantity": 1}]})).await;
    app.sim_status(id, 2).await;
    let order = app
        .wait_for_order(id, "order imported", |o| o["status_id"] == 2)
        .await;
    assert_eq!(order["shipment"]["state"], "not_shipped");
    assert!(shipments_of(&app, "OS-1").await.is_empty());

    // Into the ship status: the webhook, ten duplicates of it at once, and a sync job.
    let moved = app.sim_status(id, 3).await;
    let body = moved["deliveries"][0]["body"].to_string();
    let duplicates = (0..10).map(|_| app.webhook_status(body.clone()));
    let (statuses, _) = tokio::join!(
        futures::future::join_all(duplicates),
        app.run_sync_job(json!([3]))
    );
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let order = app
        .wait_for_order(id, "order shipped", |o| o["shipment"]["state"] == "shipped")
        .await;
    let shipments = shipments_of(&app, "OS-1").await;
    assert_eq!(shipments.len(), 1, "one shipment: {shipments:?}");
    assert_eq!(order["shipped_movement_id"], shipments[0]["id"]);
    assert_eq!(shipments_of(&app, "OS-2").await.len(), 1);

    // keyCRM receives what is left: 5 − 2 and 5 − 1.
    app.wait_keycrm(1, &[("OS-1", 3), ("OS-2", 4)]).await;
    // Later changes of a shipped order ship nothing more.
    app.sim_status(id, 3).await;
    app.sim_status(id, 2).await;
    app.wait_for_order(id, "back in status 2", |o| o["status_id"] == 2)
        .await;
    assert_eq!(shipments_of(&app, "OS-1").await.len(), 1);

    // More than W1 holds: the order waits, says why, and changes no balance.
    let short = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "OS-1", "quantity": 7}, {"sku": "OS-2", "quantity": 1}]})).await;
    app.sim_status(short, 3).await;
    let waiting = app
        .wait_for_order(short, "order waiting", |o| {
            o["shipment"]["state"] == "waiting"
        })
        .await;
    let reason = waiting["shipment"]["waiting_reason"].as_str().unwrap();
    assert!(reason.contains("OS-1"), "{reason}");
    assert!(waiting["shipment"]["waiting_since"].is_string());
    let listed = app
        .get_json("/orders?shipment=waiting", &app.account.admin_token)
        .await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["keycrm_id"], short);
    assert_eq!(shipments_of(&app, "OS-2").await.len(), 1, "nothing moved");
    let env = process_env(&app, &[]);
    let status = sklad(&env, &["status", "--json"]).output().await.unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let waiting = &status["postgres"]["waiting_shipments"][0];
    assert_eq!(
        waiting["account_id"],
        app.account.id.to_string(),
        "{status}"
    );
    assert_eq!(waiting["orders"], 1);

    // A receipt covers it: it ships by itself, once, and keyCRM follows.
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "OS-1", "quantity": 10}]})).await;
    app.wait_for_order(short, "waiting order shipped", |o| {
        o["shipment"]["state"] == "shipped"
    })
    .await;
    assert_eq!(shipments_of(&app, "OS-1").await.len(), 2);
    let listed = app
        .get_json("/orders?shipment=waiting", &app.account.admin_token)
        .await;
    assert_eq!(listed["total"], 0);
    // 3 + 10 − 7 and 4 − 1.
    app.wait_keycrm(1, &[("OS-1", 6), ("OS-2", 3)]).await;
    stop.cancel();
}

/// Kinds of the movements that touched `sku`, oldest first.
async fn kinds_of(app: &TestApp, sku: &str) -> Vec<String> {
    let page = app
        .get_json(
            &format!("/movements?sku={sku}&per_page=200"),
            &app.account.admin_token,
        )
        .await;
    let mut kinds: Vec<(String, String)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["created_at"].as_str().unwrap().to_owned(),
                m["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    kinds.into_iter().map(|(_, kind)| kind).collect()
}

/// A shipped order whose lines change in keyCRM is corrected by the difference; in a return
/// status it comes back once; after that nothing moves. keyCRM follows every step, and
/// sklad's stock is "received − shipped + returned" throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_order_is_corrected_when_its_lines_change_and_returned_once() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["RC-1", "RC-2"]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "RC-1", "quantity": 10}, {"sku": "RC-2", "quantity": 10}]})).await;
    app.answers(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1, "return_status_ids": [3]}),
        422,
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1, "return_status_ids": [5]}),
    )
    .await;

    let id = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "RC-1", "quantity": 2}, {"sku": "RC-2", "quantity": 1}]})).await;
    app.sim_status(id, 3).await;
    app.wait_for_order(id, "shipped", |o| o["shipment"]["state"] == "shipped")
        .await;
    app.wait_keycrm(1, &[("RC-1", 8), ("RC-2", 9)]).await;

    // The manager adds one RC-1 and removes RC-2 after shipping.
    app.sim_control(
        Method::PUT,
        &format!("/orders/{id}/lines"),
        json!({"lines": [{"sku": "RC-1", "quantity": 3}], "webhook": true}),
    )
    .await;
    eventually(Duration::from_secs(30), "a correction", || async {
        (kinds_of(&app, "RC-1").await == ["receipt", "shipment", "correction"]).then_some(())
    })
    .await;
    assert_eq!(
        kinds_of(&app, "RC-2").await,
        ["receipt", "shipment", "correction"]
    );
    app.wait_keycrm(1, &[("RC-1", 7), ("RC-2", 10)]).await;
    let order = app
        .get_json(&format!("/orders/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(order["shipment"]["state"], "shipped");

    // Into a return status, twice: one return, everything back.
    app.sim_status(id, 5).await;
    app.sim_status(id, 5).await;
    let order = app
        .wait_for_order(id, "returned", |o| o["shipment"]["state"] == "returned")
        .await;
    assert!(order["shipment"]["returned_movement_id"].is_string());
    app.wait_keycrm(1, &[("RC-1", 10), ("RC-2", 10)]).await;
    assert_eq!(
        kinds_of(&app, "RC-1").await,
        ["receipt", "shipment", "correction", "return"]
    );

    // A returned order is done: editing it or moving it back to a ship status moves nothing.
    app.sim_control(
        Method::PUT,
        &format!("/orders/{id}/lines"),
        json!({"lines": [{"sku": "RC-1", "quantity": 1}], "webhook": true}),
    )
    .await;
    app.wait_for_order(id, "the edit stored", |o| o["lines"][0]["quantity"] == "1")
        .await;
    app.sim_status(id, 3).await;
    app.wait_for_order(id, "back in status 3", |o| o["status_id"] == 3)
        .await;
    assert_eq!(
        kinds_of(&app, "RC-1").await,
        ["receipt", "shipment", "correction", "return"]
    );
    let balances = app
        .get_json("/balances?sku=RC-1", &app.account.admin_token)
        .await;
    assert_eq!(balances["data"][0]["quantity"], "10");
}

/// A warehouse's push buffer (safety stock) is kept back from keyCRM: it contributes
/// `max(0, balance − buffer)` to its keyCRM warehouse's sum, and changing the buffer re-sends
/// its SKUs at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_buffer_keeps_safety_stock_back_from_keycrm() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["PB-1", "PB-2"]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "PB-1", "quantity": 10}, {"sku": "PB-2", "quantity": 2}]})).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w2, "lines": [{"sku": "PB-1", "quantity": 3}]})).await;
    app.wait_keycrm(1, &[("PB-1", 13), ("PB-2", 2)]).await;

    let path = format!("/warehouses/{}", rig.w1);
    for bad in [json!(-1), json!("x"), json!("1.00001")] {
        app.answers(Method::PATCH, &path, json!({"push_buffer": bad}), 422)
            .await;
    }
    let changed = app
        .ok(Method::PATCH, &path, json!({"push_buffer": "5"}))
        .await;
    assert_eq!(changed["push_buffer"], "5");
    // W1 gives 10 − 5, W2 its 3; PB-2's 2 is all buffer.
    app.wait_keycrm(1, &[("PB-1", 8), ("PB-2", 0)]).await;
    // Balances themselves are untouched.
    let balances = app
        .get_json("/balances?sku=PB-1", &app.account.admin_token)
        .await;
    let total: Decimal = balances["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["quantity"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(total, Decimal::from(13));

    app.ok(Method::PATCH, &path, json!({"push_buffer": 0}))
        .await;
    app.wait_keycrm(1, &[("PB-1", 13), ("PB-2", 2)]).await;
}

/// `(sku, quantity)` of a preview's lines, as strings.
fn preview_lines(lines: &Value) -> Vec<(String, String)> {
    lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap().to_owned(),
                l["quantity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The preview tells what the next push will send, and the push then sends exactly that;
/// it can also show what a resync would send and what keyCRM holds, and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_shows_what_the_next_push_then_sends() {
    let app = TestApp::spawn_with(AppOptions {
        configure: Some(|s| {
            // Time enough to look before the push goes.
            s.stock_publisher.settle = Duration::from_secs(3);
            s.stock_publisher.max_delay = Duration::from_secs(20);
        }),
        ..AppOptions::all_workers()
    })
    .await;
    let rig = app.stock_rig(&["PV-1", "PV-2"]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "PV-1", "quantity": 4}, {"sku": "PV-2", "quantity": 6}]})).await;
    let preview = eventually(Duration::from_secs(10), "both SKUs marked", || async {
        let preview = app
            .get_json("/stock/preview", &app.account.admin_token)
            .await;
        (preview["data"][0]["next_push"].as_array()?.len() == 2).then_some(preview)
    })
    .await;
    let target = &preview["data"][0];
    assert_eq!(target["keycrm_warehouse_id"], 1);
    let promised = preview_lines(&target["next_push"]);
    assert_eq!(
        promised,
        [
            ("PV-1".to_owned(), "4".to_owned()),
            ("PV-2".to_owned(), "6".to_owned())
        ]
    );
    assert!(target["next_push"][0]["last_accepted"].is_null());
    assert_eq!(preview["keycrm_pages"], 0);

    // The push sends what the preview said.
    let sent = eventually(Duration::from_secs(30), "the push", || async {
        let sim = app.sim.lock();
        let write = sim
            .stock_writes
            .iter()
            .rev()
            .find(|w| w.status == 202 && w.warehouse_id == Some(1))?;
        let mut items: Vec<(String, String)> = write
            .items
            .iter()
            .map(|i| {
                let quantity: Decimal = i["quantity"].to_string().parse().unwrap();
                (
                    i["sku"].as_str().unwrap().to_owned(),
                    quantity.normalize().to_string(),
                )
            })
            .collect();
        items.sort();
        Some(items)
    })
    .await;
    assert_eq!(sent, promised);

    // Afterwards nothing is due; a resync would send both; keyCRM is read back on request.
    eventually(Duration::from_secs(10), "nothing due", || async {
        let preview = app
            .get_json("/stock/preview", &app.account.admin_token)
            .await;
        (preview["data"][0]["next_push"] == json!([])).then_some(())
    })
    .await;
    app.sim_control(
        Method::PUT,
        "/stocks",
        json!([{"warehouse_id": 1, "sku": "PV-2", "quantity": 60}]),
    )
    .await;
    let puts_before = app.sim_count(|r| r.method == "PUT");
    let preview = app
        .get_json(
            "/stock/preview?resync=true&read_back=true",
            &app.account.admin_token,
        )
        .await;
    let resync = &preview["data"][0]["resync"];
    assert_eq!(preview_lines(resync), promised);
    assert_eq!(resync[1]["last_accepted"], "6");
    assert_eq!(
        resync[1]["in_keycrm"], "60",
        "keyCRM changed behind sklad's back"
    );
    assert_eq!(resync[0]["in_keycrm"], "4");
    assert!(preview["keycrm_pages"].as_u64().unwrap() >= 1);
    assert_eq!(
        app.sim_count(|r| r.method == "PUT"),
        puts_before,
        "a preview sends nothing"
    );
    app.answers(
        Method::GET,
        "/stock/preview?read_back=maybe",
        json!(null),
        400,
    )
    .await;

    // The same from the CLI.
    let env = process_env(&app, &[]);
    let account = app.account.id.to_string();
    let output = sklad(
        &env,
        &["stock", "preview", "--account", &account, "--resync"],
    )
    .output()
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("next push: 0 SKUs"), "{stdout}");
    assert!(stdout.contains("a resync: 2 SKUs"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("PV-2") && l.contains("send") && l.contains(" 6 ")),
        "{stdout}"
    );
}
