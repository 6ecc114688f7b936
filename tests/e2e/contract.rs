//! The OpenAPI document is the contract: schemathesis (from PyPI, installed by the set-up)
//! runs every check, with a fixed seed, against the served document of an account that has
//! data, and must report no failure. Its settings, each with its reason, are in
//! `tests/contract/schemathesis.toml`.

use std::process::Stdio;

use reqwest::Method;
use serde_json::json;
use sklad_tests::{AppOptions, TestApp};
use tokio::process::Command;

/// The schemathesis command: `SKLAD_SCHEMATHESIS` if set, else `schemathesis` on the PATH.
fn schemathesis() -> Command {
    Command::new(std::env::var("SKLAD_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into()))
}

/// An account with something of everything: warehouses, products, movements, a keyCRM
/// warehouse and the mapping, orders brought in by a sync job, pushes, a BOM and production
/// orders.
async fn seed(app: &TestApp) {
    let rig = app.stock_rig(&["C-1", "C-2"]).await;
    app.created(
        "/movements",
        json!({"kind": "receipt", "warehouse_id": rig.w1, "lines": [{"sku": "C-1", "quantity": 5}, {"sku": "C-2", "quantity": 2}]}),
    )
    .await;
    app.created(
        "/movements",
        json!({"kind": "transfer", "from_warehouse_id": rig.w1, "to_warehouse_id": rig.w3, "lines": [{"sku": "C-1", "quantity": 1}]}),
    )
    .await;
    app.sim_control(
        Method::POST,
        "/orders/generate",
        json!({"count": 60, "status_ids": [1, 2], "seed": 5, "one_time_every": 4, "with_payments": true}),
    )
    .await;
    app.ok(
        Method::PUT,
        "/integrations/keycrm",
        json!({"receive_payments": true, "archive_status_ids": [2]}),
    )
    .await;
    let job = app.run_sync_job(json!([1, 2])).await;
    assert_eq!(job["state"], "done", "{job}");
    // Production: a BOM, a planned and a released production order.
    let ids: Vec<String> = ["C-1", "C-2"]
        .iter()
        .map(|sku| async move {
            app.get_json(&format!("/products?sku={sku}"), &app.account.admin_token)
                .await["data"][0]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect::<futures::future::JoinAll<_>>()
        .await;
    app.answers(
        Method::PUT,
        &format!("/products/{}/bom", ids[0]),
        json!({"output_quantity": 1, "components": [{"product_id": ids[1], "quantity": "0.5"}]}),
        201,
    )
    .await;
    for release in [false, true] {
        let order = app
            .created(
                "/production-orders",
                json!({"product_id": ids[0], "quantity": 2, "component_warehouse_id": rig.w1, "output_warehouse_id": rig.w1}),
            )
            .await;
        if release {
            app.ok(
                Method::POST,
                &format!(
                    "/production-orders/{}/release",
                    order["id"].as_str().unwrap()
                ),
                json!({}),
            )
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_served_document() {
    let app = TestApp::spawn_with(AppOptions {
        order_sync: true,
        stock_publisher: true,
        relay: true,
        // The simulator is the only keyCRM this deployment allows (no network here).
        configure: Some(|settings| settings.keycrm.allowed_base_urls.clear()),
        ..AppOptions::default()
    })
    .await;
    seed(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let output = schemathesis()
        .current_dir(dir.path())
        .args([
            "--config-file",
            concat!(env!("CARGO_MANIFEST_DIR"), "/contract/schemathesis.toml"),
            "run",
            &app.api_url("/openapi.json"),
            "--checks",
            "all",
            "--seed",
            "20261201",
            "--max-examples",
            "50",
            "--workers",
            "1",
            "--request-timeout",
            "20",
            "--generation-database",
            "none",
            "--no-color",
            "--header",
            &format!("Authorization: Bearer {}", app.account.admin_token),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("schemathesis runs (deploy/setup.sh installs it from PyPI)");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}"
    );
}
