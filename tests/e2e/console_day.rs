//! A shop owner's day in the console, in a real headless Chromium against the real
//! services and the simulator: a pasted invoice, orders waiting for stock shipped by hand,
//! warehouses renamed and archived, refused forms that keep what was typed, the grouped menu
//! on a laptop and a phone, Today, times and money in the account's own, the settings in
//! groups. Screens are saved under `target/screenshots/`.

use reqwest::Method;
use serde_json::json;
use sklad_tests::browser::{Browser, Screen};
use sklad_tests::{AppOptions, TestApp};

use crate::console_traps::{fill_line, newest_movement, sign_in};

/// A day's work: sign-in leads to the page asked for; a 30-line supplier invoice pasted from
/// a spreadsheet ("2,5" read as 2.5, "1e3" refused); a warehouse renamed and archived;
/// orders waiting for stock listed with every short line, shipped by hand from elsewhere;
/// Today's counts; the menu in one line on a laptop in both languages, folded on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_invoices_waiting_orders_and_the_menu() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let skus: Vec<String> = (1..=30).map(|n| format!("DW-{n:02}")).collect();
    let sku_refs: Vec<&str> = skus.iter().map(String::as_str).collect();
    let rig = app.stock_rig(&sku_refs).await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"ship_status_ids": [3], "ship_warehouse_id": rig.w1}),
    )
    .await;
    let base = format!("http://127.0.0.1:{}", app.api_port);
    let browser = Browser::start("day", &base, "en-US,en", Screen::Desktop).await;

    // Asked for the movement form while signed out: sign-in leads there.
    browser.open("/movements/new?kind=receipt").await;
    assert!(browser.path().await.starts_with("/sign-in?next="));
    browser.fill("#token", &app.account.admin_token).await;
    browser.click("#sign-in").await;
    browser.find("#sign-out").await;
    assert_eq!(browser.path().await, "/movements/new?kind=receipt");

    // A 30-line invoice pasted as two columns; quantities in either decimal style.
    let pasted: String = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| {
            format!(
                "{sku}\t{}\n",
                if i == 0 {
                    "2,5".to_owned()
                } else {
                    (i + 1).to_string()
                }
            )
        })
        .collect();
    browser.select("#warehouse_id", &rig.w3).await;
    browser
        .script(
            "const data = new DataTransfer();
             data.setData('text/plain', arguments[0]);
             document.querySelector('#movement-form input[name=sku]')
               .dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));",
            vec![json!(pasted)],
        )
        .await;
    let rows = browser
        .script(
            "return document.querySelectorAll('#movement-rows tr').length;",
            vec![],
        )
        .await;
    assert_eq!(rows, json!(30), "the paste made the rows it needed");
    browser.shot("invoice-pasted").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    let invoice = newest_movement(&app).await;
    assert_eq!(invoice["lines"].as_array().map(Vec::len), Some(30));
    assert!(
        invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["sku"] == "DW-01" && l["quantity_delta"] == "2.5"),
        "{invoice}"
    );

    // "1e3" is refused, by its field's value, and the typed lines come back.
    browser.open("/movements/new").await;
    browser.select("#warehouse_id", &rig.w3).await;
    fill_line(&browser, "DW-02", "1e3").await;
    browser.click("#record").await;
    let refusal = browser.text("#notice").await;
    assert!(refusal.contains("“1e3” is not a number"), "{refusal}");
    // ...and the refusal stands under the row it is about.
    let by_row = browser.text("#movement-rows tr.row-error").await;
    assert!(by_row.contains("“1e3” is not a number"), "{by_row}");
    let kept = browser
        .find("#movement-form input[name='sku']")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("DW-02"));
    assert_eq!(
        newest_movement(&app).await["id"],
        invoice["id"],
        "nothing recorded"
    );
    // Post/Redirect/Get: the refusal is a page of its own; reloading it posts nothing
    // (no "Confirm form resubmission"), and Back returns to the empty form.
    let refused_at = browser.path().await;
    assert!(refused_at.starts_with("/refused/"), "{refused_at}");
    browser.client.refresh().await.unwrap();
    assert_eq!(browser.path().await, refused_at);
    assert!(
        browser
            .text("#notice")
            .await
            .contains("“1e3” is not a number")
    );
    assert_eq!(
        newest_movement(&app).await["id"],
        invoice["id"],
        "the reload posted nothing"
    );
    browser.client.back().await.unwrap();
    assert_eq!(browser.path().await, "/movements/new");

    // An order in a ship status that W1 cannot cover: it waits, and the view names both lines.
    let order = app
        .sim_order(json!({"status_id": 1, "buyer": {"full_name": "Оксана"},
            "lines": [{"sku": "DW-01", "quantity": 2}, {"sku": "DW-02", "quantity": 2}]}))
        .await;
    app.sim_status(order, 3).await;
    app.wait_for_order(order, "the order waits", |o| {
        o["shipment"]["state"] == "waiting"
    })
    .await;
    browser.open("/").await;
    assert_eq!(browser.text("#today-waiting strong").await, "1");
    browser.shot("today").await;
    browser.click("#today-waiting").await;
    assert_eq!(browser.path().await, "/orders/waiting");
    let row = browser
        .text(&format!("#waiting tr[data-order='{order}']"))
        .await;
    assert!(row.contains("DW-01: needed 2, on hand 0"), "{row}");
    assert!(row.contains("DW-02: needed 2, on hand 0"), "{row}");
    browser.shot("waiting").await;
    // The orders list filters by shipment state to the same order.
    browser.open("/orders?shipment=waiting").await;
    assert!(browser.text("#orders").await.contains(&format!("#{order}")));

    // "Ship now" from W1 is refused naming both lines; from W3 (the invoice) it ships.
    browser.click("#orders a[href^='/orders/']").await;
    browser.find("#ship-now").await;
    browser.click("#ship-now-button").await;
    let refusal = browser.text("#notice").await;
    assert!(
        refusal.contains("DW-01 2 / 0") && refusal.contains("DW-02 2 / 0"),
        "{refusal}"
    );
    browser.select("#ship-warehouse", &rig.w3).await;
    browser.click("#ship-now-button").await;
    browser.wait_for_text("Shipped:", None).await;
    browser.shot("shipped-now").await;
    let shipped = app
        .get_json(&format!("/orders/{order}"), &app.account.admin_token)
        .await;
    assert_eq!(shipped["shipment"]["state"], "shipped", "{shipped}");

    // Warehouses: W2 renamed, then archived; it leaves the movement form and the mapping.
    browser
        .open(&format!("/warehouses?warehouse={}", rig.w2))
        .await;
    browser.fill("#rename", "Склад 2").await;
    browser.click("#save-warehouse").await;
    browser.wait_for_text("Warehouse saved.", None).await;
    browser.click("#archive-warehouse").await;
    browser.wait_for_text("Warehouse archived.", None).await;
    browser.shot("warehouse-archived").await;
    let w2 = app.get_json("/warehouses", &app.account.admin_token).await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == json!(rig.w2))
        .cloned()
        .unwrap();
    assert_eq!(
        (w2["name"].as_str(), w2["archived"].as_bool()),
        (Some("Склад 2"), Some(true))
    );
    assert!(w2["keycrm_warehouse_id"].is_null(), "unmapped: {w2}");
    browser.open("/movements/new").await;
    assert!(
        !browser
            .has(&format!("#warehouse_id option[value='{}']", rig.w2))
            .await
    );
    browser.open("/stock/keycrm").await;
    assert!(
        !browser
            .has("#stock-panel select[data-warehouse='Склад 2']")
            .await
    );
    // W3 holds the invoice: it cannot be archived, and says why.
    browser
        .open(&format!("/warehouses?warehouse={}", rig.w3))
        .await;
    browser.click("#archive-warehouse").await;
    assert!(browser.text("#notice").await.contains("still holds stock"));

    // The menu: one line at 1366 px in both languages.
    browser.client.set_window_size(1366, 800).await.unwrap();
    for language in ["en", "uk"] {
        browser
            .open(&format!("/lang/{language}?back=/orders"))
            .await;
        browser.find("#sign-out").await;
        let lines = browser
            .script(
                "const items = [...document.querySelectorAll('header.top .brand, header.top nav.groups a, header.top .who > *')]
                   .map(e => e.getBoundingClientRect());
                 // One line: every item starts above the bottom of every other.
                 return items.every(a => items.every(b => a.top < b.bottom)) ? 1 : 2;",
                vec![],
            )
            .await;
        assert_eq!(lines, json!(1), "the menu fits one line in {language}");
        browser.shot(&format!("menu-{language}")).await;
    }
    browser.close().await;

    // On a phone the menu folds away behind one button.
    let phone = Browser::start("day_phone", &base, "uk-UA,uk", Screen::Phone).await;
    sign_in(&phone, &app.account.admin_token).await;
    phone.open("/orders/waiting").await;
    let visible = |id: &'static str| {
        let phone = &phone;
        async move {
            phone
                .script(
                    &format!(
                        "return document.querySelector('{id}').getBoundingClientRect().height > 0;"
                    ),
                    vec![],
                )
                .await
        }
    };
    assert_eq!(visible("header.top nav.groups").await, json!(false));
    phone.shot("phone-folded").await;
    phone.click("#menu-button").await;
    assert_eq!(visible("header.top nav.groups").await, json!(true));
    phone.shot("phone-menu").await;
    phone.close().await;
}

/// Times show in the account's time zone with the zone named, money with two decimals and
/// the account's currency; both are set on Settings → Time and money (and in the API).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_and_money_follow_the_account() {
    let app = TestApp::spawn().await;
    let warehouse = app
        .created("/warehouses", json!({"name": "Основний"}))
        .await;
    app.created(
        "/products",
        json!({"sku": "TM-1", "name": "Чашка", "price": "120.5"}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": warehouse["id"], "lines": [{"sku": "TM-1", "quantity": 1}]}),
    )
    .await;
    // The API refuses a zone that is not one, and a currency that is not three letters.
    for bad in [
        json!({"time_zone": "Mars/Olympus"}),
        json!({"currency": "hryvnia"}),
    ] {
        let refused = app
            .answers(Method::PATCH, "/account/display", bad, 422)
            .await;
        assert_eq!(refused["error"]["code"], "validation_failed", "{refused}");
    }
    let shown = app
        .get_json("/account/display", &app.account.admin_token)
        .await;
    assert_eq!(
        shown,
        json!({"time_zone": "Europe/Kyiv", "currency": "UAH"})
    );

    let browser = Browser::start(
        "time_and_money",
        &format!("http://127.0.0.1:{}", app.api_port),
        "en-US,en",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;
    browser.open("/products").await;
    assert!(browser.text("#products").await.contains("120.50 UAH"));
    browser.open("/movements").await;
    let kyiv = browser.text("#movements").await;
    assert!(kyiv.contains(" EET") || kyiv.contains(" EEST"), "{kyiv}");
    browser.open("/settings/account").await;
    browser.select("#time_zone", "America/New_York").await;
    browser.fill("#currency", "eur").await;
    browser.click("#save-account").await;
    browser.wait_for_text("Saved.", None).await;
    browser.shot("time-and-money").await;
    assert_eq!(
        app.get_json("/account/display", &app.account.admin_token)
            .await,
        json!({"time_zone": "America/New_York", "currency": "EUR"})
    );
    browser.open("/products").await;
    assert!(browser.text("#products").await.contains("120.50 EUR"));
    browser.open("/movements").await;
    let new_york = browser.text("#movements").await;
    assert!(
        new_york.contains(" EST") || new_york.contains(" EDT"),
        "{new_york}"
    );
    browser.close().await;
}

/// A refused form keeps everything typed, and its reason stands next to the field it is
/// about: a warehouse name that exists, a price that is not one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_keeps_what_was_typed_with_the_reason_by_its_field() {
    let app = TestApp::spawn().await;
    app.created("/warehouses", json!({"name": "Основний"}))
        .await;
    let browser = Browser::start(
        "refused_forms",
        &format!("http://127.0.0.1:{}", app.api_port),
        "uk-UA,uk",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;

    browser.open("/warehouses").await;
    browser.fill("#warehouse-name", "Основний").await;
    browser
        .click("#warehouse-form input[name='allow_negative']")
        .await;
    browser.click("#create-warehouse").await;
    browser.find("#notice.error").await;
    assert!(browser.path().await.starts_with("/refused/"));
    let kept = browser
        .find("#warehouse-name")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("Основний"));
    assert!(
        browser
            .find("#warehouse-form input[name='allow_negative']")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    let by_field = browser.text("#warehouse-name + .field-error").await;
    assert!(
        by_field.contains("Склад із такою назвою вже існує"),
        "{by_field}"
    );
    browser.shot("warehouse-name-taken").await;

    browser.open("/products").await;
    browser
        .fill("#product-form input[name='sku']", "NEW-1")
        .await;
    browser
        .fill("#product-form input[name='name']", "Нова чашка")
        .await;
    browser.fill("#new-price", "abc").await;
    browser.click("#product-form button[type='submit']").await;
    browser.find("#notice.error").await;
    for (css, typed) in [
        ("#product-form input[name='sku']", "NEW-1"),
        ("#product-form input[name='name']", "Нова чашка"),
        ("#new-price", "abc"),
    ] {
        let value = browser.find(css).await.prop("value").await.unwrap();
        assert_eq!(value.as_deref(), Some(typed), "{css}");
    }
    let by_field = browser.text("#new-price + .field-error").await;
    assert!(by_field.contains("Ціна"), "{by_field}");
    browser.shot("price-not-a-number").await;
    let products = app
        .get_json("/products?sku=NEW-1", &app.account.admin_token)
        .await;
    assert_eq!(products["total"], 0, "nothing saved: {products}");
    browser.close().await;
}

/// Settings → Integrations → keyCRM in groups, statuses as checkboxes with their names,
/// keyCRM's trigger explained step by step, and "Replace the link…" asking first; a
/// synchronization names its statuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_grouped_and_replacing_the_link_asks_first() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    app.sim_generate(3, json!([2]), 7, 0).await;
    app.run_sync_job(json!([2])).await;
    let browser = Browser::start(
        "settings_groups",
        &format!("http://127.0.0.1:{}", app.api_port),
        "uk-UA,uk",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;
    browser.open("/settings/keycrm").await;
    for group in [
        "#group-connection",
        "#group-orders",
        "#group-stock",
        "#group-limits",
    ] {
        browser.find(group).await;
    }
    assert!(
        !browser.has("select[multiple]").await,
        "no Ctrl-click lists"
    );
    let archive = browser.text("#archive_status_ids").await;
    assert!(archive.contains("Погоджено"), "{archive}");
    browser
        .find("#archive_status_ids input[type='checkbox'][value='2']")
        .await;
    let steps = browser.text("#webhook-steps").await;
    assert!(
        steps.contains("Надіслати вебхук") && steps.contains("POST"),
        "{steps}"
    );
    browser.shot("settings-groups").await;

    // Ticking a status and saving keeps it.
    browser
        .click("#archive_status_ids input[type='checkbox'][value='2']")
        .await;
    browser.click("#update").await;
    browser.wait_for_text("Збережено", None).await;
    let saved = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_eq!(saved["archive_status_ids"], json!([2]), "{saved}");

    // "Replace the link…" asks first; Cancel keeps the link; confirming replaces it.
    let before = saved["webhook_url"].as_str().unwrap().to_owned();
    browser.click("#rotate").await;
    let asked = browser.text("#confirm-rotate").await;
    assert!(asked.contains("keyCRM"), "{asked}");
    browser.shot("rotate-confirm").await;
    browser.click("#confirm-rotate a.button").await;
    browser.find("#integration-form").await;
    let same = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_eq!(same["webhook_url"].as_str(), Some(before.as_str()));
    browser.click("#rotate").await;
    browser.click("#rotate-confirmed").await;
    browser.find("#integration-form").await;
    let after = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_ne!(after["webhook_url"].as_str(), Some(before.as_str()));

    // The synchronization lists its statuses by name.
    browser.open("/sync").await;
    let statuses = browser.text(".job-statuses").await;
    assert_eq!(statuses, "Погоджено");
    browser.close().await;
}
