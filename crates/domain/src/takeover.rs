//! Taking over keyCRM's stock: the opening count that makes sklad's balances what keyCRM
//! holds, per keyCRM warehouse.
//!
//! One keyCRM warehouse may be fed by several sklad warehouses (keyCRM receives their sum).
//! The person names the one that takes the difference (`into`): the others keep what they
//! hold, and `into` is counted so the mapped warehouses sum to keyCRM's quantity. A SKU the
//! others already hold more of than keyCRM cannot be taken over that way; it is reported,
//! not guessed at.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

/// One SKU of the warehouse that takes the difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TakeOverLine {
    pub sku: String,
    /// What this sklad warehouse holds now.
    pub sklad: Decimal,
    /// What it will hold: keyCRM's quantity less what the other mapped warehouses keep.
    pub keycrm: Decimal,
    /// `keycrm - sklad`: the opening count's change.
    pub change: Decimal,
}

crate::text_enum! {
    /// Why a SKU keyCRM holds was not taken over.
    pub enum SkipReason {
        /// sklad has no product with this SKU (import the catalogue first).
        UnknownSku,
        /// The product does not track stock.
        NotStocked,
        /// keyCRM's quantity is below zero.
        NegativeInKeycrm,
        /// The other warehouses mapped to this keyCRM warehouse already hold more.
        OthersHoldMore,
        /// keyCRM's quantity has more than 4 decimal places or is too large to store.
        OutOfRange,
    }
}

/// A SKU left as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub sku: String,
    pub keycrm_quantity: Decimal,
    pub reason: SkipReason,
}

/// What one keyCRM warehouse's take-over does to its `into` warehouse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every SKU keyCRM lists or `into` holds, sorted; `change` zero where they agree.
    pub lines: Vec<TakeOverLine>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// The lines that change a balance (what the opening count records).
    pub fn changes(&self) -> impl Iterator<Item = &TakeOverLine> {
        self.lines.iter().filter(|l| !l.change.is_zero())
    }
}

/// What sklad knows of a SKU keyCRM lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Stocked,
    NotStocked,
}

/// Plans one keyCRM warehouse's take-over: `keycrm` its quantities per SKU, `known` sklad's
/// products among them, `into` and `others` what the taking warehouse and the other mapped
/// warehouses hold per SKU.
pub fn plan(
    keycrm: &BTreeMap<String, Decimal>,
    known: &BTreeMap<String, Known>,
    into: &BTreeMap<String, Decimal>,
    others: &BTreeMap<String, Decimal>,
) -> Plan {
    let mut plan = Plan::default();
    let skus: std::collections::BTreeSet<&String> = keycrm.keys().chain(into.keys()).collect();
    for sku in skus {
        let wanted = keycrm.get(sku).copied().unwrap_or_default().normalize();
        let skip = |reason| Skipped {
            sku: sku.clone(),
            keycrm_quantity: wanted,
            reason,
        };
        match known.get(sku) {
            None => {
                if !wanted.is_zero() {
                    plan.skipped.push(skip(SkipReason::UnknownSku));
                }
                continue;
            }
            Some(Known::NotStocked) => {
                plan.skipped.push(skip(SkipReason::NotStocked));
                continue;
            }
            Some(Known::Stocked) => {}
        }
        if wanted < Decimal::ZERO {
            plan.skipped.push(skip(SkipReason::NegativeInKeycrm));
            continue;
        }
        if !crate::stock::fits_amount(wanted) {
            plan.skipped.push(skip(SkipReason::OutOfRange));
            continue;
        }
        let kept = others.get(sku).copied().unwrap_or_default();
        let target = wanted - kept;
        if target < Decimal::ZERO {
            plan.skipped.push(skip(SkipReason::OthersHoldMore));
            continue;
        }
        let held = into.get(sku).copied().unwrap_or_default();
        plan.lines.push(TakeOverLine {
            sku: sku.clone(),
            sklad: held.normalize(),
            keycrm: target.normalize(),
            change: (target - held).normalize(),
        });
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn map(items: &[(&str, Decimal)]) -> BTreeMap<String, Decimal> {
        items.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect()
    }

    fn stocked(skus: &[&str]) -> BTreeMap<String, Known> {
        skus.iter()
            .map(|s| ((*s).to_owned(), Known::Stocked))
            .collect()
    }

    #[test]
    fn one_warehouse_becomes_what_keycrm_holds_and_a_second_run_changes_nothing() {
        let keycrm = map(&[("A", dec!(40)), ("B", dec!(25))]);
        let first = plan(
            &keycrm,
            &stocked(&["A", "B"]),
            &map(&[("A", dec!(5))]),
            &map(&[]),
        );
        let changes: Vec<_> = first
            .changes()
            .map(|l| (l.sku.as_str(), l.change))
            .collect();
        assert_eq!(changes, vec![("A", dec!(35)), ("B", dec!(25))]);
        let after = map(&[("A", dec!(40)), ("B", dec!(25))]);
        let second = plan(&keycrm, &stocked(&["A", "B"]), &after, &map(&[]));
        assert_eq!(second.changes().count(), 0);
        assert_eq!(second.lines.len(), 2, "the dry run still lists every SKU");
    }

    #[test]
    fn the_named_warehouse_takes_the_difference_and_the_others_keep_theirs() {
        let keycrm = map(&[("A", dec!(10)), ("B", dec!(2))]);
        let others = map(&[("A", dec!(4)), ("B", dec!(3))]);
        let got = plan(&keycrm, &stocked(&["A", "B"]), &map(&[]), &others);
        assert_eq!(got.lines[0].keycrm, dec!(6));
        assert_eq!(got.skipped[0].sku, "B");
        assert_eq!(got.skipped[0].reason, SkipReason::OthersHoldMore);
    }

    #[test]
    fn what_keycrm_lacks_goes_to_zero_and_unknown_or_unstocked_skus_are_skipped() {
        let keycrm = map(&[("NEW", dec!(3)), ("WRAP", dec!(1)), ("NEG", dec!(-2))]);
        let mut known = stocked(&["OLD", "NEG"]);
        known.insert("WRAP".into(), Known::NotStocked);
        let got = plan(&keycrm, &known, &map(&[("OLD", dec!(7))]), &map(&[]));
        assert_eq!(got.lines.len(), 1);
        assert_eq!(
            (got.lines[0].sku.as_str(), got.lines[0].change),
            ("OLD", dec!(-7))
        );
        let reasons: Vec<_> = got
            .skipped
            .iter()
            .map(|s| (s.sku.as_str(), s.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("NEG", SkipReason::NegativeInKeycrm),
                ("NEW", SkipReason::UnknownSku),
                ("WRAP", SkipReason::NotStocked)
            ]
        );
    }
}
