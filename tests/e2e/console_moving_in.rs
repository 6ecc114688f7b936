//! Moving in from the console, in a real headless Chromium speaking Ukrainian, against the
//! real services and the simulator: the getting-started checklist, the catalogue import with
//! live progress, switching sending on before a take-over (the choice, in words), the
//! take-over with what would change shown first, a counts spreadsheet checked then saved,
//! and a service marked as not stocked. Screens are saved under `target/screenshots/`.

use reqwest::Method;
use serde_json::json;
use sklad_tests::browser::{Browser, Screen};
use sklad_tests::{AppOptions, TestApp};

use crate::console_traps::sign_in;
use crate::moving_in::shop_moving_in;

/// What the API says W1 holds of `sku`.
async fn on_hand(app: &TestApp, warehouse: &str, sku: &str) -> serde_json::Value {
    app.get_json(
        &format!("/balances?warehouse_id={warehouse}&sku={sku}"),
        &app.account.admin_token,
    )
    .await["data"][0]["on_hand"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_moves_in_from_the_console_in_ukrainian() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let w1 = shop_moving_in(&app).await;
    app.sim_control(
        Method::POST,
        "/catalogue/generate",
        json!({"offers": 60, "warehouses": [1], "seed": 5, "stock_max": 0}),
    )
    .await;
    let browser = Browser::start(
        "moving_in",
        &format!("http://127.0.0.1:{}", app.api_port),
        "uk-UA,uk",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;

    // Today: the checklist, ticked from real state.
    browser.open("/").await;
    browser.find("#getting-started").await;
    assert_eq!(
        browser
            .find("#step-key")
            .await
            .attr("data-done")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        browser
            .find("#step-catalogue")
            .await
            .attr("data-done")
            .await
            .unwrap()
            .as_deref(),
        Some("false")
    );
    assert!(
        browser
            .page_text()
            .await
            .contains("Імпортуйте каталог із keyCRM")
    );
    browser.shot("today-checklist").await;

    // The catalogue import, followed live on the Products screen.
    browser.open("/products").await;
    browser.click("#import-catalogue").await;
    browser
        .find(".catalogue-import .job-state[data-state='done']")
        .await;
    browser.shot("catalogue-imported").await;
    let listed = app
        .get_json("/products?per_page=1", &app.account.admin_token)
        .await;
    assert_eq!(
        listed["total"], 62,
        "two known products and 60 offers: {listed}"
    );

    // Sending on before a take-over: refused, with both ways on in words.
    browser.open("/stock/keycrm").await;
    browser.click("#stock_push_enabled").await;
    browser.click("#update-stock").await;
    browser.find("#uncounted-choice").await;
    let said = browser.text("#notice").await;
    assert!(
        said.contains("У keyCRM є 2 артикулів, яких sklad ще не підраховував"),
        "{said}"
    );
    let choice = browser.text("#uncounted-choice").await;
    assert!(choice.contains("надсилати їх"), "{choice}");
    assert!(
        choice.contains("Спершу перенести залишки з keyCRM"),
        "{choice}"
    );
    browser.shot("uncounted-choice").await;
    let integration = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_eq!(
        integration["stock_push_enabled"], false,
        "nothing switched: {integration}"
    );

    // The take-over: what would change first, then the confirmation.
    browser.click("#take-over-first").await;
    browser.click("#show-take-over").await;
    browser.find(".take-over-lines").await;
    let preview = browser.text(".take-over-target").await;
    assert!(
        preview.contains("TO-A") && preview.contains("40"),
        "{preview}"
    );
    browser.shot("take-over-preview").await;
    assert_eq!(
        on_hand(&app, &w1, "TO-A").await,
        serde_json::Value::Null,
        "a preview records nothing"
    );
    browser.click("#confirm-take-over").await;
    browser.find("#taken-over-at").await;
    browser.shot("taken-over").await;
    assert_eq!(on_hand(&app, &w1, "TO-A").await, "40");

    // Now sending goes on without a question.
    browser.open("/stock/keycrm").await;
    browser.click("#stock_push_enabled").await;
    browser.click("#update-stock").await;
    browser.wait_for_text("Залишки", None).await;
    assert!(!browser.has("#uncounted-choice").await);
    let integration = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_eq!(integration["stock_push_enabled"], true, "{integration}");

    // A spreadsheet with a mistake: every bad line named, in Ukrainian; nothing recorded.
    browser.open("/products").await;
    browser
        .fill(
            "#counts-csv",
            "sku;warehouse;quantity\nTO-A;W1;-3\nNOPE;Нема;1\n",
        )
        .await;
    browser.click("#check-counts").await;
    browser
        .wait_for_text("рядок 2, quantity: менше нуля", None)
        .await;
    browser.shot("counts-refused").await;
    browser
        .fill("#counts-csv", "sku;warehouse;quantity\nNOPE;Нема;1\n")
        .await;
    browser.click("#check-counts").await;
    browser
        .wait_for_text("рядок 2, warehouse: складу з такою назвою немає", None)
        .await;
    assert_eq!(on_hand(&app, &w1, "TO-A").await, "40");

    // A counts spreadsheet (Ukrainian Excel), checked, then saved; keyCRM follows.
    browser.open("/products").await;
    browser
        .fill("#counts-csv", "sku;warehouse;quantity\nTO-A;W1;41,0\n")
        .await;
    browser.click("#check-counts").await;
    browser.find(".count-preview").await;
    assert_eq!(browser.text(".count-preview .change").await, "1");
    browser.shot("counts-preview").await;
    browser.click("#save-sheet").await;
    browser.wait_for_text("Підрахунок записано", None).await;
    assert_eq!(on_hand(&app, &w1, "TO-A").await, "41");
    app.wait_keycrm(1, &[("TO-A", 41), ("TO-B", 25)]).await;

    // A product that is a service: not counted in warehouses.
    let product = app
        .get_json("/products?sku=TO-B", &app.account.admin_token)
        .await["data"][0]
        .clone();
    browser
        .open(&format!("/products/{}", product["id"].as_str().unwrap()))
        .await;
    browser.click("#tracks_stock").await;
    browser.click("#save-product").await;
    browser.find("#product-not-stocked").await;
    browser.shot("product-not-stocked").await;
    let saved = app
        .get_json("/products?sku=TO-B", &app.account.admin_token)
        .await;
    assert_eq!(saved["data"][0]["tracks_stock"], false, "{saved}");

    // The checklist ticks what was done.
    browser.open("/").await;
    for step in ["key", "catalogue", "mapped", "taken-over", "sending"] {
        let done = browser
            .find(&format!("#step-{step}"))
            .await
            .attr("data-done")
            .await
            .unwrap();
        assert_eq!(done.as_deref(), Some("true"), "{step}");
    }
    browser.shot("today-after").await;
    browser.close().await;

    // On a phone, the take-over page reads top to bottom.
    let phone = Browser::start(
        "moving_in_phone",
        &format!("http://127.0.0.1:{}", app.api_port),
        "uk-UA,uk",
        Screen::Phone,
    )
    .await;
    sign_in(&phone, &app.account.admin_token).await;
    phone.open("/stock/take-over").await;
    phone.find("#taken-over-at").await;
    phone.click("#show-take-over").await;
    phone.find(".take-over-summary").await;
    phone.shot("take-over-phone").await;
    phone.close().await;
}
