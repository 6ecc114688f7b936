//! Status: the integration's health, the keyCRM budget, the last reconciliation, what waits
//! (shipments, stock pushes), queue depths, and this account's parked messages with replay.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sklad_bus::topology::QueueDepth;
use sklad_db::parked::{Filter, ParkedRow};

use super::Section;
use super::form::Posted;
use super::{Console, ConsoleError, Frame, Notice, Text, render, see_other};
use sklad_api::ApiState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(page))
        .route("/status/replay", web::post().to(replay));
}

/// The most parked messages listed.
const PARKED_SHOWN: i64 = 100;
/// The most parked messages one Replay moves back.
const REPLAY_LIMIT: i64 = 1000;

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    frame: Frame,
    t: &'static Text,
    enabled: bool,
    key_rejected_at: Option<DateTime<Utc>>,
    misconfigured_at: Option<DateTime<Utc>>,
    answer: Option<String>,
    requests_per_minute: i32,
    booked_ahead_secs: i64,
    granted_total: i64,
    reconciled_to: Option<DateTime<Utc>>,
    waiting_orders: i64,
    dirty_skus: i64,
    failing_pushes: usize,
    queues: Vec<QueueDepth>,
    parked: Vec<ParkedRow>,
    /// How many this account has parked in all (the list shows the oldest).
    parked_total: i64,
    /// RabbitMQ could not be asked (the reason is logged, not shown).
    broker_down: bool,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    /// How many parked messages a Replay just moved back.
    moved: Option<u32>,
}

async fn page(
    state: web::Data<ApiState>,
    console: Console,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let notice = query
        .moved
        .map(|n| Notice::Done(format!("{} {n}", console.t().done_replayed)));
    let frame = console.frame(Section::Status, notice);
    show(&state, &console, frame, StatusCode::OK).await
}

async fn show(
    state: &ApiState,
    console: &Console,
    frame: Frame,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let account = console.account.0;
    let mut conn = state.db.conn().await?;
    let integration = sklad_db::integrations::get(&mut conn, account).await?;
    let usage = match &integration.api_key_fingerprint {
        Some(fingerprint) => sklad_db::budget::usage(&mut conn, fingerprint).await?,
        None => None,
    };
    let reconciled_to = sklad_db::integrations::reconcile_watermark(&mut conn, account).await?;
    let waiting_orders = sklad_db::order_stock::waiting_counts(&mut conn, Some(account))
        .await?
        .first()
        .map_or(0, |(_, orders, _)| *orders);
    let (dirty_skus, _) = sklad_db::push_waiting::dirty_stats(&mut conn, Some(account)).await?;
    let failing_pushes = sklad_db::push_waiting::failing(&mut conn, Some(account))
        .await?
        .len();
    let mine = Filter {
        account: Some(account),
        ..Filter::default()
    };
    let parked = sklad_db::parked::list(&mut conn, &mine, PARKED_SHOWN).await?;
    let parked_total = sklad_db::parked::count(&mut conn, Some(account)).await?;
    drop(conn);
    let (queues, broker_down) = match state.broker.queue_depths().await {
        Ok(queues) => (queues, false),
        Err(err) => {
            tracing::warn!(error = %err, "status screen could not ask RabbitMQ");
            (Vec::new(), true)
        }
    };
    let page = StatusPage {
        frame,
        t: console.t(),
        enabled: integration.settings.enabled,
        key_rejected_at: integration.key_rejected_at,
        misconfigured_at: integration.misconfigured_at,
        answer: integration.flag_answer,
        requests_per_minute: usage.map_or(integration.settings.requests_per_minute, |u| {
            u.requests_per_minute
        }),
        booked_ahead_secs: usage.map_or(0, |u| u.booked_ahead.num_seconds()),
        granted_total: usage.map_or(0, |u| u.granted_total),
        reconciled_to,
        waiting_orders,
        dirty_skus,
        failing_pushes,
        queues,
        parked,
        parked_total,
        broker_down,
    };
    render(&page, status)
}

/// "Replay": this account's parked messages (or the one named by `id`) go back to their
/// consumers to be tried again. A second click finds nothing left to send.
async fn replay(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let account = console.account.0;
    let one: Option<[i64; 1]> = posted
        .form
        .get("id")
        .and_then(|id| id.parse().ok())
        .map(|id| [id]);
    let filter = Filter {
        account: Some(account),
        ids: one.as_ref().map(|id| &id[..]),
        ..Filter::default()
    };
    match sklad_api::parked::replay(&state.db, state.broker.clone(), &filter, REPLAY_LIMIT).await {
        Ok(moved) => {
            tracing::info!(account_id = %account, moved, "parked messages replayed from the console");
            Ok(see_other(&format!("/status?moved={moved}"), None))
        }
        Err(err) => {
            tracing::warn!(error = %err, "console replay failed");
            let frame = console.frame(
                Section::Status,
                Some(Notice::Failed(console.t().broker_down.to_owned())),
            );
            show(&state, console, frame, StatusCode::SERVICE_UNAVAILABLE).await
        }
    }
}
