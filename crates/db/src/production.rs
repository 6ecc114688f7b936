//! Bills of materials (versioned: an edit is a new version, production orders keep theirs)
//! and production orders.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::production::{Bom, Component, ProductionState};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::{balances, bom_components, boms, production_orders, products};

/// A stored BOM version with its components.
#[derive(Debug, Clone)]
pub struct StoredBom {
    pub id: Uuid,
    pub product_id: Uuid,
    pub version: i32,
    pub output_quantity: Decimal,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Position order: (component, SKU, name, quantity, note).
    pub components: Vec<StoredComponent>,
}

/// A component line as stored, with its product's SKU and name.
#[derive(Debug, Clone)]
pub struct StoredComponent {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub quantity: Decimal,
    pub note: Option<String>,
}

impl StoredBom {
    /// The rule's view of it.
    pub fn bom(&self) -> Bom {
        Bom {
            output_quantity: self.output_quantity,
            components: self
                .components
                .iter()
                .map(|c| Component {
                    product_id: c.product_id,
                    quantity: c.quantity,
                })
                .collect(),
        }
    }
}

/// A new BOM version to save.
#[derive(Debug, Clone)]
pub struct NewBom {
    pub product_id: Uuid,
    pub output_quantity: Decimal,
    pub note: Option<String>,
    /// (component, quantity per batch, note), in order.
    pub components: Vec<(Uuid, Decimal, Option<String>)>,
}

/// Serialises BOM edits of one account for the rest of the transaction, so two edits
/// cannot close a loop between them.
pub async fn lock_boms(conn: &mut AsyncPgConnection, account_id: Uuid) -> DbResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('sklad/boms/' || $1, 0))")
        .bind::<diesel::sql_types::Text, _>(account_id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Every product's current components in the account (for the loop check).
pub async fn current_uses(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> DbResult<HashMap<Uuid, Vec<Uuid>>> {
    let rows: Vec<(Uuid, Uuid)> = products::table
        .inner_join(
            bom_components::table
                .on(products::current_bom_id.eq(bom_components::bom_id.nullable())),
        )
        .filter(products::account_id.eq(account_id))
        .select((products::id, bom_components::component_id))
        .load(conn)
        .await?;
    let mut uses: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (product, component) in rows {
        uses.entry(product).or_default().push(component);
    }
    Ok(uses)
}

/// Saves `bom` as its product's next version and makes it current (call in a transaction
/// holding [`lock_boms`]).
pub async fn save(conn: &mut AsyncPgConnection, account_id: Uuid, bom: &NewBom) -> DbResult<Uuid> {
    let last: Option<i32> = boms::table
        .filter(boms::account_id.eq(account_id))
        .filter(boms::product_id.eq(bom.product_id))
        .select(diesel::dsl::max(boms::version))
        .first(conn)
        .await?;
    let id = Uuid::now_v7();
    diesel::insert_into(boms::table)
        .values((
            boms::id.eq(id),
            boms::account_id.eq(account_id),
            boms::product_id.eq(bom.product_id),
            boms::version.eq(last.unwrap_or(0) + 1),
            boms::output_quantity.eq(bom.output_quantity),
            boms::note.eq(&bom.note),
        ))
        .execute(conn)
        .await?;
    let rows: Vec<_> = bom
        .components
        .iter()
        .enumerate()
        .map(|(i, (component, quantity, note))| {
            (
                bom_components::bom_id.eq(id),
                bom_components::position.eq(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                bom_components::component_id.eq(*component),
                bom_components::quantity.eq(*quantity),
                bom_components::note.eq(note.clone()),
            )
        })
        .collect();
    diesel::insert_into(bom_components::table)
        .values(rows)
        .execute(conn)
        .await?;
    diesel::update(
        products::table
            .filter(products::account_id.eq(account_id))
            .filter(products::id.eq(bom.product_id)),
    )
    .set(products::current_bom_id.eq(Some(id)))
    .execute(conn)
    .await?;
    Ok(id)
}

/// One BOM version of the account.
pub async fn get(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    bom_id: Uuid,
) -> DbResult<Option<StoredBom>> {
    type Head = (Uuid, Uuid, i32, Decimal, Option<String>, DateTime<Utc>);
    let Some((id, product_id, version, output_quantity, note, created_at)) = boms::table
        .filter(boms::account_id.eq(account_id))
        .filter(boms::id.eq(bom_id))
        .select((
            boms::id,
            boms::product_id,
            boms::version,
            boms::output_quantity,
            boms::note,
            boms::created_at,
        ))
        .first::<Head>(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let components = bom_components::table
        .inner_join(products::table)
        .filter(bom_components::bom_id.eq(id))
        .order(bom_components::position.asc())
        .select((
            bom_components::component_id,
            products::sku,
            products::name,
            bom_components::quantity,
            bom_components::note,
        ))
        .load::<(Uuid, String, String, Decimal, Option<String>)>(conn)
        .await?
        .into_iter()
        .map(|(product_id, sku, name, quantity, note)| StoredComponent {
            product_id,
            sku,
            name,
            quantity,
            note,
        })
        .collect();
    Ok(Some(StoredBom {
        id,
        product_id,
        version,
        output_quantity,
        note,
        created_at,
        components,
    }))
}

/// A product's current BOM id (`None`: the product has none, or is not the account's).
pub async fn current_of(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    product_id: Uuid,
) -> DbResult<Option<Uuid>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq(product_id))
        .select(products::current_bom_id)
        .first::<Option<Uuid>>(conn)
        .await
        .optional()?
        .flatten())
}

/// The current BOMs of `root` and everything below it, one query per level.
pub async fn tree(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    root: Uuid,
) -> DbResult<HashMap<Uuid, Bom>> {
    let mut boms_of: HashMap<Uuid, Bom> = HashMap::new();
    let mut level = vec![root];
    // The loop check keeps BOMs acyclic; the depth bound keeps a bad row from looping.
    for _ in 0..64 {
        if level.is_empty() {
            break;
        }
        let rows: Vec<(Uuid, Decimal, Uuid, Decimal)> = products::table
            .inner_join(boms::table.on(products::current_bom_id.eq(boms::id.nullable())))
            .inner_join(bom_components::table.on(bom_components::bom_id.eq(boms::id)))
            .filter(products::account_id.eq(account_id))
            .filter(products::id.eq_any(&level))
            .order((products::id, bom_components::position))
            .select((
                products::id,
                boms::output_quantity,
                bom_components::component_id,
                bom_components::quantity,
            ))
            .load(conn)
            .await?;
        let mut next = Vec::new();
        for (product, output, component, quantity) in rows {
            let bom = boms_of.entry(product).or_insert_with(|| Bom {
                output_quantity: output,
                components: Vec::new(),
            });
            bom.components.push(Component {
                product_id: component,
                quantity,
            });
            next.push(component);
        }
        next.retain(|p| !boms_of.contains_key(p));
        next.sort();
        next.dedup();
        level = next;
    }
    Ok(boms_of)
}

/// What can still be promised of each product in a warehouse (`on_hand − reserved`).
pub async fn available(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_id: Uuid,
    products_of: &[Uuid],
) -> DbResult<HashMap<Uuid, Decimal>> {
    let rows: Vec<(Uuid, Decimal, Decimal)> = balances::table
        .filter(balances::account_id.eq(account_id))
        .filter(balances::warehouse_id.eq(warehouse_id))
        .filter(balances::product_id.eq_any(products_of))
        .select((balances::product_id, balances::quantity, balances::reserved))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(p, q, r)| (p, q - r)).collect())
}

/// The unit costs set on these products.
pub async fn unit_costs(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    products_of: &[Uuid],
) -> DbResult<HashMap<Uuid, Decimal>> {
    let rows: Vec<(Uuid, Option<Decimal>)> = products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq_any(products_of))
        .select((products::id, products::unit_cost))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, c)| c.map(|c| (p, c)))
        .collect())
}

/// A production order as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = production_orders)]
pub struct ProductionOrder {
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub bom_id: Uuid,
    pub quantity: Decimal,
    pub made: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    #[diesel(deserialize_as = String)]
    pub state: ProductionState,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A production order to create (planned).
#[derive(Debug, Clone)]
pub struct NewProductionOrder {
    pub product_id: Uuid,
    pub bom_id: Uuid,
    pub quantity: Decimal,
    pub component_warehouse_id: Uuid,
    pub output_warehouse_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub note: Option<String>,
}

/// Creates a planned production order.
pub async fn create(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    order: &NewProductionOrder,
) -> DbResult<ProductionOrder> {
    Ok(diesel::insert_into(production_orders::table)
        .values((
            production_orders::id.eq(Uuid::now_v7()),
            production_orders::account_id.eq(account_id),
            production_orders::product_id.eq(order.product_id),
            production_orders::bom_id.eq(order.bom_id),
            production_orders::quantity.eq(order.quantity),
            production_orders::component_warehouse_id.eq(order.component_warehouse_id),
            production_orders::output_warehouse_id.eq(order.output_warehouse_id),
            production_orders::due_date.eq(order.due_date),
            production_orders::note.eq(&order.note),
        ))
        .returning(ProductionOrder::as_returning())
        .get_result(conn)
        .await?)
}

/// One production order of the account; `lock` holds it for the transaction.
pub async fn find(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    id: Uuid,
    lock: bool,
) -> DbResult<Option<ProductionOrder>> {
    let query = production_orders::table
        .filter(production_orders::account_id.eq(account_id))
        .filter(production_orders::id.eq(id))
        .select(ProductionOrder::as_select());
    let found = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    };
    Ok(found.optional()?)
}

/// The account's production orders, newest first: (page, total).
pub async fn list(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    state: Option<ProductionState>,
    (page, per_page): (i64, i64),
) -> DbResult<(Vec<ProductionOrder>, i64)> {
    let build = || {
        let mut query = production_orders::table
            .filter(production_orders::account_id.eq(account_id))
            .into_boxed();
        if let Some(state) = state {
            query = query.filter(production_orders::state.eq(state.as_ref().to_owned()));
        }
        query
    };
    let total = build().count().get_result(conn).await?;
    let rows = build()
        .order((
            production_orders::created_at.desc(),
            production_orders::id.desc(),
        ))
        .limit(per_page)
        .offset((page - 1).saturating_mul(per_page))
        .select(ProductionOrder::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

/// Moves an order to `state`, adding `made` (call in the transaction that holds it).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    state: ProductionState,
    made: Decimal,
) -> DbResult<ProductionOrder> {
    Ok(diesel::update(production_orders::table.find(id))
        .set((
            production_orders::state.eq(state.as_ref().to_owned()),
            production_orders::made.eq(made),
            production_orders::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ProductionOrder::as_returning())
        .get_result(conn)
        .await?)
}

/// What is on the shelf of each product in a warehouse (the negative-balance rule's view).
pub async fn on_hand(
    conn: &mut AsyncPgConnection,
    warehouse_id: Uuid,
    products_of: &[Uuid],
) -> DbResult<HashMap<Uuid, Decimal>> {
    Ok(balances::table
        .filter(balances::warehouse_id.eq(warehouse_id))
        .filter(balances::product_id.eq_any(products_of))
        .select((balances::product_id, balances::quantity))
        .load::<(Uuid, Decimal)>(conn)
        .await?
        .into_iter()
        .collect())
}
