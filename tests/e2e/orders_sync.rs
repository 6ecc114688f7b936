//! order-sync under pressure: duplicates and shuffled delivery, "Synchronize orders" (also
//! across a killed worker), bursts, keyCRM faults, reconciliation, parking, and the API.

use std::process::Stdio;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sklad_bus::{Broker, OutgoingMessage, Publisher};
use sklad_events::v1::KeycrmWebhookReceived;
use sklad_tests::{AppOptions, TestApp, eventually, process_env};

use crate::cli::sklad;

async fn spawn_with(configure: Option<fn(&mut sklad_runtime::Settings)>) -> TestApp {
    TestApp::spawn_with(AppOptions {
        order_sync: true,
        // The relay keeps parked messages in PostgreSQL, where `sklad parked` lists them.
        relay: true,
        configure,
        ..AppOptions::default()
    })
    .await
}

async fn order_total(app: &TestApp, query: &str) -> i64 {
    app.get_json(&format!("/orders?{query}"), &app.account.admin_token)
        .await["total"]
        .as_i64()
        .unwrap()
}

async fn wait_for_total(app: &TestApp, query: &str, expected: i64, within: Duration) {
    eventually(
        within,
        &format!("{expected} orders for ?{query}"),
        || async { (order_total(app, query).await == expected).then_some(()) },
    )
    .await;
}

fn single_fetches(app: &TestApp) -> usize {
    app.sim_count(|r| r.path.starts_with("/v1/order/") && r.path != "/v1/order/status")
}

fn webhook_event(
    app: &TestApp,
    order_id: i64,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
) -> KeycrmWebhookReceived {
    KeycrmWebhookReceived {
        webhook_id: uuid::Uuid::now_v7().to_string(),
        account_id: app.account.id.to_string(),
        received_at: Some(sklad_events::timestamp(chrono::Utc::now())),
        event: "order.change_order_status".into(),
        order_id,
        status_id: None,
        order_updated_at: updated_at.map(sklad_events::timestamp),
        raw_body: b"{}".to_vec(),
    }
}

async fn publish(app: &TestApp, event: &KeycrmWebhookReceived, message_id: &str) {
    let publisher = Publisher::new(Broker::new(&app.settings.broker, "test"));
    let message = OutgoingMessage::event(
        event,
        message_id.to_owned(),
        event.account_id.clone(),
        chrono::Utc::now(),
        None,
    );
    publisher.publish(&message).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_three_times_is_processed_once() {
    let app = spawn_with(None).await;
    let id = app
        .sim_order(json!({"status_id": 2, "lines": [{"name": "X", "price": 9, "one_time": true}]}))
        .await;
    app.sim.lock().requests.clear();
    let event = webhook_event(&app, id, None);
    for _ in 0..3 {
        publish(&app, &event, "same-message-id").await;
    }
    app.wait_for_order(id, "the order", |o| o["status_id"] == 2)
        .await;
    // Wait until the three deliveries were all handled (the queue is empty)...
    eventually(Duration::from_secs(10), "queue drained", || async {
        (app.broker.depth(&app.order_sync_queue()).await.ok()? == 0).then_some(())
    })
    .await;
    let mut conn = app.db().conn().await.unwrap();
    assert!(
        !sklad_db::inbox::record(&mut conn, "order-sync", "same-message-id", app.account.id)
            .await
            .unwrap(),
        "the inbox holds the message"
    );
    assert_eq!(order_total(&app, "").await, 1);
    assert_eq!(
        single_fetches(&app),
        1,
        "one keyCRM fetch for three deliveries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_duplicate_webhooks_give_one_order_in_its_newest_state() {
    let app = spawn_with(None).await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "X", "price": 9, "one_time": true}]}))
        .await;
    // keyCRM moves the order through three statuses; the webhooks are then delivered
    // duplicated and out of order, each carrying the updated_at of its moment.
    let mut bodies = Vec::new();
    for status in [2, 3, 4] {
        app.sim_control(
            Method::PUT,
            &format!("/orders/{id}/status"),
            json!({"status_id": status, "webhook": false}),
        )
        .await;
        let row = app
            .sim_control(Method::GET, &format!("/orders/{id}"), json!({}))
            .await;
        bodies.push(json!({"event": "order.change_order_status",
                           "context": {"id": id, "status_id": status, "updated_at": row["updated_at"]}}));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let newest = app
        .sim_control(Method::GET, &format!("/orders/{id}"), json!({}))
        .await["updated_at"]
        .clone();
    app.sim.lock().requests.clear();
    for index in [2, 0, 1, 2, 0, 1, 1, 0, 2] {
        let response = app
            .post_webhook(&app.account.webhook_url, bodies[index].to_string())
            .await;
        assert_eq!(response.status(), 202);
    }
    let order = app
        .wait_for_order(id, "newest state", |o| o["status_id"] == 4)
        .await;
    assert_eq!(order_total(&app, "").await, 1, "exactly one order");
    let stored =
        chrono::DateTime::parse_from_rfc3339(order["keycrm_updated_at"].as_str().unwrap()).unwrap();
    let sent = sklad_domain::time::parse_keycrm_datetime(newest.as_str().unwrap()).unwrap();
    assert_eq!(stored, sent, "the newest keyCRM updated_at is stored");
    eventually(Duration::from_secs(10), "all nine handled", || async {
        (app.broker.depth(&app.order_sync_queue()).await.ok()? == 0).then_some(())
    })
    .await;
    let fetches = single_fetches(&app);
    assert!(
        fetches <= 2,
        "nine webhooks coalesced into {fetches} fetches"
    );

    // An older keyCRM document arriving late changes nothing.
    let mut stale_doc = order["keycrm_document"].clone();
    stale_doc["status_id"] = json!(1);
    stale_doc["updated_at"] = json!("2020-01-01 00:00:00");
    let doc = sklad_keycrm::OrderDocument {
        order: serde_json::from_value(stale_doc.clone()).unwrap(),
        raw: stale_doc,
    };
    let switches = sklad_order_sync::upsert::Switches::default();
    let mut conn = app.db().conn().await.unwrap();
    let outcome =
        sklad_order_sync::upsert::apply(&mut conn, app.account.id, &doc, &switches, None, "test")
            .await
            .unwrap();
    assert!(matches!(outcome, sklad_db::orders::Upserted::Stale(_)));
    let after = app
        .get_json(&format!("/orders/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(after["status_id"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_brings_exactly_the_chosen_statuses_at_one_request_per_50_orders() {
    let app = spawn_with(None).await;
    app.sim_generate(300, json!([1, 2, 3]), 11, 7).await;
    app.sim_generate(40, json!([4]), 12, 7).await;
    app.sim.lock().requests.clear();
    let job = app.run_sync_job(json!([2, 1])).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["orders_done"], 200);
    assert_eq!(job["orders_total"], 200);
    assert_eq!(job["pages_done"], 4);
    assert_eq!(job["requests"], 4);
    assert_eq!(
        app.sim_requests("/v1/order"),
        4,
        "one keyCRM request per 50 orders"
    );
    assert_eq!(order_total(&app, "").await, 200);
    assert_eq!(order_total(&app, "status_id=1").await, 100);
    assert_eq!(order_total(&app, "status_id=2").await, 100);
    assert_eq!(order_total(&app, "status_id=3").await, 0);
    assert_eq!(order_total(&app, "status_id=4").await, 0);
    // The orders carry their lines and payments.
    let page = app
        .get_json("/orders?per_page=1", &app.account.admin_token)
        .await;
    let detail = app
        .get_json(
            &format!("/orders/{}", page["data"][0]["id"].as_str().unwrap()),
            &app.account.admin_token,
        )
        .await;
    assert!(!detail["lines"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_resumes_after_its_worker_is_killed() {
    // No in-process worker: order-sync runs as processes this test kills.
    let app = TestApp::spawn().await;
    app.sim_generate(600, json!([1]), 21, 7).await;
    app.sim.lock().faults.latency_ms = 250;
    app.sim.lock().requests.clear();
    let env = process_env(&app, &[("SKLAD__ORDER_SYNC__JOB_LEASE", "2s")]);
    let mut first = sklad(&env, &["run", "--roles", "order-sync", "--no-migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = app
        .api(Method::POST, "/sync-jobs", &app.account.admin_token)
        .json(&json!({"status_ids": [1]}))
        .send()
        .await
        .unwrap();
    let job: Value = started.json().await.unwrap();
    let path = format!("/sync-jobs/{}", job["id"].as_str().unwrap());
    eventually(Duration::from_secs(60), "three pages done", || async {
        let job = app.get_json(&path, &app.account.admin_token).await;
        (job["pages_done"].as_i64()? >= 3).then_some(())
    })
    .await;
    first.start_kill().unwrap(); // SIGKILL: no chance to clean up
    first.wait().await.unwrap();
    let mid = app.get_json(&path, &app.account.admin_token).await;
    assert_eq!(mid["state"], "running");
    let pages_at_kill = mid["pages_done"].as_i64().unwrap();
    assert!((3..12).contains(&pages_at_kill), "{mid}");

    let mut second = sklad(&env, &["run", "--roles", "order-sync", "--no-migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = eventually(Duration::from_secs(90), "job resumed and done", || async {
        let job = app.get_json(&path, &app.account.admin_token).await;
        (job["state"] == "done").then_some(job)
    })
    .await;
    second.start_kill().unwrap();
    assert_eq!(done["orders_done"], 600);
    assert_eq!(done["pages_done"], 12);
    assert_eq!(order_total(&app, "").await, 600, "every order exactly once");
    let pages_fetched = app.sim_requests("/v1/order");
    assert!(
        (12..=13).contains(&pages_fetched),
        "12 pages, at most the interrupted one twice: {pages_fetched}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_webhooks_costs_far_fewer_keycrm_requests_than_webhooks() {
    let app = spawn_with(Some(|s| s.order_sync.coalesce = Duration::from_secs(1))).await;
    let ids = app.sim_generate(200, json!([1, 2]), 31, 7).await;
    app.sim.lock().requests.clear();
    let fired = app
        .sim_control(Method::POST, "/webhooks/fire", json!({"order_ids": ids}))
        .await;
    let delivered = fired["deliveries"].as_array().unwrap();
    assert_eq!(delivered.len(), 200);
    assert!(delivered.iter().all(|d| d["status"] == 202));
    wait_for_total(&app, "", 200, Duration::from_secs(60)).await;
    let (pages, singles) = (app.sim_requests("/v1/order"), single_fetches(&app));
    println!("200 webhooks → {pages} page requests + {singles} single fetches");
    assert!(
        pages + singles <= 40,
        "{pages} pages + {singles} singles for 200 webhooks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycrm_429s_5xx_and_dropped_connections_delay_but_never_lose_an_order() {
    let app = spawn_with(None).await;
    let ids = app.sim_generate(30, json!([1]), 41, 7).await;
    {
        let mut sim = app.sim.lock();
        sim.faults.error_rate = 0.3;
        sim.faults.rate_limit_next = 4;
        sim.faults.drop_next = 2;
    }
    let fired = app
        .sim_control(Method::POST, "/webhooks/fire", json!({"order_ids": ids}))
        .await;
    assert_eq!(fired["deliveries"].as_array().unwrap().len(), 30);
    wait_for_total(&app, "", 30, Duration::from_secs(90)).await;
    let failures = app
        .sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.status != 200)
        .count();
    assert!(failures > 0, "faults were injected");
    for id in ids.iter().take(5) {
        let order = app
            .get_json(&format!("/orders/{id}"), &app.account.admin_token)
            .await;
        let sim = app
            .sim_control(Method::GET, &format!("/orders/{id}"), json!({}))
            .await;
        let expected =
            sklad_domain::time::parse_keycrm_datetime(sim["updated_at"].as_str().unwrap()).unwrap();
        let stored =
            chrono::DateTime::parse_from_rfc3339(order["keycrm_updated_at"].as_str().unwrap())
                .unwrap();
        assert_eq!(stored, expected);
        assert_eq!(
            order["lines"].as_array().unwrap().len(),
            sim["products"].as_array().unwrap().len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconciliation_picks_up_orders_whose_webhook_never_came() {
    let app = spawn_with(Some(|s| {
        s.order_sync.reconcile_interval = Duration::from_secs(1)
    }))
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"import_status_ids": [1]}),
    )
    .await;
    // Tracked already (came by webhook), then changed in keyCRM without a webhook.
    let tracked = app
        .sim_order(json!({"status_id": 2, "lines": [{"name": "T", "price": 1, "one_time": true}]}))
        .await;
    app.sim_status(tracked, 2).await;
    app.wait_for_order(tracked, "tracked order", |o| o["status_id"] == 2)
        .await;
    app.sim_control(
        Method::PUT,
        &format!("/orders/{tracked}/status"),
        json!({"status_id": 3, "webhook": false}),
    )
    .await;
    // New orders nobody sent a webhook for: one in an import status, one not.
    let wanted = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "W", "price": 1, "one_time": true}]}))
        .await;
    let unwanted = app
        .sim_order(json!({"status_id": 4, "lines": [{"name": "U", "price": 1, "one_time": true}]}))
        .await;

    app.wait_for_order(wanted, "imported by reconciliation", |o| {
        o["status_id"] == 1
    })
    .await;
    app.wait_for_order(tracked, "refreshed by reconciliation", |o| {
        o["status_id"] == 3
    })
    .await;
    let missing = app
        .api(
            Method::GET,
            &format!("/orders/{unwanted}"),
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "not in import_status_ids, not tracked: not imported"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_that_cannot_be_fetched_are_parked_listed_often_and_replayed_once() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        relay: true,
        configure: Some(|s| s.order_sync.max_fetch_attempts = 2),
        ..AppOptions::default()
    })
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            app.sim_order(
                json!({"status_id": 1, "lines": [{"name": "X", "price": 1, "one_time": true}]}),
            )
            .await,
        );
    }
    // keyCRM fails every request (a refused key would stop the account instead: see
    // `security`).
    app.sim.lock().faults.error_rate = 1.0;
    for id in &ids {
        let body =
            json!({"event": "order.change_order_status", "context": {"id": id, "status_id": 1}});
        assert_eq!(
            app.post_webhook(&app.account.webhook_url, body.to_string())
                .await
                .status(),
            202
        );
    }
    // The relay moves each parked message off its queue into PostgreSQL.
    let parking = app.broker.topology().parking_queue("order-sync");
    eventually(
        Duration::from_secs(30),
        "orders parked and kept",
        || async {
            let kept = app.parked().await.len() == 3;
            (kept && app.broker.depth(&parking).await.ok()? == 0).then_some(())
        },
    )
    .await;
    let env = process_env(&app, &[]);
    let list = || async {
        let listed = sklad(&env, &["parked", "list", "--consumer", "order-sync"])
            .output()
            .await
            .unwrap();
        String::from_utf8_lossy(&listed.stdout).into_owned()
    };
    // Looking is free: fifty lists take nothing off any queue and drop nothing.
    for _ in 0..50 {
        let listed = list().await;
        assert_eq!(
            listed.matches("gave up after 2 attempts").count(),
            3,
            "{listed}"
        );
    }
    let listed = list().await;
    assert!(listed.contains("server error (HTTP 500)"), "{listed}");
    for id in &ids {
        assert!(listed.contains(&format!("order/{id}")), "{listed}");
    }
    let parked = app.parked().await;
    assert_eq!(parked.len(), 3);
    assert!(parked.iter().all(|p| p.account_id == Some(app.account.id)));
    let mut kept_ids: Vec<i64> = parked.iter().filter_map(|p| p.keycrm_id).collect();
    kept_ids.sort_unstable();
    assert_eq!(kept_ids, ids);

    // keyCRM works again: one message replayed by id brings its order in, the rest wait.
    app.sim.lock().faults.error_rate = 0.0;
    let first = parked
        .iter()
        .find(|p| p.keycrm_id == Some(ids[0]))
        .unwrap()
        .id
        .to_string();
    let replayed = sklad(&env, &["parked", "replay", "--id", &first])
        .output()
        .await
        .unwrap();
    let replayed = String::from_utf8_lossy(&replayed.stdout).into_owned();
    assert!(
        replayed.contains("1 parked message(s) moved back"),
        "{replayed}"
    );
    app.wait_for_order(ids[0], "imported after replay", |o| o["status_id"] == 1)
        .await;
    assert_eq!(app.parked().await.len(), 2);
    // Replaying the same id again finds nothing: a message comes back once.
    let again = sklad(&env, &["parked", "replay", "--id", &first])
        .output()
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 parked message(s)"));

    let rest = sklad(&env, &["parked", "replay", "--consumer", "order-sync"])
        .output()
        .await
        .unwrap();
    let rest = String::from_utf8_lossy(&rest.stdout).into_owned();
    assert!(rest.contains("2 parked message(s) moved back"), "{rest}");
    for id in &ids[1..] {
        app.wait_for_order(*id, "imported after replay", |o| o["status_id"] == 1)
            .await;
    }
    assert_eq!(app.parked_anywhere().await, 0);
    assert_eq!(
        order_total(&app, "status_id=1").await,
        3,
        "each order stored once"
    );

    // A message for an account that does not exist is parked by the consumer itself, and
    // kept with that account's id and the reason.
    let mut stray = webhook_event(&app, 77, None);
    let nobody = uuid::Uuid::now_v7();
    stray.account_id = nobody.to_string();
    publish(&app, &stray, "stray").await;
    let parked = eventually(Duration::from_secs(30), "stray parked", || async {
        let parked = app.parked().await;
        (!parked.is_empty()).then_some(parked)
    })
    .await;
    assert_eq!(parked[0].account_id, Some(nobody));
    assert!(
        parked[0].reason.contains("does not exist"),
        "{:?}",
        parked[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orders_api_filters_pages_and_finds_by_either_id() {
    let app = spawn_with(None).await;
    app.sim_generate(7, json!([1, 2]), 51, 7).await;
    let job = app.run_sync_job(json!([1, 2])).await;
    assert_eq!(job["orders_done"], 7);

    let page = app
        .get_json("/orders?per_page=3&page=2", &app.account.admin_token)
        .await;
    assert_eq!(page["total"], 7);
    assert_eq!(page["page"], 2);
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let last = app
        .get_json("/orders?per_page=3&page=3", &app.account.admin_token)
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1);
    assert_eq!(order_total(&app, "status_id=1").await, 4);
    assert_eq!(
        order_total(&app, "updated_since=2100-01-01T00:00:00Z").await,
        0
    );
    assert_eq!(
        order_total(&app, "updated_since=2000-01-01T00:00:00Z").await,
        7
    );

    let first = &page["data"][0];
    let by_uuid = app
        .get_json(
            &format!("/orders/{}", first["id"].as_str().unwrap()),
            &app.account.admin_token,
        )
        .await;
    let by_keycrm = app
        .get_json(
            &format!("/orders/{}", first["keycrm_id"]),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(by_uuid, by_keycrm);
    for (path, status) in [
        ("/orders/999999".to_owned(), 404),
        ("/orders/not-an-id".to_owned(), 404),
        ("/orders?per_page=0".to_owned(), 422),
        ("/orders?page=0".to_owned(), 422),
        ("/orders?archived=maybe".to_owned(), 400),
        ("/products?per_page=500".to_owned(), 422),
    ] {
        let response = app
            .api(Method::GET, &path, &app.account.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
    }

    // Another account sees none of it.
    let other = app.create_account("other shop", true).await;
    let theirs = app.get_json("/orders", &other.admin_token).await;
    assert_eq!(theirs["total"], 0);
    assert_eq!(
        app.status(
            Method::GET,
            &format!("/orders/{}", first["id"].as_str().unwrap()),
            &other.admin_token
        )
        .await,
        404
    );
    let products = app.get_json("/products", &other.admin_token).await;
    assert_eq!(products["total"], 0);
    let jobs = app.get_json("/sync-jobs", &other.admin_token).await;
    assert_eq!(jobs["data"], json!([]));
    assert_eq!(
        app.status(
            Method::GET,
            &format!("/sync-jobs/{}", job["id"].as_str().unwrap()),
            &other.admin_token
        )
        .await,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_jobs_can_be_refused_listed_and_cancelled() {
    // No worker: jobs stay queued so they can be cancelled.
    let app = TestApp::spawn().await;
    let no_key = app.create_account("no key", false).await;
    let refused = app
        .api(Method::POST, "/sync-jobs", &no_key.admin_token)
        .json(&json!({"status_ids": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    for bad in [json!({"status_ids": []}), json!({"status_ids": [0]})] {
        let response = app
            .api(Method::POST, "/sync-jobs", &app.account.admin_token)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{bad}");
    }
    let queued: Value = app
        .api(Method::POST, "/sync-jobs", &app.account.admin_token)
        .json(&json!({"status_ids": [3, 1, 3]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["status_ids"], json!([1, 3]));
    let second = app
        .api(Method::POST, "/sync-jobs", &app.account.admin_token)
        .json(&json!({"status_ids": [2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["code"], "sync_job_running");

    let id = queued["id"].as_str().unwrap();
    let cancelled: Value = app
        .api(
            Method::POST,
            &format!("/sync-jobs/{id}/cancel"),
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["state"], "cancelled");
    let list = app.get_json("/sync-jobs", &app.account.admin_token).await;
    assert_eq!(list["data"][0]["id"], id);
    assert_eq!(
        app.status(
            Method::POST,
            &format!("/sync-jobs/{}/cancel", uuid::Uuid::now_v7()),
            &app.account.admin_token
        )
        .await,
        404
    );
    // With the first one cancelled, a new job may start.
    let again = app
        .api(Method::POST, "/sync-jobs", &app.account.admin_token)
        .json(&json!({"status_ids": [2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_runs_a_sync_job_with_progress_until_it_ends() {
    let app = spawn_with(None).await;
    app.sim_generate(120, json!([5]), 61, 7).await;
    let env = process_env(&app, &[]);
    let account = app.account.id.to_string();
    let output = sklad(
        &env,
        &["sync", "orders", "--account", &account, "--status", "5"],
    )
    .output()
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("sync job done: 120 orders in 3 keyCRM requests"),
        "{stdout}"
    );
    assert_eq!(order_total(&app, "").await, 120);
}

/// The orders of the drill: eight good ones (one of them full of junk keyCRM might send in
/// optional fields) and one whose line SKU is longer than sklad stores.
async fn good_and_bad_orders(app: &TestApp) -> (Vec<i64>, i64) {
    let mut good = Vec::new();
    for n in 0..7 {
        good.push(
            app.sim_order(json!({"status_id": 1, "lines": [{"name": format!("G{n}"), "price": 3, "one_time": true}]}))
                .await,
        );
    }
    good.push(
        app.sim_order(json!({"status_id": 1,
            "lines": [{"name": "Junk around", "price": 3, "one_time": true}],
            "quirks": {"grand_total": "n/a", "buyer": 5, "payments": "none", "total_discount": {"x": 1}}}))
            .await,
    );
    let bad = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "Long", "sku": "S".repeat(250), "price": 1, "one_time": true}]}))
        .await;
    (good, bad)
}

async fn parked_reasons(app: &TestApp) -> String {
    let env = process_env(app, &[]);
    let listed = sklad(&env, &["parked", "list", "--consumer", "order-sync"])
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&listed.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_order_never_stalls_the_others_and_is_parked_with_its_reason() {
    let app = spawn_with(Some(|s| s.order_sync.max_fetch_attempts = 2)).await;
    let (good, bad) = good_and_bad_orders(&app).await;
    // All nine change at once: fetched as a page, where the bad one sits among the good.
    let body = json!({"order_ids": good.iter().chain([&bad]).collect::<Vec<_>>(), "status_id": 2});
    app.sim_control(Method::PUT, "/orders/status", body).await;
    for id in &good {
        app.wait_for_order(*id, "a good order", |o| o["status_id"] == 2)
            .await;
    }
    let junk = app
        .get_json(&format!("/orders/{}", good[7]), &app.account.admin_token)
        .await;
    assert_eq!(
        junk["grand_total"],
        Value::Null,
        "junk in an optional field is absent"
    );
    assert_eq!(junk["buyer"]["name"], Value::Null);
    // The bad one was counted, retried, then parked with its keyCRM id and the reason.
    eventually(Duration::from_secs(60), "bad order parked", || async {
        (app.parked().await.len() == 1).then_some(())
    })
    .await;
    let listed = parked_reasons(&app).await;
    assert!(listed.contains(&format!("order/{bad}")), "{listed}");
    assert!(listed.contains("gave up after 2 attempts"), "{listed}");
    assert!(listed.contains("could not store the order"), "{listed}");
    let mut conn = app.db().conn().await.unwrap();
    assert_eq!(sklad_db::fetches::backlog(&mut conn).await.unwrap().0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_job_and_reconciliation_go_past_a_bad_order() {
    let app = spawn_with(Some(|s| {
        s.order_sync.max_fetch_attempts = 2;
        s.order_sync.reconcile_interval = Duration::from_secs(1);
    }))
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"import_status_ids": [1]}),
    )
    .await;
    let (good, bad) = good_and_bad_orders(&app).await;
    let job = app.run_sync_job(json!([1])).await;
    assert_eq!(job["state"], "done", "{job}");
    for id in &good {
        app.wait_for_order(*id, "imported", |o| o["status_id"] == 1)
            .await;
    }
    eventually(Duration::from_secs(60), "bad order parked", || async {
        (!app.parked().await.is_empty()).then_some(())
    })
    .await;
    assert!(parked_reasons(&app).await.contains(&format!("order/{bad}")));
    // Reconciliation's watermark moves on past the bad order.
    let mut conn = app.db().conn().await.unwrap();
    let first = sklad_db::integrations::reconcile_watermark(&mut conn, app.account.id)
        .await
        .unwrap();
    eventually(Duration::from_secs(30), "watermark advances", || async {
        let mut conn = app.db().conn().await.ok()?;
        let now = sklad_db::integrations::reconcile_watermark(&mut conn, app.account.id)
            .await
            .ok()?;
        (now.is_some() && now > first).then_some(())
    })
    .await;
}
