//! Recording stock documents: a person's receipt, write-off, transfer or count, and an
//! order's shipment, return, corrections and reservation. Products named by SKU are resolved here, the ledger lines come from
//! [`sklad_domain::stock::plan`], and [`sklad_db::stock::record`] writes them with their event.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use sklad_db::DbResult;
use sklad_db::order_stock::ShipmentFacts;
use sklad_db::order_stock::{self, Holder, ReservingOrder, ShipmentChange};
use sklad_db::orders::OrderRef;
use sklad_db::stock::{MovementInput, Recorded, Refused};
use sklad_domain::reservation;
use sklad_domain::stock::{
    LedgerLine, ManualKind, MovementKind, Places, ReverseError, order_correction, plan, reversal,
    shortages,
};
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
    /// The document itself is wrong (a line with neither product nor SKU, an order with
    /// nothing to ship...).
    #[error("{0}")]
    Invalid(String),
    /// The document breaks a stock rule (no lines, a bad quantity, one warehouse for a
    /// transfer...).
    #[error(transparent)]
    Rule(#[from] sklad_domain::stock::MovementError),
    /// The order to ship does not exist.
    #[error("no such order")]
    NoSuchOrder,
    /// A line names a SKU the account has no product for.
    #[error("line {line}: no product with SKU {sku}")]
    UnknownSku { line: usize, sku: String },
    /// The movement to reverse does not exist (or is another account's).
    #[error("no such movement")]
    NoSuchMovement,
    /// The movement belongs to an order's or a production order's document.
    #[error(transparent)]
    ThroughDocument(#[from] ReverseError),
    /// The warehouse forbids negative balances and holds less than the order needs of
    /// each of these.
    #[error("short of stock in {warehouse}: {}", short_list(.lines))]
    Short {
        warehouse: String,
        lines: Vec<ShortLine>,
    },
    #[error(transparent)]
    Refused(#[from] Refused),
}

impl From<sklad_db::DbError> for MovementError {
    fn from(err: sklad_db::DbError) -> Self {
        MovementError::Refused(Refused::Db(err))
    }
}

impl From<diesel::result::Error> for MovementError {
    fn from(err: diesel::result::Error) -> Self {
        sklad_db::DbError::from(err).into()
    }
}

/// A product an order needs more of than its warehouse holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    pub sku: String,
    pub needed: Decimal,
    pub on_hand: Decimal,
}

/// `SKU needed / on hand` of each line, language-neutral (the console words the rest).
pub fn short_list(lines: &[ShortLine]) -> String {
    lines
        .iter()
        .map(|l| format!("{} {} / {}", l.sku, l.needed, l.on_hand))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an order lacks in `warehouse` to ship, every short product named (empty when the
/// warehouse allows negative balances or holds enough). Works in the caller's transaction.
pub async fn short_lines(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    lines: &[(Uuid, Decimal)],
    warehouse: Uuid,
) -> DbResult<(String, Vec<ShortLine>)> {
    let Some(place) = sklad_db::warehouses::get(conn, account, warehouse).await? else {
        return Ok((String::new(), Vec::new()));
    };
    if place.allow_negative {
        return Ok((place.name, Vec::new()));
    }
    let products: Vec<Uuid> = lines.iter().map(|(p, _)| *p).collect();
    let held = sklad_db::boms::on_hand(conn, account, warehouse, &products).await?;
    let short = shortages(lines, &held);
    let ids: Vec<Uuid> = short.iter().map(|s| s.product_id).collect();
    let skus = sklad_db::products::skus_of(conn, account, &ids).await?;
    let lines = short
        .into_iter()
        .map(|s| ShortLine {
            sku: skus.get(&s.product_id).cloned().unwrap_or_default(),
            needed: s.needed,
            on_hand: s.on_hand,
        })
        .collect();
    Ok((place.name, lines))
}

/// Where an order ships from under the account's `settings`, and what it lacks there (its
/// lines of nothing skipped): `None` when the account names no ship warehouse for it.
pub async fn order_shortage(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    settings: &sklad_db::integrations::IntegrationSettings,
    facts: &ShipmentFacts,
) -> DbResult<Option<(Uuid, String, Vec<ShortLine>)>> {
    let Some(warehouse) = reservation::ship_warehouse(
        facts.source_id,
        &settings.ship_source_rules.0,
        settings.ship_warehouse_id,
    ) else {
        return Ok(None);
    };
    let lines: Vec<(Uuid, Decimal)> = facts
        .lines
        .iter()
        .filter(|(_, q)| *q > Decimal::ZERO)
        .copied()
        .collect();
    let (name, short) = short_lines(conn, account, &lines, warehouse).await?;
    Ok(Some((warehouse, name, short)))
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
    let lines = plan(kind, movement.places, &items).map_err(MovementError::Rule)?;
    Ok(sklad_db::stock::record(
        conn,
        account,
        MovementInput {
            origin: None,
            reverses: None,
            kind,
            note: movement.note,
            order_id: None,
            production_order_id: None,
            idempotency_key: movement.idempotency_key,
            lines,
        },
    )
    .await?)
}

/// Undoes a receipt, write-off, transfer, count or reversal recorded by mistake: one new
/// `reversal` movement negates each of its lines and names it, once per movement (a second
/// try is `AlreadyReversed`). The negative-balance rule applies as to any movement, and its
/// event goes out as any movement's, so keyCRM follows through the usual push.
pub async fn reverse(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
) -> Result<Recorded, MovementError> {
    let original = sklad_db::stock::load(conn, account, id)
        .await?
        .ok_or(MovementError::NoSuchMovement)?;
    if original.reversed_by.is_some() {
        return Err(Refused::AlreadyReversed.into());
    }
    let deltas: Vec<(Uuid, Uuid, Decimal)> = original
        .lines
        .iter()
        .map(|l| (l.warehouse_id, l.product_id, l.quantity_delta))
        .collect();
    let lines = reversal(original.movement.kind, &deltas)?;
    Ok(sklad_db::stock::record(
        conn,
        account,
        MovementInput {
            origin: None,
            reverses: Some(id),
            kind: MovementKind::Reversal,
            note: None,
            order_id: None,
            production_order_id: None,
            idempotency_key: None,
            lines,
        },
    )
    .await?)
}

/// Ships a customer order from `warehouse` by hand: its lines leave as one shipment
/// movement, once per order, in one transaction under the order's lock (as order-sync
/// ships it).
pub async fn ship(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order: OrderRef,
    warehouse: Uuid,
) -> Result<Recorded, MovementError> {
    conn.transaction::<_, MovementError, _>(async |conn| {
        let keycrm_id = sklad_db::order_stock::shipment_facts(conn, account, order)
            .await?
            .ok_or(MovementError::NoSuchOrder)?
            .keycrm_id;
        sklad_db::orders::lock_order(conn, account, keycrm_id).await?;
        // Read again under the lock: order-sync may have shipped it meanwhile.
        let facts = sklad_db::order_stock::shipment_facts(conn, account, order)
            .await?
            .ok_or(MovementError::NoSuchOrder)?;
        ship_order(conn, account, &facts, warehouse).await
    })
    .await
}

/// What an order holds before it ships: its lines in `warehouse` while `reserve` (a reserve
/// status, not shipped, not returned, still in keyCRM), nothing otherwise. Call in the
/// order's transaction, under its lock.
pub async fn hold(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    warehouse: Option<Uuid>,
    reserve: bool,
) -> DbResult<bool> {
    let keep = reserve
        && !facts.deleted
        && facts.shipped_movement_id.is_none()
        && facts.returned_movement_id.is_none();
    let wanted = match warehouse.filter(|_| keep) {
        Some(warehouse) => reservation::wanted(warehouse, &facts.lines),
        None => Default::default(),
    };
    let why = if facts.deleted {
        "deleted_in_keycrm"
    } else {
        "released"
    };
    order_stock::set(conn, account, Holder::Order(reserving(facts)), &wanted, why).await
}

fn reserving(facts: &ShipmentFacts) -> ReservingOrder {
    ReservingOrder {
        id: facts.id,
        keycrm_id: facts.keycrm_id,
    }
}

/// [`ship`] for an order the caller has read (and locked) already; what the order held is
/// released in the same transaction.
pub async fn ship_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    warehouse: Uuid,
) -> Result<Recorded, MovementError> {
    if facts.shipped_movement_id.is_some() {
        return Err(Refused::AlreadyShipped.into());
    }
    // A line of nothing moves nothing.
    let items: Vec<(Uuid, Decimal)> = facts
        .lines
        .iter()
        .filter(|(_, quantity)| *quantity > Decimal::ZERO)
        .copied()
        .collect();
    if items.is_empty() {
        return Err(MovementError::Invalid(
            "the order has no lines to ship".into(),
        ));
    }
    let (name, short) = short_lines(conn, account, &items, warehouse).await?;
    if !short.is_empty() {
        return Err(MovementError::Short {
            warehouse: name,
            lines: short,
        });
    }
    let lines = plan(MovementKind::Shipment, Places::one(warehouse), &items)
        .map_err(MovementError::Rule)?;
    let done = record_for_order(
        conn,
        account,
        facts,
        MovementKind::Shipment,
        format!("keyCRM order {}", facts.keycrm_id),
        lines,
    )
    .await?;
    order_stock::set(
        conn,
        account,
        Holder::Order(reserving(facts)),
        &Default::default(),
        "shipped",
    )
    .await?;
    Ok(done)
}

/// Records an order's shipment, return or correction and announces what it meant for the
/// order (`OrderShipmentChanged`), in the caller's transaction.
async fn record_for_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    kind: MovementKind,
    note: String,
    lines: Vec<LedgerLine>,
) -> Result<Recorded, MovementError> {
    let done = sklad_db::stock::record(
        conn,
        account,
        MovementInput {
            origin: None,
            reverses: None,
            kind,
            note: Some(note),
            order_id: Some(facts.id),
            production_order_id: None,
            idempotency_key: None,
            lines,
        },
    )
    .await?;
    let movement = done.movement.id;
    let change = match kind {
        MovementKind::Return => ShipmentChange::Returned(movement),
        MovementKind::Correction => ShipmentChange::Corrected(movement),
        _ => ShipmentChange::Shipped(movement),
    };
    announce(conn, account, facts, change).await?;
    Ok(done)
}

async fn announce(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    change: ShipmentChange<'_>,
) -> DbResult<()> {
    order_stock::shipment_changed(conn, account, reserving(facts), change).await
}

/// Announces that an order waits for stock (the first time it does).
pub async fn announce_waiting(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    why: &str,
) -> DbResult<()> {
    announce(conn, account, facts, ShipmentChange::Waiting(why)).await
}

/// Brings a shipped order's goods back to the warehouses they left: one return movement,
/// once per order (the order entered a return status).
pub async fn return_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
) -> Result<Recorded, MovementError> {
    if facts.returned_movement_id.is_some() {
        return Err(Refused::AlreadyReturned.into());
    }
    if facts.shipped_movement_id.is_none() {
        return Err(MovementError::Invalid("the order has not shipped".into()));
    }
    let taken = sklad_db::order_stock::taken_by_order(conn, account, facts.id).await?;
    let mut lines = Vec::new();
    for (warehouse, product, quantity) in taken {
        if quantity > Decimal::ZERO {
            lines.extend(
                plan(
                    MovementKind::Return,
                    Places::one(warehouse),
                    &[(product, quantity)],
                )
                .map_err(MovementError::Rule)?,
            );
        }
    }
    if lines.is_empty() {
        return Err(MovementError::Invalid(
            "the order holds nothing to return".into(),
        ));
    }
    record_for_order(
        conn,
        account,
        facts,
        MovementKind::Return,
        format!("keyCRM order {} returned", facts.keycrm_id),
        lines,
    )
    .await
}

/// Makes what a shipped (and not returned) order took equal its lines now: one correction
/// movement for the difference, in the warehouse it shipped from. `None`: nothing differs.
pub async fn correct_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
) -> Result<Option<Recorded>, MovementError> {
    if facts.shipped_movement_id.is_none() || facts.returned_movement_id.is_some() {
        return Ok(None);
    }
    let taken = sklad_db::order_stock::taken_by_order(conn, account, facts.id).await?;
    // A shipment leaves one warehouse, and its corrections follow it there.
    let Some(&(warehouse, _, _)) = taken.first() else {
        return Ok(None);
    };
    let per_product: Vec<(Uuid, Decimal)> = taken.iter().map(|(_, p, q)| (*p, *q)).collect();
    let difference = order_correction(&facts.lines, &per_product);
    if difference.is_empty() {
        return Ok(None);
    }
    let lines = plan(
        MovementKind::Correction,
        Places::one(warehouse),
        &difference,
    )
    .map_err(MovementError::Rule)?;
    record_for_order(
        conn,
        account,
        facts,
        MovementKind::Correction,
        format!(
            "keyCRM order {}: lines changed after shipping",
            facts.keycrm_id
        ),
        lines,
    )
    .await
    .map(Some)
}
