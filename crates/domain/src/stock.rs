//! Stock rules: what a movement does to balances, and what a push to keyCRM must carry.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// The kinds of stock documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl MovementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::WriteOff => "write_off",
            MovementKind::Transfer => "transfer",
            MovementKind::Inventory => "inventory",
            MovementKind::Shipment => "shipment",
        }
    }

    pub fn parse(kind: &str) -> Option<Self> {
        Some(match kind {
            "receipt" => MovementKind::Receipt,
            "write_off" => MovementKind::WriteOff,
            "transfer" => MovementKind::Transfer,
            "inventory" => MovementKind::Inventory,
            "shipment" => MovementKind::Shipment,
            _ => return None,
        })
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
    #[error("a transfer needs two different warehouses")]
    SameWarehouse,
    #[error("this kind of movement needs {0}")]
    MissingWarehouse(&'static str),
}

/// Checks a movement's quantities (one per line) before it is applied.
pub fn validate(kind: MovementKind, quantities: &[Decimal]) -> Result<(), MovementError> {
    if quantities.is_empty() {
        return Err(MovementError::NoLines);
    }
    for (i, q) in quantities.iter().enumerate() {
        match kind {
            MovementKind::Inventory if q.is_sign_negative() && !q.is_zero() => {
                return Err(MovementError::NegativeCount(i + 1));
            }
            MovementKind::Inventory => {}
            _ if *q <= Decimal::ZERO => return Err(MovementError::NotPositive(i + 1)),
            _ => {}
        }
    }
    Ok(())
}

/// The signed change a line makes to its warehouse's balance. A transfer's line makes two:
/// `-q` at the source and `+q` at the destination ([`transfer_deltas`]). An inventory line's
/// change depends on the current balance ([`inventory_delta`]).
pub fn delta(kind: MovementKind, quantity: Decimal) -> Decimal {
    match kind {
        MovementKind::Receipt => quantity,
        MovementKind::WriteOff | MovementKind::Shipment => -quantity,
        MovementKind::Transfer | MovementKind::Inventory => quantity,
    }
}

/// (source delta, destination delta) of a transfer line.
pub fn transfer_deltas(quantity: Decimal) -> (Decimal, Decimal) {
    (-quantity, quantity)
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

/// What a push to one keyCRM warehouse carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushPlan {
    /// SKUs whose sum differs from what keyCRM last accepted, with the sum to send.
    pub send: Vec<(String, Decimal)>,
    /// SKUs whose sum keyCRM already has: their dirty marks can go without a request.
    pub unchanged: Vec<String>,
}

/// Decides a push: `sums` is sklad's summed balance per dirty SKU (missing means zero);
/// `accepted` is the quantity keyCRM last accepted per SKU (missing: never pushed).
pub fn plan_push(
    dirty: &[String],
    sums: &BTreeMap<String, Decimal>,
    accepted: &BTreeMap<String, Decimal>,
) -> PushPlan {
    let mut plan = PushPlan::default();
    for sku in dirty {
        let sum = sums.get(sku).copied().unwrap_or(Decimal::ZERO);
        match accepted.get(sku) {
            Some(last) if *last == sum => plan.unchanged.push(sku.clone()),
            _ => plan.send.push((sku.clone(), sum)),
        }
    }
    plan.send.sort();
    plan.unchanged.sort();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in [
            MovementKind::Receipt,
            MovementKind::WriteOff,
            MovementKind::Transfer,
            MovementKind::Inventory,
            MovementKind::Shipment,
        ] {
            assert_eq!(MovementKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MovementKind::parse("theft"), None);
    }

    #[test]
    fn quantities_must_be_positive_except_counts() {
        assert_eq!(
            validate(MovementKind::Receipt, &[]),
            Err(MovementError::NoLines)
        );
        assert_eq!(
            validate(MovementKind::Receipt, &[dec!(1), dec!(0)]),
            Err(MovementError::NotPositive(2))
        );
        assert_eq!(
            validate(MovementKind::WriteOff, &[dec!(-1)]),
            Err(MovementError::NotPositive(1))
        );
        assert!(validate(MovementKind::Inventory, &[dec!(0), dec!(3.5)]).is_ok());
        assert_eq!(
            validate(MovementKind::Inventory, &[dec!(-1)]),
            Err(MovementError::NegativeCount(1))
        );
    }

    #[test]
    fn deltas_follow_the_kind() {
        assert_eq!(delta(MovementKind::Receipt, dec!(2)), dec!(2));
        assert_eq!(delta(MovementKind::WriteOff, dec!(2)), dec!(-2));
        assert_eq!(delta(MovementKind::Shipment, dec!(2)), dec!(-2));
        assert_eq!(transfer_deltas(dec!(3)), (dec!(-3), dec!(3)));
        assert_eq!(inventory_delta(dec!(10), dec!(7)), dec!(-3));
        assert_eq!(inventory_delta(dec!(-2), dec!(0)), dec!(2));
    }

    #[test]
    fn negative_balances_are_refused_unless_allowed() {
        assert!(refuses(dec!(-1), dec!(-3), false));
        assert!(!refuses(dec!(-1), dec!(-3), true));
        assert!(!refuses(dec!(0), dec!(-3), false));
        assert!(!refuses(dec!(-5), dec!(2), false), "repairs are fine");
    }

    #[test]
    fn pushes_skip_what_keycrm_already_has() {
        let dirty = vec![
            "A".to_owned(),
            "B".to_owned(),
            "C".to_owned(),
            "D".to_owned(),
        ];
        let sums = BTreeMap::from([
            ("A".to_owned(), dec!(5)),
            ("B".to_owned(), dec!(3)),
            ("C".to_owned(), dec!(0)),
        ]);
        let accepted = BTreeMap::from([("A".to_owned(), dec!(5)), ("B".to_owned(), dec!(2))]);
        let plan = plan_push(&dirty, &sums, &accepted);
        assert_eq!(
            plan.send,
            vec![
                ("B".to_owned(), dec!(3)),
                ("C".to_owned(), dec!(0)),
                ("D".to_owned(), dec!(0))
            ]
        );
        assert_eq!(plan.unchanged, vec!["A".to_owned()]);
    }
}
