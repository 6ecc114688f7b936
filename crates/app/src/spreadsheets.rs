//! Spreadsheets in and out: products and stock counts as CSV. Reading and writing the files
//! is [`sklad_domain::spreadsheet`]; this applies them to an account, all or nothing: a file
//! with one bad line changes nothing, and every error names its line.

use std::collections::{BTreeMap, HashMap};

use diesel::result::Error as DieselError;
use diesel_async::AsyncConnection;
use rust_decimal::Decimal;
use sklad_db::product_imports::{Imported, SheetProduct};
use sklad_db::stock::Refused;
use sklad_db::{Db, DbError};
use sklad_domain::spreadsheet::{
    Dialect, LineError, ProductRow, parse_counts, parse_products, quoted, write_products,
};
use sklad_domain::stock::MovementOrigin;
use uuid::Uuid;

/// Why a spreadsheet changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("{}", describe(.0))]
    Lines(Vec<LineError>),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DieselError> for SheetError {
    fn from(err: DieselError) -> Self {
        SheetError::Db(err.into())
    }
}

/// The errors as one text, a line each ("line 3, price: not_a_number (`abc`)").
pub fn describe(errors: &[LineError]) -> String {
    errors
        .iter()
        .map(|e| {
            let mut text = format!("line {}", e.line);
            if let Some(column) = &e.column {
                text.push_str(&format!(", {column}"));
            }
            text.push_str(&format!(": {}", e.code));
            if let Some(value) = &e.value {
                text.push_str(&format!(" (`{}`)", quoted(value, 60)));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// How a products transaction ended: a dry run rolls back with what it counted.
enum Applied {
    DryRun(Imported),
    Failed(DbError),
}

impl From<DieselError> for Applied {
    fn from(err: DieselError) -> Self {
        Applied::Failed(err.into())
    }
}

/// What a products file did (or, on a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProductsImport {
    pub dry_run: bool,
    pub rows: usize,
    pub imported: Imported,
}

/// Lengths the database keeps (longer cells are refused on their line).
const LIMITS: [(&str, usize); 4] = [("sku", 200), ("name", 200), ("unit", 50), ("barcode", 100)];

fn too_long(row: &ProductRow) -> Vec<LineError> {
    let cells = [
        Some(row.sku.as_str()),
        Some(row.name.as_str()),
        row.unit.as_deref(),
        row.barcode.as_deref(),
    ];
    LIMITS
        .iter()
        .zip(cells)
        .filter(|((_, max), cell)| cell.is_some_and(|c| c.chars().count() > *max))
        .map(|((column, _), _)| LineError {
            line: row.line,
            column: Some((*column).to_owned()),
            code: "too_long",
            value: None,
        })
        .collect()
}

/// Creates or changes one product per row of a products file (`sku,name,unit,price,
/// unit_cost,barcode,tracks_stock`); an empty cell leaves that field as it is. A dry run
/// counts what would change and writes nothing.
pub async fn import_products(
    db: &Db,
    account: Uuid,
    text: &str,
    dry_run: bool,
) -> Result<ProductsImport, SheetError> {
    let rows = parse_products(text).map_err(SheetError::Lines)?;
    let errors: Vec<LineError> = rows.iter().flat_map(too_long).collect();
    if !errors.is_empty() {
        return Err(SheetError::Lines(errors));
    }
    let sheet: Vec<SheetProduct> = rows
        .into_iter()
        .map(|r| SheetProduct {
            sku: r.sku,
            name: r.name,
            unit: r.unit,
            price: r.price,
            unit_cost: r.unit_cost,
            barcode: r.barcode,
            tracks_stock: r.tracks_stock,
        })
        .collect();
    let count = sheet.len();
    let mut conn = db.conn().await?;
    let outcome = conn
        .transaction::<_, Applied, _>(async move |conn| {
            let done = sklad_db::product_imports::upsert_sheet(conn, account, &sheet)
                .await
                .map_err(Applied::Failed)?;
            if dry_run {
                // Everything was checked by the database; none of it stays.
                return Err(Applied::DryRun(done));
            }
            Ok(done)
        })
        .await;
    let counted = match outcome {
        Ok(done) | Err(Applied::DryRun(done)) => done,
        Err(Applied::Failed(err)) => return Err(err.into()),
    };
    tracing::info!(account_id = %account, rows = count, dry_run, "products spreadsheet imported");
    Ok(ProductsImport {
        dry_run,
        rows: count,
        imported: counted,
    })
}

/// Every product of the account as a products file.
pub async fn export_products(db: &Db, account: Uuid, dialect: Dialect) -> Result<String, DbError> {
    let mut conn = db.conn().await?;
    let rows: Vec<ProductRow> = sklad_db::product_imports::all_for_sheet(&mut conn, account)
        .await?
        .into_iter()
        .enumerate()
        .map(|(i, p)| ProductRow {
            line: i + 2,
            sku: p.sku,
            name: p.name,
            unit: p.unit,
            price: p.price.map(|d| d.normalize()),
            unit_cost: p.unit_cost.map(|d| d.normalize()),
            barcode: p.barcode,
            tracks_stock: p.tracks_stock,
        })
        .collect();
    Ok(write_products(&rows, dialect))
}

/// One SKU of a count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountLine {
    pub sku: String,
    pub sklad: Decimal,
    pub counted: Decimal,
    pub change: Decimal,
}

/// One warehouse's count.
#[derive(Debug, Clone)]
pub struct WarehouseCount {
    pub warehouse_id: Uuid,
    pub warehouse: String,
    pub lines: Vec<CountLine>,
    /// The inventory movement recorded (none on a dry run or when nothing changed).
    pub movement_id: Option<Uuid>,
}

/// The note on every count recorded from a spreadsheet.
pub const COUNT_NOTE: &str = "Count from a spreadsheet";

/// Records a counts file (`sku,warehouse,quantity`; the warehouse by name) as one
/// `inventory` movement per warehouse (`origin: spreadsheet`). A dry run shows every line
/// with sklad's quantity and the change, and records nothing.
pub async fn import_counts(
    db: &Db,
    account: Uuid,
    text: &str,
    dry_run: bool,
) -> Result<Vec<WarehouseCount>, SheetError> {
    let rows = parse_counts(text).map_err(SheetError::Lines)?;
    let mut conn = db.conn().await?;
    let warehouses: HashMap<String, (Uuid, String)> =
        sklad_db::warehouses::list_active(&mut conn, account)
            .await?
            .into_iter()
            .map(|w| (w.name.to_lowercase(), (w.id, w.name)))
            .collect();
    let skus: Vec<String> = rows.iter().map(|r| r.sku.clone()).collect();
    let products = sklad_db::products::stock_facts_by_sku(&mut conn, account, &skus).await?;
    let mut errors = Vec::new();
    let mut wanted: BTreeMap<Uuid, Vec<(String, Uuid, Decimal)>> = BTreeMap::new();
    for row in &rows {
        let error = |column: &str, code| LineError {
            line: row.line,
            column: Some(column.to_owned()),
            code,
            value: None,
        };
        let warehouse = warehouses.get(&row.warehouse.to_lowercase());
        if warehouse.is_none() {
            errors.push(LineError {
                value: Some(row.warehouse.clone()),
                ..error("warehouse", "unknown_warehouse")
            });
        }
        let product = match products.get(&row.sku) {
            None => {
                errors.push(LineError {
                    value: Some(row.sku.clone()),
                    ..error("sku", "unknown_sku")
                });
                None
            }
            Some((_, false)) => {
                errors.push(LineError {
                    value: Some(row.sku.clone()),
                    ..error("sku", "not_stocked")
                });
                None
            }
            Some((id, true)) => Some(*id),
        };
        if let (Some((warehouse, _)), Some(product)) = (warehouse, product) {
            wanted
                .entry(*warehouse)
                .or_default()
                .push((row.sku.clone(), product, row.quantity));
        }
    }
    if !errors.is_empty() {
        return Err(SheetError::Lines(errors));
    }
    let names: HashMap<Uuid, String> = warehouses.into_values().collect();
    let ids: Vec<Uuid> = wanted.keys().copied().collect();
    let outcome = conn
        .transaction::<_, SheetError, _>(async move |conn| {
            let held = sklad_db::counts::on_hand_by_sku(conn, account, &ids).await?;
            let mut out = Vec::new();
            for (warehouse, lines) in &wanted {
                let empty = BTreeMap::new();
                let holds = held.get(warehouse).unwrap_or(&empty);
                let lines: Vec<CountLine> = lines
                    .iter()
                    .map(|(sku, _, counted)| {
                        let sklad = holds.get(sku).copied().unwrap_or_default().normalize();
                        CountLine {
                            sku: sku.clone(),
                            sklad,
                            counted: counted.normalize(),
                            change: (*counted - sklad).normalize(),
                        }
                    })
                    .collect();
                let movement_id = if dry_run {
                    None
                } else {
                    let counts: Vec<(Uuid, Decimal)> = wanted[warehouse]
                        .iter()
                        .map(|(_, product, q)| (*product, *q))
                        .collect();
                    sklad_db::counts::record_counts(
                        conn,
                        account,
                        *warehouse,
                        &counts,
                        Some(COUNT_NOTE.into()),
                        Some(MovementOrigin::Spreadsheet),
                    )
                    .await?
                    .map(|r| r.movement.id)
                };
                out.push(WarehouseCount {
                    warehouse_id: *warehouse,
                    warehouse: names.get(warehouse).cloned().unwrap_or_default(),
                    lines,
                    movement_id,
                });
            }
            Ok(out)
        })
        .await?;
    tracing::info!(account_id = %account, rows = rows.len(), dry_run, "counts spreadsheet imported");
    Ok(outcome)
}
