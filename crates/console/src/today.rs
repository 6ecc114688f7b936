//! Today: where a signed-in owner lands. Until the shop has moved in, a getting-started
//! checklist, each step ticked from real state. Then each thing that may need them today is
//! a count that links to its list: orders waiting for stock, stock pushes keyCRM keeps
//! refusing, SKUs still to be sent, planned production, and the integration's health.

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
    steps: Vec<Step>,
    /// Every step done: the checklist steps aside.
    moved_in: bool,
}

/// One step of moving in: done or not, and where to do it.
pub struct Step {
    pub id: &'static str,
    pub label: &'static str,
    pub done: bool,
    pub href: &'static str,
}

/// The getting-started steps, in the order a shop moves in.
fn steps(t: &Text, facts: [bool; 6]) -> Vec<Step> {
    let [key, webhook, catalogue, mapped, taken_over, sending] = facts;
    vec![
        Step {
            id: "key",
            label: t.step_key,
            done: key,
            href: "/settings/keycrm",
        },
        Step {
            id: "webhook",
            label: t.step_webhook,
            done: webhook,
            href: "/settings/keycrm",
        },
        Step {
            id: "catalogue",
            label: t.step_catalogue,
            done: catalogue,
            href: "/products",
        },
        Step {
            id: "mapped",
            label: t.step_mapped,
            done: mapped,
            href: "/stock/keycrm",
        },
        Step {
            id: "taken-over",
            label: t.step_taken_over,
            done: taken_over,
            href: "/stock/take-over",
        },
        Step {
            id: "sending",
            label: t.step_sending,
            done: sending,
            href: "/stock/keycrm",
        },
    ]
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
    let catalogue = sklad_db::sync_jobs::last_done(
        &mut conn,
        account,
        sklad_domain::orders::JobKind::Catalogue,
    )
    .await?
    .is_some();
    let mapped = sklad_db::warehouses::list(&mut conn, account)
        .await?
        .iter()
        .any(|w| w.keycrm_warehouse_id.is_some());
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
        moved_in: false,
        steps: steps(
            console.t(),
            [
                integration.has_api_key(),
                integration.first_webhook_at.is_some(),
                catalogue,
                mapped,
                integration.stock_taken_over_at.is_some(),
                integration.settings.stock_push_enabled,
            ],
        ),
    };
    let page = TodayPage {
        moved_in: page.steps.iter().all(|s| s.done),
        ..page
    };
    render(&page, StatusCode::OK)
}
