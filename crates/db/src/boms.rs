//! Bills of materials: versioned (an edit is a new version; production orders keep theirs),
//! walked down (what a product is made of, what it costs, how many can be made) and up (which
//! products sold from components use a component: the reverse index).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use rust_decimal::Decimal;
use sklad_domain::production::{Bom, Component};
use uuid::Uuid;

use crate::DbResult;
use crate::schema::{balances, bom_components, boms, products};

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
    tree_of(conn, account_id, &[root]).await
}

/// [`tree`] of several roots at once (the loop check walks down from a new BOM's
/// components: its cost follows what is below them, not the catalogue).
pub async fn tree_of(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    roots: &[Uuid],
) -> DbResult<HashMap<Uuid, Bom>> {
    let mut boms_of: HashMap<Uuid, Bom> = HashMap::new();
    let mut level = roots.to_vec();
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

/// Every product a [`tree`] names: the made ones and their components.
pub fn products_in(tree: &HashMap<Uuid, Bom>) -> Vec<Uuid> {
    let mut all: Vec<Uuid> = tree.keys().copied().collect();
    all.extend(
        tree.values()
            .flat_map(|b| b.components.iter().map(|c| c.product_id)),
    );
    all.sort();
    all.dedup();
    all
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

/// The current BOM of each of these products that has one.
pub async fn current_boms(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    products_of: &[Uuid],
) -> DbResult<HashMap<Uuid, Uuid>> {
    let rows: Vec<(Uuid, Option<Uuid>)> = products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::id.eq_any(products_of))
        .select((products::id, products::current_bom_id))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, b)| b.map(|b| (p, b)))
        .collect())
}

/// What is on the shelf of each product in a warehouse (the negative-balance rule's view).
pub async fn on_hand(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    warehouse_id: Uuid,
    products_of: &[Uuid],
) -> DbResult<HashMap<Uuid, Decimal>> {
    Ok(balances::table
        .filter(balances::account_id.eq(account_id))
        .filter(balances::warehouse_id.eq(warehouse_id))
        .filter(balances::product_id.eq_any(products_of))
        .select((balances::product_id, balances::quantity))
        .load::<(Uuid, Decimal)>(conn)
        .await?
        .into_iter()
        .collect())
}

/// The SKUs of the account's products sold from components (`push_makeable`) whose current
/// BOM uses any of `components`, at any depth: the reverse BOM index, walked upwards, so the
/// work follows the products using a component, not the catalogue.
pub async fn makeable_users(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    components: &[Uuid],
) -> DbResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct User {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sku: String,
    }
    if components.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<User> = diesel::sql_query(
        "WITH RECURSIVE up (product_id) AS ( \
             SELECT p.id FROM bom_components c \
               JOIN products p ON p.current_bom_id = c.bom_id \
              WHERE c.component_id = ANY($1) AND p.account_id = $2 \
           UNION \
             SELECT p.id FROM up \
               JOIN bom_components c ON c.component_id = up.product_id \
               JOIN products p ON p.current_bom_id = c.bom_id) \
         SELECT DISTINCT p.sku FROM up JOIN products p ON p.id = up.product_id \
          WHERE p.push_makeable ORDER BY p.sku",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(components)
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .load(conn)
    .await?;
    Ok(users.into_iter().map(|u| u.sku).collect())
}

/// Whole units of `product` makeable in `warehouse` from available stock, through every
/// BOM level.
pub async fn makeable_in(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    product: Uuid,
    warehouse_id: Uuid,
) -> DbResult<sklad_domain::production::Makeable> {
    let tree = tree(conn, account_id, product).await?;
    let available = available(conn, account_id, warehouse_id, &products_in(&tree)).await?;
    Ok(sklad_domain::production::makeable(
        product,
        &tree,
        &available,
        &mut Default::default(),
    ))
}

/// The account's products sold from components among `skus`: (id, SKU).
pub async fn push_makeable_among(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    skus: &[String],
) -> DbResult<Vec<(Uuid, String)>> {
    Ok(products::table
        .filter(products::account_id.eq(account_id))
        .filter(products::push_makeable.eq(true))
        .filter(products::sku.eq_any(skus))
        .select((products::id, products::sku))
        .load(conn)
        .await?)
}

/// One CSV row of a current BOM.
#[derive(Debug, Clone)]
pub struct BomRow {
    pub product_sku: String,
    pub output_quantity: Decimal,
    pub component_sku: String,
    pub quantity: Decimal,
    pub note: Option<String>,
}

/// Every current BOM of the account (or of the product with `sku`), a row per component,
/// by product SKU and position.
pub async fn export(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    sku: Option<&str>,
) -> DbResult<Vec<BomRow>> {
    let (made, component) = diesel::alias!(products as made, products as component);
    let mut query = made
        .inner_join(boms::table.on(made.field(products::current_bom_id).eq(boms::id.nullable())))
        .inner_join(bom_components::table.on(bom_components::bom_id.eq(boms::id)))
        .inner_join(
            component.on(component
                .field(products::id)
                .eq(bom_components::component_id)),
        )
        .filter(made.field(products::account_id).eq(account_id))
        .into_boxed();
    if let Some(sku) = sku {
        query = query.filter(made.field(products::sku).eq(sku.to_owned()));
    }
    let rows: Vec<(String, Decimal, String, Decimal, Option<String>)> = query
        .order((made.field(products::sku), bom_components::position))
        .select((
            made.field(products::sku),
            boms::output_quantity,
            component.field(products::sku),
            bom_components::quantity,
            bom_components::note,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(product_sku, output_quantity, component_sku, quantity, note)| BomRow {
                product_sku,
                output_quantity,
                component_sku,
                quantity,
                note,
            },
        )
        .collect())
}
