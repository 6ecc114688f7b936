//! The keyCRM client against the simulator's faults and loose data (and wiremock for one
//! edge case the simulator has no reason to produce).

use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::json;
use sklad_keycrm::Credentials as KeycrmCredentials;
use sklad_keycrm::{Budget, KeycrmClient, KeycrmError, OrderFilter, Priority, RetryPolicy};
use sklad_tests::{SIM_API_KEY, TestApp};

fn client(app: &TestApp, key: &str, base_url: &str, max_attempts: u32) -> KeycrmClient {
    let credentials = KeycrmCredentials {
        base_url: base_url.to_owned(),
        api_key: SecretString::from(key.to_owned()),
        fingerprint: format!("fp-{key}").into_bytes(),
        requests_per_minute: 6000,
    };
    KeycrmClient::new(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap(),
        Budget::new(app.db().clone()),
        &credentials,
        RetryPolicy {
            max_attempts,
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(400),
            max_budget_wait: None,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_5xx_dropped_connections_and_429s() {
    let app = TestApp::spawn().await;
    {
        let mut sim = app.sim.lock();
        sim.faults.error_next = 2;
        sim.faults.drop_next = 1;
        sim.faults.rate_limit_next = 2;
        sim.requests.clear();
    }
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 8);
    let statuses = keycrm.order_statuses().await.expect("retried to success");
    assert_eq!(statuses.len(), 10);
    let seen: Vec<u16> = app.sim.lock().requests.iter().map(|r| r.status).collect();
    assert_eq!(
        seen,
        [429, 429, 500, 500, 0, 200],
        "0 marks the dropped connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gives_up_after_the_configured_attempts() {
    let app = TestApp::spawn().await;
    app.sim.lock().faults.error_next = 10;
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 3);
    let err = keycrm.order_statuses().await.unwrap_err();
    assert!(matches!(err, KeycrmError::Server(500)), "{err:?}");
    assert_eq!(app.sim.lock().requests.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honours_retry_after_from_the_real_limit() {
    let app = TestApp::spawn().await;
    {
        let mut sim = app.sim.lock();
        sim.requests_per_minute = 2;
        sim.window = Duration::from_secs(2);
        sim.windows.clear();
        sim.requests.clear();
    }
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 6);
    let started = Instant::now();
    for _ in 0..3 {
        keycrm
            .order_statuses_page(1, 50, Priority::Normal)
            .await
            .unwrap();
    }
    let statuses: Vec<u16> = app.sim.lock().requests.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3);
    assert!(
        statuses.contains(&429),
        "the third request met the limit: {statuses:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was waited out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_key_is_asked_once() {
    let app = TestApp::spawn().await;
    app.sim.lock().requests.clear();
    let keycrm = client(&app, "not-the-key", &app.sim_api_url, 6);
    let err = keycrm.order_statuses().await.unwrap_err();
    assert!(matches!(err, KeycrmError::Unauthorized(401)));
    assert_eq!(app.sim.lock().requests.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_loose_orders_page_by_page_with_filters() {
    let app = TestApp::spawn().await;
    let generated: serde_json::Value = app
        .http
        .post(format!("{}/orders/generate", app.sim_control_url))
        .json(&json!({"count": 120, "status_ids": [1, 2, 3], "seed": 3, "one_time_every": 4, "with_payments": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(generated["ids"].as_array().unwrap().len(), 120);
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 3);

    let mut orders = Vec::new();
    let mut page = 1;
    loop {
        let current = keycrm
            .orders_page(&OrderFilter::default(), page, 50, Priority::Bulk)
            .await
            .unwrap();
        let more = current.has_next();
        orders.extend(current.data.into_iter().map(read));
        if !more {
            break;
        }
        page += 1;
    }
    assert_eq!(page, 3);
    assert_eq!(orders.len(), 120);
    let mut one_time_lines = 0;
    for doc in &orders {
        let order = &doc.order;
        assert!(order.updated_at.is_some() && order.created_at.is_some());
        let lines_total: Decimal = order
            .products
            .iter()
            .map(|l| l.price_sold.unwrap() * l.quantity.unwrap())
            .sum();
        assert_eq!(order.grand_total, Some(lines_total), "order {}", order.id);
        assert_eq!(order.payments.len(), 1);
        assert_eq!(order.payments[0].amount, Some(lines_total));
        for line in &order.products {
            match &line.offer {
                Some(offer) => {
                    assert_eq!(offer.properties.len(), 2);
                    assert_eq!(offer.sku, line.sku);
                }
                None => {
                    one_time_lines += 1;
                    assert!(line.sku.is_none());
                }
            }
        }
        assert_eq!(doc.raw["id"], order.id);
    }
    assert_eq!(one_time_lines, 30);
    // Both decimal forms and both timestamp forms occurred in what was parsed.
    let raw = serde_json::to_string(&orders.iter().map(|d| &d.raw).collect::<Vec<_>>()).unwrap();
    assert!(raw.contains(r#""price":"450.00""#) || raw.contains(r#""price_sold":"450.00""#));
    assert!(raw.contains(r#".000000Z""#) || raw.contains(r#"Z""#));

    let in_status_two = keycrm
        .orders_page(
            &OrderFilter {
                status_ids: vec![2],
                ..OrderFilter::default()
            },
            1,
            50,
            Priority::Bulk,
        )
        .await
        .unwrap();
    assert_eq!(in_status_two.total, Some(40));
    assert!(
        in_status_two
            .data
            .into_iter()
            .map(read)
            .all(|d| d.order.status_id == Some(2))
    );

    let newest = orders
        .iter()
        .filter_map(|d| d.order.updated_at)
        .max()
        .unwrap();
    let recent = keycrm
        .orders_page(
            &OrderFilter {
                status_ids: Vec::new(),
                updated_between: Some((
                    newest - chrono::TimeDelta::minutes(9),
                    newest + chrono::TimeDelta::seconds(1),
                )),
            },
            1,
            50,
            Priority::Bulk,
        )
        .await
        .unwrap();
    let recent_total = recent.total.unwrap();
    assert!(
        (9..=11).contains(&recent_total),
        "{recent_total} orders in the last 9 minutes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_orders_and_missing_ones() {
    let app = TestApp::spawn().await;
    let created: serde_json::Value = app
        .http
        .post(format!("{}/orders", app.sim_control_url))
        .json(&json!({
            "status_id": 2,
            "buyer": {"full_name": "Олена", "phone": "+380501112233"},
            "lines": [
                {"sku": "gift-wrap", "name": "Пакування", "price": "25.50", "quantity": 2, "one_time": true},
                {"name": "Без артикула", "price": 10, "one_time": true}
            ],
            "payments": [{"amount": "61.00", "status": "paid"}]
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap();
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 3);
    let doc = keycrm.order(id, Priority::Normal).await.unwrap();
    assert_eq!(doc.order.id, id);
    assert_eq!(
        doc.order.buyer.as_ref().unwrap().full_name.as_deref(),
        Some("Олена")
    );
    assert_eq!(doc.order.products.len(), 2);
    assert_eq!(doc.order.products[0].sku.as_deref(), Some("gift-wrap"));
    assert!(doc.order.products[1].sku.is_none());
    assert_eq!(doc.order.grand_total, Some(Decimal::new(61, 0)));
    assert_eq!(doc.order.payment_status.as_deref(), Some("paid"));
    assert_eq!(doc.order.status.as_ref().unwrap().id, 2);

    let missing = keycrm.order(999_999, Priority::Normal).await.unwrap_err();
    assert!(matches!(missing, KeycrmError::NotFound));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_writes_are_absolute_and_bad_ones_get_422_without_retries() {
    let app = TestApp::spawn().await;
    app.http
        .post(format!("{}/offers", app.sim_control_url))
        .json(&json!([{"sku": "A-1", "name": "A", "price": 1}, {"sku": "B-2", "name": "B", "price": 2}]))
        .send()
        .await
        .unwrap();
    let keycrm = client(&app, SIM_API_KEY, &app.sim_api_url, 3);
    let item = |sku: &str, q: i64| sklad_keycrm::models::StockItem {
        sku: sku.into(),
        quantity: Decimal::new(q, 0),
    };
    keycrm
        .put_stocks(1, &[item("A-1", 5), item("B-2", 7)])
        .await
        .unwrap();
    keycrm.put_stocks(1, &[item("A-1", 3)]).await.unwrap();
    let page = keycrm
        .stocks_page(true, 1, 50, Priority::Bulk)
        .await
        .unwrap();
    let quantities: Vec<_> = page
        .data
        .iter()
        .map(|s| (s.sku.clone().unwrap(), s.warehouse[0].quantity.unwrap()))
        .collect();
    assert_eq!(
        quantities,
        [
            ("A-1".to_owned(), Decimal::new(3, 0)),
            ("B-2".to_owned(), Decimal::new(7, 0))
        ]
    );

    let writes_before = app.sim.lock().stock_writes.len();
    let err = keycrm.put_stocks(1, &[item("nope", 1)]).await.unwrap_err();
    match err {
        KeycrmError::Validation(body) => assert!(body.contains("stocks.0.sku"), "{body}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(
        app.sim.lock().stock_writes.len(),
        writes_before + 1,
        "422 is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_success_body_is_a_decode_error_not_a_retry_loop() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let app = TestApp::spawn().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/order/status"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let keycrm = client(&app, SIM_API_KEY, &format!("{}/v1", server.uri()), 5);
    let err = keycrm
        .order_statuses_page(1, 50, Priority::Normal)
        .await
        .unwrap_err();
    assert!(matches!(err, KeycrmError::Decode(_)), "{err:?}");
}

/// An allowed host answering with a redirect elsewhere is not followed: the key goes
/// nowhere else, and the answer counts as "not keyCRM" (the integration gets flagged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_not_followed_and_counts_as_not_keycrm() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let app = TestApp::spawn().await;
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let allowed = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/v1/order/status", elsewhere.uri())),
        )
        .expect(1)
        .mount(&allowed)
        .await;
    let credentials = KeycrmCredentials {
        base_url: format!("{}/v1", allowed.uri()),
        api_key: SecretString::from(SIM_API_KEY.to_owned()),
        fingerprint: b"fp-redirect".to_vec(),
        requests_per_minute: 6000,
    };
    let keycrm = KeycrmClient::new(
        sklad_keycrm::client::http_client(&app.settings.keycrm),
        Budget::new(app.db().clone()),
        &credentials,
        RetryPolicy::interactive(),
    );
    let err = keycrm
        .order_statuses_page(1, 50, Priority::Normal)
        .await
        .unwrap_err();
    assert!(
        matches!(err, KeycrmError::NotKeycrm { status: 302, .. }),
        "{err:?}"
    );
}

/// The order a page carried, which must have been readable.
fn read(order: sklad_keycrm::PageOrder) -> sklad_keycrm::OrderDocument {
    match order {
        sklad_keycrm::PageOrder::Read(doc) => *doc,
        other => panic!("unreadable: {other:?}"),
    }
}

/// A 429 moves the key's schedule back for everyone using the key: a second client (another
/// process, say) sends nothing until keyCRM's `Retry-After` has passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_holds_back_every_client_of_the_key() {
    let app = TestApp::spawn().await;
    let first = client(&app, SIM_API_KEY, &app.sim_api_url, 3);
    let second = client(&app, SIM_API_KEY, &app.sim_api_url, 3);
    app.sim.lock().faults.rate_limit_next = 1; // answered with Retry-After: 1
    app.sim.lock().requests.clear();
    let waiting =
        tokio::spawn(async move { first.order_statuses_page(1, 1, Priority::Normal).await });
    // As soon as keyCRM said 429 to the first client, the second asks.
    let limited_at = sklad_tests::eventually(Duration::from_secs(5), "the 429", || async {
        app.sim.lock().requests.front().map(|r| r.at_ms)
    })
    .await;
    second
        .order_statuses_page(1, 1, Priority::Normal)
        .await
        .unwrap();
    waiting.await.unwrap().unwrap();
    let requests = app.sim.lock().requests.clone();
    assert_eq!(requests[0].status, 429);
    assert!(
        requests.iter().skip(1).all(|r| r.at_ms - limited_at >= 950),
        "no request with the key within the Retry-After: {requests:?}"
    );
}
