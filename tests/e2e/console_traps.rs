//! The console's daily traps, in a real headless Chromium against the real services and
//! the simulator: the movement form records the kind it shows, a mistake is undone by
//! reversal (once, whatever the clicks), the Stock → keyCRM panel saves what it shows, a
//! negative balance reaches keyCRM as zero, and a product sold from components reaches
//! keyCRM when its warehouse is mapped; and every page, errors included, in Ukrainian. Screens
//! are saved under `target/screenshots/`.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::browser::{Browser, Screen};
use sklad_tests::{AppOptions, TestApp};

pub(crate) async fn sign_in(browser: &Browser, token: &str) {
    browser.open("/sign-in").await;
    browser.fill("#token", token).await;
    browser.click("#sign-in").await;
    browser.find("#sign-out").await;
}

/// The account's newest movement, as the API shows it.
pub(crate) async fn newest_movement(app: &TestApp) -> Value {
    let page = app
        .get_json("/movements?per_page=1", &app.account.admin_token)
        .await;
    page["data"][0].clone()
}

/// Picks a kind in the form's list and waits for htmx to bring the fields of that kind.
pub(crate) async fn choose_kind(browser: &Browser, kind: &str) {
    browser.select("#kind", kind).await;
    browser
        .find(&format!("#movement-form[data-kind='{kind}']"))
        .await;
}

pub(crate) async fn fill_line(browser: &Browser, sku: &str, quantity: &str) {
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

/// The page's visible text: no scripts, no commands shown as code, no tags.
fn visible_text(page: &str) -> String {
    let mut text = page.to_owned();
    for hidden in ["script", "code", "style", "title"] {
        let (open, close) = (format!("<{hidden}"), format!("</{hidden}>"));
        let mut kept = String::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find(&open) {
            kept.push_str(&rest[..start]);
            rest = match rest[start..].find(&close) {
                Some(end) => &rest[start + end + close.len()..],
                None => "",
            };
        }
        kept.push_str(rest);
        text = kept;
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&quot;", "\"").replace("&#x27;", "'")
}

/// Three or more English words in a row: an English sentence (names of things the test
/// made are Ukrainian, and sklad's own names are allowed).
fn english_sentence(text: &str) -> Option<String> {
    const NAMES: [&str; 6] = ["keyCRM", "sklad", "API", "POST", "URL", "ID"];
    // Addresses and dotted or hyphenated names (a queue, a SKU) are data, not sentences.
    let words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            !w.contains("://")
                && !w
                    .trim_matches(|c: char| !c.is_alphanumeric())
                    .contains(['.', '-', '_', '/'])
        })
        .collect();
    let text = words.join(" ");
    let mut run: Vec<&str> = Vec::new();
    for word in text.split(|c: char| !c.is_alphabetic()) {
        if word.is_empty() {
            continue;
        }
        let english = word.len() >= 2
            && word.chars().all(|c| c.is_ascii_alphabetic())
            && !NAMES.contains(&word);
        if english {
            run.push(word);
            if run.len() >= 3 {
                return Some(run.join(" "));
            }
        } else {
            run.clear();
        }
    }
    None
}

/// Every console page, and every form refused for bad input, speaks Ukrainian to a
/// Ukrainian user: no English sentence anywhere, errors included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ukrainian_page_never_shows_an_english_sentence() {
    let app = TestApp::spawn().await;
    let warehouse = app
        .created("/warehouses", json!({"name": "Основний"}))
        .await;
    let warehouse = warehouse["id"].as_str().unwrap().to_owned();
    let other = app.created("/warehouses", json!({"name": "Київ"})).await;
    let other = other["id"].as_str().unwrap().to_owned();
    let product = app
        .created("/products", json!({"sku": "UA-1", "name": "Сорочка"}))
        .await;
    let product = product["id"].as_str().unwrap().to_owned();
    let receipt = app
        .created(
            "/movements",
            json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": "UA-1", "quantity": 2}]}),
        )
        .await;
    let receipt = receipt["id"].as_str().unwrap().to_owned();
    let console = crate::console::ConsoleClient::sign_in(
        &format!("http://127.0.0.1:{}", app.api_port),
        &app.account.admin_token,
    )
    .await;
    let mut seen = Vec::new();
    let pages = [
        "/".to_owned(),
        "/orders".to_owned(),
        "/orders?show=archive".to_owned(),
        "/products".to_owned(),
        format!("/products/{product}"),
        "/warehouses".to_owned(),
        "/movements".to_owned(),
        "/movements/new".to_owned(),
        "/movements/new?kind=transfer".to_owned(),
        "/movements/new?kind=inventory".to_owned(),
        format!("/movements/{receipt}"),
        format!("/movements/{receipt}/reverse"),
        "/stock/keycrm".to_owned(),
        "/stock/keycrm/preview".to_owned(),
        "/production".to_owned(),
        "/sync".to_owned(),
        "/settings/keycrm".to_owned(),
        "/settings/keycrm/rotate".to_owned(),
        "/status".to_owned(),
        format!("/orders/{}", uuid::Uuid::now_v7()),
        format!("/movements/{}", uuid::Uuid::now_v7()),
    ];
    for path in &pages {
        let (status, page) = console.get_uk(path).await;
        assert!(status < 500, "GET {path}: {status}");
        seen.push((format!("GET {path}"), page));
    }
    let line = |kind: &str, sku: &str, quantity: &str| {
        format!(
            "kind={kind}&warehouse_id={warehouse}&to_warehouse_id={warehouse}&sku={sku}&quantity={quantity}"
        )
    };
    let posts = [
        ("/movements", line("write_off", "UA-1", "abc")),
        ("/movements", line("write_off", "UA-1", "1e3")),
        ("/movements", line("write_off", "UA-1", "99")),
        ("/movements", line("receipt", "NOPE", "1")),
        ("/movements", line("receipt", "UA-1", "0")),
        ("/movements", line("transfer", "UA-1", "1")),
        ("/movements", line("inventory", "UA-1", "-1")),
        ("/movements", line("receipt", "", "")),
        (
            "/movements",
            format!("kind=receipt&warehouse_id={other}&sku=UA-1&quantity=123456789012345678"),
        ),
        ("/warehouses", "name=".to_owned()),
        (
            "/warehouses",
            "name=%D0%9E%D1%81%D0%BD%D0%BE%D0%B2%D0%BD%D0%B8%D0%B9".to_owned(),
        ),
        ("/products", "sku=&name=".to_owned()),
        ("/products", "sku=UA-1&name=%D0%A9%D0%B5".to_owned()),
        (
            "/products",
            "sku=UA-2&name=%D0%A9%D0%B5&price=abc".to_owned(),
        ),
        (
            &format!("/products/{product}") as &str,
            "sku=UA-1&name=&unit_cost=-1".to_owned(),
        ),
        ("/stock/keycrm/warehouses", "id=abc&name=x".to_owned()),
        (
            "/stock/keycrm/settings",
            "warehouse_id=garbage&keycrm_warehouse_id=1".to_owned(),
        ),
        ("/sync", "status_ids=-1".to_owned()),
        ("/sync", String::new()),
        ("/settings/keycrm", "requests_per_minute=0".to_owned()),
        (
            "/settings/keycrm",
            "api_key=wrong-key-0000&enabled=on".to_owned(),
        ),
        (
            "/production",
            format!(
                "sku=NOPE&quantity=1&component_warehouse_id={warehouse}&output_warehouse_id={warehouse}"
            ),
        ),
        (
            "/production",
            format!(
                "sku=UA-1&quantity=abc&component_warehouse_id={warehouse}&output_warehouse_id={warehouse}"
            ),
        ),
        (
            &format!("/products/{product}/bom") as &str,
            "output_quantity=1&sku=NOPE&quantity=1".to_owned(),
        ),
    ];
    for (path, fields) in &posts {
        let (status, page) = console.post_uk(path, fields).await;
        assert!(status < 500, "POST {path} {fields}: {status}");
        seen.push((format!("POST {path} {fields}"), page));
    }
    let mut english = Vec::new();
    for (what, page) in &seen {
        if let Some(sentence) = english_sentence(&visible_text(page)) {
            english.push(format!("{what}: “{sentence}”"));
        }
    }
    assert!(
        english.is_empty(),
        "English on Ukrainian pages:\n{}",
        english.join("\n")
    );
    // The refusals are worded, not just generic: the negative balance names its SKU.
    let (_, refused) = console
        .post_uk("/movements", &line("write_off", "UA-1", "99"))
        .await;
    assert!(
        visible_text(&refused).contains("UA-1 на складі «Основний» впав би до -97"),
        "{}",
        visible_text(&refused)
    );
}
