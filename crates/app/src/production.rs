//! Production: saving BOM versions (checked for loops), what a product costs and how many
//! can be made, and production orders from plan to done. Completing one records a single
//! `production` movement: components out, finished goods in, with the negative-balance rule.

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rust_decimal::Decimal;
use sklad_db::DbError;
use sklad_db::boms::{NewBom, StoredBom};
use sklad_db::order_stock::{self, Holder, ReservingOrder, ShipmentFacts};
use sklad_db::production::{NewProductionOrder, ProductionOrder};
use sklad_db::stock::{MovementInput, Recorded, Refused};
use sklad_domain::production::{
    self, BomError, Makeable, ProductionState, production_lines, requirement,
};
use sklad_domain::reservation;
use sklad_domain::stock::{MovementKind, fits_amount};
use uuid::Uuid;

use crate::versions::{self, Expected, Stale};

/// A component as a person names it: by product id or SKU.
#[derive(Debug, Clone)]
pub struct ComponentRef {
    pub product_id: Option<Uuid>,
    pub sku: Option<String>,
    pub quantity: Decimal,
    pub note: Option<String>,
}

/// A component that is short for a completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: Uuid,
    pub sku: String,
    pub needed: Decimal,
    pub available: Decimal,
}

/// Why a production operation changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProductionError {
    /// The request itself is wrong (422).
    #[error("{0}")]
    Invalid(String),
    /// The BOM would make a product out of itself (422); the loop by SKU.
    #[error("the BOM closes a loop: {}", .0.join(" → "))]
    Cycle(Vec<String>),
    /// No such product, BOM or production order in the account (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// Someone else saved the BOM since the client read it (412).
    #[error(transparent)]
    Stale(#[from] Stale),
    /// The order is not in a state that allows it (409).
    #[error("the production order is {state}; {action} needs {needs}")]
    WrongState {
        state: ProductionState,
        action: &'static str,
        needs: &'static str,
    },
    /// Components are short in the component warehouse (409); nothing recorded.
    #[error("components are short: {}", .0.iter().map(|s| format!("{} needs {} has {}", s.sku, s.needed, s.available)).collect::<Vec<_>>().join(", "))]
    Short(Vec<Shortage>),
    #[error(transparent)]
    Refused(Refused),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ProductionError {
    fn from(err: diesel::result::Error) -> Self {
        ProductionError::Db(err.into())
    }
}

impl From<Refused> for ProductionError {
    fn from(err: Refused) -> Self {
        match err {
            Refused::Db(db) => ProductionError::Db(db),
            other => ProductionError::Refused(other),
        }
    }
}

/// Saves a new version of `product`'s BOM and makes it current, if the current one is still
/// the `expected` version. Production orders made from an older version keep it.
pub async fn save_bom(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    product: Uuid,
    output_quantity: Decimal,
    note: Option<String>,
    components: Vec<ComponentRef>,
    expected: &Expected,
) -> Result<StoredBom, ProductionError> {
    conn.transaction::<_, ProductionError, _>(async |conn| {
        sklad_db::boms::lock_boms(conn, account).await?;
        let Some(finished) = sklad_db::products::lock(conn, account, product).await? else {
            return Err(ProductionError::NotFound("no such product"));
        };
        expected.check(&versions::bom(finished.current_bom_id))?;
        let skus: Vec<String> = components.iter().filter_map(|c| c.sku.clone()).collect();
        let by_sku = sklad_db::products::ids_by_sku(conn, account, &skus).await?;
        let mut lines = Vec::with_capacity(components.len());
        for (i, c) in components.iter().enumerate() {
            let id = match (&c.product_id, &c.sku) {
                (Some(id), _) => *id,
                (None, Some(sku)) => *by_sku.get(sku).ok_or_else(|| {
                    ProductionError::Invalid(format!("component {}: no product with SKU {sku}", i + 1))
                })?,
                (None, None) => {
                    return Err(ProductionError::Invalid(format!(
                        "component {}: give product_id or sku",
                        i + 1
                    )));
                }
            };
            if !fits_amount(c.quantity) {
                return Err(ProductionError::Invalid(format!(
                    "component {}: quantities have at most 4 decimal places and 14 digits before the point",
                    i + 1
                )));
            }
            lines.push((id, c.quantity, c.note.clone()));
        }
        let ids: Vec<Uuid> = lines.iter().map(|(id, _, _)| *id).collect();
        if !sklad_db::products::exists(conn, account, &ids).await? {
            return Err(ProductionError::NotFound(
                "a component is not a product of this account",
            ));
        }
        let rule = production::Bom {
            output_quantity,
            components: lines
                .iter()
                .map(|(id, q, _)| production::Component {
                    product_id: *id,
                    quantity: *q,
                })
                .collect(),
        };
        production::check(product, &rule).map_err(|e: BomError| ProductionError::Invalid(e.to_string()))?;
        if !fits_amount(output_quantity) {
            return Err(ProductionError::Invalid(
                "output_quantity has at most 4 decimal places and 14 digits before the point".into(),
            ));
        }
        let uses: std::collections::HashMap<Uuid, Vec<Uuid>> =
            sklad_db::boms::tree_of(conn, account, &ids)
                .await?
                .into_iter()
                .map(|(p, b)| (p, b.components.iter().map(|c| c.product_id).collect()))
                .collect();
        if let Some(loop_) = production::cycle(product, &ids, &uses) {
            let names = sklad_db::products::skus_of(conn, account, &loop_).await?;
            return Err(ProductionError::Cycle(
                loop_
                    .iter()
                    .map(|p| names.get(p).cloned().unwrap_or_else(|| p.to_string()))
                    .collect(),
            ));
        }
        let id = sklad_db::boms::save(
            conn,
            account,
            &NewBom {
                product_id: product,
                output_quantity,
                note: note.clone(),
                components: lines,
            },
        )
        .await?;
        // What can be made of it, and of everything made from it, changed.
        let mut changed = sklad_db::boms::makeable_users(conn, account, &[product]).await?;
        let own = sklad_db::products::skus_of(conn, account, &[product])
            .await?
            .remove(&product)
            .unwrap_or_default();
        let own = sklad_db::boms::push_makeable_among(conn, account, &[own]).await?;
        changed.extend(own.into_iter().map(|(_, sku)| sku));
        for sku in changed {
            sklad_db::stock_sync::mark_everywhere(conn, account, &sku).await?;
        }
        sklad_db::boms::get(conn, account, id)
            .await?
            .ok_or(ProductionError::NotFound("no such BOM"))
    })
    .await
}

/// The answer when a BOM's figures times the quantity leave what sklad can count.
fn too_large() -> ProductionError {
    ProductionError::Invalid(
        "the components this takes are beyond what sklad can count (14 digits before the point)"
            .into(),
    )
}

/// A product's current BOM, with its cost per unit made (`None` when a cost is unknown).
pub async fn current_bom(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    product: Uuid,
) -> Result<(StoredBom, Option<Decimal>), ProductionError> {
    let id = sklad_db::boms::current_of(conn, account, product)
        .await?
        .ok_or(ProductionError::NotFound("the product has no BOM"))?;
    let bom = sklad_db::boms::get(conn, account, id)
        .await?
        .ok_or(ProductionError::NotFound("no such BOM"))?;
    let tree = sklad_db::boms::tree(conn, account, product).await?;
    let everything = sklad_db::boms::products_in(&tree);
    let costs = sklad_db::boms::unit_costs(conn, account, &everything).await?;
    Ok((bom, production::unit_cost(product, &tree, &costs)))
}

/// Whole units of `product` makeable now in `warehouse` from available stock (reservations
/// counted), multi-level, with the limiting component.
pub async fn makeable(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    product: Uuid,
    warehouse: Uuid,
) -> Result<Makeable, ProductionError> {
    if !sklad_db::products::exists(conn, account, &[product]).await? {
        return Err(ProductionError::NotFound("no such product"));
    }
    if sklad_db::warehouses::get(conn, account, warehouse)
        .await?
        .is_none()
    {
        return Err(ProductionError::NotFound("no such warehouse"));
    }
    Ok(sklad_db::boms::makeable_in(conn, account, product, warehouse).await?)
}

/// What a person asks to make.
#[derive(Debug, Clone)]
pub struct PlannedProduction {
    pub product_id: Uuid,
    pub quantity: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Plans a production order from the product's current BOM.
pub async fn plan(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    order: PlannedProduction,
) -> Result<ProductionOrder, ProductionError> {
    if order.quantity <= Decimal::ZERO || !fits_amount(order.quantity) {
        return Err(ProductionError::Invalid(
            "quantity must be greater than zero, with at most 4 decimal places and 14 digits before the point".into(),
        ));
    }
    for warehouse in [order.component_warehouse_id, order.output_warehouse_id] {
        if sklad_db::warehouses::get(conn, account, warehouse)
            .await?
            .is_none()
        {
            return Err(ProductionError::NotFound("no such warehouse"));
        }
    }
    if !sklad_db::products::exists(conn, account, &[order.product_id]).await? {
        return Err(ProductionError::NotFound("no such product"));
    }
    let bom_id = sklad_db::boms::current_of(conn, account, order.product_id)
        .await?
        .ok_or_else(|| ProductionError::Invalid("the product has no BOM to make it from".into()))?;
    Ok(sklad_db::production::create(
        conn,
        account,
        &NewProductionOrder {
            product_id: order.product_id,
            bom_id,
            quantity: order.quantity,
            component_warehouse_id: order.component_warehouse_id,
            output_warehouse_id: order.output_warehouse_id,
            due_date: order.due_date,
            note: order.note,
            customer_order_id: None,
        },
    )
    .await?)
}

/// Moves a production order on: `release` (planned → released) or `cancel` (planned or
/// released → cancelled; what was made stays made).
pub async fn transition(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    to: ProductionState,
) -> Result<ProductionOrder, ProductionError> {
    conn.transaction::<_, ProductionError, _>(async |conn| {
        let order = sklad_db::production::find(conn, account, id, true)
            .await?
            .ok_or(ProductionError::NotFound("no such production order"))?;
        let (allowed, action, needs) = match to {
            ProductionState::Released => (
                order.state == ProductionState::Planned,
                "release",
                "planned",
            ),
            ProductionState::Cancelled => (
                matches!(
                    order.state,
                    ProductionState::Planned | ProductionState::Released
                ),
                "cancel",
                "planned or released",
            ),
            _ => (false, "this", "another state"),
        };
        if !allowed {
            return Err(ProductionError::WrongState {
                state: order.state,
                action,
                needs,
            });
        }
        let order = sklad_db::production::update(conn, account, id, to, order.made).await?;
        hold_components(conn, &order, "production_cancelled").await?;
        if order.state == ProductionState::Released {
            sklad_db::production::announce_released(conn, &order).await?;
        }
        Ok(order)
    })
    .await
}

/// What a production order holds: while released, its components for what is left to make,
/// in its component warehouse; nothing otherwise (released because of `why`).
async fn hold_components(
    conn: &mut AsyncPgConnection,
    order: &ProductionOrder,
    why: &str,
) -> Result<(), ProductionError> {
    let wanted = if order.state == ProductionState::Released {
        let bom = sklad_db::boms::get(conn, order.account_id, order.bom_id)
            .await?
            .ok_or(ProductionError::NotFound("no such BOM"))?;
        let need = requirement(&bom.bom(), order.quantity - order.made).ok_or_else(too_large)?;
        reservation::wanted(order.component_warehouse_id, &need)
    } else {
        Default::default()
    };
    order_stock::set(
        conn,
        order.account_id,
        Holder::Production(order.id),
        &wanted,
        why,
    )
    .await?;
    Ok(())
}

/// Records that `quantity` (default: what is left) of a released order was made: one
/// `production` movement in the order's transaction. `close` ends a partial run. Short
/// components answer [`ProductionError::Short`] with each one's need and stock, and nothing
/// is recorded.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    quantity: Option<Decimal>,
    close: bool,
) -> Result<(ProductionOrder, Recorded), ProductionError> {
    conn.transaction::<_, ProductionError, _>(async |conn| {
        let order = sklad_db::production::find(conn, account, id, true)
            .await?
            .ok_or(ProductionError::NotFound("no such production order"))?;
        if order.state != ProductionState::Released {
            return Err(ProductionError::WrongState {
                state: order.state,
                action: "completing",
                needs: "released",
            });
        }
        let left = order.quantity - order.made;
        let made = quantity.unwrap_or(left);
        if made <= Decimal::ZERO || made > left || !fits_amount(made) {
            return Err(ProductionError::Invalid(format!(
                "quantity must be more than 0 and at most the {} left to make",
                left.normalize()
            )));
        }
        let bom = sklad_db::boms::get(conn, account, order.bom_id)
            .await?
            .ok_or(ProductionError::NotFound("no such BOM"))?;
        let need = requirement(&bom.bom(), made).ok_or_else(too_large)?;
        let warehouse = sklad_db::warehouses::get(conn, account, order.component_warehouse_id)
            .await?
            .ok_or(ProductionError::NotFound("no such warehouse"))?;
        if !warehouse.allow_negative {
            let ids: Vec<Uuid> = need.iter().map(|(p, _)| *p).collect();
            let on_hand =
                sklad_db::boms::on_hand(conn, account, order.component_warehouse_id, &ids).await?;
            let short: Vec<Shortage> = need
                .iter()
                .filter_map(|(product, needed)| {
                    let has = on_hand.get(product).copied().unwrap_or_default();
                    let sku = bom
                        .components
                        .iter()
                        .find(|c| c.product_id == *product)
                        .map(|c| c.sku.clone())
                        .unwrap_or_default();
                    (has < *needed).then(|| Shortage {
                        product_id: *product,
                        sku,
                        needed: *needed,
                        available: has.normalize(),
                    })
                })
                .collect();
            if !short.is_empty() {
                return Err(ProductionError::Short(short));
            }
        }
        let lines = production_lines(
            order.product_id,
            made,
            &need,
            order.component_warehouse_id,
            order.output_warehouse_id,
        )
        .map_err(|e| ProductionError::Invalid(e.to_string()))?;
        let recorded = sklad_db::stock::record(
            conn,
            account,
            MovementInput {
                origin: None,
                reverses: None,
                kind: MovementKind::Production,
                note: Some(format!("production order {}", order.id)),
                order_id: None,
                production_order_id: Some(order.id),
                idempotency_key: None,
                lines,
            },
        )
        .await?;
        let total = order.made + made;
        let state = if total >= order.quantity || close {
            ProductionState::Done
        } else {
            ProductionState::Released
        };
        let order = sklad_db::production::update(conn, account, id, state, total).await?;
        hold_components(conn, &order, "production_done").await?;
        sklad_db::production::announce_completed(conn, &order, made, recorded.movement.id).await?;
        Ok((order, recorded))
    })
    .await
}

/// Make-to-order (in the customer order's transaction, under its lock): each product of the
/// order's lines that has a BOM gets one planned production order, made in `warehouse`, for
/// what available stock there (counting what the order itself holds) does not cover. A
/// product planned for the order before is left alone.
pub async fn make_to_order(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    facts: &ShipmentFacts,
    warehouse: Uuid,
) -> Result<usize, DbError> {
    let wanted = reservation::wanted(warehouse, &facts.lines);
    let products_of: Vec<Uuid> = wanted.keys().map(|(_, p)| *p).collect();
    let boms = sklad_db::boms::current_boms(conn, account, &products_of).await?;
    if boms.is_empty() {
        return Ok(0);
    }
    let planned: Vec<Uuid> = sklad_db::production::for_order(conn, account, facts.id)
        .await?
        .into_iter()
        .map(|o| o.product_id)
        .collect();
    let own = order_stock::held(
        conn,
        account,
        Holder::Order(ReservingOrder {
            id: facts.id,
            keycrm_id: facts.keycrm_id,
        }),
    )
    .await?;
    let available = sklad_db::boms::available(conn, account, warehouse, &products_of).await?;
    let mut created = 0;
    for ((_, product), quantity) in wanted {
        let Some(bom_id) = boms.get(&product).filter(|_| !planned.contains(&product)) else {
            continue;
        };
        let free = available.get(&product).copied().unwrap_or_default()
            + own.get(&(warehouse, product)).copied().unwrap_or_default();
        let make = production::to_make(quantity, free);
        if make.is_zero() {
            continue;
        }
        let order = NewProductionOrder {
            product_id: product,
            bom_id: *bom_id,
            quantity: make,
            component_warehouse_id: warehouse,
            output_warehouse_id: warehouse,
            due_date: None,
            note: Some(format!("keyCRM order {}", facts.keycrm_id)),
            customer_order_id: Some(facts.id),
        };
        if sklad_db::production::plan_for_order(conn, account, &order).await? {
            created += 1;
        }
    }
    Ok(created)
}

/// Releases a planned order (its components reserved) and, with `plan_subs`, plans its
/// sub-assemblies ([`plan_sub_assemblies`]), in one transaction.
pub async fn release(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    id: Uuid,
    plan_subs: bool,
) -> Result<(ProductionOrder, Vec<ProductionOrder>), ProductionError> {
    conn.transaction::<_, ProductionError, _>(async |conn| {
        let order = transition(conn, account, id, ProductionState::Released).await?;
        let subs = if plan_subs {
            plan_sub_assemblies(conn, account, &order).await?
        } else {
            Vec::new()
        };
        Ok((order, subs))
    })
    .await
}

/// Plans what a released order's sub-assemblies lack: for each component with a BOM of its
/// own, a planned production order (made in the parent's component warehouse) for what the
/// stock there, beyond what others hold, does not cover. Returns the orders planned.
async fn plan_sub_assemblies(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    parent: &ProductionOrder,
) -> Result<Vec<ProductionOrder>, ProductionError> {
    let bom = sklad_db::boms::get(conn, account, parent.bom_id)
        .await?
        .ok_or(ProductionError::NotFound("no such BOM"))?;
    let need = requirement(&bom.bom(), parent.quantity - parent.made).ok_or_else(too_large)?;
    let ids: Vec<Uuid> = need.iter().map(|(p, _)| *p).collect();
    let boms = sklad_db::boms::current_boms(conn, account, &ids).await?;
    let warehouse = parent.component_warehouse_id;
    let available = sklad_db::boms::available(conn, account, warehouse, &ids).await?;
    let held = order_stock::held(conn, account, Holder::Production(parent.id)).await?;
    let mut planned = Vec::new();
    for (component, needed) in need {
        let Some(bom_id) = boms.get(&component) else {
            continue;
        };
        // What this order holds is its own: only the others' reservations count against it.
        let free = available.get(&component).copied().unwrap_or_default()
            + held
                .get(&(warehouse, component))
                .copied()
                .unwrap_or_default();
        let make = production::to_make(needed, free);
        if make.is_zero() {
            continue;
        }
        planned.push(
            sklad_db::production::create(
                conn,
                account,
                &NewProductionOrder {
                    product_id: component,
                    bom_id: *bom_id,
                    quantity: make,
                    component_warehouse_id: warehouse,
                    output_warehouse_id: warehouse,
                    due_date: parent.due_date,
                    note: Some(format!("sub-assembly for production order {}", parent.id)),
                    customer_order_id: None,
                },
            )
            .await?,
        );
    }
    Ok(planned)
}
