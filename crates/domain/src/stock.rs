//! Stock rules: what a movement does to balances, and how one is undone.
//!
//! Why this file is long: the movement rules and their unit tests (about half the file)
//! read best side by side.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use uuid::Uuid;

crate::text_enum! {
    /// The kinds of stock documents in the ledger.
    pub enum MovementKind {
        /// Goods arrive in a warehouse.
        Receipt,
        /// Goods leave a warehouse (damage, loss, own use).
        WriteOff,
        /// Goods move from one warehouse to another.
        Transfer,
        /// A count: the balance becomes the counted quantity.
        Inventory,
        /// A customer order's lines leave a warehouse.
        Shipment,
        /// A shipped order comes back (it entered a return status): what it took returns to
        /// the warehouse it left from.
        Return,
        /// A shipped order's lines changed in keyCRM: the difference leaves (or returns).
        Correction,
        /// A production order made something: its components leave one warehouse and the
        /// finished goods arrive in another, in one document.
        Production,
        /// Undoes a receipt, write-off, transfer or count recorded by mistake: every line of
        /// the original, negated. The ledger is never edited.
        Reversal,
    }
}

crate::text_enum! {
    /// Where a movement came from, when not from a person's form or an order.
    pub enum MovementOrigin {
        /// The opening count that took over keyCRM's quantities.
        KeycrmTakeOver,
        /// A counts spreadsheet.
        Spreadsheet,
    }
}

crate::text_enum! {
    /// The kinds a person records by hand (`POST /movements`); shipments come from orders.
    pub enum ManualKind {
        Receipt,
        WriteOff,
        Transfer,
        Inventory,
    }
}

impl From<ManualKind> for MovementKind {
    fn from(kind: ManualKind) -> Self {
        match kind {
            ManualKind::Receipt => MovementKind::Receipt,
            ManualKind::WriteOff => MovementKind::WriteOff,
            ManualKind::Transfer => MovementKind::Transfer,
            ManualKind::Inventory => MovementKind::Inventory,
        }
    }
}

crate::text_enum! {
    /// What became of one `PUT /offers/stocks`.
    pub enum PushOutcome {
        /// keyCRM took every item (202).
        Accepted,
        /// keyCRM refused some items (422); the rest are sent again without them.
        Rejected,
        /// keyCRM did not take the request (429, 5xx, transport); the items stay dirty.
        Failed,
    }
}

crate::text_enum! {
    /// How sklad learned of a keyCRM warehouse (keyCRM has no endpoint that lists them).
    pub enum KeycrmWarehouseSource {
        /// Found in `GET /offers/stocks?filter[details]=true` by "update the list".
        Stocks,
        /// Entered by hand.
        Manual,
    }
}

/// Why a movement is refused before touching any balance.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MovementError {
    #[error("a movement needs at least one line")]
    NoLines,
    #[error("line {0}: the quantity must be greater than zero")]
    NotPositive(usize),
    #[error("line {0}: a counted quantity cannot be negative")]
    NegativeCount(usize),
    #[error("line {0}: a correction of zero moves nothing")]
    ZeroCorrection(usize),
    #[error("a transfer needs two different warehouses")]
    SameWarehouse,
    #[error("this kind of movement needs {0}")]
    MissingWarehouse(&'static str),
    #[error("a movement has at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("line {0}: quantities have at most 4 decimal places and 14 digits before the point")]
    OutOfRange(usize),
    #[error("production movements come from production orders")]
    FromProductionOrders,
    #[error("reversals come from the movement they undo")]
    FromReversedMovement,
}

/// The most lines one movement may have.
pub const MAX_LINES: usize = 10_000;

/// Whether a quantity or price fits what sklad stores (every amount column is
/// `numeric(18, 4)`): at most 4 decimal places and 14 digits before the point.
pub fn fits_amount(quantity: Decimal) -> bool {
    let q = quantity.normalize();
    q.scale() <= 4 && q.abs() < Decimal::from(100_000_000_000_000_i64)
}

/// How one ledger line changes its balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Add this signed amount.
    By(Decimal),
    /// Make the balance this (an inventory count); the change follows from the balance.
    SetTo(Decimal),
}

/// One balance a movement changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerLine {
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub change: Change,
}

/// Where a movement's goods are: one warehouse, or a transfer's source and destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Places {
    pub warehouse_id: Option<Uuid>,
    pub from_warehouse_id: Option<Uuid>,
    pub to_warehouse_id: Option<Uuid>,
}

impl Places {
    /// A movement in one warehouse.
    pub fn one(warehouse_id: Uuid) -> Self {
        Self {
            warehouse_id: Some(warehouse_id),
            ..Self::default()
        }
    }
}

/// The ledger lines of a movement of `kind` moving `items` (product, quantity) at `places`:
/// a receipt adds, a write-off or shipment takes away, a transfer takes from one warehouse
/// and adds to the other, an inventory sets the counted quantity. Quantities must be
/// positive (counts zero or more), and a transfer needs two different warehouses.
pub fn plan(
    kind: MovementKind,
    places: Places,
    items: &[(Uuid, Decimal)],
) -> Result<Vec<LedgerLine>, MovementError> {
    if items.is_empty() {
        return Err(MovementError::NoLines);
    }
    if items.len() > MAX_LINES {
        return Err(MovementError::TooManyLines);
    }
    for (i, (_, q)) in items.iter().enumerate() {
        if !fits_amount(*q) {
            return Err(MovementError::OutOfRange(i + 1));
        }
        match kind {
            MovementKind::Inventory if *q < Decimal::ZERO => {
                return Err(MovementError::NegativeCount(i + 1));
            }
            MovementKind::Inventory => {}
            MovementKind::Correction if q.is_zero() => {
                return Err(MovementError::ZeroCorrection(i + 1));
            }
            MovementKind::Correction => {}
            _ if *q <= Decimal::ZERO => return Err(MovementError::NotPositive(i + 1)),
            _ => {}
        }
    }
    let line = |warehouse_id, product_id, change| LedgerLine {
        warehouse_id,
        product_id,
        change,
    };
    let one = || {
        places
            .warehouse_id
            .ok_or(MovementError::MissingWarehouse("warehouse_id"))
    };
    let each = |warehouse: Uuid, change: fn(Decimal) -> Change| {
        items
            .iter()
            .map(|(product, q)| line(warehouse, *product, change(*q)))
            .collect::<Vec<_>>()
    };
    Ok(match kind {
        MovementKind::Receipt | MovementKind::Return => each(one()?, Change::By),
        // A correction's quantity is how much more the order takes (negative: gives back).
        MovementKind::WriteOff | MovementKind::Shipment | MovementKind::Correction => {
            each(one()?, |q| Change::By(-q))
        }
        MovementKind::Inventory => each(one()?, Change::SetTo),
        MovementKind::Production => return Err(MovementError::FromProductionOrders),
        MovementKind::Reversal => return Err(MovementError::FromReversedMovement),
        MovementKind::Transfer => {
            let (Some(from), Some(to)) = (places.from_warehouse_id, places.to_warehouse_id) else {
                return Err(MovementError::MissingWarehouse(
                    "from_warehouse_id and to_warehouse_id",
                ));
            };
            if from == to {
                return Err(MovementError::SameWarehouse);
            }
            items
                .iter()
                .flat_map(|(product, q)| {
                    [
                        line(from, *product, Change::By(-*q)),
                        line(to, *product, Change::By(*q)),
                    ]
                })
                .collect()
        }
    })
}

/// What a shipped order must still take from its warehouse, per product, so that what it
/// took equals its lines now: `lines` are the order's (product, quantity) lines (a product
/// may stand on several), `taken` what its movements took so far per product. Positive:
/// more leaves; negative: some comes back. Products that balance are left out; sorted by
/// product.
pub fn order_correction(
    lines: &[(Uuid, Decimal)],
    taken: &[(Uuid, Decimal)],
) -> Vec<(Uuid, Decimal)> {
    let mut due: BTreeMap<Uuid, Decimal> = BTreeMap::new();
    for (product, quantity) in lines {
        if *quantity > Decimal::ZERO {
            *due.entry(*product).or_default() += *quantity;
        }
    }
    for (product, quantity) in taken {
        *due.entry(*product).or_default() -= *quantity;
    }
    due.into_iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(product, q)| (product, q.normalize()))
        .collect()
}

/// Why a movement cannot be reversed by `POST /movements/{id}/reverse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReverseError {
    /// Shipments, returns, corrections and production movements belong to an order's or a
    /// production order's document: undoing one here would leave that document wrong.
    #[error(
        "a {0} is undone through its own document (the order or the production order), not by reversal"
    )]
    ThroughDocument(MovementKind),
}

/// The ledger lines that undo a movement of `kind` whose lines changed balances by
/// `deltas` (warehouse, product, change): each change negated, a count included (what the
/// count added or took away goes back, whatever the balance is now).
pub fn reversal(
    kind: MovementKind,
    deltas: &[(Uuid, Uuid, Decimal)],
) -> Result<Vec<LedgerLine>, ReverseError> {
    match kind {
        MovementKind::Receipt
        | MovementKind::WriteOff
        | MovementKind::Transfer
        | MovementKind::Inventory
        | MovementKind::Reversal => Ok(deltas
            .iter()
            .map(|(warehouse_id, product_id, delta)| LedgerLine {
                warehouse_id: *warehouse_id,
                product_id: *product_id,
                change: Change::By(-*delta),
            })
            .collect()),
        MovementKind::Shipment
        | MovementKind::Return
        | MovementKind::Correction
        | MovementKind::Production => Err(ReverseError::ThroughDocument(kind)),
    }
}

/// A product a document needs more of than a warehouse holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: Uuid,
    pub needed: Decimal,
    pub on_hand: Decimal,
}

/// Every product of `items` (product, quantity; a product may stand on several lines) whose
/// total need is more than `on_hand` holds (missing: none): all of them, not the first, so a
/// person sees at once everything an order waits for. Sorted by product.
pub fn shortages(
    items: &[(Uuid, Decimal)],
    on_hand: &std::collections::HashMap<Uuid, Decimal>,
) -> Vec<Shortage> {
    let mut needed: BTreeMap<Uuid, Decimal> = BTreeMap::new();
    for (product, quantity) in items {
        if *quantity > Decimal::ZERO {
            *needed.entry(*product).or_default() += *quantity;
        }
    }
    needed
        .into_iter()
        .filter_map(|(product_id, needed)| {
            let on_hand = on_hand.get(&product_id).copied().unwrap_or_default();
            (needed > on_hand).then_some(Shortage {
                product_id,
                needed: needed.normalize(),
                on_hand: on_hand.normalize(),
            })
        })
        .collect()
}

/// The change that makes `current` become `counted`.
pub fn inventory_delta(current: Decimal, counted: Decimal) -> Decimal {
    counted - current
}

/// A balance may drop below zero only where the warehouse allows it; a change that does not
/// lower the balance is always fine (so a negative balance can still be repaired).
pub fn refuses(new_balance: Decimal, delta: Decimal, allow_negative: bool) -> bool {
    !allow_negative && new_balance < Decimal::ZERO && delta < Decimal::ZERO
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use strum::VariantNames;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn a_correction_is_what_the_lines_want_minus_what_was_taken() {
        // Nothing changed: nothing to do.
        let lines = [(id(1), dec!(2)), (id(2), dec!(1))];
        assert!(order_correction(&lines, &[(id(1), dec!(2)), (id(2), dec!(1))]).is_empty());
        // One more of 1, product 2 removed, product 3 added, a product on two lines.
        let edited = [(id(1), dec!(2)), (id(3), dec!(0.5)), (id(1), dec!(1))];
        assert_eq!(
            order_correction(&edited, &[(id(1), dec!(2)), (id(2), dec!(1))]),
            vec![(id(1), dec!(1)), (id(2), dec!(-1)), (id(3), dec!(0.5))]
        );
        // A line of nothing wants nothing; what was taken comes back.
        assert_eq!(
            order_correction(&[(id(1), dec!(0))], &[(id(1), dec!(4.0))]),
            vec![(id(1), dec!(-4))]
        );
        // Planned as a correction: positive leaves, negative comes back; zero is refused.
        let w = id(9);
        let planned = plan(
            MovementKind::Correction,
            Places::one(w),
            &[(id(1), dec!(1)), (id(2), dec!(-1))],
        )
        .unwrap();
        assert_eq!(planned[0].change, Change::By(dec!(-1)));
        assert_eq!(planned[1].change, Change::By(dec!(1)));
        assert!(matches!(
            plan(
                MovementKind::Correction,
                Places::one(w),
                &[(id(1), dec!(0))]
            ),
            Err(MovementError::ZeroCorrection(1))
        ));
        let back = plan(MovementKind::Return, Places::one(w), &[(id(1), dec!(2))]).unwrap();
        assert_eq!(back[0].change, Change::By(dec!(2)));
    }

    #[test]
    fn a_reversal_negates_every_line_of_a_manual_document_only() {
        let (w1, w2, p) = (id(1), id(2), id(3));
        let transfer = [(w1, p, dec!(-2)), (w2, p, dec!(2))];
        let undo = reversal(MovementKind::Transfer, &transfer).unwrap();
        assert_eq!(undo[0].change, Change::By(dec!(2)));
        assert_eq!(undo[1].change, Change::By(dec!(-2)));
        assert_eq!((undo[0].warehouse_id, undo[1].warehouse_id), (w1, w2));
        // A count's change goes back as a change, not as a new count.
        let count = reversal(MovementKind::Inventory, &[(w1, p, dec!(-3))]).unwrap();
        assert_eq!(count[0].change, Change::By(dec!(3)));
        for kind in [
            MovementKind::Shipment,
            MovementKind::Return,
            MovementKind::Correction,
            MovementKind::Production,
        ] {
            assert_eq!(
                reversal(kind, &transfer),
                Err(ReverseError::ThroughDocument(kind))
            );
        }
        assert_eq!(
            plan(MovementKind::Reversal, Places::one(w1), &[(p, dec!(1))]),
            Err(MovementError::FromReversedMovement)
        );
    }

    #[test]
    fn every_short_product_is_named() {
        let (a, b, c) = (id(1), id(2), id(3));
        let held = std::collections::HashMap::from([(a, dec!(5)), (b, dec!(1))]);
        // A on two lines (3 + 4 > 5), B short by one, C held nowhere; a line of 0 needs nothing.
        let short = shortages(
            &[
                (a, dec!(3)),
                (b, dec!(2)),
                (a, dec!(4)),
                (c, dec!(1)),
                (id(4), dec!(0)),
            ],
            &held,
        );
        assert_eq!(
            short
                .iter()
                .map(|s| (s.product_id, s.needed, s.on_hand))
                .collect::<Vec<_>>(),
            vec![
                (a, dec!(7), dec!(5)),
                (b, dec!(2), dec!(1)),
                (c, dec!(1), dec!(0))
            ]
        );
        assert!(shortages(&[(a, dec!(5))], &held).is_empty());
    }

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in [
            MovementKind::Receipt,
            MovementKind::WriteOff,
            MovementKind::Transfer,
            MovementKind::Inventory,
            MovementKind::Shipment,
            MovementKind::Return,
            MovementKind::Correction,
        ] {
            assert_eq!(kind.as_ref().parse::<MovementKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_ref())
            );
        }
        assert!("theft".parse::<MovementKind>().is_err());
        assert!("shipment".parse::<ManualKind>().is_err());
        assert_eq!(
            ManualKind::VARIANTS,
            ["receipt", "write_off", "transfer", "inventory"]
        );
        assert_eq!(
            MovementKind::from(ManualKind::WriteOff),
            MovementKind::WriteOff
        );
    }

    #[test]
    fn quantities_must_be_positive_except_counts() {
        let w = Places::one(id(1));
        assert_eq!(
            plan(MovementKind::Receipt, w, &[]),
            Err(MovementError::NoLines)
        );
        assert_eq!(
            plan(
                MovementKind::Receipt,
                w,
                &[(id(5), dec!(1)), (id(6), dec!(0))]
            ),
            Err(MovementError::NotPositive(2))
        );
        assert_eq!(
            plan(MovementKind::WriteOff, w, &[(id(5), dec!(-1))]),
            Err(MovementError::NotPositive(1))
        );
        assert!(
            plan(
                MovementKind::Inventory,
                w,
                &[(id(5), dec!(0)), (id(6), dec!(3.5))]
            )
            .is_ok()
        );
        assert_eq!(
            plan(MovementKind::Inventory, w, &[(id(5), dec!(-1))]),
            Err(MovementError::NegativeCount(1))
        );
    }

    #[test]
    fn lines_follow_the_kind() {
        let (w, p) = (id(1), id(9));
        let single = |kind| plan(kind, Places::one(w), &[(p, dec!(2))]).unwrap();
        let change = |lines: Vec<LedgerLine>| lines.iter().map(|l| l.change).collect::<Vec<_>>();
        assert_eq!(change(single(MovementKind::Receipt)), [Change::By(dec!(2))]);
        assert_eq!(
            change(single(MovementKind::WriteOff)),
            [Change::By(dec!(-2))]
        );
        assert_eq!(
            change(single(MovementKind::Shipment)),
            [Change::By(dec!(-2))]
        );
        assert_eq!(
            change(single(MovementKind::Inventory)),
            [Change::SetTo(dec!(2))]
        );
        let transfer = plan(
            MovementKind::Transfer,
            Places {
                from_warehouse_id: Some(id(1)),
                to_warehouse_id: Some(id(2)),
                ..Places::default()
            },
            &[(p, dec!(3))],
        )
        .unwrap();
        assert_eq!(
            transfer,
            vec![
                LedgerLine {
                    warehouse_id: id(1),
                    product_id: p,
                    change: Change::By(dec!(-3))
                },
                LedgerLine {
                    warehouse_id: id(2),
                    product_id: p,
                    change: Change::By(dec!(3))
                },
            ]
        );
        assert_eq!(inventory_delta(dec!(10), dec!(7)), dec!(-3));
        assert_eq!(inventory_delta(dec!(-2), dec!(0)), dec!(2));
    }

    #[test]
    fn quantities_fit_the_ledger_and_movements_are_bounded() {
        let w = Places::one(id(1));
        assert!(fits_amount(dec!(99999999999999.9999)));
        assert!(!fits_amount(dec!(100000000000000)));
        assert!(!fits_amount(dec!(0.00001)));
        assert!(fits_amount(dec!(1.50000)), "trailing zeros are not places");
        assert!(fits_amount(dec!(-5)));
        assert_eq!(
            plan(MovementKind::Receipt, w, &[(id(5), dec!(0.00001))]),
            Err(MovementError::OutOfRange(1))
        );
        let many = vec![(id(5), dec!(1)); MAX_LINES + 1];
        assert_eq!(
            plan(MovementKind::Receipt, w, &many),
            Err(MovementError::TooManyLines)
        );
        assert!(plan(MovementKind::Receipt, w, &many[..MAX_LINES]).is_ok());
    }

    #[test]
    fn places_must_fit_the_kind() {
        let items = [(id(9), dec!(1))];
        assert_eq!(
            plan(MovementKind::Receipt, Places::default(), &items),
            Err(MovementError::MissingWarehouse("warehouse_id"))
        );
        assert!(matches!(
            plan(MovementKind::Transfer, Places::one(id(1)), &items),
            Err(MovementError::MissingWarehouse(_))
        ));
        let same = Places {
            from_warehouse_id: Some(id(1)),
            to_warehouse_id: Some(id(1)),
            ..Places::default()
        };
        assert_eq!(
            plan(MovementKind::Transfer, same, &items),
            Err(MovementError::SameWarehouse)
        );
    }

    #[test]
    fn negative_balances_are_refused_unless_allowed() {
        assert!(refuses(dec!(-1), dec!(-3), false));
        assert!(!refuses(dec!(-1), dec!(-3), true));
        assert!(!refuses(dec!(0), dec!(-3), false));
        assert!(!refuses(dec!(-5), dec!(2), false), "repairs are fine");
    }
}
