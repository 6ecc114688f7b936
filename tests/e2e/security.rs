//! Where the keyCRM key may go, and what sklad does when keyCRM refuses it.

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, SIM_API_KEY, TestApp, eventually, process_env};

use crate::cli::sklad;

/// A second "keyCRM" on another port: where a changed base URL would send the key.
fn elsewhere() -> keycrm_sim::RunningSim {
    keycrm_sim::build("127.0.0.1:0", vec![SIM_API_KEY.into()], 6000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base_url_change_alone_never_sends_the_key_to_a_new_host() {
    let other = elsewhere();
    let other_url = other.api_url();
    let other_sim = other.sim.clone();
    tokio::spawn(other.server);
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        allowed_base_urls: vec![other_url.clone()],
        ..AppOptions::default()
    })
    .await;
    let put = |body: Value| {
        app.api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&body)
        .send()
    };

    // Allowed host, but no key in the request: refused, and the key went nowhere.
    let moved = put(json!({"base_url": other_url})).await.unwrap();
    assert_eq!(moved.status(), 422);
    let error: Value = moved.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("api_key"),
        "{error}"
    );
    // A host the operator did not allow: refused even with the key.
    let foreign = put(json!({"base_url": "http://127.0.0.1:9/v1", "api_key": SIM_API_KEY}))
        .await
        .unwrap();
    assert_eq!(foreign.status(), 422);
    let error: Value = foreign.json().await.unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow"),
        "{error}"
    );

    // Work goes on against the saved URL; the other host still sees nothing.
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "A", "price": 1, "one_time": true}]}))
        .await;
    app.sim_status(id, 2).await;
    app.wait_for_order(id, "order through the saved URL", |o| o["status_id"] == 2)
        .await;
    assert_eq!(
        other_sim.lock().requests.len(),
        0,
        "the key never left for the new host"
    );
    let settings = app
        .get_json("/integrations/keycrm", &app.account.admin_token)
        .await;
    assert_eq!(settings["base_url"], app.sim_api_url);

    // With the key, verified against the new URL: saved, after exactly one request there.
    let moved = put(json!({"base_url": other_url, "api_key": SIM_API_KEY}))
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);
    assert_eq!(other_sim.lock().requests.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_flags_the_integration_and_stops_keycrm_work_until_it_is_saved_again() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    let first = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "A", "price": 1, "one_time": true}]}))
        .await;
    let second = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "B", "price": 1, "one_time": true}]}))
        .await;
    // keyCRM stops accepting the key (revoked in keyCRM's settings).
    app.sim.lock().api_keys = vec!["a-new-key-00000000000000".into()];
    app.sim_status(first, 2).await;
    let flagged = eventually(Duration::from_secs(30), "integration flagged", || async {
        let settings = app
            .get_json("/integrations/keycrm", &app.account.admin_token)
            .await;
        settings["key_rejected_at"].is_string().then_some(settings)
    })
    .await;
    assert!(
        flagged["keycrm_answer"].as_str().unwrap().contains("401"),
        "{flagged}"
    );
    let refused = app.sim_count(|r| r.status == 401);
    assert!(refused >= 1);
    let env = process_env(&app, &[]);
    let status = sklad(&env, &["status", "--json"]).output().await.unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["postgres"]["flagged_integrations"][0]["account_id"],
        app.account.id.to_string(),
        "{status}"
    );

    // More webhooks while flagged: taken and kept, but no request is spent on them.
    app.sim_status(second, 2).await;
    app.sim_status(first, 3).await;
    eventually(Duration::from_secs(10), "webhooks taken", || async {
        (app.broker.depth(&app.order_sync_queue()).await.ok()? == 0).then_some(())
    })
    .await;
    let mut conn = app.db().conn().await.unwrap();
    let waiting = sklad_db::fetches::backlog(&mut conn).await.unwrap().0;
    assert_eq!(waiting, 2, "both orders wait, neither was parked");
    let before = app.sim_count(|r| r.status == 401);
    // Another shop, whose key keyCRM does accept, is served meanwhile: proof that the
    // fetcher ran rounds, and spent none of them on the flagged account.
    let other = app.create_account("other shop", true).await;
    let new_key = SecretString::from("a-new-key-00000000000000".to_owned());
    let mut other_settings = sklad_db::integrations::get(&mut conn, other.id)
        .await
        .unwrap()
        .settings;
    other_settings.enabled = true;
    sklad_db::integrations::save(
        &mut conn,
        &app.secrets(),
        other.id,
        &other_settings,
        Some(&new_key),
    )
    .await
    .unwrap();
    let theirs = app
        .sim_order(json!({"status_id": 5, "lines": [{"name": "C", "price": 1, "one_time": true}]}))
        .await;
    let hook =
        json!({"event": "order.change_order_status", "context": {"id": theirs, "status_id": 5}});
    assert_eq!(
        app.post_webhook(&other.webhook_url, hook.to_string())
            .await
            .status(),
        202
    );
    eventually(
        Duration::from_secs(20),
        "the other shop's order",
        || async {
            let order = app
                .get_json(&format!("/orders/{theirs}"), &other.admin_token)
                .await;
            (order["status_id"] == 5).then_some(())
        },
    )
    .await;
    assert_eq!(
        app.sim_count(|r| r.status == 401),
        before,
        "a flagged account spends no keyCRM requests"
    );

    // The owner pastes the new key: flags cleared, the waiting orders arrive.
    app.sim.lock().api_keys = vec![SIM_API_KEY.into()];
    let saved = app
        .ok(
            Method::PUT,
            "/integrations/keycrm",
            json!({"api_key": SIM_API_KEY}),
        )
        .await;
    assert_eq!(saved["key_rejected_at"], Value::Null);
    app.wait_for_order(first, "first order after the new key", |o| {
        o["status_id"] == 3
    })
    .await;
    app.wait_for_order(second, "second order after the new key", |o| {
        o["status_id"] == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_base_path_flags_the_integration_and_marks_no_order_deleted() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        allowed_sim_paths: vec!["/api/v1".into()],
        ..AppOptions::default()
    })
    .await;
    let id = app
        .sim_order(json!({"status_id": 1, "lines": [{"name": "A", "price": 1, "one_time": true}]}))
        .await;
    app.sim_status(id, 2).await;
    app.wait_for_order(id, "order imported", |o| o["status_id"] == 2)
        .await;

    // Verifying a key against a URL that is not keyCRM's API is refused at once.
    let wrong = app.sim_api_url.replace("/v1", "/api/v1");
    let refused = app
        .api(
            Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&json!({"base_url": wrong, "api_key": SIM_API_KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);

    // A stored URL that stops leading to keyCRM (keyCRM moved, or it was edited in the
    // database): the next fetch meets an HTML 404.
    let mut conn = app.db().conn().await.unwrap();
    let mut settings = sklad_db::integrations::get(&mut conn, app.account.id)
        .await
        .unwrap()
        .settings;
    settings.base_url = wrong;
    sklad_db::integrations::save(
        &mut conn,
        &app.secrets(),
        app.account.id,
        &settings,
        Some(&SecretString::from(SIM_API_KEY.to_owned())),
    )
    .await
    .unwrap();
    let body = json!({"event": "order.change_order_status", "context": {"id": id, "status_id": 3}});
    assert_eq!(
        app.post_webhook(&app.account.webhook_url, body.to_string())
            .await
            .status(),
        202
    );
    let flagged = eventually(Duration::from_secs(30), "integration flagged", || async {
        let settings = app
            .get_json("/integrations/keycrm", &app.account.admin_token)
            .await;
        settings["misconfigured_at"].is_string().then_some(settings)
    })
    .await;
    assert!(
        flagged["keycrm_answer"].as_str().unwrap().contains("404"),
        "{flagged}"
    );
    let order = app
        .get_json(&format!("/orders/{id}"), &app.account.admin_token)
        .await;
    assert_eq!(
        order["deleted_in_keycrm"], false,
        "a web server's 404 is not keyCRM's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_listed_issued_expire_and_are_revoked_at_once() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::spawn().await;
    let first = app.account.admin_token.clone();
    let listed = app.get_json("/admin-tokens", &first).await;
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["data"][0]["label"], "created with account");
    assert!(
        !listed.to_string().contains(&first),
        "a listing never shows a token"
    );

    let issued: Value = app
        .api(Method::POST, "/admin-tokens", &first)
        .json(&json!({"label": "console", "expires_in_days": 30}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = issued["token"].as_str().unwrap().to_owned();
    assert!(issued["expires_at"].is_string());
    assert_eq!(app.status(Method::GET, "/warehouses", &second).await, 200);
    let listed = app.get_json("/admin-tokens", &second).await;
    assert_eq!(listed["total"], 2);
    assert!(listed["data"][0]["last_used_at"].is_string(), "{listed}");

    // Revoked: refused from the very next request.
    let first_id = listed["data"][1]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.status(
            Method::DELETE,
            &format!("/admin-tokens/{first_id}"),
            &second
        )
        .await,
        200
    );
    assert_eq!(app.status(Method::GET, "/warehouses", &first).await, 401);
    // The last working token cannot go.
    let second_id = issued["id"].as_str().unwrap();
    let last = app
        .api(
            Method::DELETE,
            &format!("/admin-tokens/{second_id}"),
            &second,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), 409);
    assert_eq!(
        last.json::<Value>().await.unwrap()["error"]["code"],
        "last_token"
    );

    // The CLI issues one, lists, and revokes; an expired token is refused.
    let env = process_env(&app, &[]);
    let account = app.account.id.to_string();
    let created = sklad(
        &env,
        &[
            "account",
            "token",
            "create",
            "--account",
            &account,
            "--label",
            "ops",
            "--format",
            "json",
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let third = created["admin_token"].as_str().unwrap().to_owned();
    assert_eq!(app.status(Method::GET, "/warehouses", &third).await, 200);
    let list = sklad(&env, &["account", "token", "list", "--account", &account])
        .output()
        .await
        .unwrap();
    let list = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(list.contains("ops") && list.contains("console"), "{list}");
    assert!(!list.contains(&third));
    let mut conn = app.db().conn().await.unwrap();
    diesel::sql_query(format!(
        "UPDATE admin_tokens SET expires_at = now() - interval '1 second' WHERE id = '{}'",
        created["token_id"].as_str().unwrap()
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        app.status(Method::GET, "/warehouses", &third).await,
        401,
        "expired"
    );
    let revoke = sklad(
        &env,
        &[
            "account",
            "token",
            "revoke",
            "--account",
            &account,
            "--id",
            second_id,
        ],
    )
    .output()
    .await
    .unwrap();
    assert!(
        !revoke.status.success(),
        "the last working token stays (the expired one does not count)"
    );
}
