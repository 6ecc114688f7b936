//! Daily work through the API: a warehouse archived only when nothing depends on it, an
//! order short of stock told with every short line, errors that carry their values.

use reqwest::Method;
use serde_json::json;
use sklad_tests::{AppOptions, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_is_archived_only_when_empty_and_no_order_ships_from_it() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["AR-1"]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w2, "lines": [{"sku": "AR-1", "quantity": 1}]}),
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_warehouse_id": rig.w3}),
    )
    .await;
    let archive = |id: &str, status: u16| {
        let path = format!("/warehouses/{id}");
        let app = &app;
        async move {
            app.answers(Method::PATCH, &path, json!({"archived": true}), status)
                .await
        }
    };
    // Holding stock: refused, and nothing changed.
    let refused = archive(&rig.w2, 409).await;
    assert_eq!(refused["error"]["code"], "warehouse_has_stock", "{refused}");
    // Orders ship from it: refused.
    let refused = archive(&rig.w3, 409).await;
    assert_eq!(
        refused["error"]["code"], "warehouse_ships_orders",
        "{refused}"
    );
    // Empty and unused: archived, unmapped, its history kept; it comes back when asked.
    let archived = archive(&rig.w1, 200).await;
    assert_eq!(archived["archived"], true, "{archived}");
    assert!(archived["keycrm_warehouse_id"].is_null(), "{archived}");
    let listed = app.get_json("/warehouses", &app.account.admin_token).await;
    let archived_count = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["archived"] == true)
        .count();
    assert_eq!(archived_count, 1, "{listed}");
    let back = app
        .ok(
            Method::PATCH,
            &format!("/warehouses/{}", rig.w1),
            json!({"archived": false, "name": "W1 again"}),
        )
        .await;
    assert_eq!(
        (back["archived"].as_bool(), back["name"].as_str()),
        (Some(false), Some("W1 again"))
    );
    // A reversal of W2's receipt empties it; then it can go.
    let receipt = app
        .get_json(
            &format!("/movements?warehouse_id={}", rig.w2),
            &app.account.admin_token,
        )
        .await;
    let id = receipt["data"][0]["id"].as_str().unwrap();
    app.answers(
        Method::POST,
        &format!("/movements/{id}/reverse"),
        json!({}),
        201,
    )
    .await;
    archive(&rig.w2, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_short_of_stock_names_every_short_line() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["SL-1", "SL-2", "SL-3"]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1,
               "lines": [{"sku": "SL-1", "quantity": 1}, {"sku": "SL-3", "quantity": 5}]}),
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1}),
    )
    .await;
    let order = app
        .sim_order(json!({"status_id": 1, "lines": [
            {"sku": "SL-1", "quantity": 3}, {"sku": "SL-2", "quantity": 1}, {"sku": "SL-3", "quantity": 2}]}))
        .await;
    app.sim_status(order, 3).await;
    let waiting = app
        .wait_for_order(order, "the order waits", |o| {
            o["shipment"]["state"] == "waiting"
        })
        .await;
    let reason = waiting["shipment"]["waiting_reason"].as_str().unwrap();
    assert!(
        reason.contains("SL-1 3 / 1") && reason.contains("SL-2 1 / 0"),
        "{reason}"
    );
    assert!(!reason.contains("SL-3"), "SL-3 is there: {reason}");
    // By hand: the same answer, with its values for a client to word.
    let refused = app
        .answers(
            Method::POST,
            &format!("/orders/{order}/ship"),
            json!({"warehouse_id": rig.w1}),
            409,
        )
        .await;
    assert_eq!(refused["error"]["code"], "short_of_stock", "{refused}");
    assert_eq!(refused["error"]["params"]["warehouse"], "W1", "{refused}");
    assert_eq!(
        refused["error"]["params"]["lines"], "SL-1 3 / 1, SL-2 1 / 0",
        "{refused}"
    );
    // A body value of the wrong type names its field.
    let bad = app
        .answers(
            Method::POST,
            "/warehouses",
            json!({"name": "W9", "push_buffer": "abc"}),
            422,
        )
        .await;
    assert_eq!(bad["error"]["params"]["field"], "push_buffer", "{bad}");
}
