//! Outages of sklad's own infrastructure: nothing acknowledged is lost, nothing is parked
//! for it, and work resumes by itself.

use std::time::Duration;

use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually, fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingress_takes_webhooks_for_links_it_has_seen_while_postgres_is_down() {
    let app = TestApp::spawn_with(AppOptions {
        postgres_proxy: true,
        ..AppOptions::default()
    })
    .await;
    // Ingress has heard every link change of the set-up (a notice arriving after the
    // first webhook's lookup would make it forget the link it just learned).
    assert!(
        sklad_db::token_acks::wait_applied(app.db(), Duration::from_secs(10))
            .await
            .unwrap(),
        "ingress applied the set-up's link changes"
    );
    let body = fixture("webhook-order-change_order_status.A.json");
    assert_eq!(app.webhook_status(body.clone()).await, 202);

    let postgres = app.postgres.as_ref().unwrap();
    postgres.cut();
    for _ in 0..3 {
        let answer = app
            .post_webhook(&app.account.webhook_url, body.clone())
            .await;
        assert_eq!(answer.status(), 202, "a link ingress has seen still works");
    }
    assert_eq!(
        app.broker.depth(&app.order_sync_queue()).await.unwrap(),
        4,
        "every 202 is on the queue"
    );
    // A link sklad never issued is refused by its shape, no database needed.
    let junk = format!("{}/webhooks/keycrm/not-a-token", app.ingress_url());
    assert_eq!(app.post_webhook(&junk, body.clone()).await.status(), 404);
    // A well-formed link nobody saw cannot be checked now: 503, never a 2xx.
    let unseen = format!("{}/webhooks/keycrm/{}", app.ingress_url(), "A".repeat(43));
    assert_eq!(app.post_webhook(&unseen, body.clone()).await.status(), 503);
    assert_eq!(app.ingress_ready().await.0, 503);

    postgres.forward();
    eventually(Duration::from_secs(20), "postgres back", || async {
        let answer = app.post_webhook(&unseen, body.clone()).await;
        (answer.status() == 404).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_link_stops_at_once_even_when_ingress_remembered_it() {
    let app = TestApp::spawn().await;
    let body = fixture("webhook-order-change_order_status.A.json");
    let old = app.account.webhook_url.clone();
    assert_eq!(app.post_webhook(&old, body.clone()).await.status(), 202);
    let rotated: Value = app
        .api(
            reqwest::Method::POST,
            "/integrations/keycrm/webhook-token/rotate",
            &app.account.admin_token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new = rotated["webhook_url"].as_str().unwrap();
    // "At once": through PostgreSQL NOTIFY, long before the cache's 1 minute TTL; the
    // notification crosses a connection, so allow it a moment under load.
    eventually(Duration::from_secs(5), "the old link refused", || async {
        (app.post_webhook(&old, body.clone()).await.status() == 404).then_some(())
    })
    .await;
    assert_eq!(app.post_webhook(new, body.clone()).await.status(), 202);
    // Switching the integration off is seen at once too.
    let off = app
        .api(
            reqwest::Method::PUT,
            "/integrations/keycrm",
            &app.account.admin_token,
        )
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    eventually(Duration::from_secs(5), "webhooks ignored", || async {
        let answer: Value = app
            .post_webhook(new, body.clone())
            .await
            .json()
            .await
            .unwrap();
        (answer["status"] == "ignored").then_some(())
    })
    .await;
}

/// The drill: PostgreSQL cut for 30 s while webhooks keep coming. Ingress takes them (it
/// knows the link), order-sync's consumer cannot record them and lets them wait without
/// using attempts, and once PostgreSQL is back every one of them becomes its order;
/// nothing is parked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thirty_second_postgres_outage_parks_nothing_and_loses_nothing() {
    let app = TestApp::spawn_with(AppOptions {
        postgres_proxy: true,
        order_sync: true,
        ..AppOptions::default()
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            app.sim_order(json!({"status_id": 1, "lines": [{"name": format!("P{n}"), "price": 1, "one_time": true}]}))
                .await,
        );
    }
    // Ingress has heard every link change of the set-up (a notice arriving after the
    // warm-up's lookup would make it forget the link it just learned).
    assert!(
        sklad_db::token_acks::wait_applied(app.db(), Duration::from_secs(10))
            .await
            .unwrap(),
        "ingress applied the set-up's link changes"
    );
    let first = ids[0];
    app.sim_status(first, 2).await;
    app.wait_for_order(first, "warm-up order", |o| o["status_id"] == 2)
        .await;

    let postgres = app.postgres.as_ref().unwrap();
    postgres.cut();
    let started = std::time::Instant::now();
    let mut accepted = 0;
    // Orders change in keyCRM during the outage; their webhooks arrive all along.
    for (n, id) in ids.iter().enumerate() {
        let answer = app.sim_status(*id, 3).await;
        assert_eq!(answer["deliveries"][0]["status"], 202, "{answer}");
        accepted += 1;
        if n % 4 == 3 {
            tokio::time::sleep(Duration::from_secs(5)).await; // webhooks spread over the outage
        }
    }
    let outage_left = Duration::from_secs(30).saturating_sub(started.elapsed());
    tokio::time::sleep(outage_left).await; // the outage lasts its 30 seconds
    postgres.forward();

    for id in &ids {
        app.wait_for_order(*id, "order after the outage", |o| o["status_id"] == 3)
            .await;
    }
    assert_eq!(accepted, ids.len());
    assert_eq!(app.parked_anywhere().await, 0, "nothing parked");
}
