//! Status: the integration's health, the keyCRM budget, the last reconciliation, what waits
//! (shipments, stock pushes), queue depths, and this account's parked messages with replay.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sklad_bus::parking::Parked;
use sklad_bus::topology::{ALL_CONSUMERS, QueueDepth};

use super::Section;
use super::form::Posted;
use super::{Console, ConsoleError, Frame, Notice, Text, render, see_other};
use sklad_api::ApiState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(page))
        .route("/status/replay", web::post().to(replay));
}

/// The most parked messages listed per consumer.
const PARKED_SHOWN: usize = 50;
/// The most parked messages one Replay moves back per consumer.
const REPLAY_LIMIT: usize = 1000;

/// One parked message as the screen lists it.
pub struct ParkedRow {
    pub consumer: &'static str,
    pub message: Parked,
}

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
    drop(conn);
    let (queues, parked, broker_down) = match broker_view(state, account).await {
        Ok((queues, parked)) => (queues, parked, false),
        Err(err) => {
            tracing::warn!(error = %err, "status screen could not ask RabbitMQ");
            (Vec::new(), Vec::new(), true)
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
        broker_down,
    };
    render(&page, status)
}

/// Queue depths and this account's parked messages, or why RabbitMQ could not be asked.
/// A parking queue is browsed only when it holds something (its depth is read without
/// touching its messages), so an idle installation's pages never take parked messages off
/// their queue.
pub async fn broker_view(
    state: &ApiState,
    account: uuid::Uuid,
) -> Result<(Vec<QueueDepth>, Vec<ParkedRow>), String> {
    let queues = state
        .broker
        .queue_depths()
        .await
        .map_err(|err| err.to_string())?;
    let mut parked = Vec::new();
    let account = account.to_string();
    let topology = state.broker.topology();
    for spec in ALL_CONSUMERS {
        let parking = topology.parking_queue(spec.name);
        if !queues.iter().any(|q| q.queue == parking && q.messages > 0) {
            continue;
        }
        let listed =
            sklad_bus::parking::list_for(&state.broker, spec.name, Some(&account), PARKED_SHOWN)
                .await
                .map_err(|err| err.to_string())?;
        parked.extend(listed.into_iter().map(|message| ParkedRow {
            consumer: spec.name,
            message,
        }));
    }
    Ok((queues, parked))
}

/// "Replay": this account's parked messages go back to their consumers to be tried again.
async fn replay(state: web::Data<ApiState>, posted: Posted) -> Result<HttpResponse, ConsoleError> {
    let console = &posted.console;
    let account = console.account.0.to_string();
    let mut moved = 0;
    for spec in ALL_CONSUMERS {
        let replayed =
            sklad_bus::parking::replay_for(&state.broker, spec.name, Some(&account), REPLAY_LIMIT)
                .await;
        match replayed {
            Ok(n) => moved += n,
            Err(err) => {
                tracing::warn!(error = %err, consumer = spec.name, "console replay failed");
                let frame = console.frame(
                    Section::Status,
                    Some(Notice::Failed(console.t().broker_down.to_owned())),
                );
                return show(&state, console, frame, StatusCode::SERVICE_UNAVAILABLE).await;
            }
        }
        tracing::info!(account_id = %account, consumer = spec.name, "parked messages replayed from the console");
    }
    Ok(see_other(&format!("/status?moved={moved}"), None))
}
