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
}
