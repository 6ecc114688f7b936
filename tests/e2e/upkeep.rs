//! Upkeep: nothing grows forever, and an event the broker refuses blocks nothing.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use sklad_tests::{AppOptions, TestApp, eventually, process_env};

use crate::cli::sklad;

/// The `n` column of the one row `sql` gives.
pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.db().conn().await.unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap()
        .n
}

async fn exec(app: &TestApp, sql: &str) {
    let mut conn = app.db().conn().await.unwrap();
    diesel::sql_query(sql).execute(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_broker_keeps_refusing_is_set_aside_and_the_rest_flow() {
    let app = TestApp::spawn_with(AppOptions {
        stock_publisher: true,
        relay: true,
        ..AppOptions::default()
    })
    .await;
    let rig = app.stock_rig(&["S-1"]).await;
    // An event nobody is bound to (a routing key no queue takes): the broker returns it.
    let account = app.account.id;
    exec(
        &app,
        &format!(
            "INSERT INTO outbox (account_id, message_id, message_type, routing_key, payload) \
             VALUES ('{account}', gen_random_uuid(), 'sklad.events.v1.Nothing', 'nowhere.nobody', '\\x00')"
        ),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "S-1", "quantity": 4}]}),
    )
    .await;
    // The movement behind it reaches keyCRM; the refused event ends up set aside.
    eventually(
        Duration::from_secs(30),
        "keyCRM has the receipt",
        || async {
            let sim = app.sim.lock();
            let offer = sim.offer_by_sku("S-1")?.id;
            (sim.stocks.get(&(1, offer)).copied() == Some(rust_decimal::Decimal::from(4)))
                .then_some(())
        },
    )
    .await;
    eventually(Duration::from_secs(30), "event set aside", || async {
        (count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE set_aside_at IS NOT NULL",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;
    let status = sklad(&process_env(&app, &[]), &["status", "--json"])
        .output()
        .await
        .unwrap();
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let aside = &status["postgres"]["outbox_set_aside"];
    assert_eq!(aside["events"], 1, "{status}");
    assert!(
        aside["last_reason"]
            .as_str()
            .unwrap()
            .contains("nowhere.nobody")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_rows_and_keeps_recent_and_pending_ones() {
    let app = TestApp::spawn_with(AppOptions {
        relay: true,
        configure: Some(|s| {
            s.retention.keep = Duration::from_secs(24 * 3600);
            s.retention.interval = Duration::from_millis(200);
            s.retention.batch = 2;
        }),
        ..AppOptions::default()
    })
    .await;
    let a = app.account.id;
    let old = "now() - interval '40 days'";
    for n in 0..5 {
        exec(&app, &format!("INSERT INTO inbox (consumer, message_id, account_id, processed_at) VALUES ('c', 'old-{n}', '{a}', {old})")).await;
        exec(&app, &format!("INSERT INTO stock_pushes (id, account_id, keycrm_warehouse_id, started_at, duration_ms, items, quantities, outcome) VALUES (gen_random_uuid(), '{a}', 1, {old}, 1, 0, '{{}}', 'accepted')")).await;
        exec(&app, &format!("INSERT INTO outbox (account_id, message_id, message_type, routing_key, payload, created_at, published_at) VALUES ('{a}', gen_random_uuid(), 't', 'r', '\\x00', {old}, {old})")).await;
    }
    exec(
        &app,
        &format!("INSERT INTO inbox (consumer, message_id, account_id) VALUES ('c', 'new', '{a}')"),
    )
    .await;
    exec(&app, &format!("INSERT INTO sync_jobs (id, account_id, status_ids, state, finished_at) VALUES (gen_random_uuid(), '{a}', '{{1}}', 'done', {old})")).await;
    exec(&app, &format!("INSERT INTO sync_jobs (id, account_id, status_ids, state) VALUES (gen_random_uuid(), '{a}', '{{1}}', 'cancelled')")).await;
    // An old event not yet published is work, not history: its age does not prune it.
    exec(&app, &format!("INSERT INTO outbox (account_id, message_id, message_type, routing_key, payload, created_at, attempts) VALUES ('{a}', gen_random_uuid(), 't', 'r', '\\x00', {old}, 0)")).await;
    eventually(Duration::from_secs(30), "old rows pruned", || async {
        let left = count(&app, "SELECT (SELECT count(*) FROM inbox WHERE message_id LIKE 'old-%') + (SELECT count(*) FROM stock_pushes) + (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL AND published_at < now() - interval '1 day') + (SELECT count(*) FROM sync_jobs WHERE state = 'done') AS n").await;
        (left == 0).then_some(())
    })
    .await;
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM inbox WHERE message_id = 'new'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&app, "SELECT count(*) AS n FROM sync_jobs").await,
        1,
        "the recent job stays"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
        )
        .await,
        1,
        "the unpublished event stays"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("sklad_retention_pruned_total"),
        "pruning is counted"
    );
}
