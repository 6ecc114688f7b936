//! Refusals in the page's language. The API answers in English with a stable code and the
//! values it names; the console words each code from the catalogue with those values, so a
//! Ukrainian page never shows an English sentence. A code the catalogue lacks is worded by
//! its kind (a value to check, a clash with what is stored, keyCRM...), naming the field.

use actix_web::http::StatusCode;

use super::i18n::Text;
use sklad_api::error::ApiError;

/// What a refusal says to the person who made it.
pub fn say(t: &Text, err: &ApiError) -> String {
    let worded = match err.code {
        "negative_balance" => t.err_negative_balance,
        "unknown_sku" => t.err_unknown_sku,
        "no_lines" => t.err_no_lines,
        "quantity_not_positive" => t.err_quantity_not_positive,
        "count_negative" => t.err_count_negative,
        "same_warehouse" => t.err_same_warehouse,
        "missing_warehouse" => t.err_missing_warehouse,
        "too_many_lines" => t.err_too_many_lines,
        "quantity_out_of_range" => t.err_quantity_out_of_range,
        "invalid_number" => t.err_invalid_number,
        "already_reversed" => t.err_already_reversed,
        "reverse_through_document" => t.err_reverse_through_document,
        "already_shipped" => t.err_already_shipped,
        "already_returned" => t.err_already_returned,
        "sku_exists" => t.err_sku_exists,
        "warehouse_exists" => t.err_warehouse_exists,
        "keycrm_rejected_key" => t.key_rejected,
        "keycrm_wrong_url" => t.err_keycrm_wrong_url,
        "keycrm_not_allowed" => t.err_keycrm_not_allowed,
        "keycrm_not_configured" => t.err_keycrm_not_configured,
        "keycrm_budget_spent" => t.err_keycrm_budget_spent,
        "keycrm_unavailable" => t.err_keycrm_unavailable,
        "sync_job_running" => t.err_sync_job_running,
        "catalogue_import_running" => t.err_catalogue_import_running,
        "stock_not_taken_over" => t.err_stock_not_taken_over,
        "nothing_mapped" => t.take_over_unmapped,
        // Worded line by line in the page's language where it was made.
        "spreadsheet_invalid" => return err.message.clone(),
        "short_components" => t.err_short_components,
        "short_of_stock" => t.err_short_of_stock,
        "warehouse_has_stock" => t.err_warehouse_has_stock,
        "warehouse_ships_orders" => t.err_warehouse_ships_orders,
        "bom_cycle" => t.err_bom_cycle,
        "wrong_state" => t.err_wrong_state,
        "last_token" => t.err_last_token,
        "not_found" => t.err_not_found,
        "edited_meanwhile" => t.err_edited_meanwhile,
        "unavailable" => t.err_unavailable,
        _ if t.lang_code == "en" => return err.message.clone(),
        _ if err.param("field").is_some() => t.err_field,
        _ => match err.status {
            StatusCode::NOT_FOUND => t.err_not_found,
            StatusCode::CONFLICT => t.err_conflict,
            s if s.is_server_error() => t.err_unavailable,
            _ => t.err_check_values,
        },
    };
    fill(t, worded, err)
}

/// `worded` with each `{name}` replaced by the error's value of that name (a field by its
/// words in this language).
fn fill(t: &Text, worded: &str, err: &ApiError) -> String {
    let mut out = worded.to_owned();
    for (name, value) in &err.params {
        let value = if *name == "field" {
            field_words(t, value)
        } else {
            value.clone()
        };
        out = out.replace(&format!("{{{name}}}"), &value);
    }
    out
}

/// A field's path (`lines[2].quantity`) in words: "line 3: quantity".
pub fn field_words(t: &Text, path: &str) -> String {
    let mut line = None;
    let mut last = path;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if name == "lines" || name == "components" {
            line = index.map(|i| i + 1);
        }
        last = name;
    }
    let name = match last {
        "quantity" => t.quantity,
        "name" => t.name,
        "sku" => t.sku,
        "price" => t.price,
        "unit_cost" => t.unit_cost,
        "unit" => t.unit,
        "note" => t.note,
        "warehouse_id" | "from_warehouse_id" => t.warehouse,
        "to_warehouse_id" => t.to_warehouse,
        "push_buffer" => t.push_buffer,
        "requests_per_minute" => t.requests_per_minute,
        "output_quantity" => t.output_quantity,
        other => other,
    };
    match line {
        Some(n) => format!("{} {n}: {name}", t.line),
        None => name.to_owned(),
    }
}
