//! The console's daily traps, in a real headless Chromium against the real services and
//! the simulator: the movement form records the kind it shows, a mistake is undone by
//! reversal (once, whatever the clicks), the Stock → keyCRM panel saves what it shows, a
//! negative balance reaches keyCRM as zero, and a product sold from components reaches
//! keyCRM when its warehouse is mapped. Screens are saved under `target/screenshots/`.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::browser::{Browser, Screen};
use sklad_tests::{AppOptions, TestApp};

async fn sign_in(browser: &Browser, token: &str) {
    browser.open("/sign-in").await;
    browser.fill("#token", token).await;
    browser.click("#sign-in").await;
    browser.find("#sign-out").await;
}

/// The account's newest movement, as the API shows it.
async fn newest_movement(app: &TestApp) -> Value {
    let page = app
        .get_json("/movements?per_page=1", &app.account.admin_token)
        .await;
    page["data"][0].clone()
}

/// Picks a kind in the form's list and waits for htmx to bring the fields of that kind.
async fn choose_kind(browser: &Browser, kind: &str) {
    browser.select("#kind", kind).await;
    browser
        .find(&format!("#movement-form[data-kind='{kind}']"))
        .await;
}

async fn fill_line(browser: &Browser, sku: &str, quantity: &str) {
    browser.fill("#movement-form input[name='sku']", sku).await;
    browser
        .fill("#movement-form input[name='quantity']", quantity)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_movement_form_records_the_kind_it_shows_and_a_mistake_is_reversed_once() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["MV-1"]).await;
    let browser = Browser::start(
        "movement_kinds",
        &format!("http://127.0.0.1:{}", app.api_port),
        "en-US,en",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;

    // A receipt: the kind the form opens with.
    browser.open("/movements/new").await;
    browser.select("#warehouse_id", &rig.w1).await;
    fill_line(&browser, "MV-1", "10").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    assert_eq!(newest_movement(&app).await["kind"], "receipt");

    // A write-off chosen after the line was typed: what was typed stays, and the ledger
    // holds a write-off (it used to hold a receipt).
    browser.open("/movements/new").await;
    browser.select("#warehouse_id", &rig.w1).await;
    fill_line(&browser, "MV-1", "3").await;
    choose_kind(&browser, "write_off").await;
    let kept = browser
        .find("#movement-form input[name='quantity']")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("3"), "the typed quantity survives");
    browser.shot("write-off-chosen").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    let write_off = newest_movement(&app).await;
    assert_eq!(write_off["kind"], "write_off", "{write_off}");
    assert_eq!(write_off["lines"][0]["quantity_delta"], "-3");
    assert_eq!(
        browser.text("#balances tr[data-sku='MV-1'] .on-hand").await,
        "7"
    );

    // A transfer: the kind brings the second warehouse.
    browser.open("/movements/new").await;
    choose_kind(&browser, "transfer").await;
    browser.select("#warehouse_id", &rig.w1).await;
    browser.select("#to_warehouse_id", &rig.w3).await;
    fill_line(&browser, "MV-1", "2").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    let transfer = newest_movement(&app).await;
    assert_eq!(transfer["kind"], "transfer", "{transfer}");
    assert_eq!(transfer["lines"].as_array().map(Vec::len), Some(2));

    // A count.
    browser.open("/movements/new").await;
    choose_kind(&browser, "inventory").await;
    browser.select("#warehouse_id", &rig.w1).await;
    fill_line(&browser, "MV-1", "4").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    let count = newest_movement(&app).await;
    assert_eq!(count["kind"], "inventory", "{count}");
    assert_eq!(count["lines"][0]["quantity_delta"], "-1");
    app.wait_keycrm(1, &[("MV-1", 4)]).await;

    // The write-off was a mistake: "Reverse…" asks first, then undoes it.
    let id = write_off["id"].as_str().unwrap();
    browser.open(&format!("/movements/{id}")).await;
    browser.click("#reverse").await;
    browser.find("#confirm-reverse").await;
    browser.shot("reverse-confirm").await;
    // Cancel changes nothing.
    browser.click("#confirm-reverse a.button").await;
    browser.find("#reverse").await;
    assert!(
        app.get_json(&format!("/movements/{id}"), &app.account.admin_token)
            .await["reversed_by"]
            .is_null()
    );
    browser.click("#reverse").await;
    // Two presses at once (a double click): one reversal.
    browser
        .script(
            "const form = document.querySelector('#confirm-reverse form');
             const send = () => fetch(form.action, {method: 'POST', body: new URLSearchParams(new FormData(form))});
             return Promise.all([send(), send()]).then(r => r.map(x => x.status));",
            vec![],
        )
        .await;
    browser.open(&format!("/movements/{id}/reverse")).await;
    browser.find("#reverses").await;
    browser.shot("reversal").await;
    let original = app
        .get_json(&format!("/movements/{id}"), &app.account.admin_token)
        .await;
    let reversal = original["reversed_by"].as_str().unwrap().to_owned();
    assert_eq!(browser.path().await, format!("/movements/{reversal}"));
    let reversals = app
        .get_json("/movements?per_page=50", &app.account.admin_token)
        .await["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reversal")
        .count();
    assert_eq!(reversals, 1);
    // The balance is back by 3, and keyCRM follows.
    assert_eq!(
        browser.text("#balances tr[data-sku='MV-1'] .on-hand").await,
        "7"
    );
    app.wait_keycrm(1, &[("MV-1", 7)]).await;
    // The original says so, and offers no second reversal.
    browser.open(&format!("/movements/{id}")).await;
    browser.find("#reversed-by").await;
    assert!(!browser.has("#reverse").await);
    browser.shot("reversed-original").await;
    // Back to the confirmation (as Back would) shows the reversal and records nothing.
    browser.open(&format!("/movements/{id}/reverse")).await;
    assert_eq!(browser.path().await, format!("/movements/{reversal}"));
    let total = app
        .get_json("/movements?per_page=1", &app.account.admin_token)
        .await["total"]
        .clone();
    assert_eq!(total, json!(5), "four documents and one reversal");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stock_panel_saves_what_it_shows_and_keycrm_hears_no_negative() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let rig = app.stock_rig(&["NP-1", "NP-SET", "NP-C"]).await;
    let browser = Browser::start(
        "stock_panel",
        &format!("http://127.0.0.1:{}", app.api_port),
        "en-US,en",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;
    let mapping = || async {
        let page = app
            .get_json(
                "/integrations/keycrm/warehouse-mapping",
                &app.account.admin_token,
            )
            .await;
        page["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["warehouse_id"].as_str().unwrap().to_owned(),
                    m["keycrm_warehouse_id"].as_i64(),
                )
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let push_on = || async {
        app.get_json("/integrations/keycrm", &app.account.admin_token)
            .await["stock_push_enabled"]
            .as_bool()
            .unwrap()
    };

    // Sending switched off and W2 unmapped, then one "Update": both are saved.
    browser.open("/stock/keycrm").await;
    assert!(
        browser
            .find("#stock_push_enabled")
            .await
            .is_selected()
            .await
            .unwrap()
    );
    browser.click("#stock_push_enabled").await;
    browser
        .select("#stock-panel select[data-warehouse='W2']", "")
        .await;
    browser.shot("panel-changed").await;
    browser.click("#update-stock").await;
    browser
        .wait_for_text("Saved: sending and the mapping are as shown.", None)
        .await;
    assert!(!push_on().await, "the switch is off");
    assert_eq!(mapping().await.get(&rig.w2), Some(&None), "W2 unmapped");
    assert!(
        !browser
            .find("#stock_push_enabled")
            .await
            .is_selected()
            .await
            .unwrap(),
        "the page shows what was saved"
    );
    browser.shot("panel-saved-off").await;

    // A product sold from components, with none of its own; its parts wait in W3, which
    // is not mapped. Mapping W3 and switching on in one "Update" sends what W3 can make.
    let product = |sku: &'static str| {
        let app = &app;
        async move {
            app.get_json(&format!("/products?sku={sku}"), &app.account.admin_token)
                .await["data"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (set, part) = (product("NP-SET").await, product("NP-C").await);
    app.answers(
        Method::PUT,
        &format!("/products/{set}/bom"),
        json!({"output_quantity": 1, "components": [{"product_id": part, "quantity": 3}]}),
        201,
    )
    .await;
    app.ok(
        Method::PATCH,
        &format!("/products/{set}"),
        json!({"push_makeable": true}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w3, "lines": [{"sku": "NP-C", "quantity": 9}]}),
    )
    .await;
    browser.open("/stock/keycrm").await;
    browser.click("#stock_push_enabled").await;
    browser
        .select("#stock-panel select[data-warehouse='W3']", "1")
        .await;
    browser.click("#update-stock").await;
    browser
        .wait_for_text("Saved: sending and the mapping are as shown.", None)
        .await;
    assert!(push_on().await);
    assert_eq!(mapping().await.get(&rig.w3), Some(&Some(1)));
    app.wait_keycrm(1, &[("NP-C", 9), ("NP-SET", 3)]).await;
    browser.shot("panel-saved-on").await;

    // A warehouse that allows negative stock: 1 in, 3 out. sklad shows −2, keyCRM 0.
    app.ok(
        Method::PATCH,
        &format!("/warehouses/{}", rig.w1),
        json!({"allow_negative": true}),
    )
    .await;
    for (kind, quantity) in [("receipt", "1"), ("write_off", "3")] {
        browser.open("/movements/new").await;
        choose_kind(&browser, kind).await;
        browser.select("#warehouse_id", &rig.w1).await;
        fill_line(&browser, "NP-1", quantity).await;
        browser.click("#record").await;
        browser.wait_for_text("Recorded.", None).await;
    }
    assert_eq!(
        browser.text("#balances tr[data-sku='NP-1'] .on-hand").await,
        "-2"
    );
    browser.shot("negative-in-sklad").await;
    app.wait_keycrm(1, &[("NP-1", 0)]).await;
    browser
        .wait_for_text(
            "Nothing waits to be sent.",
            Some("/stock/keycrm/preview?read_back=true"),
        )
        .await;
    browser.shot("negative-preview").await;
    browser.close().await;
}
