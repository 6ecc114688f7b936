//! The keyCRM API surface (`/v1/...`): bearer auth, the per-key rate limit, injected faults,
//! and the endpoints sklad uses, answered from [`State`].

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use rand::Rng;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::Sim;
use crate::loose::parse_filter_time;
use crate::state::{RateWindow, State, StockWrite, page_envelope};

/// What the API decided for one request.
enum Answer {
    Json(StatusCode, Value, Option<u64>),
    Drop,
}

/// Entry point for every `/v1/...` request.
pub async fn entry(req: HttpRequest, body: Bytes, sim: web::Data<Sim>) -> HttpResponse {
    let path = req.match_info().query("tail").trim_matches('/').to_owned();
    let method = req.method().as_str().to_owned();
    let query = req.query_string().to_owned();
    let latency = sim.lock().faults.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let key = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .map(str::to_owned);

    let answer = {
        let mut state = sim.lock();
        let answer = decide(&mut state, &method, &path, &query, key.as_deref(), &body);
        let status = match &answer {
            Answer::Json(status, _, _) => status.as_u16(),
            Answer::Drop => 0,
        };
        state.record_request(&method, &format!("/v1/{path}"), &query, status);
        answer
    };
    match answer {
        Answer::Json(status, value, retry_after) => {
            let mut response = HttpResponse::build(status);
            if let Some(seconds) = retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            response.json(value)
        }
        Answer::Drop => {
            // Start a body and break it off: the client sees the connection die mid-answer.
            let stream = futures::stream::iter(vec![
                Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"data\": [")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped by simulator",
                )),
            ]);
            HttpResponse::Ok()
                .content_type("application/json")
                .streaming(stream)
        }
    }
}

fn error(status: StatusCode, message: &str) -> Answer {
    Answer::Json(status, json!({ "message": message }), None)
}

fn validation(errors: serde_json::Map<String, Value>) -> Answer {
    let message = errors
        .values()
        .next()
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .unwrap_or("The given data was invalid.")
        .to_owned();
    Answer::Json(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({ "message": message, "errors": errors }),
        None,
    )
}

fn decide(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    key: Option<&str>,
    body: &[u8],
) -> Answer {
    let Some(key) = key.filter(|k| state.api_keys.iter().any(|valid| valid == k)) else {
        return error(StatusCode::UNAUTHORIZED, "Unauthenticated.");
    };
    if let Some(retry_after) = take_rate_slot(state, key) {
        state.rate_limited_total += 1;
        return Answer::Json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Too Many Attempts."}),
            Some(retry_after),
        );
    }
    if state.faults.rate_limit_next > 0 {
        state.faults.rate_limit_next -= 1;
        state.rate_limited_total += 1;
        return Answer::Json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"message": "Too Many Attempts."}),
            Some(1),
        );
    }
    let error_status = StatusCode::from_u16(state.faults.error_status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if state.faults.error_next > 0 {
        state.faults.error_next -= 1;
        return error(error_status, "Server Error");
    }
    if state.faults.error_rate > 0.0
        && rand::thread_rng().gen_bool(state.faults.error_rate.clamp(0.0, 1.0))
    {
        return error(error_status, "Server Error");
    }
    if state.faults.drop_next > 0 {
        state.faults.drop_next -= 1;
        return Answer::Drop;
    }

    let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let segments: Vec<&str> = path.split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["order"]) => list_orders(state, &params),
        ("GET", ["order", "status"]) => paged(
            &params,
            "order/status",
            |_| true,
            |s: &State| {
                s.statuses
                    .iter()
                    .map(|st| {
                        json!({
                "id": st.id, "name": st.name, "alias": st.alias, "is_active": st.is_active,
                "group_id": st.group_id, "is_closing_order": st.is_closing_order,
                "is_reserved": false, "expiration_period": null,
                "created_at": "2020-05-16 16:56:44", "updated_at": "2020-05-16 16:56:44",
                "deleted_at": null})
                    })
                    .collect()
            },
            state,
        ),
        ("GET", ["order", "payment-method"]) => paged(
            &params,
            "order/payment-method",
            |_| true,
            |s: &State| {
                s.payment_methods
                    .iter()
                    .map(|m| {
                        json!({
                "id": m.id, "name": m.name, "alias": m.alias, "is_active": true})
                    })
                    .collect()
            },
            state,
        ),
        ("GET", ["order", id]) => match i64::from_str(id).ok().and_then(|id| state.orders.get(&id))
        {
            Some(order) => Answer::Json(
                StatusCode::OK,
                state.render_order(order, &includes(&params)),
                None,
            ),
            None => error(StatusCode::NOT_FOUND, "Not found"),
        },
        ("GET", ["offers"]) => list_offers(state, &params),
        ("GET", ["offers", "stocks"]) => list_stocks(state, &params),
        ("PUT", ["offers", "stocks"]) => put_stocks(state, body),
        _ => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// Laravel's throttle: a window opens with a key's first request; past the limit, 429 with
/// the seconds until the window ends.
fn take_rate_slot(state: &mut State, key: &str) -> Option<u64> {
    let now = Instant::now();
    let window = state.window;
    let limit = state.requests_per_minute;
    let slot = state.windows.entry(key.to_owned()).or_insert(RateWindow {
        started: now,
        count: 0,
    });
    if now.duration_since(slot.started) >= window {
        slot.started = now;
        slot.count = 0;
    }
    if slot.count >= limit {
        let left = window.saturating_sub(now.duration_since(slot.started));
        return Some(left.as_secs_f64().ceil().max(1.0) as u64);
    }
    slot.count += 1;
    None
}

fn includes(params: &HashMap<String, String>) -> Vec<String> {
    params
        .get("include")
        .map(|i| {
            i.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `page` and `limit` (default 15, at most 50, as the spec says).
fn paging(params: &HashMap<String, String>) -> Result<(usize, usize), Answer> {
    let page = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let limit = match params.get("limit") {
        None => 15,
        Some(l) => match l.parse::<usize>() {
            Ok(l) if (1..=50).contains(&l) => l,
            _ => {
                let mut errors = serde_json::Map::new();
                errors.insert(
                    "limit".into(),
                    json!(["The limit must be between 1 and 50."]),
                );
                return Err(validation(errors));
            }
        },
    };
    Ok((page, limit))
}

fn paged(
    params: &HashMap<String, String>,
    path: &str,
    keep: impl Fn(&Value) -> bool,
    rows: impl Fn(&State) -> Vec<Value>,
    state: &State,
) -> Answer {
    let (page, limit) = match paging(params) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let all: Vec<Value> = rows(state).into_iter().filter(|v| keep(v)).collect();
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    Answer::Json(
        StatusCode::OK,
        page_envelope(path, items, total, page, limit),
        None,
    )
}

fn list_orders(state: &State, params: &HashMap<String, String>) -> Answer {
    let (page, limit) = match paging(params) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let status_ids: Option<Vec<i64>> = params
        .get("filter[status_id]")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let between = |key: &str| {
        params.get(key).and_then(|v| {
            let (from, to) = v.split_once(',')?;
            Some((parse_filter_time(from)?, parse_filter_time(to)?))
        })
    };
    let updated = between("filter[updated_between]");
    let created = between("filter[created_between]");
    if params.contains_key("filter[updated_between]") && updated.is_none() {
        let mut errors = serde_json::Map::new();
        errors.insert(
            "filter.updated_between".into(),
            json!(["The updated between is not a valid date range."]),
        );
        return validation(errors);
    }
    let source_uuid = params.get("filter[source_uuid]");
    let mut orders: Vec<_> = state
        .orders
        .values()
        .filter(|o| {
            status_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&o.status_id))
        })
        .filter(|o| updated.is_none_or(|(from, to)| o.updated_at >= from && o.updated_at <= to))
        .filter(|o| created.is_none_or(|(from, to)| o.created_at >= from && o.created_at <= to))
        .filter(|o| source_uuid.is_none_or(|s| o.source_uuid.as_deref() == Some(s.as_str())))
        .collect();
    match params.get("sort").map(String::as_str) {
        Some("id") => orders.sort_by_key(|o| o.id),
        Some("updated_at") => orders.sort_by_key(|o| (o.updated_at, o.id)),
        Some("-updated_at") => orders.sort_by_key(|o| std::cmp::Reverse((o.updated_at, o.id))),
        _ => orders.sort_by_key(|o| std::cmp::Reverse(o.id)),
    }
    let total = orders.len();
    let include = includes(params);
    let items: Vec<Value> = orders
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| state.render_order(o, &include))
        .collect();
    Answer::Json(
        StatusCode::OK,
        page_envelope("order", items, total, page, limit),
        None,
    )
}

fn list_offers(state: &State, params: &HashMap<String, String>) -> Answer {
    let skus: Option<Vec<String>> = params
        .get("filter[sku]")
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let with_product = includes(params).iter().any(|i| i == "product");
    offer_page(params, "offers", state, skus, |s, o| {
        o.render(s.offer_stock(o.id), with_product)
    })
}

/// A page of offers (those `skus` lists, or all), rendering only the page's own.
fn offer_page(
    params: &HashMap<String, String>,
    path: &str,
    state: &State,
    skus: Option<Vec<String>>,
    render: impl Fn(&State, &crate::state::Offer) -> Value,
) -> Answer {
    let (page, limit) = match paging(params) {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let all: Vec<&crate::state::Offer> = state
        .offers
        .values()
        .filter(|o| skus.as_ref().is_none_or(|list| list.contains(&o.sku)))
        .collect();
    let items: Vec<Value> = all
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|o| render(state, o))
        .collect();
    Answer::Json(
        StatusCode::OK,
        page_envelope(path, items, all.len(), page, limit),
        None,
    )
}

fn list_stocks(state: &State, params: &HashMap<String, String>) -> Answer {
    let details = params
        .get("filter[details]")
        .is_some_and(|d| d == "true" || d == "1");
    let skus: Option<Vec<String>> = params
        .get("filter[offers_sku]")
        .map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    offer_page(params, "offers/stocks", state, skus, |s, o| {
        s.render_offer_stock(o, details)
    })
}

fn put_stocks(state: &mut State, body: &[u8]) -> Answer {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let mut errors = serde_json::Map::new();
    let mut record = StockWrite {
        seq: 0,
        at_ms: chrono::Utc::now().timestamp_millis(),
        warehouse_id: None,
        items: Vec::new(),
        status: 422,
    };
    let Some(Value::Object(body)) = parsed else {
        errors.insert(
            "warehouse_id".into(),
            json!(["The warehouse id field is required."]),
        );
        errors.insert("stocks".into(), json!(["The stocks field is required."]));
        record.seq = state.next_seq();
        state.stock_writes.push(record);
        return validation(errors);
    };
    let warehouse_id = body.get("warehouse_id").and_then(as_i64);
    record.warehouse_id = warehouse_id;
    match warehouse_id {
        None => {
            errors.insert(
                "warehouse_id".into(),
                json!(["The warehouse id field is required."]),
            );
        }
        Some(id) if !state.warehouses.contains_key(&id) => {
            errors.insert(
                "warehouse_id".into(),
                json!(["The selected warehouse id is invalid."]),
            );
        }
        Some(_) => {}
    }
    let items = body.get("stocks").and_then(Value::as_array).cloned();
    let mut updates: Vec<(i64, Decimal)> = Vec::new();
    match &items {
        None => {
            errors.insert("stocks".into(), json!(["The stocks field is required."]));
        }
        Some(list) if list.is_empty() => {
            errors.insert("stocks".into(), json!(["The stocks field is required."]));
        }
        Some(list) if list.len() > 10_000 => {
            errors.insert(
                "stocks".into(),
                json!(["The stocks may not have more than 10000 items."]),
            );
        }
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let quantity = item.get("quantity").and_then(as_decimal);
                if quantity.is_none() {
                    errors.insert(
                        format!("stocks.{i}.quantity"),
                        json!([format!("The stocks.{i}.quantity field is required.")]),
                    );
                } else if quantity.is_some_and(|q| q.is_sign_negative() && !q.is_zero()) {
                    // keyCRM keeps its old quantity and answers 422 for the whole request.
                    errors.insert(
                        format!("stocks.{i}.quantity"),
                        json!([format!("The stocks.{i}.quantity must be at least 0.")]),
                    );
                }
                let offer = match (
                    item.get("sku").and_then(Value::as_str),
                    item.get("id").and_then(as_i64),
                ) {
                    (Some(sku), _) => {
                        let found = state.offer_by_sku(sku).map(|o| o.id);
                        if found.is_none() {
                            errors.insert(
                                format!("stocks.{i}.sku"),
                                json!([format!("The selected stocks.{i}.sku is invalid.")]),
                            );
                        }
                        found
                    }
                    (None, Some(id)) => {
                        let found = state.offers.contains_key(&id).then_some(id);
                        if found.is_none() {
                            errors.insert(
                                format!("stocks.{i}.id"),
                                json!([format!("The selected stocks.{i}.id is invalid.")]),
                            );
                        }
                        found
                    }
                    (None, None) => {
                        errors.insert(format!("stocks.{i}.sku"), json!([format!("The stocks.{i}.sku field is required when stocks.{i}.id is not present.")]));
                        None
                    }
                };
                if let (Some(offer), Some(quantity)) = (offer, quantity) {
                    updates.push((offer, quantity));
                }
            }
        }
    }
    record.items = items.unwrap_or_default();
    record.seq = state.next_seq();
    if !errors.is_empty() {
        state.stock_writes.push(record);
        return validation(errors);
    }
    if let Some(warehouse) = warehouse_id {
        for (offer, quantity) in updates {
            state.stocks.insert((warehouse, offer), quantity);
        }
    }
    record.status = 202;
    state.stock_writes.push(record);
    Answer::Json(StatusCode::ACCEPTED, json!({"status": true}), None)
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn as_decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Value::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}
