//! Today: where a signed-in owner lands. Each thing that may need them today is a count
//! that links to its list: orders waiting for stock, stock pushes keyCRM keeps refusing, SKUs
//! still to be sent, planned production, and the integration's health.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use sklad_domain::production::ProductionState;

use super::{Console, ConsoleError, Frame, Section, Text, render};
use sklad_api::ApiState;

#[derive(Template)]
#[template(path = "today.html")]
struct TodayPage {
    frame: Frame,
    t: &'static Text,
    has_key: bool,
    enabled: bool,
    key_rejected: bool,
    misconfigured: bool,
    waiting_orders: i64,
    failing_pushes: usize,
    dirty_skus: i64,
    planned_production: i64,
    orders: i64,
}

pub async fn page(
    state: web::Data<ApiState>,
    console: Console,
) -> Result<HttpResponse, ConsoleError> {
    let account = console.account.0;
    let mut conn = state.db.conn().await?;
    let integration = sklad_db::integrations::get(&mut conn, account).await?;
    let waiting_orders = sklad_db::order_stock::waiting_counts(&mut conn, Some(account))
        .await?
        .first()
        .map_or(0, |(_, orders, _)| *orders);
    let failing_pushes = sklad_db::push_waiting::failing(&mut conn, Some(account))
        .await?
        .len();
    let (dirty_skus, _) = sklad_db::push_waiting::dirty_stats(&mut conn, Some(account)).await?;
    let (_, planned_production) =
        sklad_db::production::list(&mut conn, account, Some(ProductionState::Planned), (1, 1))
            .await?;
    drop(conn);
    let orders = sklad_api::orders::list(
        &state,
        console.account,
        sklad_api::orders::OrderQuery::default(),
        (1, 1),
    )
    .await?
    .total;
    let page = TodayPage {
        frame: console.frame(Section::Today, None),
        t: console.t(),
        has_key: integration.has_api_key(),
        enabled: integration.settings.enabled,
        key_rejected: integration.key_rejected_at.is_some(),
        misconfigured: integration.misconfigured_at.is_some(),
        waiting_orders,
        failing_pushes,
        dirty_skus,
        planned_production,
        orders,
    };
    render(&page, StatusCode::OK)
}
