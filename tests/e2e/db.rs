//! Migrations, the schema and the small repositories, against real PostgreSQL.

use diesel::QueryableByName;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sklad_db::schema::*;
use sklad_tests::TestDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_are_applied_once() {
    let db = TestDatabase::create_empty().await.unwrap();
    let (a, b, c) = tokio::join!(
        sklad_db::migrate::run(&db.url),
        sklad_db::migrate::run(&db.url),
        sklad_db::migrate::run(&db.url),
    );
    let mut applied: Vec<usize> = vec![a.unwrap().len(), b.unwrap().len(), c.unwrap().len()];
    applied.sort_unstable();
    assert_eq!(applied[0], 0);
    assert_eq!(applied[1], 0);
    assert!(
        applied[2] >= 1,
        "one process applied them, the others found nothing to do"
    );
    assert!(sklad_db::migrate::run(&db.url).await.unwrap().is_empty());
}

/// The diesel CLI: `SKLAD_DIESEL`, else `diesel` on the PATH or in `~/.cargo/bin`.
fn diesel_cli() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("SKLAD_DIESEL") {
        return path.into();
    }
    let home = std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(home)
        .map(|dir| dir.join("diesel"))
        .find(|path| path.is_file())
        .expect(
            "the diesel CLI (deploy/test.sh installs it: cargo install diesel_cli \
             --no-default-features --features postgres)",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diesel_schema_is_what_diesel_prints_from_the_migrations() {
    let db = TestDatabase::create().await.unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let printed = tokio::process::Command::new(diesel_cli())
        .args(["print-schema", "--database-url", &db.url])
        .current_dir(&root)
        .output()
        .await
        .unwrap();
    assert!(
        printed.status.success(),
        "diesel print-schema: {}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let printed = String::from_utf8(printed.stdout).unwrap();
    let kept = std::fs::read_to_string(root.join("crates/db/src/schema.rs")).unwrap();
    assert!(
        printed.contains("diesel::table! {\n    accounts (id)"),
        "{printed}"
    );
    assert!(
        printed == kept,
        "crates/db/src/schema.rs differs from `diesel print-schema` over the migrations; \
         regenerate it (see diesel.toml). Printed:\n{printed}"
    );
}

/// A new account ("shop") in a test database.
async fn shop(conn: &mut diesel_async::AsyncPgConnection) -> sklad_db::accounts::NewAccount {
    let secrets = sklad_db::SecretBox::from_master_key(Some(
        &sklad_db::SecretBox::generate_master_key().into(),
    ))
    .unwrap();
    sklad_db::accounts::create(
        conn,
        &secrets,
        "shop",
        &sklad_db::accounts::IntegrationDefaults {
            base_url: "http://x".into(),
            requests_per_minute: 60,
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_remembers_processed_messages_per_consumer() {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let created = shop(&mut conn).await;
    let account = created.account.id;
    assert!(
        sklad_db::inbox::record(&mut conn, "order-sync", "m1", account)
            .await
            .unwrap()
    );
    assert!(
        !sklad_db::inbox::record(&mut conn, "order-sync", "m1", account)
            .await
            .unwrap()
    );
    assert!(
        sklad_db::inbox::record(&mut conn, "stock-publisher", "m1", account)
            .await
            .unwrap()
    );
    // Loading through the diesel models proves the column types line up too.
    let loaded = sklad_db::accounts::get(&mut conn, account).await.unwrap();
    assert_eq!(loaded.name, "shop");
    let integration = sklad_db::integrations::get(&mut conn, account)
        .await
        .unwrap();
    assert!(integration.settings.archive_status_ids.is_empty());
    assert_eq!(
        sklad_db::accounts::authenticate_admin(&mut conn, &created.admin_token)
            .await
            .unwrap(),
        Some(account)
    );
    assert_eq!(
        sklad_db::accounts::authenticate_admin(&mut conn, "nope")
            .await
            .unwrap(),
        None
    );
}

/// A console session lives until its own expiry, never past its admin token's, and ends
/// when that token is revoked; a cookie that is not one finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_end_with_their_expiry_and_their_token() {
    use sklad_db::console_sessions::{close, find, open};
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let created = shop(&mut conn).await;
    let account = created.account.id;
    let token = created.admin_token;
    let hour = chrono::Duration::hours(1);

    assert!(
        open(&mut conn, "not-a-token", hour)
            .await
            .unwrap()
            .is_none()
    );
    let expired = open(&mut conn, &token, chrono::Duration::seconds(-1))
        .await
        .unwrap()
        .unwrap();
    assert!(find(&mut conn, &expired.cookie).await.unwrap().is_none());

    let live = open(&mut conn, &token, hour).await.unwrap().unwrap();
    let found = find(&mut conn, &live.cookie).await.unwrap().unwrap();
    assert_eq!(found.account_id, account);
    assert_eq!(found.csrf_token, live.session.csrf_token);
    assert!(
        find(&mut conn, "someone-else's-cookie")
            .await
            .unwrap()
            .is_none()
    );
    close(&mut conn, &live.cookie).await.unwrap();
    assert!(find(&mut conn, &live.cookie).await.unwrap().is_none());

    // A token that expires in a minute bounds a twelve-hour session to that minute.
    let soon = chrono::Utc::now() + chrono::Duration::minutes(1);
    let (short_lived, short_token) =
        sklad_db::accounts::issue_admin_token(&mut conn, account, "short", Some(soon))
            .await
            .unwrap();
    let bounded = open(&mut conn, &short_token, chrono::Duration::hours(12))
        .await
        .unwrap()
        .unwrap();
    assert!(bounded.session.expires_at <= soon);

    // Revoking the token ends the sessions opened with it, not the others.
    let other = open(&mut conn, &token, hour).await.unwrap().unwrap();
    sklad_db::accounts::revoke_admin_token(&mut conn, account, short_lived.id)
        .await
        .unwrap();
    assert!(find(&mut conn, &bounded.cookie).await.unwrap().is_none());
    assert!(find(&mut conn, &other.cookie).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_marked_again_during_its_push_waits_max_delay_from_that_push() {
    use chrono::{TimeDelta, Utc};
    use sklad_db::stock_sync::{claim, due, mark, settle};
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let account = shop(&mut conn).await.account.id;
    diesel::update(keycrm_integrations::table.find(account))
        .set(keycrm_integrations::stock_push_enabled.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();
    let pair = [(1_i64, "A".to_owned())];
    mark(&mut conn, account, &pair).await.unwrap();
    // Dirty for ten minutes (say, its push waited that long for the budget).
    diesel::update(stock_dirty::table.filter(stock_dirty::account_id.eq(account)))
        .set(stock_dirty::first_marked_at.eq(Utc::now() - TimeDelta::minutes(10)))
        .execute(&mut conn)
        .await
        .unwrap();
    let (never_settles, minute) = (TimeDelta::hours(1), TimeDelta::minutes(1));
    assert_eq!(
        due(&mut conn, never_settles, minute, 10).await.unwrap(),
        [(account, 1)]
    );

    let claimed_at = Utc::now();
    let claimed = claim(&mut conn, account, 1, 10, TimeDelta::seconds(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    // A movement lands while the push is in flight: the pair stays dirty...
    mark(&mut conn, account, &pair).await.unwrap();
    assert_eq!(
        settle(&mut conn, account, 1, &[], &[], &claimed, claimed_at)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        due(&mut conn, never_settles, TimeDelta::zero(), 10)
            .await
            .unwrap(),
        [(account, 1)]
    );
    // ...but what keyCRM has not seen began after the claim, so a steady stream of movements
    // is pushed once per `max_delay`, not again at once.
    assert!(
        due(&mut conn, never_settles, minute, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_settings_are_the_columns_defaults() {
    use sklad_db::integrations::IntegrationSettings;
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let account = shop(&mut conn).await.account.id;
    let stored = sklad_db::integrations::get(&mut conn, account)
        .await
        .unwrap()
        .settings;
    assert_eq!(
        stored,
        IntegrationSettings {
            base_url: "http://x".into(),
            ..IntegrationSettings::default()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_is_settled_all_or_nothing() {
    use chrono::{TimeDelta, Utc};
    use rust_decimal::Decimal;
    use sklad_db::stock_sync::{accepted, claim, mark, settle};
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let account = shop(&mut conn).await.account.id;
    let pairs = [(1_i64, "A".to_owned()), (1_i64, "B".to_owned())];
    mark(&mut conn, account, &pairs).await.unwrap();
    let claimed_at = Utc::now();
    let claimed = claim(&mut conn, account, 1, 10, TimeDelta::seconds(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let skus = ["A".to_owned(), "B".to_owned()];
    let dirty = async |conn: &mut sklad_db::Conn| -> i64 {
        stock_dirty::table
            .filter(stock_dirty::account_id.eq(account))
            .count()
            .get_result(conn)
            .await
            .unwrap()
    };

    // The last step fails (PostgreSQL refuses a NUL in text): what keyCRM accepted is not
    // recorded either, and both marks stay, so the push runs again.
    let took = [("A".to_owned(), Decimal::from(5))];
    let refused = [("B".to_owned(), "bad\u{0}reason".to_owned())];
    assert!(
        settle(&mut conn, account, 1, &took, &refused, &claimed, claimed_at)
            .await
            .is_err()
    );
    assert!(
        accepted(&mut conn, account, 1, &skus)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(dirty(&mut conn).await, 2);

    // Settled: A accepted, B refused and forgotten, both marks cleared together.
    let refused = [("B".to_owned(), "no such offer".to_owned())];
    assert_eq!(
        settle(&mut conn, account, 1, &took, &refused, &claimed, claimed_at)
            .await
            .unwrap(),
        2
    );
    let now = accepted(&mut conn, account, 1, &skus).await.unwrap();
    assert_eq!(now.get("A"), Some(&Decimal::from(5)), "{now:?}");
    assert!(!now.contains_key("B"), "{now:?}");
    assert_eq!(dirty(&mut conn).await, 0);
}

/// True when `text` holds a Cyrillic letter: PostgreSQL really answered in Ukrainian.
fn cyrillic(text: &str) -> bool {
    text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_told_apart_by_sqlstate_when_postgres_speaks_ukrainian() {
    use sklad_db::DbError;
    use sklad_tests::{AppOptions, TestApp};

    let app = TestApp::spawn_with(AppOptions {
        postgres_lc_messages: Some("uk_UA.UTF-8"),
        ..AppOptions::default()
    })
    .await;

    // A value that does not fit (class 22), worded in Ukrainian, is the input's fault.
    let mut conn = app.db.db.conn().await.unwrap();
    let err = DbError::from(
        diesel::sql_query("SELECT 1 / 0")
            .execute(&mut conn)
            .await
            .unwrap_err(),
    );
    let words = err.to_string();
    assert!(cyrillic(&words), "PostgreSQL answers in Ukrainian: {words}");
    assert_eq!(
        err.sqlstate().map(|s| s.to_string()).as_deref(),
        Some("22012")
    );
    assert!(err.is_out_of_range(), "{words}");
    assert!(!err.is_infra(), "{words}");

    // The server ending a connection mid-statement (57P01) is the database's trouble.
    let mut victim = app.db.db.dedicated().await.unwrap();
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut victim)
        .await
        .unwrap()
        .pid;
    let sleeping = tokio::spawn(async move {
        diesel::sql_query("SELECT pg_sleep(30)")
            .execute(&mut victim)
            .await
            .map_err(DbError::from)
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        #[derive(QueryableByName)]
        struct Active {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let active = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
        )
        .bind::<diesel::sql_types::Integer, _>(pid)
        .get_result::<Active>(&mut conn)
        .await
        .unwrap();
        if active.n == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the statement never ran"
        );
        tokio::task::yield_now().await;
    }
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(pid)
        .execute(&mut conn)
        .await
        .unwrap();
    let err = sleeping.await.unwrap().unwrap_err();
    let words = err.to_string();
    assert!(cyrillic(&words), "PostgreSQL answers in Ukrainian: {words}");
    assert_eq!(
        err.sqlstate().map(|s| s.to_string()).as_deref(),
        Some("57P01")
    );
    assert!(err.is_infra(), "{words}");
    assert!(!err.is_out_of_range(), "{words}");

    // Through the API: a balance that would overflow is a 422 and changes nothing, not a 500.
    let warehouse = app
        .created("/warehouses", serde_json::json!({"name": "Main"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.created(
        "/products",
        serde_json::json!({"sku": "BIG", "name": "Big"}),
    )
    .await;
    let receipt = serde_json::json!({"kind": "receipt", "warehouse_id": warehouse,
        "lines": [{"sku": "BIG", "quantity": "99999999999999"}]});
    assert_eq!(app.post("/movements", receipt.clone()).await.status(), 201);
    let refused = app.post("/movements", receipt).await;
    assert_eq!(refused.status(), 422);
    let balance = app
        .get_json(
            &format!("/balances?warehouse_id={warehouse}&sku=BIG"),
            &app.account.admin_token,
        )
        .await;
    assert_eq!(balance["data"][0]["on_hand"], "99999999999999", "{balance}");
}

/// A page of keyCRM orders serves only the waiting fetches whose newest event was requested
/// before the page was asked for: an event that arrives while the page is in flight may
/// describe a change the page does not show. (The cluster drill found orders left at an
/// older status when such an event was completed with the page's copy.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_serves_only_fetches_requested_before_it_was_asked_for() {
    let db = TestDatabase::create().await.unwrap();
    let mut conn = db.db.conn().await.unwrap();
    let account = shop(&mut conn).await.account.id;
    let now = chrono::Utc::now();
    sklad_db::fetches::request(&mut conn, account, 7, None, "m1", now)
        .await
        .unwrap();
    let asked_at = sklad_db::fetches::clock(&mut conn).await.unwrap();
    let served = sklad_db::fetches::waiting_among(&mut conn, account, &[7], asked_at)
        .await
        .unwrap();
    assert_eq!(served, vec![(7, 1, vec!["m1".to_owned()])]);

    // Another event for the order while the page is in flight: the page does not serve it.
    sklad_db::fetches::request(&mut conn, account, 7, None, "m2", now)
        .await
        .unwrap();
    let served = sklad_db::fetches::waiting_among(&mut conn, account, &[7], asked_at)
        .await
        .unwrap();
    assert!(served.is_empty(), "{served:?}");
    // A page asked for afterwards does, with both events.
    let later = sklad_db::fetches::clock(&mut conn).await.unwrap();
    let served = sklad_db::fetches::waiting_among(&mut conn, account, &[7], later)
        .await
        .unwrap();
    assert_eq!(served, vec![(7, 2, vec!["m1".to_owned(), "m2".to_owned()])]);
}
