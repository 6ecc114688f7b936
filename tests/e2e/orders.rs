//! order-sync end to end: keyCRM (the simulator) → webhook → ingress → RabbitMQ →
//! order-sync → PostgreSQL → the orders API.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp};

async fn spawn() -> TestApp {
    TestApp::spawn_with(AppOptions {
        order_sync: true,
        ..AppOptions::default()
    })
    .await
}

/// Seeds a shirt in two variants (colour, size) and returns their SKUs.
async fn seed_catalogue(app: &TestApp) {
    app.sim_control(
        Method::POST,
        "/offers",
        json!([
            {"id": 501, "product_id": 50, "sku": "SH-W-M", "name": "Футболка", "price": "450.00",
             "properties": [{"name": "Колір", "value": "біла"}, {"name": "Розмір", "value": "M"}]},
            {"id": 502, "product_id": 50, "sku": "SH-B-L", "name": "Футболка", "price": "450.00",
             "properties": [{"name": "Колір", "value": "чорна"}, {"name": "Розмір", "value": "L"}]}
        ]),
    )
    .await;
}

async fn product(app: &TestApp, sku: &str) -> Value {
    app.get_json(&format!("/products?sku={sku}"), &app.account.admin_token)
        .await["data"][0]
        .clone()
}

async fn settings(app: &TestApp, change: Value) {
    let response = app
        .api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&change)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{change}");
}

async fn set_status(app: &TestApp, order: i64, status: i64) {
    let answer = app.sim_status(order, status).await;
    assert_eq!(
        answer["deliveries"][0]["status"], 202,
        "the webhook reached ingress: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_in_keycrm_brings_the_full_order_into_sklad() {
    let app = spawn().await;
    seed_catalogue(&app).await;
    settings(&app, json!({"receive_payments": true})).await;
    let id = app.sim_order(json!({
                "status_id": 1,
                "source_uuid": "№18766",
                "buyer": {"full_name": "Олена Петренко", "phone": "+380501112233", "email": "olena@example.com"},
                "lines": [
                    {"sku": "SH-W-M", "quantity": 2},
                    {"sku": "SH-B-L", "quantity": 1, "price": "400.00"},
                    {"name": "Подарункове пакування", "price": "25.50", "one_time": true},
                    {"name": "Гравіювання", "sku": "ENG-1", "price": 100, "one_time": true,
                     "properties": [{"name": "Текст", "value": "Forever"}]}
                ],
                "payments": [{"amount": "1000.00", "status": "paid", "transaction_uuid": "tx-1", "payment_method_id": 2}]
            })).await;

    set_status(&app, id, 2).await;
    let order = app
        .wait_for_order(id, "the order in sklad", |o| o["status_id"] == 2)
        .await;

    assert_eq!(order["number"], "№18766");
    assert_eq!(order["status_name"], "Погоджено");
    assert_eq!(order["grand_total"], "1425.5");
    assert_eq!(order["buyer"]["name"], "Олена Петренко");
    assert_eq!(order["buyer"]["phone"], "+380501112233");
    assert_eq!(order["archived"], false);
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["name"], "Футболка, біла, M");
    assert_eq!(lines[0]["sku"], "SH-W-M");
    assert_eq!(lines[0]["quantity"], "2");
    assert_eq!(lines[1]["name"], "Футболка, чорна, L");
    assert_eq!(lines[1]["price"], "400");
    assert_eq!(lines[2]["name"], "Подарункове пакування");
    let generated = lines[2]["sku"].as_str().unwrap();
    assert!(generated.starts_with("OT-"), "{generated}");
    assert_eq!(lines[3]["sku"], "ENG-1");
    assert_eq!(
        lines[3]["properties"],
        json!([{"name": "Текст", "value": "Forever"}])
    );
    let payments = order["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["amount"], "1000");
    assert_eq!(payments[0]["transaction_uuid"], "tx-1");
    assert_eq!(order["keycrm_document"]["id"], id);

    let products = app
        .get_json("/products?per_page=200", &app.account.admin_token)
        .await;
    assert_eq!(products["total"], 4);
    let shirt = app
        .get_json("/products?sku=SH-W-M", &app.account.admin_token)
        .await;
    assert_eq!(shirt["data"][0]["name"], "Футболка, біла, M");
    assert_eq!(shirt["data"][0]["base_name"], "Футболка");
    assert_eq!(shirt["data"][0]["origin"], "keycrm_offer");
    assert_eq!(shirt["data"][0]["keycrm_offer_id"], 501);
    let wrap = app
        .get_json("/products?name=пакування", &app.account.admin_token)
        .await;
    assert_eq!(wrap["data"][0]["sku"], generated);
    assert_eq!(wrap["data"][0]["origin"], "keycrm_one_time");

    // The same one-time product in another order maps to the same product.
    let second_id = app.sim_order(json!({"status_id": 1, "lines": [{"name": "подарункове   пакування", "price": 30, "one_time": true}]})).await;
    set_status(&app, second_id, 2).await;
    let again = app
        .wait_for_order(second_id, "second order", |o| o["status_id"] == 2)
        .await;
    assert_eq!(again["lines"][0]["sku"], generated);
    let products = app
        .get_json("/products?per_page=200", &app.account.admin_token)
        .await;
    assert_eq!(products["total"], 4, "no duplicate product");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_are_stored_only_while_the_switch_is_on() {
    let app = spawn().await;
    let id = app
        .sim_order(
            json!({"status_id": 1, "lines": [{"name": "Кава", "price": 100, "one_time": true}],
                   "payments": [{"amount": "40", "status": "paid"}]}),
        )
        .await;
    set_status(&app, id, 2).await;
    let off = app
        .wait_for_order(id, "order without payments", |o| o["status_id"] == 2)
        .await;
    assert_eq!(off["payments"], json!([]), "switch off: nothing stored");

    settings(&app, json!({"receive_payments": true})).await;
    app.sim_control(
        Method::POST,
        &format!("/orders/{id}/payments"),
        json!({"amount": "60", "status": "paid", "transaction_uuid": "tx-60", "webhook": true}),
    )
    .await;
    let on = app
        .wait_for_order(id, "payments stored", |o| {
            o["payments"].as_array().is_some_and(|p| p.len() == 2)
        })
        .await;
    let amounts: Vec<&str> = on["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts.len(), 2);
    assert!(amounts.contains(&"40") && amounts.contains(&"60"));
    // The order and its payments are read in one snapshot, so they always agree.
    assert_eq!(on["payment_status"], "paid", "{on}");

    // Stored once: another event for the same order adds no copy.
    set_status(&app, id, 3).await;
    let later = app
        .wait_for_order(id, "status 3", |o| o["status_id"] == 3)
        .await;
    assert_eq!(later["payments"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_product_info_protects_names_and_prices_and_off_they_follow_keycrm() {
    let app = spawn().await;
    let id = app.sim_order(json!({"status_id": 1, "lines": [{"name": "Чашка", "sku": "MUG-1", "price": 100, "one_time": true}]})).await;
    set_status(&app, id, 2).await;
    app.wait_for_order(id, "first import", |o| o["status_id"] == 2)
        .await;
    assert_eq!(product(&app, "MUG-1").await["name"], "Чашка");

    settings(&app, json!({"keep_product_info": true})).await;
    app.sim_control(
        Method::PUT,
        &format!("/orders/{id}/lines"),
        json!({"lines": [{"name": "Чашка велика", "sku": "MUG-1", "price": 150, "one_time": true}], "webhook": true}),
    )
    .await;
    app.wait_for_order(id, "renamed line", |o| {
        o["lines"][0]["name"] == "Чашка велика"
    })
    .await;
    let kept = product(&app, "MUG-1").await;
    assert_eq!(
        kept["name"], "Чашка",
        "switch on: the product keeps its name"
    );
    assert_eq!(kept["price"], "100");

    settings(&app, json!({"keep_product_info": false})).await;
    app.sim_control(
        Method::PUT,
        &format!("/orders/{id}/lines"),
        json!({"lines": [{"name": "Чашка XL", "sku": "MUG-1", "price": 170, "one_time": true}], "webhook": true}),
    )
    .await;
    app.wait_for_order(id, "renamed again", |o| o["lines"][0]["name"] == "Чашка XL")
        .await;
    let followed = product(&app, "MUG-1").await;
    assert_eq!(
        followed["name"], "Чашка XL",
        "switch off: keyCRM's name wins"
    );
    assert_eq!(followed["price"], "170");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_removed_in_keycrm_disappear() {
    let app = spawn().await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [
                {"name": "A", "sku": "A", "price": 1, "one_time": true},
                {"name": "B", "sku": "B", "price": 2, "one_time": true}]}))
        .await;
    set_status(&app, id, 2).await;
    app.wait_for_order(id, "two lines", |o| {
        o["lines"].as_array().is_some_and(|l| l.len() == 2)
    })
    .await;
    app.sim_control(
        Method::PUT,
        &format!("/orders/{id}/lines"),
        json!({"lines": [{"name": "B", "sku": "B", "price": 2, "one_time": true}], "webhook": true}),
    )
    .await;
    let order = app
        .wait_for_order(id, "one line", |o| {
            o["lines"].as_array().is_some_and(|l| l.len() == 1)
        })
        .await;
    assert_eq!(order["lines"][0]["sku"], "B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_move_into_the_archive_and_back_out() {
    let app = spawn().await;
    settings(&app, json!({"archive_status_ids": [5, 6]})).await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "X", "price": 5, "one_time": true}]}))
        .await;
    set_status(&app, id, 2).await;
    app.wait_for_order(id, "active", |o| {
        o["status_id"] == 2 && o["archived"] == false
    })
    .await;

    set_status(&app, id, 5).await;
    let archived = app
        .wait_for_order(id, "archived", |o| o["archived"] == true)
        .await;
    assert!(archived["archived_at"].is_string());
    let archive = app
        .get_json("/orders?archived=true", &app.account.admin_token)
        .await;
    assert_eq!(archive["total"], 1);
    let active = app
        .get_json("/orders?archived=false", &app.account.admin_token)
        .await;
    assert_eq!(active["total"], 0);

    set_status(&app, id, 2).await;
    let back = app
        .wait_for_order(id, "back out", |o| o["archived"] == false)
        .await;
    assert_eq!(back["archived_at"], Value::Null);
    let active = app
        .get_json("/orders?archived=false", &app.account.admin_token)
        .await;
    assert_eq!(active["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_keycrm_no_longer_has_is_marked_deleted() {
    let app = spawn().await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "X", "price": 5, "one_time": true}]}))
        .await;
    set_status(&app, id, 2).await;
    app.wait_for_order(id, "imported", |o| o["status_id"] == 2)
        .await;
    let body = json!({"event": "order.change_order_status", "context": {"id": id, "status_id": 6}});
    app.http
        .delete(format!("{}/orders/{id}", app.sim_control_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.post_webhook(&app.account.webhook_url, body.to_string())
            .await
            .status(),
        202
    );
    let order = app
        .wait_for_order(id, "marked deleted", |o| o["deleted_in_keycrm"] == true)
        .await;
    assert_eq!(order["status_id"], 2, "the last known state is kept");
}

/// A buyer name of 100 KB (keyCRM stores what it is sent) is kept to sklad's bound, marked
/// as cut, in the order, its raw document and its product names; the cut is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_text_from_keycrm_is_bounded_with_a_marker_and_counted() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    let huge = "Ж".repeat(100_000);
    let id = app
        .sim_order(json!({"status_id": 1,
            "buyer": {"full_name": huge, "phone": "+380501112233"},
            "lines": [{"name": "Н".repeat(50_000), "price": 1, "one_time": true}]}))
        .await;
    app.sim_status(id, 2).await;
    let order = app
        .wait_for_order(id, "the order stored", |o| o["status_id"] == 2)
        .await;
    let name = order["buyer"]["name"].as_str().unwrap();
    assert!(name.chars().count() < 4100, "{}", name.len());
    assert!(name.ends_with("… [truncated]"));
    let line = order["lines"][0]["name"].as_str().unwrap();
    assert!(line.chars().count() < 4100 && line.ends_with("… [truncated]"));
    let stored = serde_json::to_string(&order).unwrap();
    assert!(
        stored.len() < 60_000,
        "the answer stays small: {} bytes",
        stored.len()
    );
    let metrics = app.metrics().await;
    let cut: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("sklad_keycrm_texts_truncated_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(cut >= 2.0, "{metrics}");
}
