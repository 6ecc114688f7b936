//! The admin API: settings, webhook link rotation, keyCRM statuses, auth and isolation.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sklad_tests::{SIM_API_KEY, TestApp, fixture};

async fn body(response: reqwest::Response) -> Value {
    response.json().await.expect("JSON body")
}

#[derive(QueryableByName)]
struct Dump {
    #[diesel(sql_type = Text)]
    dump: String,
}

/// Every row of every table in the test database, as JSON text.
async fn dump_database(app: &TestApp) -> String {
    let mut conn = app.db().conn().await.unwrap();
    let tables: Vec<Dump> = diesel::sql_query(
        "SELECT table_name AS dump FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let mut all = String::new();
    for table in tables {
        let rows: Vec<Dump> = diesel::sql_query(format!(
            "SELECT coalesce(string_agg(row_to_json(t)::text, '\n'), '') AS dump FROM \"{}\" t",
            table.dump
        ))
        .load(&mut conn)
        .await
        .unwrap();
        for row in rows {
            all.push_str(&row.dump);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_round_trip_with_the_key_masked_and_encrypted_at_rest() {
    let app = TestApp::spawn().await;
    let fresh = app.create_account("new shop", false).await;

    let before = app
        .get_json("/integrations/keycrm", &fresh.admin_token)
        .await;
    assert_eq!(before["api_key"], Value::Null);
    assert_eq!(before["api_key_set"], false);
    assert_eq!(before["enabled"], false);
    assert_eq!(before["requests_per_minute"], 6000);
    assert_eq!(before["webhook_url"], fresh.webhook_url.as_str());

    let update = json!({
        "api_key": SIM_API_KEY,
        "enabled": true,
        "receive_payments": true,
        "archive_status_ids": [6, 5, 5],
        "keep_product_info": true,
        "stock_push_enabled": true,
        "requests_per_minute": 55,
    });
    let response = app
        .api(Method::PUT, "/integrations/keycrm", &fresh.admin_token)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let saved = body(response).await;
    let masked = format!("••••••••{}", &SIM_API_KEY[SIM_API_KEY.len() - 4..]);
    assert_eq!(saved["api_key"], masked.as_str());
    assert_eq!(saved["api_key_set"], true);
    assert_eq!(saved["enabled"], true);
    assert_eq!(saved["receive_payments"], true);
    assert_eq!(saved["archive_status_ids"], json!([5, 6]));
    assert_eq!(saved["keep_product_info"], true);
    assert_eq!(saved["stock_push_enabled"], true);
    assert_eq!(saved["requests_per_minute"], 55);
    assert_eq!(saved["base_url"], app.sim_api_url.as_str());

    let read = app
        .get_json("/integrations/keycrm", &fresh.admin_token)
        .await;
    assert_eq!(read, saved);
    assert!(!read.to_string().contains(SIM_API_KEY));

    // Partial update: only what is sent changes; the key stays.
    let partial = body(
        app.api(Method::PUT, "/integrations/keycrm", &fresh.admin_token)
            .json(&json!({"receive_payments": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(partial["receive_payments"], false);
    assert_eq!(partial["api_key"], masked.as_str());
    assert_eq!(partial["archive_status_ids"], json!([5, 6]));

    // At rest: the key appears in no column, in text or hex; it decrypts back for its account.
    let dump = dump_database(&app).await;
    let hex: String = SIM_API_KEY.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(
        !dump.contains(SIM_API_KEY),
        "plain API key found in the database"
    );
    assert!(
        !dump.contains(&hex),
        "hex of the API key found in the database"
    );
    let mut conn = app.db().conn().await.unwrap();
    let stored = sklad_db::integrations::api_key(&mut conn, &app.secrets(), fresh.id)
        .await
        .unwrap()
        .expect("key saved");
    assert_eq!(stored.api_key.expose_secret(), SIM_API_KEY);
    let saved = sklad_db::integrations::get(&mut conn, fresh.id)
        .await
        .unwrap();
    assert_eq!(saved.settings.requests_per_minute, 55);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_keycrm_rejects_is_not_saved() {
    let app = TestApp::spawn().await;
    let fresh = app.create_account("new shop", false).await;
    let response = app
        .api(Method::PUT, "/integrations/keycrm", &fresh.admin_token)
        .json(&json!({"api_key": "wrong-key-0000000000", "enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let error = body(response).await;
    assert_eq!(error["error"]["code"], "keycrm_rejected_key");
    assert!(error["error"]["message"].as_str().unwrap().contains("401"));

    let read = app
        .get_json("/integrations/keycrm", &fresh.admin_token)
        .await;
    assert_eq!(read["api_key_set"], false);
    assert_eq!(read["enabled"], false);
    // keyCRM was asked exactly once with the rejected key (401 is not retried).
    let asked = app
        .sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.status == 401)
        .count();
    assert_eq!(asked, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_get_clear_errors_and_change_nothing() {
    let app = TestApp::spawn().await;
    let fresh = app.create_account("new shop", false).await;
    let before = app
        .get_json("/integrations/keycrm", &fresh.admin_token)
        .await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"requests_per_minute": 0}), 422, "validation_failed"),
        (
            json!({"requests_per_minute": 100000}),
            422,
            "validation_failed",
        ),
        (
            json!({"base_url": "ftp://example.com"}),
            422,
            "validation_failed",
        ),
        (json!({"base_url": "not a url"}), 422, "validation_failed"),
        (
            json!({"api_key": "has spaces in it"}),
            422,
            "validation_failed",
        ),
        (json!({"api_key": ""}), 422, "validation_failed"),
        (
            json!({"archive_status_ids": [1, -2]}),
            422,
            "validation_failed",
        ),
        (json!({"enabled": true}), 422, "validation_failed"),
        (json!({"enabeld": true}), 422, "validation_failed"),
        (json!({"enabled": "yes"}), 422, "validation_failed"),
    ];
    for (update, status, code) in cases {
        let response = app
            .api(Method::PUT, "/integrations/keycrm", &fresh.admin_token)
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{update}");
        let error = body(response).await;
        assert_eq!(error["error"]["code"], code, "{update}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let malformed = app
        .api(Method::PUT, "/integrations/keycrm", &fresh.admin_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(body(malformed).await["error"]["code"], "bad_request");

    let after = app
        .get_json("/integrations/keycrm", &fresh.admin_token)
        .await;
    assert_eq!(after, before, "a refused change changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_admin_token_get_401() {
    let app = TestApp::spawn().await;
    let url = app.api_url("/integrations/keycrm");
    let no_header = app.http.get(&url).send().await.unwrap();
    assert_eq!(no_header.status(), 401);
    assert_eq!(body(no_header).await["error"]["code"], "unauthorized");
    for token in ["wrong", "", &app.account.webhook_url] {
        let response = app.http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let basic = app
        .http
        .get(&url)
        .basic_auth("x", Some("y"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    let unknown = app
        .api(Method::GET, "/nope", &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(body(unknown).await["error"]["code"], "not_found");
}

/// Rotates the account's webhook link; returns the new one.
async fn rotate(app: &TestApp) -> String {
    let rotated = app
        .api(
            Method::POST,
            "/integrations/keycrm/webhook-token/rotate",
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 200);
    body(rotated).await["webhook_url"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The rotation answers only once every ingress dropped the old link: 50 rotations, each
/// after the old link was remembered by ingress (a 202), then a webhook on the old link at
/// once: none is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_rotations_leave_no_old_link_working() {
    let app = TestApp::spawn().await;
    let hook = fixture("webhook-order-change_order_status.A.json");
    let mut link = app.account.webhook_url.clone();
    let mut taken = 0;
    for _ in 0..50 {
        assert_eq!(app.post_webhook(&link, hook.clone()).await.status(), 202);
        let old = std::mem::replace(&mut link, rotate(&app).await);
        if app.post_webhook(&old, hook.clone()).await.status() != 404 {
            taken += 1;
        }
    }
    assert_eq!(taken, 0, "webhooks taken on a rotated link");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_webhook_token_replaces_the_link_at_once() {
    let app = TestApp::spawn().await;
    let old = app.account.webhook_url.clone();
    let hook = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(app.post_webhook(&old, hook.clone()).await.status(), 202);

    let new = rotate(&app).await;
    assert_ne!(new, old);
    assert!(new.starts_with(&format!("{}/webhooks/keycrm/", app.ingress_url())));

    assert_eq!(app.post_webhook(&old, hook.clone()).await.status(), 404);
    assert_eq!(app.post_webhook(&new, hook).await.status(), 202);
    let settings = body(
        app.api(
            Method::GET,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(settings["webhook_url"], new.as_str());
    assert_eq!(app.broker.depth(&app.order_sync_queue()).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_can_never_read_or_change_another() {
    let app = TestApp::spawn().await;
    let a = app.account.clone();
    let b = app.create_account("other shop", true).await;

    let a_before = app.get_json("/integrations/keycrm", &a.admin_token).await;
    let b_view = app.get_json("/integrations/keycrm", &b.admin_token).await;
    assert_eq!(b_view["webhook_url"], b.webhook_url.as_str());
    assert_ne!(b_view["webhook_url"], a_before["webhook_url"]);

    let changed = app
        .api(Method::PUT, "/integrations/keycrm", &b.admin_token)
        .json(&json!({"receive_payments": true, "archive_status_ids": [7], "enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let rotated = body(
        app.api(
            Method::POST,
            "/integrations/keycrm/webhook-token/rotate",
            &b.admin_token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;

    let a_after = app.get_json("/integrations/keycrm", &a.admin_token).await;
    assert_eq!(a_after, a_before, "B's changes did not touch A");
    assert_ne!(rotated["webhook_url"], a_after["webhook_url"]);

    // A's link still publishes for A; B's new link is B's (switched off, so ignored).
    let hook = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(
        app.post_webhook(&a.webhook_url, hook.clone())
            .await
            .status(),
        202
    );
    let b_answer = app
        .post_webhook(rotated["webhook_url"].as_str().unwrap(), hook)
        .await;
    assert_eq!(b_answer.status(), 202);
    assert_eq!(body(b_answer).await["status"], "ignored");
    let queued = app.broker.drain(&app.order_sync_queue()).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        sklad_bus::headers::get_str(
            queued[0].properties.headers().as_ref(),
            "cloudEvents:skladaccount"
        ),
        Some(a.id.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycrm_statuses_are_read_across_every_page() {
    let app = TestApp::spawn().await;
    let statuses: Vec<Value> = (1..=120)
        .map(|id| json!({"id": id, "name": format!("Статус {id}"), "alias": format!("s{id}"), "group_id": 1 + id % 6}))
        .collect();
    app.http
        .put(format!("{}/statuses", app.sim_control_url))
        .json(&statuses)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    app.sim.lock().requests.clear();

    let response = app
        .api(Method::GET, "/keycrm/statuses", &app.account.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let data = body(response).await["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 120);
    assert_eq!(data[119]["id"], 120);
    assert_eq!(data[0]["name"], "Статус 1");
    let pages: Vec<String> = app
        .sim
        .lock()
        .requests
        .iter()
        .filter(|r| r.path == "/v1/order/status")
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(
        pages,
        ["page=1&limit=50", "page=2&limit=50", "page=3&limit=50"]
    );

    let fresh = app.create_account("no key yet", false).await;
    let missing = app
        .api(Method::GET, "/keycrm/statuses", &fresh.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 409);
    assert_eq!(
        body(missing).await["error"]["code"],
        "keycrm_not_configured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_api() {
    let app = TestApp::spawn().await;
    let doc = body(
        app.http
            .get(app.api_url("/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/integrations/keycrm",
        "/integrations/keycrm/webhook-token/rotate",
        "/keycrm/statuses",
        "/movements/{id}/reverse",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["paths"]["/integrations/keycrm"]["put"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["IntegrationView"].is_object());
    // Every route is documented (they are mounted from the same list), kinds are enums and
    // lists share one page shape.
    assert_eq!(doc["paths"].as_object().unwrap().len(), 41);
    let kinds: Vec<&Value> = doc["components"]["schemas"]["NewMovement"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kind| &kind["properties"]["kind"]["enum"][0])
        .collect();
    assert_eq!(
        kinds,
        [
            &json!("receipt"),
            &json!("write_off"),
            &json!("transfer"),
            &json!("inventory")
        ]
    );
    // What every operation with a body can answer is in the document.
    let post = &doc["paths"]["/warehouses"]["post"]["responses"];
    for status in ["400", "401", "413", "415", "422", "503"] {
        assert!(post[status].is_object(), "POST /warehouses lacks {status}");
    }
    // `base_url` takes exactly what the operator allows; links are spelled as OpenAPI says.
    let allowed =
        &doc["components"]["schemas"]["IntegrationUpdate"]["properties"]["base_url"]["enum"];
    assert!(
        allowed
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u.as_str().unwrap().starts_with("http://127.0.0.1")),
        "{allowed}"
    );
    assert_eq!(
        doc["paths"]["/movements"]["post"]["responses"]["201"]["links"]["GetMovement"]["operationId"],
        "get_movement"
    );
    let update = &doc["components"]["schemas"]["IntegrationUpdate"];
    assert!(update["properties"]["api_key"].is_object(), "{update}");
    assert!(update["properties"]["archive_status_ids"].is_object());
    assert!(
        update
            .get("required")
            .is_none_or(|r| r.as_array().unwrap().is_empty())
    );
    let orders = &doc["paths"]["/orders"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["$ref"];
    assert!(orders.as_str().unwrap().contains("Page"), "{orders}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_served() {
    let app = TestApp::spawn().await;
    for base in [
        app.ingress_ops_url(),
        format!("http://127.0.0.1:{}", app.api_port),
    ] {
        let live = app
            .http
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status(), 200);
        let ready = app
            .http
            .get(format!("{base}/health/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(body(ready).await["checks"]["postgres"]["status"], "up");
        let metrics = app
            .http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("# TYPE"),
            "{base}/metrics is Prometheus text"
        );
    }
    let (_, ready) = app.ingress_ready().await;
    assert_eq!(ready["checks"]["rabbitmq"]["status"], "up");
    // The public webhook port serves the webhook route and nothing else.
    for path in ["/health/live", "/health/ready", "/metrics"] {
        let public = app
            .http
            .get(format!("{}{path}", app.ingress_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(public.status(), 404, "{path} on the webhook port");
    }
}
