//! Production through the API: a multi-level BOM (loops refused, costs rolled up), what can
//! be made, and production orders whose completions move exactly the BOM's quantities in
//! one movement, or nothing when a component is short.

use std::collections::HashMap;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::TestApp;
use uuid::Uuid;

fn dec(value: &Value) -> Decimal {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

/// The balance of a product in a warehouse, and the sum of its ledger (they must agree).
async fn stock(app: &TestApp, warehouse: &str, product: &str) -> Decimal {
    let page = app
        .get_json(
            &format!("/balances?warehouse_id={warehouse}&per_page=200"),
            &app.account.admin_token,
        )
        .await;
    let balance = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["product_id"] == product)
        .map(|b| dec(&b["on_hand"]))
        .unwrap_or_default();
    let mut conn = app.db().conn().await.unwrap();
    let ledger = sklad_db::stock::ledger_sum(
        &mut conn,
        warehouse.parse::<Uuid>().unwrap(),
        product.parse::<Uuid>().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(balance, ledger, "balance and ledger of {product}");
    balance
}

/// TABLE ← LEG-SET ← LEG ← WOOD (four levels), with TOP and SCREW beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_level_bom_makes_exactly_what_it_says_or_nothing() {
    let app = TestApp::spawn().await;
    let mut id = HashMap::new();
    for sku in ["TABLE", "LEG-SET", "LEG", "WOOD", "TOP", "SCREW"] {
        let product = app
            .created(
                "/products",
                json!({"sku": sku, "name": format!("Item {sku}")}),
            )
            .await;
        id.insert(sku, product["id"].as_str().unwrap().to_owned());
    }
    for (sku, cost) in [("WOOD", "10"), ("SCREW", "0.5"), ("TOP", "100")] {
        app.ok(
            Method::PATCH,
            &format!("/products/{}", id[sku]),
            json!({"unit_cost": cost}),
        )
        .await;
    }
    let bom = |components: &[(&str, &str)], output: &str| {
        json!({
            "output_quantity": output,
            "components": components
                .iter()
                .map(|(sku, q)| json!({"product_id": id[sku], "quantity": q}))
                .collect::<Vec<_>>(),
        })
    };
    let path = |sku: &str| format!("/products/{}/bom", id[sku]);
    app.answers(Method::PUT, &path("LEG"), bom(&[("WOOD", "1")], "2"), 201)
        .await;
    app.answers(
        Method::PUT,
        &path("LEG-SET"),
        bom(&[("LEG", "4"), ("SCREW", "8")], "1"),
        201,
    )
    .await;
    let table = app
        .answers(
            Method::PUT,
            &path("TABLE"),
            bom(&[("LEG-SET", "1"), ("TOP", "1")], "1"),
            201,
        )
        .await;
    assert_eq!(table["version"], 1);
    // LEG = 10 / 2 = 5; LEG-SET = 4 × 5 + 8 × 0.5 = 24; TABLE = 24 + 100.
    assert_eq!(dec(&table["cost_per_unit"]), Decimal::from(124));

    // WOOD made of TABLE would close a loop four levels deep: refused, named, nothing saved.
    let refused = app
        .answers(Method::PUT, &path("WOOD"), bom(&[("TABLE", "1")], "1"), 422)
        .await;
    assert_eq!(refused["error"]["code"], "bom_cycle", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("WOOD → TABLE → LEG-SET → LEG → WOOD"),
        "{refused}"
    );
    app.answers(Method::GET, &path("WOOD"), Value::Null, 404)
        .await;

    // An edit is a new version; the old one stays.
    let leg = app
        .answers(Method::PUT, &path("LEG"), bom(&[("WOOD", "0.5")], "1"), 201)
        .await;
    assert_eq!(leg["version"], 2);

    let w1 = app
        .created("/warehouses", json!({"name": "Workshop"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let w2 = app.created("/warehouses", json!({"name": "Shop"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lines: Vec<Value> = [
        ("TOP", 3),
        ("LEG-SET", 1),
        ("LEG", 4),
        ("SCREW", 20),
        ("WOOD", 4),
    ]
    .iter()
    .map(|(sku, q)| json!({"sku": sku, "quantity": q}))
    .collect();
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": lines}),
    )
    .await;

    // LEG: 4 + 4 / 0.5 = 12 → LEG-SET: 1 + min(12 / 4, 20 / 8) = 3 → TABLE: min(3, 3 TOP),
    // the leg sets first.
    let makeable = app
        .get_json(
            &format!("/products/{}/makeable?warehouse_id={w1}", id["TABLE"]),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(dec(&makeable["units"]), Decimal::from(3), "{makeable}");
    assert_eq!(makeable["limiting_product_id"], json!(id["LEG-SET"]));

    let order = app
        .created(
            "/production-orders",
            json!({"product_id": id["TABLE"], "quantity": 3, "component_warehouse_id": w1, "output_warehouse_id": w2, "due_date": "2026-12-24"}),
        )
        .await;
    let order_path = format!("/production-orders/{}", order["id"].as_str().unwrap());
    assert_eq!(order["state"], "planned");
    assert_eq!(order["bom_id"], table["id"]);
    // Not released yet: nothing can be completed.
    app.answers(
        Method::POST,
        &format!("{order_path}/complete"),
        json!({}),
        409,
    )
    .await;
    app.ok(Method::POST, &format!("{order_path}/release"), json!({}))
        .await;

    // Two tables need two leg sets; there is one: 409 naming it, nothing moves.
    let short = app
        .answers(
            Method::POST,
            &format!("{order_path}/complete"),
            json!({"quantity": 2}),
            409,
        )
        .await;
    assert_eq!(short["error"]["code"], "short_components", "{short}");
    let message = short["error"]["message"].as_str().unwrap();
    assert!(message.contains("LEG-SET needs 2 has 1"), "{short}");
    assert_eq!(stock(&app, &w1, &id["LEG-SET"]).await, Decimal::from(1));
    assert_eq!(stock(&app, &w2, &id["TABLE"]).await, Decimal::ZERO);

    // Make one leg set (from LEG version 2's sub-BOM, in the workshop).
    let sets = app
        .created(
            "/production-orders",
            json!({"product_id": id["LEG-SET"], "quantity": 1, "component_warehouse_id": w1, "output_warehouse_id": w1}),
        )
        .await;
    let sets_path = format!("/production-orders/{}", sets["id"].as_str().unwrap());
    app.ok(Method::POST, &format!("{sets_path}/release"), json!({}))
        .await;
    let done = app
        .answers(
            Method::POST,
            &format!("{sets_path}/complete"),
            json!({}),
            201,
        )
        .await;
    assert_eq!(done["order"]["state"], "done");
    assert_eq!(done["movement"]["kind"], "production");
    assert_eq!(done["movement"]["lines"].as_array().unwrap().len(), 3);
    assert_eq!(stock(&app, &w1, &id["LEG"]).await, Decimal::ZERO);
    assert_eq!(stock(&app, &w1, &id["SCREW"]).await, Decimal::from(12));
    assert_eq!(stock(&app, &w1, &id["LEG-SET"]).await, Decimal::from(2));

    // Two of three tables: one movement, components out of the workshop, tables into the shop.
    let partial = app
        .answers(
            Method::POST,
            &format!("{order_path}/complete"),
            json!({"quantity": "2"}),
            201,
        )
        .await;
    assert_eq!(partial["order"]["state"], "released");
    assert_eq!(dec(&partial["order"]["made"]), Decimal::from(2));
    assert_eq!(stock(&app, &w1, &id["LEG-SET"]).await, Decimal::ZERO);
    assert_eq!(stock(&app, &w1, &id["TOP"]).await, Decimal::from(1));
    assert_eq!(stock(&app, &w2, &id["TABLE"]).await, Decimal::from(2));
    // More than is left is refused; the rest is short; cancelling keeps what was made.
    app.answers(
        Method::POST,
        &format!("{order_path}/complete"),
        json!({"quantity": 2}),
        422,
    )
    .await;
    app.answers(
        Method::POST,
        &format!("{order_path}/complete"),
        json!({}),
        409,
    )
    .await;
    let cancelled = app
        .ok(Method::POST, &format!("{order_path}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled["state"], "cancelled");
    assert_eq!(dec(&cancelled["made"]), Decimal::from(2));
    app.answers(
        Method::POST,
        &format!("{order_path}/release"),
        json!({}),
        409,
    )
    .await;
    let listed = app
        .get_json("/production-orders?state=done", &app.account.admin_token)
        .await;
    assert_eq!(listed["total"], 1, "{listed}");

    // The product list shows what can be made: LEG-SET min(8 legs from wood / 4, 12 screws
    // / 8) = 1, so one TABLE (one TOP left); products without a BOM have no figure.
    let products = app
        .get_json(
            &format!("/products?makeable_in={w1}&per_page=200"),
            &app.account.admin_token,
        )
        .await;
    let row = |sku: &str| {
        products["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == sku)
            .cloned()
            .unwrap()
    };
    assert_eq!(dec(&row("TABLE")["makeable"]), Decimal::ONE, "{products}");
    assert!(row("TOP")["makeable"].is_null());

    // Releasing two more tables plans the leg sets they lack (none in stock), not the TOP
    // (no BOM).
    let more = app
        .created(
            "/production-orders",
            json!({"product_id": id["TABLE"], "quantity": 2, "component_warehouse_id": w1, "output_warehouse_id": w2}),
        )
        .await;
    let released = app
        .ok(
            Method::POST,
            &format!(
                "/production-orders/{}/release?plan_sub_assemblies=true",
                more["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(released["state"], "released");
    let subs = released["sub_assemblies"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{released}");
    assert_eq!(subs[0]["product_id"], json!(id["LEG-SET"]));
    assert_eq!(dec(&subs[0]["quantity"]), Decimal::from(2));
    assert_eq!(subs[0]["state"], "planned");

    // Figures a decimal cannot hold are refused, not a crash: a BOM needing 10^18 per unit
    // made, released for 10^13 units.
    let huge = app
        .answers(
            Method::PUT,
            &path("TOP"),
            bom(&[("SCREW", "99999999999999")], "0.0001"),
            201,
        )
        .await;
    // 0.5 × 99 999 999 999 999 ÷ 0.0001.
    assert_eq!(huge["cost_per_unit"], "499999999999995000", "{huge}");
    let big = app
        .created(
            "/production-orders",
            json!({"product_id": id["TOP"], "quantity": "10000000000000", "component_warehouse_id": w1, "output_warehouse_id": w1}),
        )
        .await;
    let refused = app
        .answers(
            Method::POST,
            &format!("/production-orders/{}/release", big["id"].as_str().unwrap()),
            json!({}),
            422,
        )
        .await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("beyond"),
        "{refused}"
    );
    let makeable = app
        .get_json(
            &format!("/products/{}/makeable?warehouse_id={w1}", id["TOP"]),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(dec(&makeable["units"]), Decimal::ZERO, "{makeable}");
}

/// The id of the product with `sku`.
async fn product_id(app: &TestApp, sku: &str) -> String {
    let page = app
        .get_json(&format!("/products?sku={sku}"), &app.account.admin_token)
        .await;
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {page}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Message types on a follower queue so far.
async fn types_on(channel: &lapin::Channel, queue: &str, into: &mut Vec<String>) {
    use lapin::options::BasicGetOptions;
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let kind = message
            .delivery
            .properties
            .kind()
            .as_ref()
            .map(|k| k.to_string());
        into.push(kind.unwrap_or_default());
    }
}

/// An order entering a production status plans, once (duplicate webhooks, two order-sync
/// workers), a production order for what stock does not cover of each line with a BOM; a
/// cancel cancels it. A released production order reserves its components until it is made
/// or cancelled, and other consumers see releases and completions as events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_to_order_plans_once_reserves_on_release_and_follows_a_cancel() {
    let app = TestApp::spawn_with(sklad_tests::AppOptions::all_workers()).await;
    let second = sklad_order_sync::Worker::build(&app.settings).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(second.run_until_stopped(stop.clone()));
    let (_connection, channel, queue) =
        crate::reservations::follower(&app, &["stock.production.#"]).await;

    let rig = app.stock_rig(&["MT-1", "MT-C", "MT-2"]).await;
    let (finished, component) = (
        product_id(&app, "MT-1").await,
        product_id(&app, "MT-C").await,
    );
    app.answers(
        Method::PUT,
        &format!("/products/{finished}/bom"),
        json!({"output_quantity": 1, "components": [{"product_id": component, "quantity": 2}]}),
        201,
    )
    .await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "MT-1", "quantity": 1}, {"sku": "MT-C", "quantity": 10}, {"sku": "MT-2", "quantity": 5}]})).await;
    app.answers(
        Method::PUT,
        "/integrations/keycrm",
        json!({"production_status_ids": [20]}),
        422,
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_warehouse_id": rig.w1, "production_status_ids": [20]}),
    )
    .await;

    let id = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "MT-1", "quantity": 3}, {"sku": "MT-2", "quantity": 1}]})).await;
    let moved = app.sim_status(id, 20).await;
    let body = moved["deliveries"][0]["body"].to_string();
    let duplicates = (0..6).map(|_| app.webhook_status(body.clone()));
    let statuses = futures::future::join_all(duplicates).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let planned = sklad_tests::eventually(
        std::time::Duration::from_secs(30),
        "production planned for the order",
        || async {
            let detail = app
                .get_json(&format!("/orders/{id}"), &app.account.admin_token)
                .await;
            let orders = detail["production_orders"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            (!orders.is_empty()).then_some(orders)
        },
    )
    .await;
    // One order for MT-1 only (MT-2 has no BOM), for 3 wanted − 1 in stock.
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(planned[0]["product_id"], json!(finished));
    assert_eq!(dec(&planned[0]["quantity"]), Decimal::from(2));
    assert_eq!(planned[0]["state"], "planned");
    // Another pass over the same order plans nothing more.
    app.sim_status(id, 21).await;
    app.sim_status(id, 20).await;
    app.wait_for_order(id, "back in status 20", |o| o["status_id"] == 20)
        .await;
    let all = app
        .get_json("/production-orders", &app.account.admin_token)
        .await;
    assert_eq!(all["total"], 1, "{all}");

    // The customer cancels: the planned production order is cancelled with it.
    app.sim_status(id, 6).await;
    sklad_tests::eventually(
        std::time::Duration::from_secs(30),
        "planned production cancelled",
        || async {
            let detail = app
                .get_json(&format!("/orders/{id}"), &app.account.admin_token)
                .await;
            (detail["production_orders"][0]["state"] == "cancelled").then_some(())
        },
    )
    .await;

    // A production order by hand: released, it holds 2 × 2 of the component.
    let made = app
        .created(
            "/production-orders",
            json!({"product_id": finished, "quantity": 2, "component_warehouse_id": rig.w1, "output_warehouse_id": rig.w1}),
        )
        .await;
    let path = format!("/production-orders/{}", made["id"].as_str().unwrap());
    let reserved = || async {
        let page = app
            .get_json(
                &format!("/balances?warehouse_id={}&sku=MT-C", rig.w1),
                &app.account.admin_token,
            )
            .await;
        (
            dec(&page["data"][0]["reserved"]),
            dec(&page["data"][0]["available"]),
        )
    };
    assert_eq!(reserved().await, (Decimal::ZERO, Decimal::from(10)));
    app.ok(Method::POST, &format!("{path}/release"), json!({}))
        .await;
    assert_eq!(reserved().await, (Decimal::from(4), Decimal::from(6)));
    app.answers(
        Method::POST,
        &format!("{path}/complete"),
        json!({"quantity": 1}),
        201,
    )
    .await;
    // 2 used, 2 still held for the one left.
    assert_eq!(reserved().await, (Decimal::from(2), Decimal::from(6)));
    app.ok(Method::POST, &format!("{path}/cancel"), json!({}))
        .await;
    assert_eq!(reserved().await, (Decimal::ZERO, Decimal::from(8)));

    let mut seen = Vec::new();
    let want = [
        "sklad.events.v1.ProductionOrderReleased",
        "sklad.events.v1.ProductionOrderCompleted",
    ];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        types_on(&channel, &queue, &mut seen).await;
        if want.iter().all(|w| seen.iter().any(|s| s == w)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "production events, got {seen:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    stop.cancel();
}

/// Products sold from components reach keyCRM with on-hand + makeable, and a receipt of a
/// component changes what keyCRM receives for every product made from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_sold_from_components_reach_keycrm_with_what_can_be_made() {
    let app = TestApp::spawn_with(sklad_tests::AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["PM-1", "PM-2", "PM-C"]).await;
    let component = product_id(&app, "PM-C").await;
    for (sku, per_unit) in [("PM-1", 2), ("PM-2", 3)] {
        let finished = product_id(&app, sku).await;
        app.answers(
            Method::PUT,
            &format!("/products/{finished}/bom"),
            json!({"output_quantity": 1, "components": [{"product_id": component, "quantity": per_unit}]}),
            201,
        )
        .await;
        let patched = app
            .ok(
                Method::PATCH,
                &format!("/products/{finished}"),
                json!({"push_makeable": true}),
            )
            .await;
        assert_eq!(patched["push_makeable"], true);
    }
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "PM-1", "quantity": 1}, {"sku": "PM-C", "quantity": 12}]})).await;
    // PM-1: 1 + 12 / 2; PM-2: 12 / 3.
    app.wait_keycrm(1, &[("PM-C", 12), ("PM-1", 7), ("PM-2", 4)])
        .await;
    // Only the component arrives: both products made from it follow.
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w2, "lines": [{"sku": "PM-C", "quantity": 6}]}),
    )
    .await;
    // W2 maps to the same keyCRM warehouse: it can make 3 and 2 from its own 6.
    app.wait_keycrm(1, &[("PM-C", 18), ("PM-1", 10), ("PM-2", 6)])
        .await;
}

/// BOMs go out as CSV and come back in as new versions; production orders run from the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boms_round_trip_through_csv_and_production_runs_from_the_cli() {
    let app = TestApp::spawn().await;
    for sku in ["CSV-TOP", "CSV-A", "CSV-B"] {
        app.created("/products", json!({"sku": sku, "name": sku}))
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("boms.csv");
    std::fs::write(
        &file,
        "product_sku,output_quantity,component_sku,quantity,note\n\
         CSV-TOP,2,CSV-A,3,\"cut, then sand\"\n\
         CSV-TOP,2,CSV-B,0.5,\n",
    )
    .unwrap();
    let env = sklad_tests::process_env(&app, &[]);
    let account = app.account.id.to_string();
    let import = crate::cli::sklad(
        &env,
        &[
            "bom",
            "import",
            "--account",
            &account,
            file.to_str().unwrap(),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(import.status.success(), "{import:?}");
    let top = product_id(&app, "CSV-TOP").await;
    let bom = app
        .get_json(&format!("/products/{top}/bom"), &app.account.admin_token)
        .await;
    assert_eq!(bom["version"], 1);
    assert_eq!(bom["components"][0]["note"], "cut, then sand");
    assert_eq!(
        dec(&bom["components"][1]["quantity"]),
        "0.5".parse().unwrap()
    );

    let export = crate::cli::sklad(&env, &["bom", "export", "--account", &account])
        .output()
        .await
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let csv = String::from_utf8(export.stdout).unwrap();
    assert_eq!(
        csv,
        "product_sku,output_quantity,component_sku,quantity,note\n\
         CSV-TOP,2,CSV-A,3,\"cut, then sand\"\n\
         CSV-TOP,2,CSV-B,0.5,\n"
    );
    // The same file again is a second version; a loop is refused and named.
    std::fs::write(dir.path().join("again.csv"), &csv).unwrap();
    let again = crate::cli::sklad(
        &env,
        &[
            "bom",
            "import",
            "--account",
            &account,
            dir.path().join("again.csv").to_str().unwrap(),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("version 2"),
        "{again:?}"
    );
    std::fs::write(
        dir.path().join("loop.csv"),
        "product_sku,output_quantity,component_sku,quantity,note\nCSV-A,1,CSV-TOP,1,\n",
    )
    .unwrap();
    let refused = crate::cli::sklad(
        &env,
        &[
            "bom",
            "import",
            "--account",
            &account,
            dir.path().join("loop.csv").to_str().unwrap(),
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("CSV-A → CSV-TOP → CSV-A"),
        "{refused:?}"
    );

    let warehouse = app.created("/warehouses", json!({"name": "Bench"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let plan = crate::cli::sklad(
        &env,
        &[
            "production",
            "plan",
            "--account",
            &account,
            "--sku",
            "CSV-TOP",
            "--quantity",
            "4",
            "--components-from",
            &warehouse,
            "--output-to",
            &warehouse,
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(plan.status.success(), "{plan:?}");
    let listed = crate::cli::sklad(&env, &["production", "list", "--account", &account])
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("planned") && listed.contains("made 0 of 4"),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_warehouse_or_product_is_not_found_in_production() {
    let app = TestApp::spawn().await;
    let ours = app
        .created("/products", json!({"sku": "NF-1", "name": "Ours"}))
        .await;
    let part = app
        .created("/products", json!({"sku": "NF-2", "name": "Part"}))
        .await;
    let w = app.created("/warehouses", json!({"name": "Ours"})).await;
    let other = app.create_account("another shop", false).await;
    let theirs = |path: &'static str, body: Value| {
        let app = &app;
        let token = other.admin_token.clone();
        async move {
            app.api(Method::POST, path, &token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let their_product = theirs("/products", json!({"sku": "NF-T", "name": "Theirs"})).await;
    let their_warehouse = theirs("/warehouses", json!({"name": "Theirs"})).await;
    let id = ours["id"].as_str().unwrap();
    app.answers(
        Method::PUT,
        &format!("/products/{id}/bom"),
        json!({"output_quantity": 1, "components": [{"product_id": their_product["id"], "quantity": 1}]}),
        404,
    )
    .await;
    app.answers(
        Method::PUT,
        &format!("/products/{id}/bom"),
        json!({"output_quantity": 1, "components": [{"product_id": part["id"], "quantity": 1}]}),
        201,
    )
    .await;
    let status = app
        .status(
            Method::GET,
            &format!(
                "/products/{id}/makeable?warehouse_id={}",
                their_warehouse["id"].as_str().unwrap()
            ),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(status, 404);
    for (product, component, output) in [
        (&ours["id"], &their_warehouse["id"], &w["id"]),
        (&ours["id"], &w["id"], &their_warehouse["id"]),
        (&their_product["id"], &w["id"], &w["id"]),
    ] {
        app.answers(
            Method::POST,
            "/production-orders",
            json!({"product_id": product, "quantity": 1, "component_warehouse_id": component, "output_warehouse_id": output}),
            404,
        )
        .await;
    }
}
