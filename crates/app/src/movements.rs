//! Recording stock documents: a person's receipt, write-off, transfer or count, and an
//! order's shipment. Products named by SKU are resolved here, the ledger lines come from
//! [`sklad_domain::stock::plan`], and [`sklad_db::stock::record`] writes them with their event.

use diesel_async::AsyncPgConnection;
use rust_decimal::Decimal;
use sklad_db::orders::OrderRef;
use sklad_db::stock::{MovementInput, Recorded, Refused};
use sklad_domain::stock::{ManualKind, MovementKind, Places, plan};
use uuid::Uuid;

/// A product on a movement line: by id, or by SKU.
#[derive(Debug, Clone)]
pub struct LineRef {
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub quantity: Decimal,
}

/// A stock document a person records.
#[derive(Debug, Clone)]
pub struct ManualMovement {
    pub kind: ManualKind,
    pub places: Places,
    pub lines: Vec<LineRef>,
    pub note: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Why a movement was not recorded; nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum MovementError {
    /// The document itself is wrong (no lines, a bad quantity, an unknown SKU...).
    #[error("{0}")]
    Invalid(String),
    /// The order to ship does not exist.
    #[error("no such order")]
    NoSuchOrder,
    /// A line names a SKU the account has no product for.
    #[error("line {line}: no product with SKU {sku}")]
    UnknownSku { line: usize, sku: String },
    #[error(transparent)]
    Refused(#[from] Refused),
}

impl From<sklad_db::DbError> for MovementError {
    fn from(err: sklad_db::DbError) -> Self {
        MovementError::Refused(Refused::Db(err))
    }
}

/// Records a person's movement. `Recorded::created` is `false` when the idempotency key
/// returned the movement recorded earlier.
pub async fn record(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    movement: ManualMovement,
) -> Result<Recorded, MovementError> {
    let skus: Vec<String> = movement
        .lines
        .iter()
        .filter_map(|l| l.sku.clone())
        .collect();
    let by_sku = sklad_db::products::ids_by_sku(conn, account, &skus).await?;
    let mut items = Vec::with_capacity(movement.lines.len());
    for (i, line) in movement.lines.iter().enumerate() {
        let product = match (&line.product_id, &line.sku) {
            (Some(id), _) => *id,
            (None, Some(sku)) => *by_sku.get(sku).ok_or_else(|| MovementError::UnknownSku {
                line: i + 1,
                sku: sku.clone(),
            })?,
            (None, None) => {
                return Err(MovementError::Invalid(format!(
                    "line {}: give product_id or sku",
                    i + 1
                )));
            }
        };
        items.push((product, line.quantity));
    }
    let kind = MovementKind::from(movement.kind);
    let lines =
        plan(kind, movement.places, &items).map_err(|e| MovementError::Invalid(e.to_string()))?;
    Ok(sklad_db::stock::record(
        conn,
        account,
        MovementInput {
            kind,
            note: movement.note,
            order_id: None,
            idempotency_key: movement.idempotency_key,
            lines,
        },
    )
    .await?)
}

/// Ships a customer order from `warehouse`: its lines leave as one shipment movement, once
/// per order. Runs in the caller's transaction when there is one (order-sync ships in the
/// order's own, under its lock); the ledger write is a savepoint of it.
pub async fn ship(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order: OrderRef,
    warehouse: Uuid,
) -> Result<Recorded, MovementError> {
    let facts = sklad_db::orders::shipment_facts(conn, account, order)
        .await?
        .ok_or(MovementError::NoSuchOrder)?;
    if facts.shipped_movement_id.is_some() {
        return Err(Refused::AlreadyShipped.into());
    }
    // A line of nothing moves nothing.
    let items: Vec<(Uuid, Decimal)> = facts
        .lines
        .into_iter()
        .filter(|(_, quantity)| *quantity > Decimal::ZERO)
        .collect();
    if items.is_empty() {
        return Err(MovementError::Invalid(
            "the order has no lines to ship".into(),
        ));
    }
    let lines = plan(MovementKind::Shipment, Places::one(warehouse), &items)
        .map_err(|e| MovementError::Invalid(e.to_string()))?;
    Ok(sklad_db::stock::record(
        conn,
        account,
        MovementInput {
            kind: MovementKind::Shipment,
            note: Some(format!("keyCRM order {}", facts.keycrm_id)),
            order_id: Some(facts.id),
            idempotency_key: None,
            lines,
        },
    )
    .await?)
}
