//! The web console in a real headless Chromium, against the real services and the
//! simulator: a new shop owner's whole first session, and the console's guards (sign-out,
//! CSRF, account isolation, languages). Screens are saved under `target/screenshots/`.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::browser::{Browser, Engine, Screen};
use sklad_tests::{AppOptions, SIM_API_KEY, TestApp};

fn console_url(app: &TestApp) -> String {
    format!("http://127.0.0.1:{}", app.api_port)
}

async fn sign_in(browser: &Browser, token: &str) {
    browser.open("/sign-in").await;
    browser.fill("#token", token).await;
    browser.click("#sign-in").await;
    browser.find("#sign-out").await;
}

/// Ticks the options `values` of the multi-select or checkbox list `name` (keyCRM ids).
async fn tick(browser: &Browser, name: &str, values: &[i64]) {
    let values: Vec<String> = values.iter().map(ToString::to_string).collect();
    browser
        .script(
            "const [name, values] = arguments;
             document.querySelectorAll(`[name='${name}'] option, input[name='${name}']`).forEach(e => {
               const on = values.includes(e.value);
               if ('selected' in e && e.tagName === 'OPTION') e.selected = on; else e.checked = on;
             });",
            vec![json!(name), json!(values)],
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_shop_owner_connects_keycrm_and_stock_reaches_it() {
    let app = TestApp::spawn_with(AppOptions::all_workers()).await;
    let owner = app.create_account("Shop", false).await;
    app.sim_control(
        Method::POST,
        "/offers",
        json!([{"id": 501, "product_id": 50, "sku": "SH-W-M", "name": "Shirt", "price": "450.00",
                "properties": [{"name": "Colour", "value": "white"}, {"name": "Size", "value": "M"}]}]),
    )
    .await;
    let browser = Browser::start(
        "owner_flow",
        &console_url(&app),
        "en-US,en",
        Screen::Desktop,
    )
    .await;

    // Signing in with a token that is not one says so.
    browser.open("/sign-in").await;
    browser.fill("#token", "not-a-token").await;
    browser.click("#sign-in").await;
    assert!(browser.text("#sign-in-error").await.contains("not valid"));
    browser.shot("sign-in-refused").await;

    // The first screen is Today, saying what to do first; its link opens the settings.
    sign_in(&browser, &owner.admin_token).await;
    assert_eq!(browser.path().await, "/");
    assert!(
        browser
            .text("#today-no-key")
            .await
            .contains("No keyCRM key yet")
    );
    browser.shot("today-new-account").await;
    browser.click("#today-no-key a").await;
    assert_eq!(browser.path().await, "/settings/keycrm");
    assert!(browser.page_text().await.contains("No keyCRM key yet"));
    browser.shot("settings-empty").await;

    // A wrong key first: the message sits by the field and nothing is saved.
    browser.select("#base_url", &app.sim_api_url).await;
    browser.fill("#api_key", "wrong-key-0000").await;
    browser.click("#enabled").await;
    browser.click("#update").await;
    let refusal = browser.text("#api-key-error").await;
    assert!(refusal.contains("keyCRM rejected this key"), "{refusal}");
    browser.shot("wrong-key").await;
    let saved = app
        .get_json("/integrations/keycrm", &owner.admin_token)
        .await;
    assert_eq!(saved["api_key_set"], false, "{saved}");

    // The right key: enabled, and the webhook link can be copied.
    browser.select("#base_url", &app.sim_api_url).await;
    browser.fill("#api_key", SIM_API_KEY).await;
    if !browser.find("#enabled").await.is_selected().await.unwrap() {
        browser.click("#enabled").await;
    }
    browser.click("#update").await;
    browser.wait_for_text("Saved.", None).await;
    let saved = app
        .get_json("/integrations/keycrm", &owner.admin_token)
        .await;
    assert_eq!(saved["enabled"], true, "{saved}");
    assert_eq!(saved["api_key_set"], true, "{saved}");
    let link = browser
        .find("#webhook-url")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(Some(link.as_str()), saved["webhook_url"].as_str());
    browser.click("#copy-webhook").await;
    browser.wait_for_text("Copied", None).await;
    browser.shot("settings-enabled").await;

    // The owner pastes the link into keyCRM's automation; a status change fires it.
    app.sim.lock().webhook_urls = vec![link];
    let keycrm_id = app
        .sim_order(
            json!({"status_id": 1, "buyer": {"full_name": "Olena Petrenko"},
                          "lines": [{"sku": "SH-W-M", "quantity": 2}]}),
        )
        .await;
    let fired = app.sim_status(keycrm_id, 2).await;
    assert_eq!(fired["deliveries"][0]["status"], 202, "{fired}");
    browser
        .wait_for_text(&format!("#{keycrm_id}"), Some("/orders"))
        .await;
    browser.shot("orders").await;
    // Searching by the buyer finds it; by another name, nothing.
    browser.open("/orders?q=petrenko").await;
    assert!(browser.text("#orders").await.contains("Olena Petrenko"));
    browser.open("/orders?q=nobody%25").await;
    browser.find("#orders-empty").await;
    browser.open("/orders").await;
    browser.click("#orders a[href^='/orders/']").await;
    let lines = browser.text("#order-lines").await;
    assert!(lines.contains("Shirt, white, M"), "{lines}");
    browser.click("#show-document").await;
    let document = browser.text("#document pre").await;
    assert!(document.contains("\"SH-W-M\""), "{document}");
    browser.shot("order").await;

    // Synchronize orders: 120 more orders in "Погоджено", with progress to the end.
    app.sim_generate(120, json!([2]), 7, 0).await;
    browser.open("/sync").await;
    tick(&browser, "status_ids", &[2]).await;
    browser.click("#start-sync").await;
    browser
        .wait_for_text("Synchronization started.", None)
        .await;
    browser.shot("sync-running").await;
    browser.find(".job-state[data-state='done']").await;
    let progress = browser.text(".job-progress").await;
    assert!(
        progress.contains("121 / 121") || progress.contains("/ 121"),
        "{progress}"
    );
    browser.shot("sync-done").await;
    let orders = app.get_json("/orders?per_page=1", &owner.admin_token).await;
    assert_eq!(orders["total"], 121, "{orders}");

    // A warehouse and a receipt, with the balance it leaves.
    browser.open("/warehouses").await;
    browser.fill("#warehouse-name", "Main").await;
    browser.click("#create-warehouse").await;
    browser.wait_for_text("Warehouse created.", None).await;
    browser.open("/movements/new?kind=receipt").await;
    browser
        .fill("#movement-form input[name='sku']", "SH-W-M")
        .await;
    browser
        .fill("#movement-form input[name='quantity']", "7")
        .await;
    browser.shot("receipt").await;
    browser.click("#record").await;
    browser.wait_for_text("Recorded.", None).await;
    assert_eq!(
        browser
            .text("#balances tr[data-sku='SH-W-M'] .on-hand")
            .await,
        "7"
    );
    browser.shot("receipt-recorded").await;

    // Map it to keyCRM's warehouse and switch stock balances on: keyCRM receives 7.
    browser.open("/stock/keycrm").await;
    browser.click("#refresh-list").await;
    browser
        .wait_for_text("keyCRM warehouses is up to date", None)
        .await;
    browser
        .fill("#add-keycrm-warehouse input[name='id']", "1")
        .await;
    browser
        .fill("#add-keycrm-warehouse input[name='name']", "Основний")
        .await;
    browser.click("#add-keycrm-warehouse button").await;
    browser.wait_for_text("Основний (#1)", None).await;
    browser
        .select("#stock-panel select[data-warehouse='Main']", "1")
        .await;
    browser.click("#stock_push_enabled").await;
    browser.click("#update-stock").await;
    browser
        .wait_for_text("Saved: sending and the mapping", None)
        .await;
    app.wait_keycrm(1, &[("SH-W-M", 7)]).await;
    browser
        .wait_for_text("Accepted", Some("/stock/keycrm"))
        .await;
    browser.shot("stock-keycrm").await;

    // Reconcile reads keyCRM back and finds nothing to mend; the preview has nothing to send.
    browser.click("#reconcile").await;
    browser
        .wait_for_text("Reconciliation finished.", None)
        .await;
    let report = browser.text("#reconcile-report").await;
    assert!(report.contains("Differences: 0"), "{report}");
    let progress = browser.text("#reconcile-progress").await;
    assert!(progress.contains("keyCRM pages read: 1"), "{progress}");
    browser.shot("reconciled").await;
    browser.open("/stock/keycrm/preview?read_back=true").await;
    browser
        .wait_for_text("Nothing waits to be sent.", None)
        .await;
    browser.shot("preview").await;
    browser.close().await;
}

/// The console's guards: sign-out ends the session, a form without its CSRF token changes
/// nothing, one account never sees another's orders, and both languages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_keeps_accounts_apart_and_refuses_forged_forms() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    app.sim_order(json!({"id": 9001, "status_id": 1, "lines": [{"sku": "MUG-1", "name": "Mug", "one_time": true}]}))
        .await;
    app.sim_status(9001, 2).await;
    app.wait_for_order(9001, "order 9001 stored", |_| true)
        .await;
    let other = app.create_account("Other shop", true).await;
    let base = console_url(&app);

    // Ukrainian from the browser's Accept-Language; the switch turns English on and stays.
    let browser = Browser::start("guards", &base, "uk-UA,uk;q=0.9", Screen::Phone).await;
    sign_in(&browser, &other.admin_token).await;
    browser.open("/orders").await;
    let text = browser.page_text().await;
    assert!(text.contains("Замовлення покупців"), "{text}");
    assert!(text.contains("Замовлень ще немає"), "{text}");
    browser.shot("orders-empty-uk-phone").await;

    // The first account's order is not this account's: not listed, not found by id.
    let first = app.get_json("/orders/9001", &app.account.admin_token).await;
    browser
        .open(&format!("/orders/{}", first["id"].as_str().unwrap()))
        .await;
    let refused = browser.page_text().await;
    assert!(refused.contains("Не знайдено"), "{refused}");
    assert!(
        refused.contains("Не вдалося"),
        "the error page speaks Ukrainian: {refused}"
    );
    browser.open("/orders?page=many").await;
    let refused = browser.page_text().await;
    assert!(
        refused.contains("Не вдалося"),
        "a bad query is a page, not JSON: {refused}"
    );
    browser.open("/orders?q=9001&show=all").await;
    assert!(browser.has("#orders-empty").await);

    // On a phone the switch sits in the folded menu.
    browser.click("#menu-button").await;
    browser.click("#lang-switch").await;
    browser.find("#sign-out").await;
    let text = browser.page_text().await;
    assert!(text.contains("Customer Orders"), "{text}");
    browser.open("/warehouses").await;
    assert!(browser.page_text().await.contains("No warehouses yet"));
    browser.shot("warehouses-en-phone").await;

    // A form whose CSRF token was tampered with is refused and changes nothing.
    browser
        .script(
            "document.querySelector('#warehouse-form input[name=csrf]').value = 'forged';",
            vec![],
        )
        .await;
    browser.fill("#warehouse-name", "Forged").await;
    browser.click("#create-warehouse").await;
    browser
        .wait_for_text("stale or was not sent by this console", None)
        .await;
    browser.shot("csrf-refused").await;
    let warehouses = app.get_json("/warehouses", &other.admin_token).await;
    assert_eq!(warehouses["total"], 0, "{warehouses}");

    // Another site's page posting with the cookie gets nowhere either (no token at all).
    let cookie = browser
        .client
        .get_named_cookie("sklad_session")
        .await
        .unwrap();
    assert!(cookie.http_only().unwrap_or(false));
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict")
    );
    let forged = app
        .http
        .post(format!("{base}/warehouses"))
        .header("Cookie", format!("sklad_session={}", cookie.value()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Signing out ends the session for good: the old cookie no longer opens anything.
    browser.open("/warehouses").await;
    browser.click("#menu-button").await;
    browser.click("#sign-out").await;
    browser.find("#sign-in").await;
    browser.open("/orders").await;
    assert_eq!(browser.path().await, "/sign-in?next=%2Forders");
    let replayed = app
        .http
        .get(format!("{base}/orders"))
        .header("Cookie", format!("sklad_session={}", cookie.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.url().path(),
        "/sign-in",
        "a closed session sends to sign-in"
    );
    let list: Value = app.get_json("/warehouses", &other.admin_token).await;
    assert_eq!(list["total"], 0);

    // Revoking the admin token a browser signed in with signs that browser out at once.
    sign_in(&browser, &other.admin_token).await;
    let second = app
        .api(Method::POST, "/admin-tokens", &other.admin_token)
        .json(&json!({"label": "second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    let second = second["token"].as_str().unwrap().to_owned();
    let tokens = app.get_json("/admin-tokens", &second).await;
    let first = tokens["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] != "second")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = app
        .status(Method::DELETE, &format!("/admin-tokens/{first}"), &second)
        .await;
    assert!((200..300).contains(&revoked), "revoked: {revoked}");
    browser.open("/orders").await;
    assert_eq!(browser.path().await, "/sign-in?next=%2Forders");
    browser.close().await;
}

/// Production from the console (a BOM, what it makes, plan → release → record made) and the
/// status screen: this account's parked messages only, replayed with a button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_and_parked_messages_from_the_console() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        relay: true,
        configure: Some(|s| s.order_sync.max_fetch_attempts = 2),
        ..AppOptions::default()
    })
    .await;
    let other = app.create_account("Other shop", true).await;

    // One order of each account cannot be fetched: both are parked.
    let ours = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "X", "price": 1, "one_time": true}]}))
        .await;
    let theirs = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "Y", "price": 1, "one_time": true}]}))
        .await;
    app.sim.lock().faults.error_rate = 1.0;
    for (link, id) in [
        (&app.account.webhook_url, ours),
        (&other.webhook_url, theirs),
    ] {
        let body =
            json!({"event": "order.change_order_status", "context": {"id": id, "status_id": 1}});
        assert_eq!(app.post_webhook(link, body.to_string()).await.status(), 202);
    }
    sklad_tests::eventually(
        std::time::Duration::from_secs(30),
        "both parked and kept",
        || async { (app.parked().await.len() == 2).then_some(()) },
    )
    .await;
    app.sim.lock().faults.error_rate = 0.0;

    let browser = Browser::start(
        "production_status",
        &console_url(&app),
        "en",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;
    browser.open("/settings/keycrm").await;
    let health = browser.text("#health-parked").await;
    assert!(
        health.contains(": 1"),
        "the settings show this account's one: {health}"
    );
    browser.open("/status").await;
    let parked = browser.text("#parked-list").await;
    assert!(parked.contains(&format!("order/{ours}")), "{parked}");
    assert!(!parked.contains(&format!("order/{theirs}")), "{parked}");
    assert!(parked.contains("gave up after 2 attempts"), "{parked}");
    browser.shot("status-parked").await;
    browser.click("#replay").await;
    browser
        .wait_for_text("sent back to be tried again: 1", None)
        .await;
    app.wait_for_order(ours, "imported after replay", |o| o["status_id"] == 1)
        .await;
    let left = app.parked().await;
    assert_eq!(left.len(), 1, "the other account's message stays parked");
    assert_eq!(left[0].account_id, Some(other.id));
    browser.open("/status").await;
    browser.find("#parked-none").await;
    browser.shot("status-clear").await;

    // The other shop, in Ukrainian on a phone, replays its one message by its own button;
    // Back and the same button again send nothing twice.
    let phone = Browser::start(
        "production_status_phone",
        &console_url(&app),
        "uk",
        Screen::Phone,
    )
    .await;
    sign_in(&phone, &other.admin_token).await;
    phone.open("/status").await;
    let theirs_parked = phone.text("#parked-list").await;
    assert!(
        theirs_parked.contains(&format!("order/{theirs}")),
        "{theirs_parked}"
    );
    phone.shot("status-parked-uk").await;
    let one = format!("#replay-{}", left[0].id);
    phone.click(&one).await;
    phone
        .wait_for_text("Відкладених повідомлень повернуто на обробку: 1", None)
        .await;
    sklad_tests::eventually(
        std::time::Duration::from_secs(30),
        "their order imported after its own replay",
        || async {
            let order = app
                .get_json(&format!("/orders/{theirs}"), &other.admin_token)
                .await;
            order.get("id").is_some().then_some(())
        },
    )
    .await;
    phone.client.back().await.unwrap();
    phone.click(&one).await;
    phone
        .wait_for_text("Відкладених повідомлень повернуто на обробку: 0", None)
        .await;
    phone.shot("status-replayed-twice-uk").await;
    // Nothing on the screen is wider than the phone (the queue names are long).
    let overflow = phone
        .script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "the page scrolls sideways by {overflow}"
    );
    assert_eq!(app.parked_anywhere().await, 0);
    phone.close().await;

    // A product made of two parts, with 10 parts in stock.
    let warehouse = app
        .created("/warehouses", json!({"name": "Workshop"}))
        .await;
    let warehouse = warehouse["id"].as_str().unwrap().to_owned();
    browser.open("/products").await;
    browser.fill("#new-sku", "PART").await;
    browser.fill("#new-name", "Part").await;
    browser.click("#create-product").await;
    browser.wait_for_text("Product saved.", None).await;
    browser.fill("#product-edit #name", "Wooden part").await;
    browser.click("#save-product").await;
    browser.wait_for_text("Product saved.", None).await;
    assert_eq!(browser.text("h1").await, "Wooden part");
    let stool = app
        .created("/products", json!({"sku": "STOOL", "name": "Stool"}))
        .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": "PART", "quantity": 10}]}),
    )
    .await;
    browser
        .open(&format!("/products/{}", stool["id"].as_str().unwrap()))
        .await;
    browser.find("#bom .empty").await;
    browser.fill("#bom-form input[name='sku']", "PART").await;
    browser.fill("#bom-form input[name='quantity']", "2").await;
    browser.click("#save-bom").await;
    browser.wait_for_text("Bill of materials saved", None).await;
    assert!(browser.text("#makeable").await.contains("Workshop: 5"));
    browser.shot("product-bom").await;

    // Plan 3, release (parts reserved), record them made: 3 stools, 4 parts left.
    browser.open("/production").await;
    browser.find("#production-empty").await;
    browser.fill("#plan-sku", "STOOL").await;
    browser.fill("#plan-quantity", "3").await;
    browser.click("#plan").await;
    browser.wait_for_text("Production planned.", None).await;
    browser.click("#production-orders .release").await;
    browser.wait_for_text("components are reserved", None).await;
    browser.shot("production-released").await;
    browser.click("#production-orders .complete").await;
    browser.wait_for_text("Recorded.", None).await;
    assert_eq!(
        browser
            .text("#balances tr[data-sku='STOOL'] .on-hand")
            .await,
        "3"
    );
    assert_eq!(
        browser.text("#balances tr[data-sku='PART'] .on-hand").await,
        "4"
    );
    browser.shot("production-recorded").await;
    let orders = app
        .get_json("/production-orders", &app.account.admin_token)
        .await;
    assert_eq!(orders["data"][0]["state"], "done", "{orders}");
    browser.close().await;
}

/// Every screen renders in Firefox as well, in Ukrainian, and a form works there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_works_in_firefox_too() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "Чашка", "sku": "MUG-1", "price": 150, "one_time": true}]}))
        .await;
    app.sim_status(id, 2).await;
    let order = app.wait_for_order(id, "order stored", |_| true).await;
    let warehouse = app
        .created("/warehouses", json!({"name": "Головний"}))
        .await;
    let product = app
        .get_json("/products?sku=MUG-1", &app.account.admin_token)
        .await;

    let browser = Browser::start_with(
        Engine::Firefox,
        "firefox",
        &console_url(&app),
        "uk-UA,uk;q=0.9",
        Screen::Desktop,
    )
    .await;
    sign_in(&browser, &app.account.admin_token).await;
    let order_path = format!("/orders/{}", order["id"].as_str().unwrap());
    let product_path = format!("/products/{}", product["data"][0]["id"].as_str().unwrap());
    let screens = [
        ("settings", "/settings/keycrm", "Налаштування"),
        ("sync", "/sync", "Синхронізувати замовлення"),
        ("orders", "/orders", "Замовлення покупців"),
        ("order", order_path.as_str(), "Замовлення #"),
        ("products", "/products", "Номенклатура"),
        ("product", product_path.as_str(), "Чашка"),
        ("warehouses", "/warehouses", "Залишки"),
        ("movements", "/movements", "Рухи"),
        ("stock-keycrm", "/stock/keycrm", "Залишки → keyCRM"),
        ("production", "/production", "Виробництво"),
        ("status", "/status", "Стан"),
    ];
    for (name, path, heading) in screens {
        browser.open(path).await;
        let shown = browser.text("h1").await;
        assert!(shown.contains(heading), "{path}: {shown}");
        assert!(!browser.has(".notice.error").await, "{path} shows an error");
        browser.shot(name).await;
    }

    // A receipt through the form, in Firefox.
    browser.open("/movements/new?kind=receipt").await;
    browser
        .select("#warehouse_id", warehouse["id"].as_str().unwrap())
        .await;
    browser
        .fill("#movement-form input[name='sku']", "MUG-1")
        .await;
    browser
        .fill("#movement-form input[name='quantity']", "2,5")
        .await;
    browser.click("#record").await;
    browser.find("#balances").await;
    assert_eq!(
        browser
            .text("#balances tr[data-sku='MUG-1'] .on-hand")
            .await,
        "2.5"
    );
    browser.shot("receipt-recorded").await;
    browser.close().await;
}

/// A signed-in HTTP client for the console, without a browser: its session cookie and CSRF
/// token, read the way a browser would get them.
pub(crate) struct ConsoleClient {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

/// The value of the first `name="csrf" value="…"` on a page.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a form with a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// `name=value` of a `Set-Cookie` named `name`.
fn cookie_of(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .expect("the cookie")
        .to_owned()
}

impl ConsoleClient {
    /// A GET in Ukrainian: its status and page.
    pub(crate) async fn get_uk(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", format!("{}; sklad_lang=uk", self.cookie))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A form posted in Ukrainian (`fields` URL-encoded, the CSRF token added): its status
    /// and the page it leads to (a redirect is followed once).
    pub(crate) async fn post_uk(&self, path: &str, fields: &str) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", format!("{}; sklad_lang=uk", self.cookie))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}&{fields}", self.csrf))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 303 {
            let to = response.headers()["location"].to_str().unwrap().to_owned();
            return self.get_uk(&to).await;
        }
        (status, response.text().await.unwrap())
    }

    pub(crate) async fn sign_in(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http.get(format!("{base}/sign-in")).send().await.unwrap();
        let pre = cookie_of(&form, "sklad_sign_in");
        let csrf = csrf_of(&form.text().await.unwrap());
        let signed = http
            .post(format!("{base}/sign-in"))
            .header("Cookie", &pre)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={token}&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), 303);
        let cookie = cookie_of(&signed, "sklad_session");
        let page = http
            .get(format!("{base}/warehouses"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Self {
            http,
            base: base.to_owned(),
            csrf: csrf_of(&page),
            cookie,
        }
    }

    async fn get(&self, path: &str) -> u16 {
        self.http
            .get(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Posts `fields` (already URL-encoded pairs) with the session's CSRF token.
    /// A refused form answers with a redirect to its page (Post/Redirect/Get): the status
    /// is that page's.
    async fn post(&self, path: &str, fields: &str) -> u16 {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}&{fields}", self.csrf))
            .send()
            .await
            .unwrap();
        let to = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .filter(|l| l.starts_with("/refused/"))
            .map(str::to_owned);
        match to {
            Some(refused) => self.get(&refused).await,
            None => response.status().as_u16(),
        }
    }
}

/// No console input, however odd (NUL bytes, huge numbers, long or hostile text, ids that
/// are not ids), gives a 500, and nothing odd is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_console_input_never_gives_a_500() {
    let app = TestApp::spawn().await;
    let warehouse = app.created("/warehouses", json!({"name": "Main"})).await;
    let warehouse = warehouse["id"].as_str().unwrap().to_owned();
    let product = app
        .created("/products", json!({"sku": "ODD-1", "name": "Odd"}))
        .await;
    let product = product["id"].as_str().unwrap().to_owned();
    let console = ConsoleClient::sign_in(&console_url(&app), &app.account.admin_token).await;
    let long = "x".repeat(20_000);
    let huge = "9".repeat(60);
    let gets = [
        "/orders?q=%00".to_owned(),
        format!("/orders?q={long}"),
        format!("/orders?page={huge}"),
        "/orders?page=-5&show=%3Cscript%3E&status=abc".to_owned(),
        "/orders/%00".to_owned(),
        format!("/orders/{huge}"),
        "/orders/not-an-order/keycrm".to_owned(),
        format!("/products?q={long}"),
        "/products/not-a-uuid".to_owned(),
        "/products/skus?sku=%25%5F%5C".to_owned(),
        format!("/movements?page={huge}"),
        "/movements/not-a-uuid".to_owned(),
        "/movements/new?kind=%00".to_owned(),
        "/production?state=zzz&page=0".to_owned(),
        "/sync/not-a-uuid/progress".to_owned(),
        "/stock/keycrm/preview?read_back=maybe".to_owned(),
        "/lang/xx?back=%0D%0ALocation:%20//evil".to_owned(),
        "/lang/en?back=/%09/evil.example".to_owned(),
        "/status?moved=-5".to_owned(),
        format!("/warehouses?warehouse={huge}"),
    ];
    // The client is signed in, and odd input is refused rather than redirected away.
    assert_eq!(console.get("/orders").await, 200);
    assert_eq!(console.get("/products/not-a-uuid").await, 404);
    assert_eq!(console.post("/warehouses", "name=%00evil").await, 422);
    // A refused form's page belongs to the session that posted it.
    let refused = console
        .http
        .post(format!("{}/warehouses", console.base))
        .header("Cookie", &console.cookie)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&name=", console.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 303);
    let page = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/refused/"), "{page}");
    assert_eq!(console.get(&page).await, 422);
    let another = ConsoleClient::sign_in(&console_url(&app), &app.account.admin_token).await;
    assert_eq!(another.get(&page).await, 404);
    let back = console
        .http
        .get(format!("{}/lang/en?back=/%09/evil.example", console.base))
        .send()
        .await
        .unwrap();
    assert_eq!(back.headers()["location"], "/", "no way off the site");
    for path in &gets {
        let status = console.get(path).await;
        assert!(status < 500, "GET {path} answered {status}");
    }
    let posts = [
        ("/warehouses", "name=%00evil".to_owned()),
        ("/warehouses", format!("name={long}")),
        (
            "/movements",
            format!("kind=receipt&warehouse_id={warehouse}&sku=ODD-1&quantity=1e400"),
        ),
        (
            "/movements",
            format!("kind=receipt&warehouse_id={warehouse}&sku=ODD-1&quantity={huge}"),
        ),
        (
            "/movements",
            format!(
                "kind=transfer&warehouse_id={warehouse}&to_warehouse_id=zzz&sku=ODD-1&quantity=1"
            ),
        ),
        (
            "/movements",
            format!("kind=bogus&warehouse_id={warehouse}&sku={long}&quantity=1"),
        ),
        ("/products", format!("sku={long}&name=x&price=NaN")),
        ("/products", format!("sku=ODD-2&name=x&price={huge}")),
        (
            &format!("/products/{product}") as &str,
            "unit_cost=-1e30".to_owned(),
        ),
        (
            "/settings/keycrm",
            format!("requests_per_minute={huge}&archive_status_ids=abc"),
        ),
        (
            "/settings/keycrm",
            "base_url=javascript:alert(1)".to_owned(),
        ),
        (
            "/settings/keycrm",
            "rule_source_id=abc&rule_warehouse_id=zzz".to_owned(),
        ),
        ("/stock/keycrm/warehouses", format!("id={huge}&name=x")),
        (
            "/stock/keycrm/settings",
            "warehouse_id=garbage&keycrm_warehouse_id=1".to_owned(),
        ),
        ("/movements/not-a-movement/reverse", String::new()),
        (
            "/movements/00000000-0000-0000-0000-000000000000/reverse",
            String::new(),
        ),
        ("/sync", format!("status_ids={huge}")),
        (
            "/production",
            format!(
                "sku=ODD-1&quantity={huge}&component_warehouse_id={warehouse}&output_warehouse_id={warehouse}"
            ),
        ),
        (
            &format!("/products/{product}/bom") as &str,
            "output_quantity=1&sku=NOPE&quantity=1".to_owned(),
        ),
        (
            &format!("/production/{product}/complete") as &str,
            "quantity=-1".to_owned(),
        ),
        ("/status/replay", String::new()),
    ];
    for (path, fields) in &posts {
        let status = console.post(path, fields).await;
        assert!(status < 500, "POST {path} answered {status}");
    }
    let warehouses = app.get_json("/warehouses", &app.account.admin_token).await;
    assert_eq!(
        warehouses["total"], 1,
        "nothing odd was stored: {warehouses}"
    );
    let balances = app
        .get_json("/balances?sku=ODD-1", &app.account.admin_token)
        .await;
    assert_eq!(balances["total"], 0, "{balances}");
}

/// A burst of wrong sign-ins or admin tokens from one address earns it a wait (429 with
/// `Retry-After`), checked before the token is; the page says so in the visitor's language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_failed_sign_ins_from_one_address_waits() {
    let app = TestApp::spawn_with(AppOptions {
        configure: Some(|s| s.security.failed_auth_burst = 3),
        ..AppOptions::default()
    })
    .await;
    let base = format!("http://127.0.0.1:{}", app.api_port);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let attempt = || async {
        let form = http
            .get(format!("{base}/sign-in"))
            .header("Accept-Language", "uk")
            .send()
            .await
            .unwrap();
        let pre = cookie_of(&form, "sklad_sign_in");
        let csrf = csrf_of(&form.text().await.unwrap());
        http.post(format!("{base}/sign-in"))
            .header("Cookie", &pre)
            .header("Accept-Language", "uk")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}&csrf={csrf}", "W".repeat(43)))
            .send()
            .await
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(attempt().await.status(), 401);
    }
    let throttled = attempt().await;
    assert_eq!(throttled.status(), 429);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    let page = throttled.text().await.unwrap();
    assert!(page.contains("Забагато невдалих спроб"), "{page}");
    // The address waits for everything that authenticates, the right token included.
    let api = app
        .api(reqwest::Method::GET, "/products", &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 429);
    assert!(api.headers().contains_key("retry-after"));
    let body: Value = api.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
}
