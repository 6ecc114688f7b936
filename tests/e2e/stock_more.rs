//! Stock under load and failure, the ledger's invariant, and the stock API's rules.

use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually, process_env};
use uuid::Uuid;

use sklad_db::stock::MovementInput;
use sklad_domain::stock::MovementKind;
use sklad_domain::stock::{Change, LedgerLine};

use crate::cli::sklad;

/// The shared stock set-up (W1 and W2 → keyCRM warehouse 1, W3 unmapped, push on).
async fn setup(app: &TestApp, skus: &[String]) -> (String, String, String) {
    let skus: Vec<&str> = skus.iter().map(String::as_str).collect();
    let rig = app.stock_rig(&skus).await;
    (rig.w1, rig.w2, rig.w3)
}

/// sklad's sums for keyCRM warehouse 1 (warehouses W1 + W2) per SKU.
async fn sklad_sums(
    app: &TestApp,
    w1: &str,
    w2: &str,
) -> std::collections::BTreeMap<String, Decimal> {
    let balances = app.get_json("/balances", &app.account.admin_token).await;
    let mut sums = std::collections::BTreeMap::new();
    for b in balances["data"].as_array().unwrap() {
        let warehouse = b["warehouse_id"].as_str().unwrap();
        if warehouse == w1 || warehouse == w2 {
            *sums
                .entry(b["sku"].as_str().unwrap().to_owned())
                .or_insert(Decimal::ZERO) +=
                b["quantity"].as_str().unwrap().parse::<Decimal>().unwrap();
        }
    }
    sums
}

/// Waits until keyCRM holds exactly sklad's sums (zero drift).
async fn wait_zero_drift(app: &TestApp, w1: &str, w2: &str, within: Duration) {
    eventually(within, "keyCRM equal to sklad", || async {
        let ours = sklad_sums(app, w1, w2).await;
        let theirs = app.sim_quantities(1);
        let drift = ours
            .iter()
            .filter(|(sku, q)| theirs.get(*sku) != Some(q))
            .count();
        (drift == 0).then_some(())
    })
    .await;
}

fn puts(app: &TestApp) -> usize {
    app.sim_count(|r| r.method == "PUT" && r.path == "/v1/offers/stocks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_movements_over_a_thousand_skus_take_a_handful_of_requests() {
    let app = TestApp::spawn_with(AppOptions {
        stock_publisher: true,
        relay: true,
        ..AppOptions::default()
    })
    .await;
    let skus: Vec<String> = (0..1000).map(|i| format!("SKU-{i:04}")).collect();
    let (w1, w2, _) = setup(&app, &skus).await;
    app.sim.lock().requests.clear();
    // Movements go through the ledger function the API calls (balances, ledger line and outbox
    // event in one transaction), without HTTP in front, so the test measures the push path.
    let products: Vec<Uuid> = {
        let mut conn = app.db().conn().await.unwrap();
        let by_sku = sklad_db::products::ids_by_sku(&mut conn, app.account.id, &skus)
            .await
            .unwrap();
        skus.iter().map(|s| by_sku[s]).collect()
    };
    let warehouses: [Uuid; 2] = [w1.parse().unwrap(), w2.parse().unwrap()];
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (db, products, account) = (app.db().clone(), products.clone(), app.account.id);
        tasks.push(tokio::spawn(async move {
            let mut conn = db.conn().await.unwrap();
            for n in (worker..10_000).step_by(4) {
                let input = MovementInput {
                    origin: None,
                    reverses: None,
                    kind: MovementKind::Receipt,
                    note: None,
                    order_id: None,
                    production_order_id: None,
                    idempotency_key: None,
                    lines: vec![LedgerLine {
                        warehouse_id: warehouses[n % 2],
                        product_id: products[n % 1000],
                        change: Change::By(Decimal::from(1 + n % 7)),
                    }],
                };
                sklad_db::stock::record(&mut conn, account, input)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let posted = started.elapsed();
    wait_zero_drift(&app, &w1, &w2, Duration::from_secs(120)).await;
    let requests = puts(&app);
    println!(
        "10 000 movements recorded in {posted:?}; keyCRM matched after {:?} with {requests} PUT /offers/stocks",
        started.elapsed()
    );
    // While movements keep coming a target is pushed at most once per `max_delay` (then once
    // more when they stop): the count follows the time spent writing, never the movements.
    let max_delay = app.settings.stock_publisher.max_delay;
    let cadence = posted.as_secs_f64() / max_delay.as_secs_f64();
    assert!(
        (requests as f64) <= cadence + 3.0,
        "{requests} requests for 10 000 movements written in {posted:?}"
    );
    assert_eq!(app.sim_quantities(1).len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_relay_or_the_stock_publisher_and_keycrm_faults_leave_zero_drift() {
    // Services in-process, except the relay and the stock-publisher: processes this test kills.
    let app = TestApp::spawn().await;
    let skus: Vec<String> = (0..50).map(|i| format!("K-{i:02}")).collect();
    let (w1, w2, _) = setup(&app, &skus).await;
    let env = process_env(&app, &[]);
    let spawn = |role: &str| {
        sklad(&env, &["run", "--roles", role, "--no-migrate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut relay = spawn("relay");
    let mut publisher = spawn("stock-publisher");
    {
        let mut sim = app.sim.lock();
        sim.faults.error_rate = 0.2;
        sim.faults.rate_limit_next = 3;
    }
    for round in 0..6 {
        for n in 0..40 {
            let warehouse = if n % 3 == 0 { &w2 } else { &w1 };
            let kind = if n % 5 == 4 { "write_off" } else { "receipt" };
            let body = json!({"kind": kind, "warehouse_id": warehouse, "lines": [{"sku": skus[(n * 7 + round) % 50], "quantity": 1}]});
            let response = app.post("/movements", body).await;
            assert!(
                response.status() == 201 || response.status() == 409,
                "{}",
                response.status()
            );
        }
        match round {
            1 => {
                relay.start_kill().unwrap(); // SIGKILL mid-stream
                relay.wait().await.unwrap();
            }
            2 => relay = spawn("relay"),
            3 => {
                publisher.start_kill().unwrap();
                publisher.wait().await.unwrap();
            }
            4 => publisher = spawn("stock-publisher"),
            _ => {}
        }
    }
    wait_zero_drift(&app, &w1, &w2, Duration::from_secs(120)).await;
    app.sim.lock().faults = keycrm_sim::Faults::default();
    let failed = app
        .sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.path == "/v1/offers/stocks" && r.status != 202)
        .count();
    assert!(failed > 0, "keyCRM faults were injected into pushes");
    relay.start_kill().unwrap();
    publisher.start_kill().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balances_equal_the_ledger_under_concurrent_movements_on_one_sku() {
    let app = TestApp::spawn().await;
    let (w1, _, _) = setup(&app, &["HOT".to_owned()]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "HOT", "quantity": 1000}]}),
    )
    .await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (url, token, w1) = (
            app.api_url("/movements"),
            app.account.admin_token.clone(),
            w1.clone(),
        );
        let http = app.http.clone();
        tasks.push(tokio::spawn(async move {
            let mut net = 0i64;
            for n in 0..15 {
                let (kind, q) = if (worker + n) % 3 == 0 { ("write_off", 3) } else { ("receipt", 2) };
                let body = json!({"kind": kind, "warehouse_id": w1, "lines": [{"sku": "HOT", "quantity": q}]});
                let response = http.post(&url).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(response.status(), 201);
                net += if kind == "receipt" { q } else { -q };
            }
            net
        }));
    }
    let mut expected = 1000i64;
    for task in tasks {
        expected += task.await.unwrap();
    }
    let balance = app
        .get_json("/balances?sku=HOT", &app.account.admin_token)
        .await;
    assert_eq!(balance["data"][0]["quantity"], expected.to_string());
    let mut conn = app.db().conn().await.unwrap();
    let product = balance["data"][0]["product_id"]
        .as_str()
        .unwrap()
        .parse::<Uuid>()
        .unwrap();
    let ledger = sklad_db::stock::ledger_sum(&mut conn, w1.parse().unwrap(), product)
        .await
        .unwrap();
    assert_eq!(
        ledger,
        Decimal::from(expected),
        "balance equals the sum of its ledger"
    );
    let history = app
        .get_json("/movements?sku=HOT&per_page=1", &app.account.admin_token)
        .await;
    assert_eq!(history["total"], 1 + 16 * 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_balances_are_refused_with_409_unless_the_warehouse_allows_them() {
    let app = TestApp::spawn().await;
    let (w1, w2, _) = setup(&app, &["N-1".to_owned()]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "N-1", "quantity": 2}]}),
    )
    .await;
    let refused = app.post("/movements",
        json!({"kind": "write_off", "warehouse_id": w1, "lines": [{"sku": "N-1", "quantity": 5}]}),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "negative_balance");
    assert!(body["error"]["message"].as_str().unwrap().contains("N-1"));
    let transfer = app.post("/movements",
        json!({"kind": "transfer", "from_warehouse_id": w1, "to_warehouse_id": w2, "lines": [{"sku": "N-1", "quantity": 3}]}),
    )
    .await;
    assert_eq!(
        transfer.status(),
        409,
        "a transfer cannot empty the source below zero either"
    );
    let balance = app
        .get_json(
            &format!("/balances?warehouse_id={w1}"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(
        balance["data"][0]["quantity"], "2",
        "refused movements change nothing"
    );
    let history = app.get_json("/movements", &app.account.admin_token).await;
    assert_eq!(history["total"], 1);

    let allowed = app
        .api(
            Method::PATCH,
            &format!("/warehouses/{w1}"),
            &app.account.admin_token,
        )
        .json(&json!({"allow_negative": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    let negative = app.created("/movements",
        json!({"kind": "write_off", "warehouse_id": w1, "lines": [{"sku": "N-1", "quantity": 5}]}),
    )
    .await;
    assert_eq!(negative["lines"][0]["balance_after"], "-3");
    // An inventory count sets the balance to what was counted.
    let counted = app.created("/movements",
        json!({"kind": "inventory", "warehouse_id": w1, "lines": [{"sku": "N-1", "quantity": 10}]}),
    )
    .await;
    assert_eq!(counted["lines"][0]["quantity_delta"], "13");
    assert_eq!(counted["lines"][0]["balance_after"], "10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn movements_reject_bad_input_and_honour_idempotency_keys() {
    let app = TestApp::spawn().await;
    let (w1, w2, _) = setup(&app, &["M-1".to_owned()]).await;
    let other = app.create_account("other", false).await;
    let foreign = app
        .api(Method::POST, "/warehouses", &other.admin_token)
        .json(&json!({"name": "theirs"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (body, status) in [
        (
            json!({"kind": "theft", "warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "shipment", "warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": []}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 0}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": -2}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "NOPE", "quantity": 1}]}),
            404,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "lines": [{"sku": "M-1", "quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": foreign, "lines": [{"sku": "M-1", "quantity": 1}]}),
            404,
        ),
        (
            json!({"kind": "transfer", "from_warehouse_id": w1, "to_warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "transfer", "from_warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 1}]}),
            422,
        ),
        (
            json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "M-1", "quantity": 1}], "extra": 1}),
            422,
        ),
    ] {
        let response = app.post("/movements", body.clone()).await;
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"]["code"].is_string(), "{body}: {error}");
    }
    assert_eq!(
        app.get_json("/movements", &app.account.admin_token).await["total"],
        0,
        "nothing recorded"
    );

    let body = json!({"kind": "receipt", "warehouse_id": w2, "idempotency_key": "delivery-42", "lines": [{"sku": "M-1", "quantity": 4}]});
    let first = app.post("/movements", body.clone()).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app.post("/movements", body).await;
    assert_eq!(
        again.status(),
        200,
        "the same key returns the same movement"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(
        app.get_json(
            &format!("/balances?warehouse_id={w2}"),
            &app.account.admin_token
        )
        .await["data"][0]["quantity"],
        "4"
    );
    let one = app
        .get_json(
            &format!("/movements/{}", first["id"].as_str().unwrap()),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(one["lines"][0]["sku"], "M-1");
    assert_eq!(
        app.status(
            Method::GET,
            &format!("/movements/{}", first["id"].as_str().unwrap()),
            &other.admin_token
        )
        .await,
        404
    );

    // Racing retries with one key: one movement, every answer names it, none is a 500.
    let racing = json!({"kind": "receipt", "warehouse_id": w2, "idempotency_key": "delivery-43", "lines": [{"sku": "M-1", "quantity": 1}]});
    let answers =
        futures::future::join_all((0..8).map(|_| app.post("/movements", racing.clone()))).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for answer in answers {
        let status = answer.status().as_u16();
        assert!(
            status == 201 || status == 200,
            "racing retry answered {status}"
        );
        created += usize::from(status == 201);
        ids.insert(
            answer.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(
        (created, ids.len()),
        (1, 1),
        "one movement recorded, named by every answer"
    );
    assert_eq!(
        app.get_json(
            &format!("/balances?warehouse_id={w2}"),
            &app.account.admin_token
        )
        .await["data"][0]["quantity"],
        "5"
    );

    // Products: unique SKU, edits.
    let duplicate = app
        .post("/products", json!({"sku": "M-1", "name": "again"}))
        .await;
    assert_eq!(duplicate.status(), 409);
    let product = app
        .get_json("/products?sku=M-1", &app.account.admin_token)
        .await["data"][0]
        .clone();
    let renamed = app
        .api(
            Method::PATCH,
            &format!("/products/{}", product["id"].as_str().unwrap()),
            &app.account.admin_token,
        )
        .json(&json!({"name": "Нове ім'я", "price": "12.50"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let renamed: Value = renamed.json().await.unwrap();
    assert_eq!(renamed["name"], "Нове ім'я");
    assert_eq!(renamed["price"], "12.5");
    let warehouse_dup = app.post("/warehouses", json!({"name": "W1"})).await;
    assert_eq!(warehouse_dup.status(), 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_an_order_writes_its_lines_off_once() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let (w1, _, _) = setup(&app, &["SH-1".to_owned(), "SH-2".to_owned()]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "SH-1", "quantity": 5}, {"sku": "SH-2", "quantity": 5}]})).await;
    let id = app.sim_order(json!({"status_id": 1, "lines": [{"sku": "SH-1", "quantity": 2}, {"sku": "SH-2", "quantity": 1}]})).await;
    app.sim_status(id, 2).await;
    app.wait_for_order(id, "order imported", |o| o["status_id"] == 2)
        .await;

    // Two people shipping at once: one shipment, the other told so (409), never a 500.
    let path = format!("/orders/{id}/ship");
    let answers =
        futures::future::join_all((0..6).map(|_| app.post(&path, json!({"warehouse_id": w1}))))
            .await;
    let mut shipped = Value::Null;
    let mut statuses = Vec::new();
    for answer in answers {
        statuses.push(answer.status().as_u16());
        let body: Value = answer.json().await.unwrap();
        if body["kind"] == "shipment" {
            shipped = body;
        }
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    assert_eq!(shipped["kind"], "shipment");
    let deltas: Vec<&str> = shipped["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity_delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas.len(), 2);
    assert!(deltas.contains(&"-2") && deltas.contains(&"-1"));
    let order = app
        .get_json(&format!("/orders/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(order["shipped_movement_id"], shipped["id"]);
    let again = app
        .post(&format!("/orders/{id}/ship"), json!({"warehouse_id": w1}))
        .await;
    assert_eq!(again.status(), 409);
    // keyCRM follows: 5 − 2 and 5 − 1.
    eventually(Duration::from_secs(30), "keyCRM after shipping", || async {
        let q = app.sim_quantities(1);
        (q.get("SH-1") == Some(&Decimal::from(3)) && q.get("SH-2") == Some(&Decimal::from(4)))
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_resyncs_and_reconciles_with_progress() {
    let app = TestApp::spawn_with(AppOptions {
        stock_publisher: true,
        relay: true,
        ..AppOptions::default()
    })
    .await;
    let (w1, w2, _) = setup(&app, &["R-1".to_owned(), "R-2".to_owned()]).await;
    app.created("/movements", json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "R-1", "quantity": 3}, {"sku": "R-2", "quantity": 4}]})).await;
    wait_zero_drift(&app, &w1, &w2, Duration::from_secs(30)).await;
    app.sim_control(
        Method::PUT,
        "/stocks",
        json!([{"warehouse_id": 1, "sku": "R-2", "quantity": 40}]),
    )
    .await;
    let env = process_env(&app, &[]);
    let account = app.account.id.to_string();
    let output = sklad(&env, &["stock", "reconcile", "--account", &account])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("2 pairs checked, 1 differ"), "{stdout}");
    assert!(stdout.contains("keyCRM has sklad's quantities"), "{stdout}");
    assert_eq!(app.sim_quantities(1).get("R-2"), Some(&Decimal::from(4)));

    let before = puts(&app);
    let output = sklad(&env, &["stock", "resync", "--account", &account])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("2 (keyCRM warehouse, SKU) pairs marked"),
        "{stdout}"
    );
    assert!(puts(&app) > before);
}

/// The race the idempotency key exists for, made certain: another transaction holds the key
/// uncommitted while a retry checks (finds nothing) and inserts (waits on the unique index);
/// when the first commits, the retry answers with the movement recorded first, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_racing_the_first_request_gets_the_first_movement() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let (w1, _, _) = setup(&app, &["RACE-1".to_owned()]).await;
    let product: Uuid = app
        .get_json("/products?sku=RACE-1", &app.account.admin_token)
        .await["data"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let account = app.account.id;
    let first_id = Uuid::now_v7();
    let mut holder = app.db().conn().await.unwrap();
    diesel::sql_query("BEGIN")
        .execute(&mut holder)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "INSERT INTO movements (id, account_id, kind, idempotency_key) VALUES ('{first_id}', '{account}', 'receipt', 'k-race')"
    ))
    .execute(&mut holder)
    .await
    .unwrap();

    let db = app.db().clone();
    let w1: Uuid = w1.parse().unwrap();
    let retry = tokio::spawn(async move {
        let mut conn = db.conn().await.unwrap();
        sklad_db::stock::record(
            &mut conn,
            account,
            MovementInput {
                origin: None,
                reverses: None,
                kind: MovementKind::Receipt,
                note: None,
                order_id: None,
                production_order_id: None,
                idempotency_key: Some("k-race".into()),
                lines: vec![LedgerLine {
                    warehouse_id: w1,
                    product_id: product,
                    change: Change::By(Decimal::ONE),
                }],
            },
        )
        .await
    });
    // Wait (with a deadline) until the retry is blocked on the first one's key.
    eventually(Duration::from_secs(10), "the retry waits on the key", || async {
        #[derive(diesel::QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let waiting: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut app.db().conn().await.ok()?)
        .await
        .ok()?;
        (waiting.n > 0).then_some(())
    })
    .await;
    diesel::sql_query("COMMIT")
        .execute(&mut holder)
        .await
        .unwrap();
    let answered = retry
        .await
        .unwrap()
        .expect("the retry answers, not an error");
    assert_eq!(answered.movement.id, first_id);
    assert!(!answered.created);
}
