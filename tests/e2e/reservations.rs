//! Orders in reserve statuses hold their lines (balances show on hand, reserved and
//! available); the `available` push policy sends keyCRM what is not promised; orders from a
//! keyCRM source ship from their own warehouse; other consumers can follow it all as events.

use std::time::Duration;

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_events::Message;
use sklad_events::v1::{OrderShipmentChanged, StockReservationChanged};
use sklad_tests::{AppOptions, TestApp};
use uuid::Uuid;

/// The balance of `sku` in `warehouse`: (on_hand, reserved, available).
async fn balance(app: &TestApp, warehouse: &str, sku: &str) -> (Decimal, Decimal, Decimal) {
    let page = app
        .get_json(
            &format!("/balances?warehouse_id={warehouse}&sku={sku}"),
            &app.account.admin_token,
        )
        .await;
    let row = &page["data"][0];
    let num = |field: &str| -> Decimal {
        row[field]
            .as_str()
            .map(|s| s.parse().unwrap())
            .or_else(|| row[field].as_f64().map(|f| Decimal::try_from(f).unwrap()))
            .unwrap_or_else(|| panic!("{field} in {row}"))
    };
    (num("on_hand"), num("reserved"), num("available"))
}

/// `balances.reserved` equals the sum of the reservations for every balance row.
async fn reserved_matches_reservations(app: &TestApp) {
    let page = app
        .get_json("/balances?per_page=200", &app.account.admin_token)
        .await;
    let mut conn = app.db().conn().await.unwrap();
    for row in page["data"].as_array().unwrap() {
        let warehouse: Uuid = row["warehouse_id"].as_str().unwrap().parse().unwrap();
        let product: Uuid = row["product_id"].as_str().unwrap().parse().unwrap();
        let sum = sklad_db::order_stock::reserved_sum(&mut conn, warehouse, product)
            .await
            .unwrap();
        let reserved: Decimal = serde_json::from_value(row["reserved"].clone()).unwrap();
        assert_eq!(reserved, sum, "reserved of {row}");
    }
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

/// A queue of the test's own, bound to `keys` on the events exchange, as another team's
/// consumer would bind it.
pub(crate) async fn follower(
    app: &TestApp,
    keys: &[&str],
) -> (lapin::Connection, lapin::Channel, String) {
    let (connection, channel) = app.broker.channel().await.unwrap();
    let queue = format!("{}.follower", app.broker.namespace);
    channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let exchange = app.broker.topology().events_exchange();
    for key in keys {
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                (*key).into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
    }
    (connection, channel, queue)
}

/// Every event on the follower's queue so far, as (type, reason or change, keyCRM order).
async fn followed(channel: &lapin::Channel, queue: &str, into: &mut Vec<(String, String, i64)>) {
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
            .map(|k| k.to_string())
            .unwrap_or_default();
        let data = message.delivery.data.as_slice();
        let event = if kind.ends_with("StockReservationChanged") {
            let e = StockReservationChanged::decode(data).unwrap();
            ("reservation".to_owned(), e.reason, e.keycrm_order_id)
        } else {
            let e = OrderShipmentChanged::decode(data).unwrap();
            ("shipment".to_owned(), e.change, e.keycrm_order_id)
        };
        into.push(event);
    }
}

/// Reservations appear and disappear with status changes; balances say on hand, reserved and
/// available; switching the push policy to `available` changes what keyCRM receives, and so
/// does every reservation after it; shipping releases what the order held; a shipped order
/// that leaves the ship statuses keeps its shipment and says so. Other consumers follow it
/// all as events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_follow_statuses_and_available_changes_what_keycrm_receives() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let (_connection, channel, queue) =
        follower(&app, &["stock.order.#", "stock.reservation.#"]).await;
    let rig = app.stock_rig(&["RS-1", "RS-2"]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "RS-1", "quantity": 10}, {"sku": "RS-2", "quantity": 4}]})).await;
    let saved = app
        .ok(
            Method::PUT,
            "/integrations/keycrm",
            json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1, "reserve_status_ids": [2], "return_status_ids": [5]}),
        )
        .await;
    assert_eq!(saved["push_quantity"], "on_hand");
    app.wait_keycrm(1, &[("RS-1", 10), ("RS-2", 4)]).await;

    // Order A enters the reserve status: it holds its lines, keyCRM still gets on-hand.
    let a = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "RS-1", "quantity": 3}, {"sku": "RS-2", "quantity": 1}]})).await;
    app.sim_status(a, 2).await;
    let order = app
        .wait_for_order(a, "order A reserved", |o| {
            o["shipment"]["state"] == "reserved"
        })
        .await;
    assert!(order["shipment"]["reserved_since"].is_string(), "{order}");
    assert_eq!(balance(&app, &rig.w1, "RS-1").await, (d(10), d(3), d(7)));
    assert_eq!(balance(&app, &rig.w1, "RS-2").await, (d(4), d(1), d(3)));
    let listed = app
        .get_json("/orders?shipment=reserved", &app.account.admin_token)
        .await;
    assert_eq!(listed["total"], 1, "{listed}");

    // The policy: keyCRM now receives what is not promised.
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"push_quantity": "available"}),
    )
    .await;
    app.wait_keycrm(1, &[("RS-1", 7), ("RS-2", 3)]).await;

    // Order B reserves too, then leaves the reserve status: keyCRM follows both ways.
    let b = app
        .sim_order(json!({"status_id": 1, "lines": [{"sku": "RS-1", "quantity": 2}]}))
        .await;
    app.sim_status(b, 2).await;
    app.wait_for_order(b, "order B reserved", |o| {
        o["shipment"]["state"] == "reserved"
    })
    .await;
    app.wait_keycrm(1, &[("RS-1", 5)]).await;
    reserved_matches_reservations(&app).await;
    app.sim_status(b, 1).await;
    let order = app
        .wait_for_order(b, "order B back in status 1", |o| o["status_id"] == 1)
        .await;
    assert_eq!(order["shipment"]["state"], "not_shipped", "{order}");
    app.wait_keycrm(1, &[("RS-1", 7)]).await;
    assert_eq!(balance(&app, &rig.w1, "RS-1").await, (d(10), d(3), d(7)));

    // Order A ships: the shelf loses 3, the reservation goes, available stays 7.
    app.sim_status(a, 3).await;
    app.wait_for_order(a, "order A shipped", |o| {
        o["shipment"]["state"] == "shipped"
    })
    .await;
    assert_eq!(balance(&app, &rig.w1, "RS-1").await, (d(7), d(0), d(7)));
    assert_eq!(balance(&app, &rig.w1, "RS-2").await, (d(3), d(0), d(3)));
    reserved_matches_reservations(&app).await;
    app.wait_keycrm(1, &[("RS-1", 7), ("RS-2", 3)]).await;

    // Out of the ship statuses, into no return status: stock stays shipped, and says so.
    app.sim_status(a, 4).await;
    let order = app
        .wait_for_order(a, "order A in status 4", |o| o["status_id"] == 4)
        .await;
    assert_eq!(order["shipment"]["state"], "shipped");
    assert!(
        order["shipment"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("return status")),
        "{order}"
    );
    assert_eq!(balance(&app, &rig.w1, "RS-1").await, (d(7), d(0), d(7)));

    // Everything above, as another consumer sees it.
    let mut events = Vec::new();
    let want = |events: &Vec<(String, String, i64)>| {
        let r = |reason: &str, id: i64| ("reservation".to_owned(), reason.to_owned(), id);
        [
            r("reserved", a),
            r("reserved", b),
            r("released", b),
            r("shipped", a),
            ("shipment".to_owned(), "shipped".to_owned(), a),
        ]
        .iter()
        .all(|e| events.contains(e))
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        followed(&channel, &queue, &mut events).await;
        if want(&events) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the order stock events, got {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reservations = events.iter().filter(|e| e.0 == "reservation").count();
    assert_eq!(reservations, 4, "one event per change: {events:?}");
}

/// Orders from a keyCRM source with a rule ship from (and wait in) that source's warehouse;
/// the rules are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_from_a_source_with_a_rule_ship_from_its_warehouse() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["SR-1"]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w2, "lines": [{"sku": "SR-1", "quantity": 5}]}),
    )
    .await;
    for (rules, why) in [
        (
            json!([{"source_id": 7, "warehouse_id": rig.w2}, {"source_id": 7, "warehouse_id": rig.w3}]),
            "twice",
        ),
        (
            json!([{"source_id": 7, "warehouse_id": Uuid::now_v7()}]),
            "not a warehouse",
        ),
    ] {
        let answer = app
            .answers(
                Method::PUT,
                "/integrations/keycrm",
                json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1, "ship_source_rules": rules}),
                422,
            )
            .await;
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(why),
            "{answer}"
        );
    }
    app.answers(
        Method::PUT,
        "/integrations/keycrm",
        json!({"reserve_status_ids": [2]}),
        422,
    )
    .await;
    let saved = app
        .ok(
            Method::PUT,
            "/integrations/keycrm",
            json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1, "ship_source_rules": [{"source_id": 7, "warehouse_id": rig.w2}]}),
        )
        .await;
    assert_eq!(saved["ship_source_rules"][0]["source_id"], 7);

    // From source 7: W2 has it, the order ships from there.
    let from_shop = app
        .sim_order(
            json!({"status_id": 1, "source_id": 7, "lines": [{"sku": "SR-1", "quantity": 2}]}),
        )
        .await;
    app.sim_status(from_shop, 3).await;
    let order = app
        .wait_for_order(from_shop, "source 7 shipped", |o| {
            o["shipment"]["state"] == "shipped"
        })
        .await;
    let movement = app
        .get_json(
            &format!(
                "/movements/{}",
                order["shipped_movement_id"].as_str().unwrap()
            ),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(
        movement["lines"][0]["warehouse_id"],
        json!(rig.w2),
        "{movement}"
    );
    assert_eq!(balance(&app, &rig.w2, "SR-1").await.0, d(3));

    // From another source: the default W1 holds nothing, so it waits there.
    let elsewhere = app
        .sim_order(
            json!({"status_id": 1, "source_id": 1, "lines": [{"sku": "SR-1", "quantity": 1}]}),
        )
        .await;
    app.sim_status(elsewhere, 3).await;
    let order = app
        .wait_for_order(elsewhere, "source 1 waiting", |o| {
            o["shipment"]["state"] == "waiting"
        })
        .await;
    assert!(
        order["shipment"]["waiting_reason"]
            .as_str()
            .is_some_and(|r| r.contains("SR-1")),
        "{order}"
    );
    let _: Value = order;
}

/// Duplicate webhooks reserve an order's lines once; an order keyCRM deleted releases them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_reserve_once_and_a_deleted_order_releases_its_hold() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["RD-1"]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "RD-1", "quantity": 10}]}),
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_warehouse_id": rig.w1, "reserve_status_ids": [2]}),
    )
    .await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"sku": "RD-1", "quantity": 3}]}))
        .await;
    let moved = app.sim_status(id, 2).await;
    let body = moved["deliveries"][0]["body"].to_string();
    let duplicates = (0..5).map(|_| app.webhook_status(body.clone()));
    let statuses = futures::future::join_all(duplicates).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    app.wait_for_order(id, "reserved", |o| o["shipment"]["state"] == "reserved")
        .await;
    // Every one of the six webhooks taken and no fetch left: all of them were applied.
    sklad_tests::eventually(
        Duration::from_secs(30),
        "every duplicate applied",
        || async {
            use diesel::prelude::*;
            use diesel_async::RunQueryDsl;
            use sklad_db::schema::{inbox, order_fetches};
            let mut conn = app.db().conn().await.ok()?;
            let taken: i64 = inbox::table
                .filter(inbox::consumer.eq(sklad_order_sync::CONSUMER))
                .count()
                .get_result(&mut conn)
                .await
                .ok()?;
            let waiting: i64 = order_fetches::table
                .count()
                .get_result(&mut conn)
                .await
                .ok()?;
            (taken == 6 && waiting == 0).then_some(())
        },
    )
    .await;
    assert_eq!(balance(&app, &rig.w1, "RD-1").await, (d(10), d(3), d(7)));
    reserved_matches_reservations(&app).await;

    // keyCRM deletes it; the next word about it finds it gone: the hold goes with it.
    app.sim_control(Method::DELETE, &format!("/orders/{id}"), Value::Null)
        .await;
    assert_eq!(app.webhook_status(body).await, 202);
    app.wait_for_order(id, "deleted in keyCRM", |o| o["deleted_in_keycrm"] == true)
        .await;
    assert_eq!(balance(&app, &rig.w1, "RD-1").await, (d(10), d(0), d(10)));
    reserved_matches_reservations(&app).await;
}
