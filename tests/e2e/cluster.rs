//! The scale-out drill (issue 19.13), run by `deploy/drill.sh cluster` against the 3-node
//! RabbitMQ cluster it starts: two processes of every role, a flood of webhooks and
//! movements, one process of each role SIGKILLed and one broker node stopped mid-flood;
//! then nothing acknowledged is lost, nothing is stored twice and keyCRM holds sklad's sums.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually, process_env};
use tokio::process::Child;

use crate::drills::{keycrm_holds_sklads_sums, orders_in_status, sklad_sums, worker};
use crate::process::free_port;
use crate::upkeep::count;

const ORDERS: usize = 200;
const WEBHOOKS: usize = 5000;
const MOVEMENTS: usize = 5000;

/// POSTs until one of `urls` answers with a status in `done`, trying the next on a refused
/// connection or a 503 (as a load balancer in front of them would); the status it got.
async fn until_done(
    http: &reqwest::Client,
    urls: &[String],
    start: usize,
    token: Option<&str>,
    body: &Value,
    done: &[u16],
) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut attempt = start;
    loop {
        let url = &urls[attempt % urls.len()];
        let mut request = http.post(url).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Ok(response) = request.send().await {
            let status = response.status().as_u16();
            if done.contains(&status) || Instant::now() > deadline {
                return status;
            }
        } else if Instant::now() > deadline {
            return 0;
        }
        attempt += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first column (text) of every row `sql` gives, joined; for the drill's diagnosis.
async fn rows(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct T {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    use diesel_async::RunQueryDsl;
    let mut conn = app.db().conn().await.unwrap();
    diesel::sql_query(sql)
        .load::<T>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the 3-node RabbitMQ cluster deploy/drill.sh cluster starts"]
async fn two_of_every_role_over_a_three_node_cluster() {
    let started = Instant::now();
    let urls = std::env::var("SKLAD_CLUSTER_URLS").expect("SKLAD_CLUSTER_URLS");
    let nodes: Vec<String> = std::env::var("SKLAD_CLUSTER_NODES")
        .expect("SKLAD_CLUSTER_NODES")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rabbitmqctl = std::env::var("SKLAD_RABBITMQCTL").expect("SKLAD_RABBITMQCTL");

    // One ingress and one API in this process, the second of each in a process of its own;
    // two processes each of order-sync, stock-publisher and the relay. Every one is given
    // the three nodes.
    let app = TestApp::spawn_with(AppOptions {
        broker_url: Some(urls),
        ..AppOptions::default()
    })
    .await;
    let skus: Vec<String> = (0..20).map(|i| format!("C-{i:02}")).collect();
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let rig = app.stock_rig(&sku_refs).await;
    let ids = app.sim_generate(ORDERS, json!([1]), 19, 5).await;
    let (ingress_port, api_port) = (free_port(), free_port());
    let env = process_env(
        &app,
        &[
            ("SKLAD__ORDER_SYNC__FETCH_LEASE", "3s"),
            ("SKLAD__INGRESS__BIND", &format!("127.0.0.1:{ingress_port}")),
            ("SKLAD__API__BIND", &format!("127.0.0.1:{api_port}")),
        ],
    );
    let worker_env = process_env(&app, &[("SKLAD__ORDER_SYNC__FETCH_LEASE", "3s")]);
    let mut doomed = vec![
        worker(&env, "ingress,api"),
        worker(&worker_env, "order-sync"),
        worker(&worker_env, "stock-publisher"),
        worker(&worker_env, "relay"),
    ];
    let survivors: Vec<Child> = ["order-sync", "stock-publisher", "relay"]
        .iter()
        .map(|r| worker(&worker_env, r))
        .collect();
    let token_path = app
        .account
        .webhook_url
        .split_once("/webhooks/")
        .map(|(_, tail)| format!("/webhooks/{tail}"))
        .unwrap();
    let webhook_urls = vec![
        app.account.webhook_url.clone(),
        format!("http://127.0.0.1:{ingress_port}{token_path}"),
    ];
    let movement_urls = vec![
        app.api_url("/movements"),
        format!("http://127.0.0.1:{api_port}/api/v1/movements"),
    ];
    eventually(
        Duration::from_secs(30),
        "the second ingress and API",
        || async {
            let up = app
                .http
                .get(&movement_urls[1])
                .bearer_auth(&app.account.admin_token)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            up.then_some(())
        },
    )
    .await;

    // 25 rounds of status changes over the 200 orders, each told by a webhook to either
    // ingress (5 000 webhooks)...
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let recorded = Arc::new(AtomicUsize::new(0));
    let rounds = WEBHOOKS / ORDERS;
    let final_status = if rounds.is_multiple_of(2) { 1 } else { 2 };
    let webhooks = {
        let (http, control, sim) = (
            app.http.clone(),
            app.sim_control_url.clone(),
            app.sim.clone(),
        );
        let (ids, acknowledged, recorded) = (ids.clone(), acknowledged.clone(), recorded.clone());
        tokio::spawn(async move {
            for round in 0..rounds {
                // The two floods go together, so every disruption meets both.
                let due = round * MOVEMENTS / rounds;
                let deadline = Instant::now() + Duration::from_secs(300);
                while recorded.load(Ordering::SeqCst) < due {
                    assert!(Instant::now() < deadline, "the movements stalled");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let status = if round.is_multiple_of(2) { 2 } else { 1 };
                http.put(format!("{control}/orders/status"))
                    .json(&json!({"order_ids": ids, "status_id": status, "webhook": false}))
                    .send()
                    .await
                    .unwrap();
                let mut lanes = Vec::new();
                for lane in 0..8 {
                    let (http, urls, ids, acknowledged, sim) = (
                        http.clone(),
                        webhook_urls.clone(),
                        ids.clone(),
                        acknowledged.clone(),
                        sim.clone(),
                    );
                    lanes.push(tokio::spawn(async move {
                        for n in (lane..ids.len()).step_by(8) {
                            // The order's row as keyCRM's "Send Webhook" sends it, with the
                            // time it changed.
                            let body = {
                                let state = sim.lock();
                                let order = state.orders.get(&ids[n]).unwrap();
                                json!({"event": "order.change_order_status",
                                    "context": state.render_order_row(order)})
                            };
                            let got = until_done(&http, &urls, n, None, &body, &[202]).await;
                            if got == 202 {
                                acknowledged.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }));
                }
                for lane in lanes {
                    lane.await.unwrap();
                }
            }
        })
    };
    // ...while 5 000 receipts are recorded through either API, each with its idempotency
    // key, so a retry after a killed API never counts twice.
    let movements: Vec<_> = (0..8)
        .map(|lane| {
            let (http, urls, token) = (
                app.http.clone(),
                movement_urls.clone(),
                app.account.admin_token.clone(),
            );
            let (skus, recorded) = (skus.clone(), recorded.clone());
            let warehouses = [rig.w1.clone(), rig.w2.clone()];
            tokio::spawn(async move {
                for n in (lane..MOVEMENTS).step_by(8) {
                    let body = json!({"kind": "receipt", "warehouse_id": warehouses[n % 2],
                        "idempotency_key": format!("drill-{n}"),
                        "lines": [{"sku": skus[n % skus.len()], "quantity": 1 + n % 3}]});
                    let got = until_done(&http, &urls, n, Some(&token), &body, &[200, 201]).await;
                    assert!(got == 200 || got == 201, "movement {n}: {got}");
                    recorded.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // A quarter of the way: SIGKILL one process of each role.
    eventually(
        Duration::from_secs(300),
        "a quarter of the flood",
        || async {
            (acknowledged.load(Ordering::SeqCst) >= WEBHOOKS / 4
                && recorded.load(Ordering::SeqCst) >= MOVEMENTS / 4)
                .then_some(())
        },
    )
    .await;
    for child in &mut doomed {
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
    println!(
        "cluster drill: one process of each role killed at {} webhooks, {} movements",
        acknowledged.load(Ordering::SeqCst),
        recorded.load(Ordering::SeqCst)
    );
    // Half way through the webhooks: stop the first broker node, the one every process
    // prefers, so the ingress in this process has to move to another.
    eventually(Duration::from_secs(300), "half the webhooks", || async {
        (acknowledged.load(Ordering::SeqCst) >= WEBHOOKS / 2).then_some(())
    })
    .await;
    let failovers_before = sklad_bus::metrics::FAILOVERS.get();
    let stopped = tokio::process::Command::new(&rabbitmqctl)
        .args(["-q", "-n", &nodes[0], "stop_app"])
        .status()
        .await
        .unwrap();
    assert!(stopped.success(), "rabbitmqctl stop_app {}", nodes[0]);
    println!(
        "cluster drill: broker node {} stopped at {} webhooks, {} movements",
        nodes[0],
        acknowledged.load(Ordering::SeqCst),
        recorded.load(Ordering::SeqCst)
    );

    webhooks.await.unwrap();
    for lane in movements {
        lane.await.unwrap();
    }
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    assert!(
        sklad_bus::metrics::FAILOVERS.get() > failovers_before,
        "the ingress here moved to a surviving node"
    );
    assert!(
        recorded.load(Ordering::SeqCst) == MOVEMENTS,
        "every movement recorded"
    );

    // Every order at its last status, once; every movement once; keyCRM equal to sklad.
    let at_last = || orders_in_status(&app, final_status);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut settled = at_last().await;
    while settled < ORDERS as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        settled = at_last().await;
    }
    if settled < ORDERS as i64 {
        println!(
            "cluster drill: {settled} of {ORDERS} orders at their last status; by status {}; \
             waiting fetches {}; parked {}",
            rows(&app, "SELECT concat(status_id, ':', count(*)) AS t FROM customer_orders GROUP BY status_id").await,
            rows(&app, "SELECT concat(count(*), ' attempts ', max(attempts), ' ', max(last_error)) AS t FROM order_fetches").await,
            rows(&app, "SELECT concat(consumer, ': ', reason) AS t FROM parked_messages LIMIT 3").await,
        );
    }
    keycrm_holds_sklads_sums(&app, &rig.w1, &rig.w2, Duration::from_secs(300)).await;
    let ours = sklad_sums(&app, &rig.w1, &rig.w2).await;
    let theirs = app.sim_quantities(1);
    let drift = ours
        .iter()
        .filter(|(sku, q)| theirs.get(*sku) != Some(q))
        .count();
    let total: Decimal = ours.values().sum();
    let expected: usize = (0..MOVEMENTS).map(|n| 1 + n % 3).sum();
    let orders = count(&app, "SELECT count(*) AS n FROM customer_orders").await;
    let ledger = count(&app, "SELECT count(*) AS n FROM movements").await;
    let lost = (ORDERS as i64 - settled).max(0) + i64::try_from(MOVEMENTS).unwrap()
        - ledger.min(MOVEMENTS as i64);
    let duplicated = (orders - ORDERS as i64).max(0) + (ledger - MOVEMENTS as i64).max(0);
    println!(
        "cluster drill: webhooks {acknowledged}/{WEBHOOKS}, lost {lost}, duplicated {duplicated}, drift {drift}, {}s",
        started.elapsed().as_secs()
    );
    assert_eq!(acknowledged, WEBHOOKS, "every webhook acknowledged");
    assert_eq!((lost, duplicated, drift), (0, 0, 0));
    assert_eq!(
        total,
        Decimal::from(expected),
        "every movement counted once"
    );

    for mut child in survivors.into_iter().chain(doomed) {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}
