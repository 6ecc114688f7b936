//! `POST /stock/take-over`: moving in, sklad's balances become keyCRM's quantities.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use sklad_domain::orders::is_keycrm_id;
use sklad_domain::takeover::{Skipped, TakeOverLine};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ApiState;
use crate::auth::AccountId;
use crate::error::{ApiError, ErrorBody};
use crate::json::Json;

/// What to take over.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeOverRequest {
    /// Per keyCRM warehouse id fed by several sklad warehouses, the sklad warehouse that
    /// takes the difference (the others keep what they hold). Not needed for a keyCRM
    /// warehouse with one sklad warehouse.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Uuid>, example = json!({"1": "0193a9d0-7c1e-7c3a-9f1e-2b4c6d8e0f12"}))]
    pub into: BTreeMap<String, Uuid>,
    /// Show what would change; record nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// One keyCRM warehouse's take-over.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TakeOverTarget {
    pub keycrm_warehouse_id: i64,
    /// The sklad warehouse counted.
    pub warehouse_id: Uuid,
    /// Other sklad warehouses mapped there: they keep what they hold.
    pub keeps: Vec<Uuid>,
    /// Every SKU keyCRM lists or the counted warehouse holds: sklad's quantity, keyCRM's
    /// (less what the others keep) and the change.
    pub lines: Vec<TakeOverLineView>,
    /// SKUs keyCRM holds that were not taken over, with the reason.
    pub skipped: Vec<SkippedView>,
    /// The opening count recorded (`origin: keycrm_take_over`); none on a dry run or when
    /// nothing changed.
    pub movement_id: Option<Uuid>,
}

/// A SKU's line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TakeOverLineView {
    pub sku: String,
    pub sklad: rust_decimal::Decimal,
    pub keycrm: rust_decimal::Decimal,
    pub change: rust_decimal::Decimal,
}

/// A SKU left alone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SkippedView {
    pub sku: String,
    pub keycrm_quantity: rust_decimal::Decimal,
    pub reason: sklad_domain::takeover::SkipReason,
}

impl From<TakeOverLine> for TakeOverLineView {
    fn from(l: TakeOverLine) -> Self {
        Self {
            sku: l.sku,
            sklad: l.sklad,
            keycrm: l.keycrm,
            change: l.change,
        }
    }
}

impl From<Skipped> for SkippedView {
    fn from(s: Skipped) -> Self {
        Self {
            sku: s.sku,
            keycrm_quantity: s.keycrm_quantity,
            reason: s.reason,
        }
    }
}

/// The take-over's outcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TakeOverReport {
    pub dry_run: bool,
    /// keyCRM pages read.
    pub keycrm_pages: u32,
    /// Opening counts recorded.
    pub movements: usize,
    pub data: Vec<TakeOverTarget>,
}

impl From<sklad_app::takeover::TakeOver> for TakeOverReport {
    fn from(done: sklad_app::takeover::TakeOver) -> Self {
        Self {
            dry_run: done.dry_run,
            keycrm_pages: done.pages,
            movements: done
                .targets
                .iter()
                .filter(|t| t.movement_id.is_some())
                .count(),
            data: done
                .targets
                .into_iter()
                .map(|t| TakeOverTarget {
                    keycrm_warehouse_id: t.keycrm_warehouse_id,
                    warehouse_id: t.warehouse_id,
                    keeps: t.keeps,
                    lines: t.lines.into_iter().map(Into::into).collect(),
                    skipped: t.skipped.into_iter().map(Into::into).collect(),
                    movement_id: t.movement_id,
                })
                .collect(),
        }
    }
}

/// Takes keyCRM's stock over: for each mapped keyCRM warehouse, reads keyCRM's quantities
/// (every page of `GET /offers/stocks?filter[details]=true`) and records one `inventory`
/// movement (`origin: keycrm_take_over`) that makes sklad's balances equal to them. A dry
/// run records nothing; a second real run records nothing when nothing changed; keyCRM is
/// sent nothing. Afterwards switching sending on needs no confirmation.
#[utoipa::path(
    tag = "Stock push",
    request_body = TakeOverRequest,
    responses(
        (status = 200, body = TakeOverReport),
        (status = 401, body = ErrorBody),
        (status = 409, description = "No keyCRM key saved, or no warehouse is mapped to keyCRM (`nothing_mapped`)", body = ErrorBody),
        (status = 422, description = "A keyCRM warehouse fed by several sklad warehouses needs `into`, or `into` names a warehouse not mapped there", body = ErrorBody),
        (status = 429, description = "The keyCRM request budget of this API key is spent for now; `Retry-After` says when to come back", body = ErrorBody),
        (status = 502, body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
#[post("/stock/take-over")]
pub async fn take_over(
    state: web::Data<ApiState>,
    account: AccountId,
    body: Json<TakeOverRequest>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(run(&state, account, body.into_inner()).await?))
}

/// Runs a take-over (the API's and the console's one way).
pub async fn run(
    state: &ApiState,
    account: AccountId,
    request: TakeOverRequest,
) -> Result<TakeOverReport, ApiError> {
    let mut into = BTreeMap::new();
    for (key, warehouse) in request.into {
        let id = key
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| is_keycrm_id(*id));
        let Some(id) = id else {
            return Err(ApiError::validation(format!(
                "into: `{}` is not a keyCRM warehouse id",
                key.chars().take(40).collect::<String>()
            )));
        };
        into.insert(id, warehouse);
    }
    let keycrm = state.client(account).await?;
    let done = sklad_app::takeover::take_over(
        &state.db,
        &keycrm.client,
        account.0,
        &into,
        request.dry_run,
        |_, _| {},
    )
    .await?;
    Ok(TakeOverReport::from(done))
}
