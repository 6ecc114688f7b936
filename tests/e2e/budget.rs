//! The keyCRM request budget: one rate per API key, shared by every process, pushes first.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sklad_domain::budget::Priority;
use sklad_keycrm::{Budget, BudgetKey};
use sklad_tests::{SIM_API_KEY, TestApp, TestDatabase};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

fn probe(
    database_url: &str,
    fingerprint: &str,
    rpm: u32,
    count: usize,
    keycrm_url: Option<&str>,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_budget-probe"));
    command
        .arg("--database-url")
        .arg(database_url)
        .arg("--fingerprint")
        .arg(fingerprint)
        .arg("--requests-per-minute")
        .arg(rpm.to_string())
        .arg("--count")
        .arg(count.to_string())
        .arg("--api-key")
        .arg(SIM_API_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = keycrm_url {
        command.arg("--keycrm-url").arg(url);
    }
    command
}

async fn run_to_end(mut child: tokio::process::Child) -> String {
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .await
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    let status = child.wait().await.unwrap();
    assert!(status.success(), "probe failed: {err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_together_hold_the_configured_rate() {
    let db = TestDatabase::create().await.unwrap();
    // 600/min = one slot per 100 ms, shared by both processes.
    let a = probe(&db.url, "shared-key", 600, 15, None).spawn().unwrap();
    let b = probe(&db.url, "shared-key", 600, 15, None).spawn().unwrap();
    let (a, b) = tokio::join!(run_to_end(a), run_to_end(b));
    let mut grants: Vec<u128> = a
        .lines()
        .chain(b.lines())
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(grants.len(), 30);
    grants.sort_unstable();
    // Any 11 consecutive grants span at least 10 intervals (1 s), minus scheduling jitter.
    // Two unshared budgets would run at twice the rate and span about half of that.
    for window in grants.windows(11) {
        let span_ms = (window[10] - window[0]) / 1000;
        assert!(
            span_ms >= 950,
            "11 grants within {span_ms} ms: the rate was exceeded"
        );
    }
    let total_ms = (grants[29] - grants[0]) / 1000;
    assert!(total_ms >= 2850, "30 grants took only {total_ms} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_sees_no_more_than_the_shared_rate() {
    let app = TestApp::spawn().await;
    {
        let mut sim = app.sim.lock();
        // keyCRM-style fixed window: 11 per second allowed; sklad is configured for 10.
        sim.requests_per_minute = 11;
        sim.window = Duration::from_secs(1);
        sim.windows.clear();
        sim.requests.clear();
    }
    let a = probe(&app.db.url, "sim-key", 600, 12, Some(&app.sim_api_url))
        .spawn()
        .unwrap();
    let b = probe(&app.db.url, "sim-key", 600, 12, Some(&app.sim_api_url))
        .spawn()
        .unwrap();
    // Each probe gives up on its first 429 (one attempt only), so success means none came.
    tokio::join!(run_to_end(a), run_to_end(b));
    let sim = app.sim.lock();
    assert_eq!(sim.rate_limited_total, 0);
    let arrivals: Vec<i64> = sim.requests.iter().map(|r| r.at_ms).collect();
    assert_eq!(arrivals.len(), 24);
    for (i, start) in arrivals.iter().enumerate() {
        let in_second = arrivals[i..]
            .iter()
            .take_while(|t| **t < start + 1000)
            .count();
        assert!(in_second <= 11, "{in_second} requests within one second");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_pushes_go_before_webhook_fetches_and_bulk_pulls() {
    let db = TestDatabase::create().await.unwrap();
    let budget = Budget::new(db.db.clone());
    let key = BudgetKey {
        fingerprint: b"priorities".to_vec(),
        requests_per_minute: 600,
    };
    let started = Instant::now();
    // Twelve pushes book their slots at once (up to 1.2 s ahead)...
    let mut pushes = Vec::new();
    for _ in 0..12 {
        let (budget, key) = (budget.clone(), key.clone());
        pushes.push(tokio::spawn(async move {
            budget
                .acquire(&key, Priority::StockPush, None)
                .await
                .unwrap();
            started.elapsed()
        }));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // ...then a bulk pull and a webhook fetch ask: they must wait for the queued pushes.
    let bulk = {
        let (budget, key) = (budget.clone(), key.clone());
        tokio::spawn(async move {
            budget.acquire(&key, Priority::Bulk, None).await.unwrap();
            started.elapsed()
        })
    };
    let normal = {
        let (budget, key) = (budget.clone(), key.clone());
        tokio::spawn(async move {
            budget.acquire(&key, Priority::Normal, None).await.unwrap();
            started.elapsed()
        })
    };
    let mut push_done = Vec::new();
    for push in pushes {
        push_done.push(push.await.unwrap());
    }
    let last_push = push_done.into_iter().max().unwrap();
    let bulk_done = bulk.await.unwrap();
    let normal_done = normal.await.unwrap();
    assert!(
        bulk_done >= last_push,
        "bulk ({bulk_done:?}) went before the last push ({last_push:?})"
    );
    // A webhook fetch may book a few slots ahead, so it lands within the last pushes.
    assert!(
        normal_done + Duration::from_millis(350) >= last_push,
        "normal ({normal_done:?}) jumped the push queue ({last_push:?})"
    );
}

/// Two shops saving one key with different rates: the rate is the key's (the last one
/// saved), so the two can never add up to more than keyCRM allows that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_sharing_a_key_share_one_rate() {
    use reqwest::Method;
    use serde_json::json;
    let app = TestApp::spawn().await;
    let other = app.create_account("second shop", true).await;
    for (token, rpm) in [(&app.account.admin_token, 600), (&other.admin_token, 60)] {
        let saved = app
            .api(Method::PUT, "/integrations/keycrm", token)
            .json(&json!({"requests_per_minute": rpm}))
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), 200);
    }
    let fingerprint = app.secrets().fingerprint(SIM_API_KEY);
    let budget = Budget::new(app.db().clone());
    // Whatever rate a caller believes in, the key's row (60 a minute) spaces the slots.
    let key = BudgetKey {
        fingerprint,
        requests_per_minute: 600,
    };
    let started = Instant::now();
    for _ in 0..3 {
        budget
            .acquire(&key, Priority::StockPush, None)
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "three slots of one key at 60/min take two seconds, took {:?}",
        started.elapsed()
    );
}
