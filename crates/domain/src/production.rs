//! Production rules: bills of materials (what a product is made of), what making some of it
//! takes, what it costs, how many can be made from the stock there is, and where a BOM
//! would make a product out of itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::stock::{Change, LedgerLine, MovementError, fits_amount};

crate::text_enum! {
    /// Where a production order stands.
    pub enum ProductionState {
        /// Written down; nothing held or moved.
        Planned,
        /// Being made: components are expected to be used.
        Released,
        /// Everything ordered was made (or it was closed after a partial run).
        Done,
        /// Called off; what was made stays made.
        Cancelled,
    }
}

/// One component of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component {
    pub product_id: Uuid,
    /// Per batch of the BOM's output quantity.
    pub quantity: Decimal,
}

/// A product's current bill of materials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bom {
    /// How much one batch makes.
    pub output_quantity: Decimal,
    pub components: Vec<Component>,
}

/// Why a BOM is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BomError {
    #[error("a BOM needs at least one component")]
    NoComponents,
    #[error("a BOM has at most {MAX_COMPONENTS} components")]
    TooManyComponents,
    #[error("the output quantity must be greater than zero")]
    NoOutput,
    #[error("component {0}: the quantity must be greater than zero")]
    NotPositive(usize),
    #[error("component {0}: the product is listed twice")]
    Twice(usize),
    #[error("a product cannot be its own component")]
    ItsOwnComponent,
}

/// The most components one BOM may list.
pub const MAX_COMPONENTS: usize = 1000;

/// Checks a BOM of `product` on its own (the cycle check needs the others: [`cycle`]).
pub fn check(product: Uuid, bom: &Bom) -> Result<(), BomError> {
    if bom.output_quantity <= Decimal::ZERO {
        return Err(BomError::NoOutput);
    }
    if bom.components.is_empty() {
        return Err(BomError::NoComponents);
    }
    if bom.components.len() > MAX_COMPONENTS {
        return Err(BomError::TooManyComponents);
    }
    let mut seen = HashSet::new();
    for (i, c) in bom.components.iter().enumerate() {
        if c.quantity <= Decimal::ZERO {
            return Err(BomError::NotPositive(i + 1));
        }
        if c.product_id == product {
            return Err(BomError::ItsOwnComponent);
        }
        if !seen.insert(c.product_id) {
            return Err(BomError::Twice(i + 1));
        }
    }
    Ok(())
}

/// The loop that giving `product` these `components` would close, given every other
/// product's current components (`uses`): `[product, a, b, product]`, or `None`.
pub fn cycle(
    product: Uuid,
    components: &[Uuid],
    uses: &HashMap<Uuid, Vec<Uuid>>,
) -> Option<Vec<Uuid>> {
    fn walk(
        at: Uuid,
        target: Uuid,
        uses: &HashMap<Uuid, Vec<Uuid>>,
        seen: &mut HashSet<Uuid>,
        path: &mut Vec<Uuid>,
    ) -> bool {
        path.push(at);
        if at == target {
            return true;
        }
        if seen.insert(at) {
            for next in uses.get(&at).into_iter().flatten() {
                if walk(*next, target, uses, seen, path) {
                    return true;
                }
            }
        }
        path.pop();
        false
    }
    let mut seen = HashSet::new();
    for start in components {
        let mut path = vec![product];
        if walk(*start, product, uses, &mut seen, &mut path) {
            return Some(path);
        }
    }
    None
}

/// What making `made` of a product with `bom` takes of each component:
/// `made × component quantity ÷ output quantity`, rounded up to 4 places (a part of a
/// component is still used). `None` when a figure leaves what a decimal can hold.
pub fn requirement(bom: &Bom, made: Decimal) -> Option<Vec<(Uuid, Decimal)>> {
    bom.components
        .iter()
        .map(|c| {
            let need = made
                .checked_mul(c.quantity)?
                .checked_div(bom.output_quantity)?
                .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::AwayFromZero);
            Some((c.product_id, need.normalize()))
        })
        .collect()
}

/// The most whole units sklad reports or pushes (its amount columns hold 14 digits).
pub const MAX_UNITS: i64 = 99_999_999_999_999;

/// keyCRM's status group of cancelled orders (its groups are fixed: new 1, approval 2,
/// production 3, delivery 4, completed 5, cancelled 6).
pub const KEYCRM_CANCELLED_GROUP: i64 = 6;

/// How much of an order line to make: what `free` stock (available, counting what the order
/// itself holds) does not cover.
pub fn to_make(wanted: Decimal, free: Decimal) -> Decimal {
    (wanted - free.max(Decimal::ZERO)).max(Decimal::ZERO)
}

/// The ledger lines of making `made` of `product`: each component's `need` leaves
/// `component_warehouse`, and `made` arrives in `output_warehouse`.
pub fn production_lines(
    product: Uuid,
    made: Decimal,
    need: &[(Uuid, Decimal)],
    component_warehouse: Uuid,
    output_warehouse: Uuid,
) -> Result<Vec<LedgerLine>, MovementError> {
    if made <= Decimal::ZERO {
        return Err(MovementError::NotPositive(1));
    }
    let mut lines = Vec::with_capacity(need.len() + 1);
    for (i, (component, quantity)) in need.iter().enumerate() {
        if !fits_amount(*quantity) {
            return Err(MovementError::OutOfRange(i + 1));
        }
        lines.push(LedgerLine {
            warehouse_id: component_warehouse,
            product_id: *component,
            change: Change::By(-*quantity),
        });
    }
    if !fits_amount(made) {
        return Err(MovementError::OutOfRange(need.len() + 1));
    }
    lines.push(LedgerLine {
        warehouse_id: output_warehouse,
        product_id: product,
        change: Change::By(made),
    });
    Ok(lines)
}

/// A product's cost per unit: its BOM's components' costs (recursively) per unit made,
/// or its own unit cost when it has no BOM. `None` when some cost along the way is unknown.
pub fn unit_cost(
    product: Uuid,
    boms: &HashMap<Uuid, Bom>,
    own_cost: &HashMap<Uuid, Decimal>,
) -> Option<Decimal> {
    fn cost(
        product: Uuid,
        boms: &HashMap<Uuid, Bom>,
        own_cost: &HashMap<Uuid, Decimal>,
        memo: &mut HashMap<Uuid, Option<Decimal>>,
        depth: usize,
    ) -> Option<Decimal> {
        if let Some(known) = memo.get(&product) {
            return *known;
        }
        let value = match boms.get(&product) {
            // A cycle cannot be stored; the depth guard only keeps a bad row from recursing.
            Some(_) if depth > 64 => None,
            Some(bom) => {
                let mut total = Decimal::ZERO;
                let mut known = true;
                for c in &bom.components {
                    let part = cost(c.product_id, boms, own_cost, memo, depth + 1)
                        .and_then(|each| each.checked_mul(c.quantity))
                        .and_then(|part| total.checked_add(part));
                    match part {
                        Some(sum) => total = sum,
                        None => known = false,
                    }
                }
                known
                    .then(|| total.checked_div(bom.output_quantity))
                    .flatten()
                    .map(|c| c.round_dp(4).normalize())
            }
            None => own_cost.get(&product).copied(),
        };
        memo.insert(product, value);
        value
    }
    cost(product, boms, own_cost, &mut HashMap::new(), 0)
}

/// How many whole units of a product can be made now, and the component that limits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Makeable {
    pub units: Decimal,
    /// The component that runs out first (`None` for a product without a BOM).
    pub limiting: Option<Uuid>,
}

/// Units of `product` makeable from `available` stock (per product, in one warehouse):
/// each component counts what is available of it plus what can be made of it in turn, so a
/// sub-assembly without stock is made from its own components. A component shared by two
/// sub-assemblies is counted for each (the estimate an order planner starts from, not a
/// plan). Memoised in `memo`, so a catalogue costs each product once.
pub fn makeable(
    product: Uuid,
    boms: &HashMap<Uuid, Bom>,
    available: &HashMap<Uuid, Decimal>,
    memo: &mut BTreeMap<Uuid, Makeable>,
) -> Makeable {
    fn go(
        product: Uuid,
        boms: &HashMap<Uuid, Bom>,
        available: &HashMap<Uuid, Decimal>,
        memo: &mut BTreeMap<Uuid, Makeable>,
        depth: usize,
    ) -> Makeable {
        if let Some(known) = memo.get(&product) {
            return known.clone();
        }
        let none = Makeable {
            units: Decimal::ZERO,
            limiting: None,
        };
        let Some(bom) = boms.get(&product).filter(|_| depth <= 64) else {
            return none;
        };
        let mut best: Option<(Decimal, Uuid)> = None;
        for c in &bom.components {
            let have = available
                .get(&c.product_id)
                .copied()
                .unwrap_or_default()
                .max(Decimal::ZERO)
                .saturating_add(go(c.product_id, boms, available, memo, depth + 1).units);
            // Figures beyond a decimal's range saturate: nothing here may panic.
            let units = match c.quantity.checked_div(bom.output_quantity) {
                Some(per_unit) if !per_unit.is_zero() => have
                    .checked_div(per_unit)
                    .map_or(Decimal::MAX, |u| u.floor()),
                Some(_) => Decimal::MAX,
                None => Decimal::ZERO,
            };
            let units = units.min(Decimal::from(MAX_UNITS));
            if best.is_none_or(|(b, _)| units < b) {
                best = Some((units, c.product_id));
            }
        }
        let found = match best {
            Some((units, limiting)) => Makeable {
                units: units.normalize(),
                limiting: Some(limiting),
            },
            None => none,
        };
        memo.insert(product, found.clone());
        found
    }
    go(product, boms, available, memo, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn bom(output: &str, components: &[(Uuid, &str)]) -> Bom {
        Bom {
            output_quantity: d(output),
            components: components
                .iter()
                .map(|(p, q)| Component {
                    product_id: *p,
                    quantity: d(q),
                })
                .collect(),
        }
    }

    #[test]
    fn a_bom_that_closes_a_loop_is_named() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let uses = HashMap::from([(b, vec![c]), (c, vec![a])]);
        assert_eq!(cycle(a, &[b], &uses), Some(vec![a, b, c, a]));
        assert_eq!(cycle(b, &[c], &HashMap::new()), None);
        assert_eq!(
            check(a, &bom("1", &[(a, "1")])),
            Err(BomError::ItsOwnComponent)
        );
        assert_eq!(
            check(a, &bom("1", &[(b, "1"), (b, "2")])),
            Err(BomError::Twice(2))
        );
        assert_eq!(check(a, &bom("0", &[(b, "1")])), Err(BomError::NoOutput));
    }

    #[test]
    fn an_order_makes_only_what_stock_does_not_cover() {
        assert_eq!(to_make(d("5"), d("2")), d("3"));
        assert_eq!(to_make(d("5"), d("7")), d("0"));
        assert_eq!(to_make(d("5"), d("-3")), d("5"));
    }

    #[test]
    fn requirement_scales_by_the_batch_and_rounds_up() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let shirt = bom("2", &[(a, "3"), (b, "0.00003")]);
        assert_eq!(
            requirement(&shirt, d("5")),
            Some(vec![(a, d("7.5")), (b, d("0.0001"))])
        );
        let huge = bom("0.0001", &[(a, "99999999999999")]);
        assert_eq!(requirement(&huge, d("99999999999999")), None);
        // Tiny per-unit needs and big stock saturate instead of overflowing.
        let boms = HashMap::from([(b, huge.clone())]);
        let plenty = HashMap::from([(a, d("99999999999999"))]);
        let got = makeable(b, &boms, &plenty, &mut BTreeMap::new());
        assert!(got.units <= Decimal::from(MAX_UNITS));
        let fine = bom("0.0001", &[(a, "0.0001")]);
        let boms = HashMap::from([(b, fine)]);
        let got = makeable(b, &boms, &plenty, &mut BTreeMap::new());
        assert_eq!(got.units, Decimal::from(MAX_UNITS));
        let costs = HashMap::from([(a, d("99999999999999"))]);
        assert_eq!(unit_cost(b, &HashMap::from([(b, huge)]), &costs), None);
    }

    #[test]
    fn costs_roll_up_through_levels() {
        let (top, mid, x, y) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let boms = HashMap::from([
            (top, bom("1", &[(mid, "2"), (x, "1")])),
            (mid, bom("4", &[(y, "2")])),
        ]);
        let costs = HashMap::from([(x, d("1.5")), (y, d("10"))]);
        // mid = 2 × 10 / 4 = 5; top = 2 × 5 + 1.5 = 11.5
        assert_eq!(unit_cost(mid, &boms, &costs), Some(d("5")));
        assert_eq!(unit_cost(top, &boms, &costs), Some(d("11.5")));
        assert_eq!(unit_cost(top, &boms, &HashMap::from([(y, d("1"))])), None);
    }

    #[test]
    fn makeable_counts_sub_assemblies_and_names_the_limit() {
        let (top, mid, x, y) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let boms = HashMap::from([
            (top, bom("1", &[(mid, "2"), (x, "1")])),
            (mid, bom("1", &[(y, "3")])),
        ]);
        // mid: 1 on hand + 10 y / 3 = 3 more → 4; top: min(4/2 = 2, 5 x) = 2, limited by mid.
        let available = HashMap::from([(mid, d("1")), (x, d("5")), (y, d("10"))]);
        let got = makeable(top, &boms, &available, &mut BTreeMap::new());
        assert_eq!(
            got,
            Makeable {
                units: d("2"),
                limiting: Some(mid)
            }
        );
        let short = HashMap::from([(mid, d("9")), (x, d("1.5"))]);
        let got = makeable(top, &boms, &short, &mut BTreeMap::new());
        assert_eq!(
            got,
            Makeable {
                units: d("1"),
                limiting: Some(x)
            }
        );
        assert_eq!(
            makeable(x, &boms, &available, &mut BTreeMap::new()).units,
            d("0")
        );
    }
}
