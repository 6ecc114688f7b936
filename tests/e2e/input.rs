//! Odd input gets a clear 4xx with sklad's error body, changes nothing, and never a 500.

use reqwest::Method;
use serde_json::{Value, json};
use sklad_tests::TestApp;

async fn answer(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.api(method, path, &app.account.admin_token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_input_is_refused_with_4xx_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let warehouse = app.created("/warehouses", json!({"name": "Main"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.created("/products", json!({"sku": "Q-1", "name": "Q"}))
        .await;
    let receipt = |quantity: Value| json!({"kind": "receipt", "warehouse_id": warehouse, "lines": [{"sku": "Q-1", "quantity": quantity}]});
    let lines: Vec<Value> = (0..10_001)
        .map(|_| json!({"sku": "Q-1", "quantity": 1}))
        .collect();
    let deep = (0..300).fold(json!(1), |inner, _| json!([inner]));
    let cases: Vec<(Method, String, Option<Value>, u16)> = vec![
        (
            Method::POST,
            "/movements".into(),
            Some(json!({"kind": "receipt", "warehouse_id": warehouse, "lines": lines})),
            422,
        ),
        (
            Method::POST,
            "/movements".into(),
            Some(receipt(json!("1000000000000000"))),
            422,
        ),
        (
            Method::POST,
            "/movements".into(),
            Some(receipt(json!("0.00001"))),
            422,
        ),
        (
            Method::POST,
            "/movements".into(),
            Some(receipt(json!(1e300))),
            422,
        ),
        (
            Method::POST,
            "/warehouses".into(),
            Some(json!({"name": "bad\u{0}name"})),
            422,
        ),
        (
            Method::POST,
            "/products".into(),
            Some(json!({"sku": "P-2", "name": "P", "properties": {"colour": "wh\u{0}ite"}})),
            422,
        ),
        (
            Method::POST,
            "/products".into(),
            Some(json!({"sku": "P-2", "name": "P", "price": "-1"})),
            422,
        ),
        (
            Method::POST,
            "/products".into(),
            Some(json!({"sku": "P-2", "name": "P", "price": "100000000000000000"})),
            422,
        ),
        (Method::POST, "/warehouses".into(), Some(deep), 400),
        (Method::GET, "/products?sku=%00".into(), None, 422),
        (
            Method::GET,
            "/stock-pushes?page=9223372036854775807".into(),
            None,
            422,
        ),
        (Method::GET, "/orders?per_page=0".into(), None, 422),
        (Method::GET, "/orders?page=abc".into(), None, 400),
        (
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping".into(),
            Some(
                json!({"mapping": (0..1001).map(|_| json!({"warehouse_id": warehouse, "keycrm_warehouse_id": null})).collect::<Vec<_>>()}),
            ),
            422,
        ),
    ];
    for (method, path, body, expected) in cases {
        let (status, error) = answer(&app, method.clone(), &path, body).await;
        assert_eq!(status, expected, "{method} {path}: {error}");
        assert!(
            error["error"]["code"].is_string(),
            "{method} {path}: {error}"
        );
    }

    // A number larger than any id.
    let huge = app
        .api(Method::POST, "/keycrm/warehouses", &app.account.admin_token)
        .header("content-type", "application/json")
        .body(r#"{"id": 99999999999999999999, "name": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 422);

    // A balance that would leave numeric(18, 4): the second receipt is refused whole.
    let big = receipt(json!("90000000000000"));
    assert_eq!(
        answer(&app, Method::POST, "/movements", Some(big.clone()))
            .await
            .0,
        201
    );
    let (status, error) = answer(&app, Method::POST, "/movements", Some(big)).await;
    assert_eq!(status, 422, "{error}");
    let balances = app.get_json("/balances", &app.account.admin_token).await;
    assert_eq!(balances["data"][0]["quantity"], "90000000000000");
    let movements = app.get_json("/movements", &app.account.admin_token).await;
    assert_eq!(movements["total"], 1, "nothing else was recorded");
    let warehouses = app.get_json("/warehouses", &app.account.admin_token).await;
    assert_eq!(warehouses["total"], 1);
    let products = app.get_json("/products", &app.account.admin_token).await;
    assert_eq!(products["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shapes_methods_and_budget_answer_as_documented() {
    let app = TestApp::spawn().await;
    let warehouse = app.created("/warehouses", json!({"name": "Main"})).await;
    let id = warehouse["id"].as_str().unwrap();

    // serde would read a struct from an array of its fields; the API takes objects only.
    let path = format!("/warehouses/{id}");
    let (status, error) = answer(&app, Method::PATCH, &path, Some(json!([null, true]))).await;
    assert_eq!(status, 422, "{error}");
    let (status, error) = answer(
        &app,
        Method::PUT,
        "/integrations/keycrm/warehouse-mapping",
        Some(json!({"mapping": [[id, null]]})),
    )
    .await;
    assert_eq!(status, 422, "{error}");
    let unchanged = app.get_json("/warehouses", &app.account.admin_token).await;
    assert_eq!(unchanged["data"][0]["allow_negative"], false);

    // Properties are a list of name/value, in and out; an object is refused.
    let product = app
        .created(
            "/products",
            json!({"sku": "S-1", "name": "Shirt", "properties": [{"name": "Colour", "value": "white"}]}),
        )
        .await;
    assert_eq!(
        product["properties"],
        json!([{"name": "Colour", "value": "white"}])
    );
    let (status, _) = answer(
        &app,
        Method::POST,
        "/products",
        Some(json!({"sku": "S-2", "name": "Shirt", "properties": {"Colour": "white"}})),
    )
    .await;
    assert_eq!(status, 422);

    // A documented path called with another method: 405 naming the ones it takes.
    let response = app
        .api(Method::DELETE, "/warehouses", &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
    let response = app
        .api(Method::DELETE, &path, &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH");
    assert_eq!(
        app.status(Method::GET, "/no-such-thing", &app.account.admin_token)
            .await,
        404
    );

    // A person is not kept waiting on a spent keyCRM budget: 429 with Retry-After.
    let (status, _) = answer(
        &app,
        Method::PUT,
        "/integrations/keycrm",
        Some(json!({"requests_per_minute": 1})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.status(Method::GET, "/keycrm/statuses", &app.account.admin_token)
            .await,
        200
    );
    let spent = app
        .api(Method::GET, "/keycrm/statuses", &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(spent.status(), 429);
    let retry_after: u64 = spent.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((5..=60).contains(&retry_after), "{retry_after}");
    let error: Value = spent.json().await.unwrap();
    assert_eq!(error["error"]["code"], "keycrm_budget_spent");
}
