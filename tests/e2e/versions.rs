//! Two writers (issue 19.6): every read-modify-write edit (settings, mapping, BOM, product,
//! warehouse) carries the version it was made from as `If-Match`. Of two edits made from the
//! same state the second is told (412) instead of overwriting the first, and after reading
//! again it lands: nothing is lost. The console says so in the page's language and shows
//! the new state.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::browser::{Browser, Screen};
use sklad_tests::{AppOptions, TestApp};

/// An edit: where it is read and written, and two changes two admins make from one state.
struct Edit {
    what: &'static str,
    read: String,
    write: String,
    method: Method,
    first: Value,
    second: Value,
    /// The status a landed edit answers.
    landed: u16,
}

/// `GET path`: the body and its `ETag`.
async fn read(app: &TestApp, path: &str) -> (Value, String) {
    let response = app
        .api(Method::GET, path, &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    let etag = response
        .headers()
        .get("etag")
        .unwrap_or_else(|| panic!("GET {path} has no ETag"))
        .to_str()
        .unwrap()
        .to_owned();
    (response.json().await.unwrap(), etag)
}

/// The edit `body` with `If-Match: if_match` (none when `None`): status, body, `ETag`.
async fn write(
    app: &TestApp,
    edit: &Edit,
    if_match: Option<&str>,
    body: &Value,
) -> (u16, Value, Option<String>) {
    let mut request = app.api_as_is(edit.method.clone(), &edit.write, &app.account.admin_token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    let response = request.json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap_or(Value::Null), etag)
}

/// Races the two changes from one version, then lets the loser read again and land; the
/// loser's change, which is the last one made.
async fn two_admins(app: &TestApp, edit: &Edit) -> Value {
    let what = edit.what;
    let (_, etag) = read(app, &edit.read).await;

    // Without If-Match: 428, and nothing changed.
    let (status, error, _) = write(app, edit, None, &edit.first).await;
    assert_eq!(status, 428, "{what}: {error}");
    assert_eq!(error["error"]["code"], "version_required", "{what}");
    assert_eq!(
        read(app, &edit.read).await.1,
        etag,
        "{what}: changed by a 428"
    );
    // A weak tag never matches.
    let weak = format!("W/{etag}");
    let (status, _, _) = write(app, edit, Some(&weak), &edit.first).await;
    assert_eq!(status, 412, "{what}: a weak tag matched");

    // Both from the same version, at once: one lands, the other is told.
    let (a, b) = tokio::join!(
        write(app, edit, Some(&etag), &edit.first),
        write(app, edit, Some(&etag), &edit.second),
    );
    let (landed, refused, retry) = match (a.0, b.0) {
        (s, 412) if s == edit.landed => (a, b, &edit.second),
        (412, s) if s == edit.landed => (b, a, &edit.first),
        other => panic!("{what}: two edits from one version answered {other:?}"),
    };
    let (_, now) = read(app, &edit.read).await;
    assert_eq!(landed.2.as_deref(), Some(now.as_str()), "{what}: the ETag");
    assert_ne!(now, etag, "{what}: the version did not move");
    assert_eq!(refused.1["error"]["code"], "edited_meanwhile", "{what}");
    assert_eq!(
        refused.1["error"]["params"]["current_version"],
        now.trim_matches('"'),
        "{what}: the 412 names the version to read"
    );

    // The loser reads again and makes its change on the new state: it lands.
    let (status, body, _) = write(app, edit, Some(&now), retry).await;
    assert_eq!(status, edit.landed, "{what}: {body}");
    // `*` overwrites whatever is there, deliberately.
    let (status, body, _) = write(app, edit, Some("*"), retry).await;
    assert_eq!(status, edit.landed, "{what}: {body}");
    retry.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edits_from_one_version_one_is_told_and_nothing_is_lost() {
    let app = TestApp::spawn().await;
    let rig = app.stock_rig(&["VER-A", "VER-B", "VER-C"]).await;
    let product = app
        .get_json("/products?q=VER-A", &app.account.admin_token)
        .await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let component = |sku: &'static str| {
        let app = &app;
        async move {
            app.get_json(&format!("/products?q={sku}"), &app.account.admin_token)
                .await["data"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (b, c) = (component("VER-B").await, component("VER-C").await);
    let bom = |id: &str| json!({"output_quantity": "1", "components": [{"product_id": id, "quantity": "2"}]});
    // A product's first BOM has no version to name: `*`.
    app.answers(
        Method::PUT,
        &format!("/products/{product}/bom"),
        bom(&b),
        201,
    )
    .await;

    let edits = [
        Edit {
            what: "product",
            read: format!("/products/{product}"),
            write: format!("/products/{product}"),
            method: Method::PATCH,
            first: json!({"name": "Нова назва"}),
            second: json!({"barcode": "4820000000017"}),
            landed: 200,
        },
        Edit {
            what: "warehouse",
            read: format!("/warehouses/{}", rig.w1),
            write: format!("/warehouses/{}", rig.w1),
            method: Method::PATCH,
            first: json!({"name": "Склад на Подолі"}),
            second: json!({"allow_negative": true}),
            landed: 200,
        },
        Edit {
            what: "mapping",
            read: "/integrations/keycrm/warehouse-mapping".into(),
            write: "/integrations/keycrm/warehouse-mapping".into(),
            method: Method::PUT,
            // The rig maps W1 and W2 to keyCRM's 1 and leaves W3 out.
            first: json!({"mapping": [{"warehouse_id": rig.w2, "keycrm_warehouse_id": 2}]}),
            second: json!({"mapping": [{"warehouse_id": rig.w3, "keycrm_warehouse_id": 2}]}),
            landed: 200,
        },
        Edit {
            what: "BOM",
            read: format!("/products/{product}/bom"),
            write: format!("/products/{product}/bom"),
            method: Method::PUT,
            first: bom(&c),
            second: json!({"output_quantity": "2", "components": [{"product_id": b, "quantity": "3"}]}),
            landed: 201,
        },
        Edit {
            what: "settings",
            read: "/integrations/keycrm".into(),
            write: "/integrations/keycrm".into(),
            method: Method::PUT,
            first: json!({"receive_payments": true}),
            second: json!({"requests_per_minute": 55}),
            landed: 200,
        },
    ];
    let mut last = Vec::new();
    for edit in &edits {
        last.push(two_admins(&app, edit).await);
    }

    // Nothing lost: each resource holds both admins' changes.
    let token = &app.account.admin_token;
    let p = app.get_json(&format!("/products/{product}"), token).await;
    assert_eq!(
        (p["name"].as_str(), p["barcode"].as_str()),
        (Some("Нова назва"), Some("4820000000017"))
    );
    let w = app
        .get_json(&format!("/warehouses/{}", rig.w1), token)
        .await;
    assert_eq!(
        (w["name"].as_str(), w["allow_negative"].as_bool()),
        (Some("Склад на Подолі"), Some(true))
    );
    let mapping = app
        .get_json("/integrations/keycrm/warehouse-mapping", token)
        .await;
    let target = |id: &str| {
        mapping["mapping"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["warehouse_id"] == id)
            .map(|m| m["keycrm_warehouse_id"].clone())
    };
    assert_eq!(
        (target(&rig.w2), target(&rig.w3)),
        (Some(json!(2)), Some(json!(2)))
    );
    // The BOM: the first, the racer that landed, the loser's re-send and the `*` overwrite
    // are versions 1–4, the last current (each save is kept as a version).
    let current = app
        .get_json(&format!("/products/{product}/bom"), token)
        .await;
    assert_eq!(current["version"], 4, "{current}");
    assert_eq!(
        current["output_quantity"], last[3]["output_quantity"],
        "the loser's BOM, made last, is current: {current}"
    );
    let s = app.get_json("/integrations/keycrm", token).await;
    assert_eq!(
        (
            s["receive_payments"].as_bool(),
            s["requests_per_minute"].as_i64()
        ),
        (Some(true), Some(55))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_a_change_made_meanwhile_instead_of_overwriting_it() {
    let app = TestApp::spawn_with(AppOptions::default()).await;
    let created = app
        .created("/products", json!({"sku": "TAB-1", "name": "Стіл дубовий"}))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let browser = Browser::start(
        "edited_meanwhile",
        &format!("http://127.0.0.1:{}", app.api_port),
        "uk-UA,uk",
        Screen::Phone,
    )
    .await;
    crate::console_traps::sign_in(&browser, &app.account.admin_token).await;

    // The owner opens the product; meanwhile a colleague renames it through the API.
    browser.open(&format!("/products/{id}")).await;
    let (_, etag) = read(&app, &format!("/products/{id}")).await;
    let colleague = app
        .api_as_is(
            Method::PATCH,
            &format!("/products/{id}"),
            &app.account.admin_token,
        )
        .header("if-match", &etag)
        .json(&json!({"name": "Стіл дубовий, 120 см"}))
        .send()
        .await
        .unwrap();
    assert_eq!(colleague.status(), 200);

    // The owner, on the page as it was, changes the price and saves: told, not overwritten.
    browser.fill("#price", "4500").await;
    browser.click("#save-product").await;
    let notice = browser.text("#notice").await;
    browser.shot("told").await;
    assert!(
        notice.contains("Хтось інший змінив"),
        "the notice says someone else changed it: {notice}"
    );
    let shown = browser
        .script("return document.querySelector('#name').value", vec![])
        .await;
    assert_eq!(
        shown, "Стіл дубовий, 120 см",
        "the form shows the new state"
    );
    let product = app
        .get_json(&format!("/products/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(
        product["name"], "Стіл дубовий, 120 см",
        "the colleague's change stays"
    );
    assert_eq!(
        product["price"],
        Value::Null,
        "the stale save changed nothing"
    );

    // Back to the page as it was, and saved again: told again (the page still holds the
    // old version) or, if the browser fetched it anew, saved over the new state; either
    // way the colleague's name stays.
    browser.script("history.back()", vec![]).await;
    browser.find("#product-edit").await;
    browser.fill("#price", "4500").await;
    browser.click("#save-product").await;
    let again = browser.text("#notice").await;
    assert!(
        again.contains("Хтось інший змінив") || again.contains("Товар збережено"),
        "{again}"
    );
    let product = app
        .get_json(&format!("/products/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(product["name"], "Стіл дубовий, 120 см", "after Back");

    // On the new state shown, the owner's change lands.
    browser.open(&format!("/products/{id}")).await;
    browser.fill("#price", "4500").await;
    browser.click("#save-product").await;
    browser.find("#notice.ok").await;
    browser.shot("saved").await;
    let product = app
        .get_json(&format!("/products/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(product["name"], "Стіл дубовий, 120 см");
    assert_eq!(product["price"], "4500");
    browser.close().await;
}
