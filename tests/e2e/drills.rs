//! Drills: the failures operators meet, played end to end against the real services.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, SIM_API_KEY, TcpProxy, TestApp, eventually, process_env};
use tokio::process::Child;

use crate::cli::sklad;

pub(crate) async fn orders_in_status(app: &TestApp, status: i64) -> i64 {
    app.get_json(
        &format!("/orders?status_id={status}&per_page=1"),
        &app.account.admin_token,
    )
    .await["total"]
        .as_i64()
        .unwrap_or(0)
}

/// Waits until keyCRM warehouse 1 (the simulator) holds sklad's sums of W1 + W2.
pub(crate) async fn keycrm_holds_sklads_sums(app: &TestApp, w1: &str, w2: &str, timeout: Duration) {
    eventually(timeout, "keyCRM equal to sklad", || async {
        let ours = sklad_sums(app, w1, w2).await;
        (!ours.is_empty() && app.sim_quantities(1) == ours).then_some(())
    })
    .await;
}

/// sklad's sums for keyCRM warehouse 1 (W1 + W2), per SKU.
pub(crate) async fn sklad_sums(app: &TestApp, w1: &str, w2: &str) -> BTreeMap<String, Decimal> {
    let mut sums = BTreeMap::new();
    let mut page = 1;
    loop {
        let balances = app
            .get_json(
                &format!("/balances?page={page}&per_page=200"),
                &app.account.admin_token,
            )
            .await;
        let rows = balances["data"].as_array().cloned().unwrap_or_default();
        for b in &rows {
            let warehouse = b["warehouse_id"].as_str().unwrap();
            if warehouse == w1 || warehouse == w2 {
                *sums
                    .entry(b["sku"].as_str().unwrap().to_owned())
                    .or_insert(Decimal::ZERO) +=
                    b["quantity"].as_str().unwrap().parse::<Decimal>().unwrap();
            }
        }
        if rows.len() < 200 {
            return sums;
        }
        page += 1;
    }
}

pub(crate) fn worker(env: &[(String, String)], role: &str) -> Child {
    sklad(env, &["run", "--roles", role, "--no-migrate"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// kill -9 of order-sync, stock-publisher and relay (each its own process) in the middle of
/// 2 000 webhooks and 2 000 movements: every webhook answered 202 becomes its order, every
/// movement reaches keyCRM's sums, and nothing is stored twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_workers_mid_flood_loses_and_doubles_nothing() {
    let app = TestApp::spawn().await;
    let skus: Vec<String> = (0..20).map(|i| format!("D-{i:02}")).collect();
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let rig = app.stock_rig(&sku_refs).await;
    let ids = app.sim_generate(2000, json!([1]), 77, 5).await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"receive_payments": true}),
    )
    .await;
    let env = process_env(
        &app,
        &[
            ("SKLAD__ORDER_SYNC__FETCH_LEASE", "3s"),
            ("SKLAD__ORDER_SYNC__COALESCE", "300ms"),
        ],
    );
    let roles = ["order-sync", "stock-publisher", "relay"];
    let mut workers: Vec<Child> = roles.iter().map(|r| worker(&env, r)).collect();

    // 2 000 status changes in keyCRM, each delivered by its webhook...
    let fired = {
        let app_url = app.sim_control_url.clone();
        let http = app.http.clone();
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut accepted = 0;
            for chunk in ids.chunks(100) {
                let answer: Value = http
                    .put(format!("{app_url}/orders/status"))
                    .json(&json!({"order_ids": chunk, "status_id": 2}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                accepted += answer["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|d| d["status"] == 202)
                    .count();
            }
            accepted
        })
    };
    // ...while 2 000 receipts are recorded, eight at a time.
    let recorded = Arc::new(AtomicUsize::new(0));
    let movements = {
        let mut tasks = Vec::new();
        for lane in 0..8 {
            let (http, url, token) = (
                app.http.clone(),
                app.api_url("/movements"),
                app.account.admin_token.clone(),
            );
            let (skus, recorded) = (skus.clone(), recorded.clone());
            let warehouses = [rig.w1.clone(), rig.w2.clone()];
            tasks.push(tokio::spawn(async move {
                for n in (lane..2000).step_by(8) {
                    let body = json!({"kind": "receipt", "warehouse_id": warehouses[n % 2],
                        "lines": [{"sku": skus[n % skus.len()], "quantity": 1 + n % 3}]});
                    let answer = http
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(answer.status(), 201);
                    recorded.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        tasks
    };

    // Kill -9 every worker twice while the flood is on, and start them again.
    for round in 1..=2 {
        eventually(Duration::from_secs(120), "the flood under way", || async {
            let stored = orders_in_status(&app, 2).await;
            (stored >= 300 * round && recorded.load(Ordering::SeqCst) >= 400 * round as usize)
                .then_some(())
        })
        .await;
        for child in &mut workers {
            child.start_kill().unwrap(); // SIGKILL: no chance to clean up
            child.wait().await.unwrap();
        }
        workers = roles.iter().map(|r| worker(&env, r)).collect();
    }
    let accepted = fired.await.unwrap();
    for task in movements {
        task.await.unwrap();
    }
    assert_eq!(accepted, 2000, "every webhook was answered 202");

    eventually(Duration::from_secs(180), "every order stored", || async {
        (orders_in_status(&app, 2).await == 2000).then_some(())
    })
    .await;
    keycrm_holds_sklads_sums(&app, &rig.w1, &rig.w2, Duration::from_secs(120)).await;
    let total: Decimal = sklad_sums(&app, &rig.w1, &rig.w2).await.values().sum();
    let expected: usize = (0..2000).map(|n| 1 + n % 3).sum();
    assert_eq!(
        total,
        Decimal::from(expected),
        "every movement counted once"
    );
    // Nothing twice: as many orders, lines and payments as keyCRM has.
    let (lines, payments) = {
        let sim = app.sim.lock();
        let orders: Vec<_> = sim.orders.values().collect();
        (
            orders.iter().map(|o| o.lines.len()).sum::<usize>(),
            orders.iter().map(|o| o.payments.len()).sum::<usize>(),
        )
    };
    let count = |table: &'static str| {
        let db = app.db().clone();
        async move {
            #[derive(diesel::QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            use diesel_async::RunQueryDsl;
            let mut conn = db.conn().await.unwrap();
            diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
                .get_result::<N>(&mut conn)
                .await
                .unwrap()
                .n
        }
    };
    assert_eq!(count("customer_orders").await, 2000);
    assert_eq!(count("customer_order_lines").await, lines as i64);
    assert_eq!(count("payments").await, payments as i64);
    assert_eq!(count("movements").await, 2000);
    for mut child in workers {
        child.start_kill().unwrap();
        let _ = child.wait().await;
    }
}

/// RabbitMQ gone for 10 s during a webhook flood: ingress answers 503 while it is gone and
/// recovers by itself; every webhook answered 202 becomes its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_second_rabbitmq_cut_during_a_flood_loses_no_accepted_webhook() {
    let proxy = TcpProxy::start("127.0.0.1:5672").await.unwrap();
    let app = TestApp::spawn_with(AppOptions {
        broker_url: Some(proxy.amqp_url()),
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    let ids = app.sim_generate(300, json!([2]), 88, 5).await;
    let mut accepted = Vec::new();
    let mut refused = 0;
    let started = std::time::Instant::now();
    let mut cut = false;
    let mut restored = false;
    for id in &ids {
        let elapsed = started.elapsed();
        if !cut && elapsed >= Duration::from_secs(2) {
            proxy.cut();
            cut = true;
        }
        if cut && !restored && elapsed >= Duration::from_secs(12) {
            proxy.forward();
            restored = true;
        }
        let body =
            json!({"event": "order.change_order_status", "context": {"id": id, "status_id": 2}});
        match app
            .post_webhook(&app.account.webhook_url, body.to_string())
            .await
            .status()
            .as_u16()
        {
            202 => accepted.push(*id),
            503 => refused += 1,
            other => panic!("answered {other}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await; // the flood's pace
    }
    if !restored {
        proxy.forward();
    }
    assert!(refused > 0, "503s while RabbitMQ was gone");
    // Ingress came back by itself: the tail of the flood was accepted again.
    assert!(
        ids.last().is_some_and(|last| accepted.contains(last)),
        "ingress recovered"
    );
    for id in &accepted {
        app.wait_for_order(*id, "an accepted webhook's order", |o| o["status_id"] == 2)
            .await;
    }
    println!("{} accepted, {refused} refused with 503", accepted.len());
}

/// keyCRM answers 429 to everything for 30 s, then refuses the key: no tight loop (the
/// requests are counted), the integration is flagged, and saving the key again recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_then_a_refused_key_costs_few_requests_and_recovers() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["L-1"]).await;
    let ids = app.sim_generate(10, json!([1]), 99, 5).await;
    // keyCRM's real limit for the key: 60 a minute.
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"requests_per_minute": 60}),
    )
    .await;
    app.sim.lock().requests.clear();
    app.sim.lock().faults.rate_limit_next = u32::MAX; // every request: 429, Retry-After: 1
    app.sim_control(
        Method::PUT,
        "/orders/status",
        json!({"order_ids": ids, "status_id": 2}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "L-1", "quantity": 3}]}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(30)).await; // the storm lasts its 30 seconds
    let during = app.sim.lock().requests.len();
    assert!(during >= 5, "sklad kept trying: {during}");
    assert!(
        during <= 40,
        "every process waits out Retry-After and the key's pace: {during} requests in 30 s"
    );

    // keyCRM stops refusing for load, and starts refusing the key.
    {
        let mut sim = app.sim.lock();
        sim.faults.rate_limit_next = 0;
        sim.api_keys = vec!["rotated-key-0000000000000".into()];
    }
    eventually(Duration::from_secs(30), "integration flagged", || async {
        let settings = app
            .get_json("/integrations/keycrm", &app.account.admin_token)
            .await;
        settings["key_rejected_at"].is_string().then_some(())
    })
    .await;
    let refusals = app.sim_count(|r| r.status == 401);
    assert!(
        refusals <= 3,
        "a refused key is not asked again and again: {refusals}"
    );

    // The owner saves the key keyCRM accepts again: everything catches up.
    app.sim.lock().api_keys = vec![SIM_API_KEY.into()];
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"api_key": SIM_API_KEY}),
    )
    .await;
    for id in &ids {
        app.wait_for_order(*id, "order after recovery", |o| o["status_id"] == 2)
            .await;
    }
    eventually(Duration::from_secs(60), "stock after recovery", || async {
        (app.sim_quantities(1).get("L-1") == Some(&Decimal::from(3))).then_some(())
    })
    .await;
}
