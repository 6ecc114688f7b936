//! The shipped CLI as real processes: migrate, create an account, `sklad run` serving
//! traffic, SIGTERM draining it, and no secret in any log line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use sklad_tests::{SIM_API_KEY, TestBroker, TestDatabase, eventually, fixture};
use tokio::process::Command;

const SECOND_KEY: &str = "second-sim-key-fedcba9876543210";

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Env {
    vars: Vec<(String, String)>,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sklad-under-test"));
        command
            .args(args)
            .envs(self.vars.iter().cloned())
            .kill_on_drop(true);
        command
    }

    async fn output(&self, args: &[&str]) -> String {
        let output = self.command(args).output().await.unwrap();
        assert!(
            output.status.success(),
            "sklad {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sklad_run_serves_drains_on_sigterm_and_logs_no_secret() {
    sklad_runtime::install_crypto_provider();
    let db = TestDatabase::create_empty().await.unwrap();
    let broker = TestBroker::new();
    let sim = keycrm_sim::build(
        "127.0.0.1:0",
        vec![SIM_API_KEY.into(), SECOND_KEY.into()],
        6000,
    )
    .unwrap();
    let sim_api = sim.api_url();
    let sim_control = sim.control_url();
    tokio::spawn(sim.server);

    let (ingress_port, ingress_ops_port, api_port) = (free_port(), free_port(), free_port());
    let env = Env {
        vars: vec![
            ("SKLAD__DATABASE__URL".into(), db.url.clone()),
            ("SKLAD__BROKER__URL".into(), broker.url.clone()),
            ("SKLAD__BROKER__NAMESPACE".into(), broker.namespace.clone()),
            ("SKLAD__BROKER__QUEUE_EXPIRES".into(), "10m".into()),
            // The tiers TestBroker deletes afterwards.
            ("SKLAD__BROKER__RETRY_DELAYS".into(), "200ms,400ms".into()),
            (
                "SKLAD__SECURITY__MASTER_KEY".into(),
                sklad_db::SecretBox::generate_master_key(),
            ),
            (
                "SKLAD__INGRESS__BIND".into(),
                format!("127.0.0.1:{ingress_port}"),
            ),
            (
                "SKLAD__INGRESS__OPS_BIND".into(),
                format!("127.0.0.1:{ingress_ops_port}"),
            ),
            (
                "SKLAD__INGRESS__PUBLIC_URL".into(),
                format!("http://127.0.0.1:{ingress_port}"),
            ),
            ("SKLAD__API__BIND".into(), format!("127.0.0.1:{api_port}")),
            ("SKLAD__LOG__FORMAT".into(), "json".into()),
            ("SKLAD__KEYCRM__ALLOWED_BASE_URLS".into(), sim_api.clone()),
            // Everything, so a secret logged at any level would be caught.
            (
                "RUST_LOG".into(),
                "trace,lapin=debug,h2=info,hyper=debug,rustls=info".into(),
            ),
        ],
    };

    assert!(env.output(&["migrate"]).await.contains("applied"));
    assert!(env.output(&["migrate"]).await.contains("up to date"));
    let created: Value = serde_json::from_str(
        &env.output(&[
            "account",
            "create",
            "--name",
            "shop",
            "--keycrm-api-key",
            SIM_API_KEY,
            "--keycrm-base-url",
            &sim_api,
            "--enable",
            "--format",
            "json",
        ])
        .await,
    )
    .unwrap();
    let admin_token = created["admin_token"].as_str().unwrap().to_owned();
    let first_link = created["webhook_url"].as_str().unwrap().to_owned();

    let log_path = std::env::temp_dir().join(format!("sklad-run-{}.log", broker.namespace));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut run = env
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    eventually(Duration::from_secs(30), "sklad run ready", || async {
        let ingress = http
            .get(format!("http://127.0.0.1:{ingress_ops_port}/health/ready"))
            .send()
            .await
            .ok()?;
        let api = http
            .get(format!("http://127.0.0.1:{api_port}/health/ready"))
            .send()
            .await
            .ok()?;
        (ingress.status() == 200 && api.status() == 200).then_some(())
    })
    .await;
    let api = |path: &str| format!("http://127.0.0.1:{api_port}/api/v1{path}");

    let saved: Value = http
        .put(api("/integrations/keycrm"))
        .header("if-match", "*")
        .bearer_auth(&admin_token)
        .json(&json!({"api_key": SECOND_KEY, "receive_payments": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(saved["api_key"], "••••••••3210");
    let statuses = http
        .get(api("/keycrm/statuses"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(statuses.status(), 200);

    // The order the webhook fixture names exists in "keyCRM".
    let created = http
        .post(format!("{sim_control}/orders"))
        .json(&json!({"id": 67526, "status_id": 1, "lines": [{"name": "Свічка", "price": "45.22", "one_time": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let hook = fixture("webhook-order-change_order_status.B.json");
    let first = http
        .post(&first_link)
        .body(hook.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 202);
    let rotated: Value = http
        .post(api("/integrations/keycrm/webhook-token/rotate"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_link = rotated["webhook_url"].as_str().unwrap().to_owned();
    let second = http
        .post(&second_link)
        .body(hook.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 202);
    let webhook_id = second.json::<Value>().await.unwrap()["webhook_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        http.post(&first_link)
            .body(hook)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // order-sync (a role of `sklad run`) fetched the order from keyCRM.
    let order = eventually(Duration::from_secs(30), "order imported", || async {
        let response = http
            .get(api("/orders/67526"))
            .bearer_auth(&admin_token)
            .send()
            .await
            .ok()?;
        let order: Value = response.json().await.ok()?;
        (order["keycrm_id"] == 67526).then_some(order)
    })
    .await;
    assert_eq!(order["lines"][0]["name"], "Свічка");

    // Someone not signed in opens the console: sent to sign in, logged as that, no error.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_out = plain
        .get(format!("http://127.0.0.1:{api_port}/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    // Wrong admin tokens: 401 each, and no log line per miss (a burst is logged once).
    for _ in 0..3 {
        let refused = http
            .get(api("/products"))
            .bearer_auth("W".repeat(43))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }

    // SIGTERM: stop accepting, finish, exit cleanly.
    let pid = run.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), run.wait())
        .await
        .expect("sklad run exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");

    let status: Value = serde_json::from_str(&env.output(&["status", "--json"]).await).unwrap();
    assert_eq!(status["postgres"]["status"], "up");
    assert_eq!(status["postgres"]["accounts"], 1);
    let order_sync = status["rabbitmq"]["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == format!("{}.order-sync", broker.namespace))
        .unwrap();
    assert_eq!(
        order_sync["messages"], 0,
        "both webhooks were consumed and acked"
    );

    let log = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 10, "the run logged: {log}");
    for line in &lines {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    let secrets = [
        SIM_API_KEY.to_owned(),
        SECOND_KEY.to_owned(),
        admin_token.clone(),
        first_link.rsplit('/').next().unwrap().to_owned(),
        second_link.rsplit('/').next().unwrap().to_owned(),
    ];
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a secret reached the logs");
    }
    assert!(
        log.contains("shutdown signal received"),
        "SIGTERM was handled"
    );
    let redirect_lines: Vec<Value> = lines
        .iter()
        .filter(|l| l.contains("not signed in: sent to sign in"))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(redirect_lines.len(), 1, "{log}");
    assert_eq!(
        redirect_lines[0]["level"], "INFO",
        "{:?}",
        redirect_lines[0]
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("\"ERROR\"") && l.contains("/orders")),
        "a visitor who is not signed in is no error: {log}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("Error encountered") && l.contains("unauthorized")),
        "a wrong token writes no WARN line of its own: {log}"
    );

    // One webhook followed by its id: received, taken off the queue, fetched from keyCRM,
    // stored; every step's line carries the id (in the spans it ran in).
    let followed: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains(&webhook_id))
        .collect();
    for step in [
        "webhook stored",
        "webhook event taken",
        "message handled",
        "keyCRM answered",
        "order stored",
    ] {
        assert!(
            followed.iter().any(|l| l.contains(step)),
            "no line with {step:?} carries webhook {webhook_id}: {followed:#?}"
        );
    }
}

/// A setting sklad does not have stops the process at start, naming it and the closest real
/// one, from the environment or the TOML file (every service binary loads its settings the
/// same way, through `sklad_runtime::init_process`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_setting_stops_the_start_naming_the_closest() {
    let misspelt = [(
        "SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS".to_owned(),
        "10".to_owned(),
    )];
    let output = crate::cli::sklad(&misspelt, &["run"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("unknown setting SKLAD__ORDER_SYNC__RECONCILE_INTERVAL_SECS")
            && said.contains("SKLAD__ORDER_SYNC__RECONCILE_INTERVAL "),
        "{said}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sklad.toml");
    std::fs::write(&file, "[ingress]\nbnid = \"127.0.0.1:0\"\n").unwrap();
    let output = crate::cli::sklad(&[], &["--config", file.to_str().unwrap(), "run"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("unknown setting ingress.bnid") && said.contains("ingress.bind "),
        "{said}"
    );
}
