//! Moving in: a shop whose catalogue and stock already live in keyCRM brings them into sklad
//! (catalogue import, stock take-over) without a first push wiping keyCRM, and services on
//! orders never touch stock. Through the API, the workers and the simulator.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually};

/// Starts a catalogue import and waits until it ends; returns the finished job.
async fn import_catalogue(app: &TestApp) -> Value {
    let job = app
        .answers(Method::POST, "/catalogue-imports", json!({}), 202)
        .await;
    let id = job["id"].as_str().unwrap().to_owned();
    eventually(Duration::from_secs(90), "the catalogue import ends", || {
        let path = format!("/catalogue-imports/{id}");
        async move {
            let job = app.get_json(&path, &app.account.admin_token).await;
            (job["state"] != "queued" && job["state"] != "running").then_some(job)
        }
    })
    .await
}

/// A product by SKU as the API shows it.
async fn product(app: &TestApp, sku: &str) -> Value {
    let page = app
        .get_json(&format!("/products?sku={sku}"), &app.account.admin_token)
        .await;
    page["data"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keycrm_catalogue_comes_in_once_and_a_second_import_changes_nothing() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    app.sim_control(
        Method::POST,
        "/catalogue/generate",
        json!({"offers": 120, "warehouses": [1], "seed": 3}),
    )
    .await;
    let offers: Vec<(i64, String, bool, Option<String>)> = {
        let sim = app.sim.lock();
        sim.offers
            .values()
            .map(|o| (o.id, o.sku.clone(), o.archived, o.barcode.clone()))
            .collect()
    };
    // A product sklad already learned from an order, under one of the offers' SKUs.
    let known = offers.iter().find(|o| !o.1.is_empty()).unwrap().1.clone();
    app.created(
        "/products",
        json!({"sku": known, "name": "Old name", "price": "1"}),
    )
    .await;

    let first = import_catalogue(&app).await;
    assert_eq!(first["state"], "done", "{first}");
    assert_eq!(first["pages_total"], 3, "{first}");
    assert_eq!(
        first["requests"], 3,
        "50 offers per keyCRM request: {first}"
    );
    assert_eq!(first["created"], 119, "{first}");
    assert_eq!(first["updated"], 1, "{first}");
    let listed = app
        .get_json("/products?per_page=1", &app.account.admin_token)
        .await;
    assert_eq!(listed["total"], 120, "{listed}");

    let updated = product(&app, &known).await;
    assert_ne!(updated["name"], "Old name");
    assert!(
        updated["name"].as_str().unwrap().ends_with(", S")
            || updated["name"].as_str().unwrap().contains(", "),
        "{updated}"
    );
    assert_eq!(updated["unit"], "шт", "{updated}");
    assert!(updated["keycrm_offer_id"].is_i64(), "{updated}");
    assert!(
        updated["unit_cost"].is_string(),
        "the purchase price: {updated}"
    );
    for (id, sku, archived, barcode) in &offers {
        let sku = if sku.is_empty() {
            format!("KC-O{id}")
        } else {
            sku.clone()
        };
        if *archived || barcode.is_some() || sku.starts_with("KC-O") {
            let got = product(&app, &sku).await;
            assert_eq!(got["archived"], *archived, "{got}");
            assert_eq!(got["barcode"].as_str(), barcode.as_deref(), "{got}");
            assert_eq!(got["keycrm_offer_id"], *id, "{got}");
            assert_eq!(got["tracks_stock"], true, "{got}");
        }
    }

    let second = import_catalogue(&app).await;
    assert_eq!(second["state"], "done", "{second}");
    assert_eq!(
        (&second["created"], &second["updated"], &second["unchanged"]),
        (&json!(0), &json!(0), &json!(120)),
        "a second import changes nothing and says so: {second}"
    );

    // A started import can be cancelled; the list shows every import, newest first.
    let third = app
        .answers(Method::POST, "/catalogue-imports", json!({}), 202)
        .await;
    let again = app
        .answers(Method::POST, "/catalogue-imports", json!({}), 409)
        .await;
    assert_eq!(
        again["error"]["code"], "catalogue_import_running",
        "{again}"
    );
    let id = third["id"].as_str().unwrap();
    let cancelled = app
        .ok(
            Method::POST,
            &format!("/catalogue-imports/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(cancelled["state"], "cancelled", "{cancelled}");
    let list = app
        .get_json("/catalogue-imports", &app.account.admin_token)
        .await;
    assert_eq!(list["data"][0]["id"], id, "{list}");
    assert_eq!(list["total"], 3, "{list}");
    // Sync jobs and catalogue imports are separate lists.
    let status = app
        .status(
            Method::GET,
            &format!("/sync-jobs/{id}"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(status, 404);
}

/// keyCRM holds 40 of TO-A and 25 of TO-B in warehouse 1; sklad knows both products and
/// maps W1 there, but has counted nothing.
pub(crate) async fn shop_moving_in(app: &TestApp) -> String {
    app.sim_control(
        Method::PUT,
        "/warehouses",
        json!([{"id": 1, "name": "Основний"}]),
    )
    .await;
    app.sim_control(
        Method::POST,
        "/offers",
        json!([{"sku": "TO-A", "name": "A", "price": 10}, {"sku": "TO-B", "name": "B", "price": 10}]),
    )
    .await;
    app.sim_control(
        Method::PUT,
        "/stocks",
        json!([{"warehouse_id": 1, "sku": "TO-A", "quantity": 40},
               {"warehouse_id": 1, "sku": "TO-B", "quantity": 25}]),
    )
    .await;
    for sku in ["TO-A", "TO-B"] {
        app.created("/products", json!({"sku": sku, "name": sku}))
            .await;
    }
    let w1 = app.created("/warehouses", json!({"name": "W1"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.created("/keycrm/warehouses/refresh", json!({})).await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm/warehouse-mapping",
        json!({"mapping": [{"warehouse_id": w1, "keycrm_warehouse_id": 1}]}),
    )
    .await;
    w1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_over_keycrm_stock_makes_it_the_opening_count_and_no_push_wipes_keycrm() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let w1 = shop_moving_in(&app).await;

    // Switching sending on now would send 0 for both: refused, with how many.
    let refused = app
        .answers(
            Method::PUT,
            "/integrations/keycrm",
            json!({"stock_push_enabled": true}),
            409,
        )
        .await;
    assert_eq!(
        refused["error"]["code"], "stock_not_taken_over",
        "{refused}"
    );
    assert_eq!(refused["error"]["params"]["uncounted"], "2", "{refused}");
    // Reconcile leaves them alone and says so.
    let reconciled = app.ok(Method::POST, "/stock/reconcile", json!({})).await;
    assert_eq!(reconciled["drift"], json!([]), "{reconciled}");
    let uncounted: Vec<&str> = reconciled["uncounted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sku"].as_str().unwrap())
        .collect();
    assert_eq!(uncounted, ["TO-A", "TO-B"], "{reconciled}");

    // The dry run shows every SKU and records nothing.
    let dry = app
        .ok(Method::POST, "/stock/take-over", json!({"dry_run": true}))
        .await;
    assert_eq!(dry["movements"], 0, "{dry}");
    let lines = &dry["data"][0]["lines"];
    assert_eq!(
        lines[0],
        json!({"sku": "TO-A", "sklad": "0", "keycrm": "40", "change": "40"})
    );
    assert_eq!(lines[1]["change"], "25", "{dry}");
    let balances = app
        .get_json(
            &format!("/balances?warehouse_id={w1}"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(
        balances["total"], 0,
        "a dry run records nothing: {balances}"
    );

    // The real run: one opening count, marked as such.
    let done = app.ok(Method::POST, "/stock/take-over", json!({})).await;
    assert_eq!(done["movements"], 1, "{done}");
    let id = done["data"][0]["movement_id"].as_str().unwrap();
    let movement = app
        .get_json(&format!("/movements/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(movement["kind"], "inventory", "{movement}");
    assert_eq!(movement["origin"], "keycrm_take_over", "{movement}");
    assert_eq!(movement["lines"].as_array().map(Vec::len), Some(2));
    // Again: nothing changed, nothing recorded.
    let again = app.ok(Method::POST, "/stock/take-over", json!({})).await;
    assert_eq!(again["movements"], 0, "{again}");
    assert_eq!(again["data"][0]["lines"][0]["change"], "0", "{again}");

    // Now sending goes on without a confirmation, and the next receipt adds to keyCRM's 40.
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"stock_push_enabled": true}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w1, "lines": [{"sku": "TO-A", "quantity": 5}]}),
    )
    .await;
    app.wait_keycrm(1, &[("TO-A", 45), ("TO-B", 25)]).await;
    let writes = app.sim.lock().stock_writes.clone();
    for write in &writes {
        for item in &write.items {
            assert!(
                item["sku"] != "TO-B" && item["quantity"].as_f64() != Some(0.0),
                "keyCRM never heard a zero or the unchanged TO-B: {writes:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_warehouses_the_named_one_takes_the_difference() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let w1 = shop_moving_in(&app).await;
    let w2 = app.created("/warehouses", json!({"name": "W2"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Method::PUT,
        "/integrations/keycrm/warehouse-mapping",
        json!({"mapping": [
            {"warehouse_id": w1, "keycrm_warehouse_id": 1},
            {"warehouse_id": w2, "keycrm_warehouse_id": 1}]}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": w2, "lines": [{"sku": "TO-A", "quantity": 3}]}),
    )
    .await;
    let needs = app
        .answers(Method::POST, "/stock/take-over", json!({}), 422)
        .await;
    assert_eq!(
        needs["error"]["params"]["keycrm_warehouse_id"], "1",
        "{needs}"
    );
    let wrong = app
        .answers(
            Method::POST,
            "/stock/take-over",
            json!({"into": {"7": w1}}),
            422,
        )
        .await;
    assert!(
        wrong["error"]["message"].as_str().unwrap().contains('7'),
        "{wrong}"
    );

    let done = app
        .ok(Method::POST, "/stock/take-over", json!({"into": {"1": w1}}))
        .await;
    assert_eq!(done["data"][0]["warehouse_id"], w1.as_str(), "{done}");
    assert_eq!(done["data"][0]["keeps"], json!([w2]), "{done}");
    let on_hand = |warehouse: String| {
        let app = &app;
        async move {
            app.get_json(
                &format!("/balances?warehouse_id={warehouse}&sku=TO-A"),
                &app.account.admin_token,
            )
            .await["data"][0]["on_hand"]
                .clone()
        }
    };
    assert_eq!(on_hand(w1.clone()).await, "37");
    assert_eq!(
        on_hand(w2.clone()).await,
        "3",
        "the other warehouse keeps its own"
    );

    // A confirmation switches sending on without a take-over; it is not a stored setting.
    let other = app.create_account("second shop", true).await;
    let answer = app
        .api(Method::PUT, "/integrations/keycrm", &other.admin_token)
        .json(&json!({"stock_push_enabled": true, "overwrite_uncounted": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let saved: Value = answer.json().await.unwrap();
    assert!(saved.get("overwrite_uncounted").is_none(), "{saved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_on_an_order_never_blocks_its_shipment_nor_reaches_keycrm_stock() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["TS-1"]).await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [4], "ship_warehouse_id": rig.w1}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "TS-1", "quantity": 5}]}),
    )
    .await;
    let keycrm_id = app
        .sim_order(json!({"status_id": 1, "lines": [
            {"sku": "TS-1", "quantity": 1},
            {"name": "Гравіювання", "one_time": true, "price": 50, "quantity": 1}]}))
        .await;
    app.sim_status(keycrm_id, 4).await;
    let order = app
        .wait_for_order(keycrm_id, "the order shipped", |o| {
            o["shipment"]["state"] == "shipped"
        })
        .await;
    let lines = order["lines"].as_array().unwrap();
    let service = lines.iter().find(|l| l["name"] == "Гравіювання").unwrap();
    assert_eq!(service["tracks_stock"], false, "{order}");
    let sku = service["sku"].as_str().unwrap().to_owned();
    let made = product(&app, &sku).await;
    assert_eq!(made["tracks_stock"], false, "{made}");
    let shipment = app
        .get_json(
            &format!(
                "/movements/{}",
                order["shipped_movement_id"].as_str().unwrap()
            ),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(
        shipment["lines"].as_array().map(Vec::len),
        Some(1),
        "{shipment}"
    );
    app.wait_keycrm(1, &[("TS-1", 4)]).await;
    let writes = app.sim.lock().stock_writes.clone();
    assert!(
        writes
            .iter()
            .all(|w| w.items.iter().all(|i| i["sku"] != sku.as_str())),
        "the service never reaches keyCRM's stock: {writes:?}"
    );
    // It can be switched to stocked on the product.
    let id = made["id"].as_str().unwrap();
    let changed = app
        .ok(
            Method::PATCH,
            &format!("/products/{id}"),
            json!({"tracks_stock": true}),
        )
        .await;
    assert_eq!(changed["tracks_stock"], true, "{changed}");
}

/// Sends a CSV file to the API; returns the status and the JSON answer.
async fn send_sheet(app: &TestApp, path: &str, text: &str) -> (u16, Value) {
    let response = app
        .api(Method::POST, path, &app.account.admin_token)
        .header("content-type", "text/csv")
        .body(text.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spreadsheets_bring_products_and_counts_in_all_or_nothing() {
    let app = TestApp::spawn().await;
    let warehouse = app.created("/warehouses", json!({"name": "Склад 1"})).await;
    let excel = "\u{feff}sku;name;unit;price;unit_cost;barcode;tracks_stock\r\n\
                 SP-1;\"Сорочка; біла\";шт;450,50;200;4820001;так\r\n\
                 SP-2;Пакування;;0;;;ні\r\n";
    let (status, dry) = send_sheet(&app, "/spreadsheets/products?dry_run=true", excel).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (&dry["created"], &dry["dry_run"]),
        (&json!(2), &json!(true))
    );
    let none = app.get_json("/products", &app.account.admin_token).await;
    assert_eq!(none["total"], 0, "a dry run saves nothing: {none}");
    let (status, done) = send_sheet(&app, "/spreadsheets/products", excel).await;
    assert_eq!((status, &done["created"]), (200, &json!(2)), "{done}");
    let shirt = product(&app, "SP-1").await;
    assert_eq!(shirt["name"], "Сорочка; біла");
    assert_eq!(shirt["price"], "450.5");
    assert_eq!(shirt["unit_cost"], "200");
    assert_eq!(shirt["barcode"], "4820001");
    assert_eq!(product(&app, "SP-2").await["tracks_stock"], false);
    let (_, again) = send_sheet(&app, "/spreadsheets/products", excel).await;
    assert_eq!(again["unchanged"], 2, "{again}");

    // One bad line: nothing saved, the line named.
    let bad = "sku,name,price\nSP-3,Fine,1\nSP-4,Bad,abc\n";
    let (status, refused) = send_sheet(&app, "/spreadsheets/products", bad).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["params"]["line"], "3", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 3, price"),
        "{refused}"
    );
    assert_eq!(product(&app, "SP-3").await, Value::Null);

    // Out again, for Excel.
    let export = app
        .api(
            Method::GET,
            "/spreadsheets/products?format=excel",
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let text = export.text().await.unwrap();
    assert!(
        text.starts_with('\u{feff}'),
        "Excel reads Cyrillic right with a BOM"
    );
    assert!(
        text.contains("SP-1;\"Сорочка; біла\";шт;450,5;200;4820001;true"),
        "{text}"
    );

    // Counts: the warehouse by name, decimal commas, one inventory per warehouse.
    let counts = "sku;warehouse;quantity\nSP-1;склад 1;12,5\n";
    let (_, preview) = send_sheet(&app, "/spreadsheets/counts?dry_run=true", counts).await;
    assert_eq!(
        preview["data"][0]["lines"][0]["change"], "12.5",
        "{preview}"
    );
    assert_eq!(preview["movements"], 0, "{preview}");
    let (status, counted) = send_sheet(&app, "/spreadsheets/counts", counts).await;
    assert_eq!(
        (status, &counted["movements"]),
        (200, &json!(1)),
        "{counted}"
    );
    let id = counted["data"][0]["movement_id"].as_str().unwrap();
    let movement = app
        .get_json(&format!("/movements/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(
        (&movement["kind"], &movement["origin"]),
        (&json!("inventory"), &json!("spreadsheet"))
    );
    let balance = app
        .get_json(
            &format!(
                "/balances?warehouse_id={}&sku=SP-1",
                warehouse["id"].as_str().unwrap()
            ),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(balance["data"][0]["on_hand"], "12.5", "{balance}");
    let (_, repeated) = send_sheet(&app, "/spreadsheets/counts", counts).await;
    assert_eq!(
        repeated["movements"], 0,
        "the same count again records nothing"
    );
    // Every bad line is named: first what the file itself says wrong, then what this
    // account lacks.
    for (file, parts) in [
        (
            "sku,warehouse,quantity\nSP-1,Склад 1,-1\nSP-1,Склад 1,x\n",
            vec![
                "line 2, quantity: negative",
                "line 3, quantity: not_a_number",
            ],
        ),
        (
            "sku,warehouse,quantity\nSP-2,Склад 1,1\nSP-1,Нема,1\nNOPE,Склад 1,1\n",
            vec![
                "line 2, sku: not_stocked",
                "line 3, warehouse: unknown_warehouse",
                "line 4, sku: unknown_sku",
            ],
        ),
    ] {
        let (status, refused) = send_sheet(&app, "/spreadsheets/counts", file).await;
        assert_eq!(status, 422, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        for part in parts {
            assert!(message.contains(part), "{part} in {message}");
        }
    }
    let still = app
        .get_json("/movements?sku=SP-1", &app.account.admin_token)
        .await;
    assert_eq!(still["total"], 1, "refused files record nothing: {still}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_moves_a_shop_in() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let w1 = shop_moving_in(&app).await;
    let env = sklad_tests::process_env(&app, &[]);
    let account = app.account.id.to_string();
    let run = |args: Vec<String>| {
        let env = env.clone();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = crate::cli::sklad(&env, &args).output().await.unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{args:?}: {stdout} {out:?}");
            stdout
        }
    };
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let imported = run(args(&["catalogue", "import", "--account", &account])).await;
    assert!(
        imported.contains("catalogue import done: 0 created, 2 updated"),
        "{imported}"
    );
    let dry = run(args(&[
        "stock",
        "take-over",
        "--account",
        &account,
        "--dry-run",
    ]))
    .await;
    assert!(dry.contains("TO-A") && dry.contains("dry run"), "{dry}");
    let none = app
        .get_json(
            &format!("/balances?warehouse_id={w1}"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(none["total"], 0, "{none}");
    let into = format!("1={w1}");
    let done = run(args(&[
        "stock",
        "take-over",
        "--account",
        &account,
        "--into",
        &into,
    ]))
    .await;
    assert!(done.contains("opening count"), "{done}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counts.csv");
    std::fs::write(&file, "sku;warehouse;quantity\nTO-A;W1;39\n").unwrap();
    let counted = run(args(&[
        "stock",
        "count",
        "import",
        "--account",
        &account,
        file.to_str().unwrap(),
    ]))
    .await;
    assert!(counted.contains("W1: 1 lines, 1 change"), "{counted}");
    let balance = app
        .get_json(
            &format!("/balances?warehouse_id={w1}&sku=TO-A"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(balance["data"][0]["on_hand"], "39", "{balance}");
    let exported = run(args(&["products", "export", "--account", &account])).await;
    assert!(
        exported.starts_with("sku,name,unit,price,unit_cost,barcode,tracks_stock\n"),
        "{exported}"
    );
    assert!(exported.contains("\nTO-A,"), "{exported}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_added_in_keycrm_arrive_by_the_periodic_refresh() {
    let app = TestApp::spawn_with(AppOptions {
        configure: Some(|s| s.catalogue.refresh_interval = Duration::from_secs(1)),
        ..AppOptions::all_workers()
    })
    .await;
    app.sim_control(
        Method::POST,
        "/offers",
        json!([{"sku": "PR-1", "name": "First", "price": 5}]),
    )
    .await;
    let first = import_catalogue(&app).await;
    assert_eq!(first["created"], 1, "{first}");
    app.sim_control(
        Method::POST,
        "/offers",
        json!([{"sku": "PR-2", "name": "Added later", "price": 7}]),
    )
    .await;
    let arrived = eventually(
        Duration::from_secs(60),
        "the new offer as a product",
        || async {
            let found = product(&app, "PR-2").await;
            (!found.is_null()).then_some(found)
        },
    )
    .await;
    assert_eq!(arrived["name"], "Added later", "{arrived}");
    let imports = app
        .get_json("/catalogue-imports", &app.account.admin_token)
        .await;
    assert!(
        imports["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["periodic"] == true),
        "{imports}"
    );
}
