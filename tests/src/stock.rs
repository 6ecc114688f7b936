//! The stock set-up most stock tests start from.

use reqwest::Method;
use serde_json::{Value, json};

use crate::TestApp;

/// Three sklad warehouses: `w1` and `w2` mapped to keyCRM warehouse 1 (their balances are
/// summed there), `w3` unmapped.
#[derive(Debug, Clone)]
pub struct StockRig {
    pub w1: String,
    pub w2: String,
    pub w3: String,
}

impl TestApp {
    /// The same catalogue in keyCRM (the simulator, with warehouses 1 and 2) and sklad,
    /// warehouses W1, W2 and W3 with W1 and W2 mapped to keyCRM warehouse 1 (learned by
    /// "update the list"), and "send stock balances" on.
    #[allow(clippy::expect_used)]
    pub async fn stock_rig(&self, skus: &[&str]) -> StockRig {
        self.sim_control(
            Method::PUT,
            "/warehouses",
            json!([{"id": 1, "name": "Основний"}, {"id": 2, "name": "Київ"}]),
        )
        .await;
        let offers: Vec<Value> = skus
            .iter()
            .map(|sku| json!({"sku": sku, "name": format!("Товар {sku}"), "price": 10}))
            .collect();
        self.sim_control(Method::POST, "/offers", Value::Array(offers))
            .await;
        for sku in skus {
            self.created(
                "/products",
                json!({"sku": sku, "name": format!("Товар {sku}")}),
            )
            .await;
        }
        let mut ids = Vec::new();
        for name in ["W1", "W2", "W3"] {
            let created = self.created("/warehouses", json!({"name": name})).await;
            ids.push(created["id"].as_str().expect("warehouse id").to_owned());
        }
        let refreshed = self.created("/keycrm/warehouses/refresh", json!({})).await;
        assert_eq!(
            refreshed["data"].as_array().map(Vec::len),
            Some(2),
            "{refreshed}"
        );
        self.ok(
            Method::PUT,
            "/integrations/keycrm/warehouse-mapping",
            json!({"mapping": [
                {"warehouse_id": ids[0], "keycrm_warehouse_id": 1},
                {"warehouse_id": ids[1], "keycrm_warehouse_id": 1}]}),
        )
        .await;
        self.ok(
            Method::PUT,
            "/integrations/keycrm",
            json!({"stock_push_enabled": true}),
        )
        .await;
        StockRig {
            w1: ids[0].clone(),
            w2: ids[1].clone(),
            w3: ids[2].clone(),
        }
    }

    /// A request as the account's admin that must answer 200; returns the JSON answer.
    pub async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        self.answers(method, path, body, 200).await
    }

    /// A request as the account's admin that must answer `status`; returns the JSON answer.
    #[allow(clippy::expect_used)]
    pub async fn answers(&self, method: Method, path: &str, body: Value, status: u16) -> Value {
        let response = self
            .api(method.clone(), path, &self.account.admin_token)
            .json(&body)
            .send()
            .await
            .expect("API request");
        let got = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(got, status, "{method} {path} {body} → {answer}");
        answer
    }

    /// Runs "Synchronize orders" for `statuses` and waits until the job ends; returns it.
    #[allow(clippy::expect_used)]
    pub async fn run_sync_job(&self, statuses: Value) -> Value {
        let job = self
            .answers(
                Method::POST,
                "/sync-jobs",
                json!({"status_ids": statuses}),
                202,
            )
            .await;
        let path = format!("/sync-jobs/{}", job["id"].as_str().expect("job id"));
        crate::eventually(
            std::time::Duration::from_secs(120),
            "sync job done",
            || async {
                let job = self.get_json(&path, &self.account.admin_token).await;
                (job["state"] != "queued" && job["state"] != "running").then_some(job)
            },
        )
        .await
    }
}
