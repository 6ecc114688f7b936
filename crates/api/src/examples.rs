//! An example for every input of every operation in the OpenAPI document: a reader sees a
//! request that works, and the contract test's fuzzer starts from it (its examples phase
//! runs only operations whose inputs have examples).

use serde_json::{Value, json};
use utoipa::openapi::path::{Operation, ParameterBuilder};

/// The id the examples use for sklad's own records (any UUID reads the same way).
const ID: &str = "0193a9d0-7c1e-7c3a-9f1e-2b4c6d8e0f12";
/// Another one, where an example names two different records.
const OTHER_ID: &str = "0193a9d0-7c1e-7c3a-9f1e-2b4c6d8e0f13";

/// The example of a query or path parameter, by its name; `None` for a name this table
/// does not know (a test makes sure every parameter has one).
pub(crate) fn parameter(operation_id: &str, name: &str) -> Option<Value> {
    Some(match name {
        // Orders are found by sklad's id or keyCRM's.
        "id" if operation_id.ends_with("_order") && !operation_id.contains("production") => {
            json!("23196")
        }
        "id" | "warehouse_id" | "product_id" | "makeable_in" => json!(ID),
        "sku" => json!("CUP-250"),
        "name" => json!("Чашка"),
        "q" => json!("чашка"),
        "page" => json!(1),
        "per_page" => json!(50),
        "archived" | "read_back" | "resync" | "plan_sub_assemblies" => json!(false),
        "dry_run" => json!(true),
        "status_id" | "keycrm_warehouse_id" => json!(1),
        "updated_since" => json!("2026-12-01T00:00:00Z"),
        "shipment" => json!("waiting"),
        "state" => json!("planned"),
        "format" => json!("excel"),
        // An edit's version: `*` overwrites whatever is there.
        "If-Match" => json!("*"),
        _ => return None,
    })
}

/// The example request body of an operation, by its id; `None` when it takes none.
pub(crate) fn body(operation_id: &str) -> Option<Value> {
    Some(match operation_id {
        "patch_display" => json!({"time_zone": "Europe/Kyiv", "currency": "UAH"}),
        "issue_admin_token" => json!({"label": "Ноутбук комірника", "expires_in_days": 90}),
        "put_integration" => json!({"requests_per_minute": 60, "keep_product_info": true}),
        "put_mapping" => json!({"mapping": [{"warehouse_id": ID, "keycrm_warehouse_id": 1}]}),
        "add_keycrm_warehouse" => json!({"id": 2, "name": "Склад у Львові"}),
        "create_movement" => json!({
            "kind": "receipt",
            "warehouse_id": ID,
            "lines": [{"sku": "CUP-250", "quantity": "12"}],
            "note": "Поставка від постачальника",
        }),
        "ship_order" => json!({"warehouse_id": ID}),
        "create_production_order" => json!({
            "product_id": ID,
            "quantity": 10,
            "component_warehouse_id": OTHER_ID,
            "output_warehouse_id": OTHER_ID,
        }),
        "complete_production_order" => json!({"quantity": 4, "close": false}),
        "create_product" => json!({"sku": "CUP-250", "name": "Чашка 250 мл", "price": "150.00"}),
        "update_product" => json!({"name": "Чашка 250 мл, біла"}),
        "put_bom" => json!({
            "output_quantity": 1,
            "components": [{"product_id": OTHER_ID, "quantity": "0.25"}],
        }),
        "import_products" => json!("sku,name\nCUP-250,Чашка 250 мл\n"),
        "import_counts" => json!("sku,warehouse,quantity\nCUP-250,Main,12\n"),
        "take_over" => json!({"into": {"1": ID}, "dry_run": true}),
        "start_sync_job" => json!({"status_ids": [1, 2]}),
        "create_warehouse" => json!({"name": "Main", "allow_negative": false}),
        "update_warehouse" => json!({"name": "Головний склад"}),
        _ => return None,
    })
}

/// Puts the examples on `operation`'s parameters and request body.
pub(crate) fn add(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    for parameter in operation.parameters.iter_mut().flatten() {
        if let Some(example) = self::parameter(&id, &parameter.name) {
            let builder = ParameterBuilder::from(std::mem::take(parameter));
            *parameter = builder.example(Some(example)).build();
        }
    }
    if let Some(request) = operation.request_body.as_mut() {
        for content in request.content.values_mut() {
            if content.example.is_none() {
                content.example = body(&id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_input_of_every_operation_has_an_example() {
        let doc = crate::openapi(&["https://openapi.keycrm.app/v1".to_owned()]);
        let doc = serde_json::to_value(&doc).unwrap();
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter.get("example").is_none() {
                        missing.push(format!("{method} {path} {}", parameter["name"]));
                    }
                }
                for (kind, content) in operation["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    if content.get("example").is_none() {
                        missing.push(format!("{method} {path} body {kind}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "inputs without an example: {missing:?}");
    }
}
