//! Where an order's stock comes from and what it holds before it ships: the ship warehouse
//! (by keyCRM order source, or the account's default), its reservation, and how much of a
//! balance keyCRM is told about.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

crate::text_enum! {
    /// What sklad sends keyCRM for a SKU: the stock on the shelf, or what is not yet
    /// promised to an order. keyCRM subtracts its own reserve from what it receives, so
    /// `available` suits shops that do not reserve in keyCRM.
    pub enum PushQuantity {
        /// The balance (today's behaviour).
        OnHand,
        /// The balance less what orders in reserve statuses hold.
        Available,
    }
}

/// Orders from one keyCRM source (a shop, a marketplace) ship from their own warehouse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipSourceRule {
    /// keyCRM order source id (`source_id` of the order).
    #[schema(minimum = 1, maximum = 2147483647)]
    pub source_id: i64,
    /// The sklad warehouse its orders ship from and reserve in.
    pub warehouse_id: Uuid,
}

/// The warehouse an order ships from: its source's rule, else the default.
pub fn ship_warehouse(
    source_id: Option<i64>,
    rules: &[ShipSourceRule],
    default: Option<Uuid>,
) -> Option<Uuid> {
    source_id
        .and_then(|s| rules.iter().find(|r| r.source_id == s))
        .map(|r| r.warehouse_id)
        .or(default)
}

/// What an order holds: each product's quantity (lines of one product summed, nothing for
/// lines of nothing) in `warehouse`, keyed by (warehouse, product).
pub fn wanted(warehouse: Uuid, lines: &[(Uuid, Decimal)]) -> BTreeMap<(Uuid, Uuid), Decimal> {
    let mut held = BTreeMap::new();
    for (product, quantity) in lines {
        *held.entry((warehouse, *product)).or_insert(Decimal::ZERO) += *quantity;
    }
    held.retain(|_, q| *q > Decimal::ZERO);
    held
}

/// How each (warehouse, product)'s reserved total moves when an order's reservation goes
/// from `held` to `wanted`; unchanged pairs are absent.
pub fn changes(
    held: &BTreeMap<(Uuid, Uuid), Decimal>,
    wanted: &BTreeMap<(Uuid, Uuid), Decimal>,
) -> BTreeMap<(Uuid, Uuid), Decimal> {
    let mut delta: BTreeMap<(Uuid, Uuid), Decimal> = BTreeMap::new();
    for (key, q) in wanted {
        *delta.entry(*key).or_insert(Decimal::ZERO) += *q;
    }
    for (key, q) in held {
        *delta.entry(*key).or_insert(Decimal::ZERO) -= *q;
    }
    delta.retain(|_, d| !d.is_zero());
    delta
}

/// What a balance contributes to its keyCRM warehouse under `policy`, less the warehouse's
/// safety `buffer`; never below zero once anything is taken off.
pub fn pushed_quantity(
    policy: PushQuantity,
    on_hand: Decimal,
    reserved: Decimal,
    buffer: Decimal,
) -> Decimal {
    let base = match policy {
        PushQuantity::OnHand => on_hand,
        PushQuantity::Available => on_hand - reserved,
    };
    let taken_off = buffer > Decimal::ZERO || (policy == PushQuantity::Available);
    if taken_off {
        (base - buffer).max(Decimal::ZERO)
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_source_rule_wins_over_the_default() {
        let (w1, w2) = (Uuid::now_v7(), Uuid::now_v7());
        let rules = [ShipSourceRule {
            source_id: 3,
            warehouse_id: w2,
        }];
        assert_eq!(ship_warehouse(Some(3), &rules, Some(w1)), Some(w2));
        assert_eq!(ship_warehouse(Some(4), &rules, Some(w1)), Some(w1));
        assert_eq!(ship_warehouse(None, &rules, Some(w1)), Some(w1));
        assert_eq!(ship_warehouse(Some(4), &rules, None), None);
    }

    #[test]
    fn a_reservation_sums_lines_and_moves_by_the_difference() {
        let (w, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let want = wanted(w, &[(a, d("2")), (b, d("0")), (a, d("1.5"))]);
        assert_eq!(
            want.into_iter().collect::<Vec<_>>(),
            vec![((w, a), d("3.5"))]
        );
        let held = wanted(w, &[(a, d("2")), (b, d("1"))]);
        let now = wanted(w, &[(a, d("3"))]);
        let delta = changes(&held, &now);
        assert_eq!(delta.get(&(w, a)), Some(&d("1")));
        assert_eq!(delta.get(&(w, b)), Some(&d("-1")));
        assert!(changes(&now, &now).is_empty());
        assert_eq!(changes(&now, &BTreeMap::new()).get(&(w, a)), Some(&d("-3")));
    }

    #[test]
    fn available_takes_reservations_off_and_never_goes_below_zero() {
        let on_hand = PushQuantity::OnHand;
        let available = PushQuantity::Available;
        assert_eq!(pushed_quantity(on_hand, d("10"), d("4"), d("0")), d("10"));
        assert_eq!(pushed_quantity(on_hand, d("-2"), d("0"), d("0")), d("-2"));
        assert_eq!(pushed_quantity(on_hand, d("10"), d("4"), d("3")), d("7"));
        assert_eq!(pushed_quantity(available, d("10"), d("4"), d("0")), d("6"));
        assert_eq!(pushed_quantity(available, d("10"), d("4"), d("3")), d("3"));
        assert_eq!(pushed_quantity(available, d("3"), d("5"), d("0")), d("0"));
    }
}
