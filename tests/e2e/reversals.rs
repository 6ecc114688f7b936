//! Stock that must be recorded right and reach keyCRM right: undoing a movement by reversal,
//! negative balances (keyCRM hears zero), and products sold from components marked on
//! mapping, switch-on and resync. Through the API, the workers and the simulator.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp};

/// The balance of `sku` in `warehouse`, as the API shows it (a decimal string).
async fn on_hand(app: &TestApp, warehouse: &str, sku: &str) -> String {
    let page = app
        .get_json(
            &format!("/balances?warehouse_id={warehouse}&sku={sku}"),
            &app.account.admin_token,
        )
        .await;
    page["data"][0]["on_hand"]
        .as_str()
        .unwrap_or_else(|| panic!("a balance of {sku}: {page}"))
        .to_owned()
}

async fn movement(app: &TestApp, kind: &str, warehouse: &str, lines: Value) -> Value {
    app.created(
        "/movements",
        json!({"kind": kind, "warehouse_id": warehouse, "lines": lines}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_movement_recorded_by_mistake_is_reversed_once_and_keycrm_follows() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["RV-1", "RV-2"]).await;
    movement(
        &app,
        "receipt",
        &rig.w1,
        json!([{"sku": "RV-1", "quantity": 10}, {"sku": "RV-2", "quantity": 4}]),
    )
    .await;
    // The mistake: a write-off of 3 that should never have been.
    let mistake = movement(
        &app,
        "write_off",
        &rig.w1,
        json!([{"sku": "RV-1", "quantity": 3}]),
    )
    .await;
    app.wait_keycrm(1, &[("RV-1", 7), ("RV-2", 4)]).await;
    let id = mistake["id"].as_str().unwrap();

    let reversal = app
        .answers(
            Method::POST,
            &format!("/movements/{id}/reverse"),
            json!({}),
            201,
        )
        .await;
    assert_eq!(reversal["kind"], "reversal", "{reversal}");
    assert_eq!(reversal["reverses_movement_id"], id, "{reversal}");
    assert_eq!(reversal["lines"][0]["quantity_delta"], "3", "{reversal}");
    assert_eq!(reversal["lines"].as_array().map(Vec::len), Some(1));
    assert_eq!(on_hand(&app, &rig.w1, "RV-1").await, "10");
    // The original is untouched and names its reversal.
    let original = app
        .get_json(&format!("/movements/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(original["kind"], "write_off");
    assert_eq!(original["lines"][0]["quantity_delta"], "-3");
    assert_eq!(original["reversed_by"], reversal["id"], "{original}");
    // keyCRM follows through the usual push.
    app.wait_keycrm(1, &[("RV-1", 10), ("RV-2", 4)]).await;

    // Once only.
    let again = app
        .answers(
            Method::POST,
            &format!("/movements/{id}/reverse"),
            json!({}),
            409,
        )
        .await;
    assert_eq!(again["error"]["code"], "already_reversed", "{again}");
    assert_eq!(on_hand(&app, &rig.w1, "RV-1").await, "10");
    // Another account's movement, or none, is not found.
    let missing = app
        .answers(
            Method::POST,
            &format!("/movements/{}/reverse", uuid::Uuid::now_v7()),
            json!({}),
            404,
        )
        .await;
    assert_eq!(missing["error"]["code"], "not_found", "{missing}");
    let other = app.create_account("Other", false).await;
    let status = app
        .api(
            Method::POST,
            &format!("/movements/{id}/reverse"),
            &other.admin_token,
        )
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);

    // A transfer's reversal takes each side back; a count's gives back what it changed.
    let transfer = app
        .created(
            "/movements",
            json!({"kind": "transfer", "from_warehouse_id": rig.w1, "to_warehouse_id": rig.w3,
                   "lines": [{"sku": "RV-2", "quantity": 4}]}),
        )
        .await;
    let count = movement(
        &app,
        "inventory",
        &rig.w1,
        json!([{"sku": "RV-1", "quantity": 6}]),
    )
    .await;
    for done in [&count, &transfer] {
        app.answers(
            Method::POST,
            &format!("/movements/{}/reverse", done["id"].as_str().unwrap()),
            json!({}),
            201,
        )
        .await;
    }
    assert_eq!(on_hand(&app, &rig.w1, "RV-1").await, "10");
    assert_eq!(on_hand(&app, &rig.w1, "RV-2").await, "4");
    assert_eq!(on_hand(&app, &rig.w3, "RV-2").await, "0");

    // The negative-balance rule applies: a receipt whose goods left already cannot go.
    let receipt = movement(
        &app,
        "receipt",
        &rig.w2,
        json!([{"sku": "RV-2", "quantity": 2}]),
    )
    .await;
    movement(
        &app,
        "write_off",
        &rig.w2,
        json!([{"sku": "RV-2", "quantity": 2}]),
    )
    .await;
    let refused = app
        .answers(
            Method::POST,
            &format!("/movements/{}/reverse", receipt["id"].as_str().unwrap()),
            json!({}),
            409,
        )
        .await;
    assert_eq!(refused["error"]["code"], "negative_balance", "{refused}");
    assert_eq!(on_hand(&app, &rig.w2, "RV-2").await, "0");

    // An order's shipment is undone through the order, not here.
    let order = app
        .sim_order(json!({"status_id": 1, "lines": [{"sku": "RV-1", "quantity": 1}]}))
        .await;
    app.sim_status(order, 2).await;
    app.wait_for_order(order, "order imported", |o| o["status_id"] == 2)
        .await;
    let shipped = app
        .created(
            &format!("/orders/{order}/ship"),
            json!({"warehouse_id": rig.w1}),
        )
        .await;
    let through = app
        .answers(
            Method::POST,
            &format!("/movements/{}/reverse", shipped["id"].as_str().unwrap()),
            json!({}),
            409,
        )
        .await;
    assert_eq!(
        through["error"]["code"], "reverse_through_document",
        "{through}"
    );
    assert_eq!(on_hand(&app, &rig.w1, "RV-1").await, "9");
    let reversals = app
        .get_json("/movements?per_page=100", &app.account.admin_token)
        .await;
    let count = reversals["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reversal")
        .count();
    assert_eq!(count, 3, "{reversals}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_negative_balance_reaches_keycrm_as_zero() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["NEG-1"]).await;
    app.ok(
        Method::PATCH,
        &format!("/warehouses/{}", rig.w1),
        json!({"allow_negative": true}),
    )
    .await;
    movement(
        &app,
        "receipt",
        &rig.w1,
        json!([{"sku": "NEG-1", "quantity": 1}]),
    )
    .await;
    app.wait_keycrm(1, &[("NEG-1", 1)]).await;
    movement(
        &app,
        "write_off",
        &rig.w1,
        json!([{"sku": "NEG-1", "quantity": 3}]),
    )
    .await;
    // keyCRM holds 0, not its old 1; sklad keeps showing −2.
    app.wait_keycrm(1, &[("NEG-1", 0)]).await;
    assert_eq!(on_hand(&app, &rig.w1, "NEG-1").await, "-2");
    // No push was refused, and nothing is left to send.
    let pushes = app
        .get_json("/stock-pushes", &app.account.admin_token)
        .await;
    let outcomes: Vec<&Value> = pushes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["outcome"])
        .collect();
    assert!(outcomes.iter().all(|o| *o == "accepted"), "{pushes}");
    sklad_tests::eventually(
        std::time::Duration::from_secs(30),
        "nothing pending",
        || async {
            let preview = app
                .get_json("/stock/preview?resync=true", &app.account.admin_token)
                .await;
            let target = &preview["data"][0];
            (target["next_push"].as_array().is_some_and(Vec::is_empty)).then_some(target.clone())
        },
    )
    .await;
    let preview = app
        .get_json("/stock/preview?resync=true", &app.account.admin_token)
        .await;
    assert_eq!(
        preview["data"][0]["resync"][0]["quantity"], "0",
        "a resync would send 0 too: {preview}"
    );
}

/// A product sold from components, with no stock of its own, reaches keyCRM when it is
/// switched on, when a warehouse is mapped and on resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_sold_from_components_are_sent_on_switch_on_mapping_and_resync() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    app.sim_control(
        Method::PUT,
        "/warehouses",
        json!([{"id": 1, "name": "Основний"}]),
    )
    .await;
    app.sim_control(
        Method::POST,
        "/offers",
        json!([{"sku": "MK-1", "name": "Set", "price": 10}, {"sku": "MK-C", "name": "Part", "price": 1}]),
    )
    .await;
    let mut ids = Vec::new();
    for sku in ["MK-1", "MK-C"] {
        let created = app
            .created("/products", json!({"sku": sku, "name": sku}))
            .await;
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    app.answers(
        Method::PUT,
        &format!("/products/{}/bom", ids[0]),
        json!({"output_quantity": 1, "components": [{"product_id": ids[1], "quantity": 2}]}),
        201,
    )
    .await;
    app.ok(
        Method::PATCH,
        &format!("/products/{}", ids[0]),
        json!({"push_makeable": true}),
    )
    .await;
    let mut warehouses = Vec::new();
    for name in ["W1", "W2"] {
        let created = app.created("/warehouses", json!({"name": name})).await;
        warehouses.push(created["id"].as_str().unwrap().to_owned());
    }
    movement(
        &app,
        "receipt",
        &warehouses[0],
        json!([{"sku": "MK-C", "quantity": 10}]),
    )
    .await;
    movement(
        &app,
        "receipt",
        &warehouses[1],
        json!([{"sku": "MK-C", "quantity": 4}]),
    )
    .await;
    app.created("/keycrm/warehouses/refresh", json!({})).await;
    let app = &app;
    let map = |mapping: Value| async move {
        app.ok(
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping",
            json!({ "mapping": mapping }),
        )
        .await;
    };
    // Mapped while sending is off: nothing is marked yet.
    map(json!([{"warehouse_id": warehouses[0], "keycrm_warehouse_id": 1}])).await;

    // Switched on: MK-1 goes with what W1 can make (10 / 2).
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"stock_push_enabled": true}),
    )
    .await;
    app.wait_keycrm(1, &[("MK-C", 10), ("MK-1", 5)]).await;

    // W2 mapped too: its 4 parts make 2 more.
    map(json!([{"warehouse_id": warehouses[1], "keycrm_warehouse_id": 1}])).await;
    app.wait_keycrm(1, &[("MK-C", 14), ("MK-1", 7)]).await;

    // keyCRM changed behind sklad's back; resync sends sklad's quantities again.
    app.sim_control(
        Method::PUT,
        "/stocks",
        json!([{"warehouse_id": 1, "sku": "MK-1", "quantity": 99}]),
    )
    .await;
    let preview = app
        .get_json("/stock/preview?resync=true", &app.account.admin_token)
        .await;
    let resync = preview["data"][0]["resync"].as_array().unwrap();
    assert!(
        resync
            .iter()
            .any(|l| l["sku"] == "MK-1" && l["quantity"] == "7"),
        "the preview's resync list names MK-1: {preview}"
    );
    app.answers(Method::POST, "/stock/resync", json!({}), 202)
        .await;
    app.wait_keycrm(1, &[("MK-C", 14), ("MK-1", 7)]).await;
}
