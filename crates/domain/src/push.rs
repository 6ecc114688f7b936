//! What a push to keyCRM carries: sums against what keyCRM last accepted, the quantity keyCRM
//! may be told, how a failing push backs off, and drift found by reading keyCRM back.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What keyCRM is told a SKU holds when sklad's sum is `sum`: keyCRM refuses negative
/// quantities (and would then keep its old positive one, leaving on sale what does not
/// exist), so a negative sum goes out as zero; sklad itself keeps the negative balance.
pub fn keycrm_quantity(sum: Decimal) -> Decimal {
    sum.max(Decimal::ZERO)
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

/// How long a push that failed `failures` times in a row waits before the next try: `base`,
/// doubling, at most `cap`. A push keyCRM keeps refusing slows down instead of spending the
/// key's budget in a loop.
pub fn push_backoff(
    failures: i32,
    base: std::time::Duration,
    cap: std::time::Duration,
) -> std::time::Duration {
    let doublings = u32::try_from(failures.saturating_sub(1).clamp(0, 30)).unwrap_or(0);
    base.saturating_mul(1_u32 << doublings).min(cap)
}

/// A SKU whose quantity in keyCRM differs from sklad's sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Drift {
    pub keycrm_warehouse_id: i64,
    pub sku: String,
    pub keycrm_quantity: Decimal,
    pub sklad_quantity: Decimal,
}

/// Compares, for one keyCRM warehouse, keyCRM's quantity with sklad's sum for each SKU both
/// know (`skus`); a SKU missing on either side holds zero there.
pub fn drift(
    keycrm_warehouse_id: i64,
    skus: &BTreeSet<String>,
    keycrm: &BTreeMap<String, Decimal>,
    sklad: &BTreeMap<String, Decimal>,
) -> Vec<Drift> {
    skus.iter()
        .filter_map(|sku| {
            let theirs = keycrm.get(sku).copied().unwrap_or_default().normalize();
            let ours = sklad.get(sku).copied().unwrap_or_default().normalize();
            (theirs != ours).then(|| Drift {
                keycrm_warehouse_id,
                sku: sku.clone(),
                keycrm_quantity: theirs,
                sklad_quantity: ours,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn failing_pushes_back_off_to_a_cap() {
        use std::time::Duration;
        let (base, cap) = (Duration::from_secs(5), Duration::from_secs(900));
        assert_eq!(push_backoff(1, base, cap), Duration::from_secs(5));
        assert_eq!(push_backoff(2, base, cap), Duration::from_secs(10));
        assert_eq!(push_backoff(5, base, cap), Duration::from_secs(80));
        assert_eq!(push_backoff(9, base, cap), cap);
        assert_eq!(push_backoff(1000, base, cap), cap);
        assert_eq!(push_backoff(0, base, cap), base);
    }

    #[test]
    fn drift_compares_what_both_sides_know() {
        let skus: BTreeSet<String> = ["A", "B", "C"].iter().map(|s| (*s).to_owned()).collect();
        let keycrm = BTreeMap::from([("A".to_owned(), dec!(5.00)), ("B".to_owned(), dec!(1))]);
        let sklad = BTreeMap::from([("A".to_owned(), dec!(5)), ("C".to_owned(), dec!(2))]);
        let found = drift(3, &skus, &keycrm, &sklad);
        assert_eq!(
            found,
            vec![
                Drift {
                    keycrm_warehouse_id: 3,
                    sku: "B".into(),
                    keycrm_quantity: dec!(1),
                    sklad_quantity: dec!(0)
                },
                Drift {
                    keycrm_warehouse_id: 3,
                    sku: "C".into(),
                    keycrm_quantity: dec!(0),
                    sklad_quantity: dec!(2)
                },
            ]
        );
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

    #[test]
    fn keycrm_never_hears_a_negative_quantity() {
        assert_eq!(keycrm_quantity(dec!(-2)), Decimal::ZERO);
        assert_eq!(keycrm_quantity(Decimal::ZERO), Decimal::ZERO);
        assert_eq!(keycrm_quantity(dec!(2.5)), dec!(2.5));
    }
}
