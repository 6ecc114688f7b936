//! `sklad bom import|export`: BOMs as CSV (makers keep them in spreadsheets);
//! `sklad production list|plan|release|complete|cancel`: production orders.

use sklad_app::versions::Expected;
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use diesel_async::AsyncConnection;
use rust_decimal::Decimal;
use sklad_app::production::{ComponentRef, PlannedProduction};
use sklad_db::Db;
use sklad_domain::production::ProductionState;
use sklad_runtime::Settings;
use uuid::Uuid;

/// The CSV columns, one row per component: the finished product's SKU, its batch output,
/// a component's SKU, its quantity per batch, and a note.
const COLUMNS: [&str; 5] = [
    "product_sku",
    "output_quantity",
    "component_sku",
    "quantity",
    "note",
];

#[derive(Subcommand)]
pub enum BomCommand {
    /// Print every current BOM (or one product's) as CSV.
    Export(ExportArgs),
    /// Save the BOMs in a CSV file, each product's rows as a new version of its BOM.
    Import(ImportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    #[arg(long)]
    account: Uuid,
    /// Only this product's BOM.
    #[arg(long)]
    sku: Option<String>,
}

#[derive(Args)]
pub struct ImportArgs {
    #[arg(long)]
    account: Uuid,
    /// CSV with the header product_sku,output_quantity,component_sku,quantity,note.
    file: PathBuf,
}

#[derive(Subcommand)]
pub enum ProductionCommand {
    /// The account's production orders, newest first.
    List(ListArgs),
    /// Plan a production order from the product's current BOM.
    Plan(PlanArgs),
    /// Release a planned order (its components are reserved).
    Release(OrderArgs),
    /// Record what was made (default: everything left).
    Complete(CompleteArgs),
    /// Cancel a planned or released order.
    Cancel(OrderArgs),
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    account: Uuid,
    /// planned, released, done or cancelled.
    #[arg(long)]
    state: Option<ProductionState>,
}

#[derive(Args)]
pub struct PlanArgs {
    #[arg(long)]
    account: Uuid,
    /// The product to make.
    #[arg(long)]
    sku: String,
    #[arg(long)]
    quantity: Decimal,
    /// Warehouse the components come from.
    #[arg(long)]
    components_from: Uuid,
    /// Warehouse the goods go to.
    #[arg(long)]
    output_to: Uuid,
    #[arg(long)]
    due: Option<NaiveDate>,
}

#[derive(Args)]
pub struct OrderArgs {
    #[arg(long)]
    account: Uuid,
    /// Production order id.
    #[arg(long)]
    order: Uuid,
}

#[derive(Args)]
pub struct CompleteArgs {
    #[command(flatten)]
    target: OrderArgs,
    /// Made this time (default: everything left).
    #[arg(long)]
    quantity: Option<Decimal>,
    /// End the order after this partial run.
    #[arg(long)]
    close: bool,
}

pub async fn bom(settings: &Settings, command: BomCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let mut conn = db.conn().await?;
    match command {
        BomCommand::Export(args) => {
            let rows = sklad_db::boms::export(&mut conn, args.account, args.sku.as_deref()).await?;
            let mut out = csv::Writer::from_writer(std::io::stdout());
            out.write_record(COLUMNS)?;
            for row in rows {
                out.write_record([
                    row.product_sku,
                    row.output_quantity.normalize().to_string(),
                    row.component_sku,
                    row.quantity.normalize().to_string(),
                    row.note.unwrap_or_default(),
                ])?;
            }
            out.flush()?;
        }
        BomCommand::Import(args) => {
            let boms = read_csv(&args.file)?;
            let skus: Vec<String> = boms.keys().cloned().collect();
            // All or nothing: one bad BOM leaves every product as it was.
            let saved = conn
                .transaction::<_, anyhow::Error, _>(async |conn| {
                    let ids = sklad_db::products::ids_by_sku(conn, args.account, &skus).await?;
                    let mut saved = Vec::new();
                    for (sku, (output, components)) in boms {
                        let product = *ids
                            .get(&sku)
                            .with_context(|| format!("no product with SKU {sku}"))?;
                        let bom = sklad_app::production::save_bom(
                            conn,
                            args.account,
                            product,
                            output,
                            None,
                            components,
                            // An import states each BOM whole; the one it replaces stays
                            // as an older version.
                            &Expected::Any,
                        )
                        .await
                        .with_context(|| format!("BOM of {sku}"))?;
                        saved.push((sku, bom.version, bom.components.len()));
                    }
                    Ok(saved)
                })
                .await?;
            for (sku, version, components) in saved {
                println!("{sku}: version {version} with {components} components");
            }
        }
    }
    Ok(())
}

/// Each product's output and components, in file order; a product's rows must agree on its
/// output quantity.
type Boms = BTreeMap<String, (Decimal, Vec<ComponentRef>)>;

fn read_csv(path: &PathBuf) -> anyhow::Result<Boms> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
    if header.iter().map(String::as_str).ne(COLUMNS) {
        bail!("the header must be {}", COLUMNS.join(","));
    }
    let mut boms: Boms = BTreeMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let line = i + 2;
        let field = |n: usize| record.get(n).unwrap_or_default().trim().to_owned();
        let number = |n: usize| -> anyhow::Result<Decimal> {
            field(n)
                .parse()
                .with_context(|| format!("line {line}: {} is not a number", COLUMNS[n]))
        };
        let output = number(1)?;
        let entry = boms.entry(field(0)).or_insert_with(|| (output, Vec::new()));
        if entry.0 != output {
            bail!("line {line}: {} has two output quantities", field(0));
        }
        let note = field(4);
        entry.1.push(ComponentRef {
            product_id: None,
            sku: Some(field(2)),
            quantity: number(3)?,
            note: (!note.is_empty()).then_some(note),
        });
    }
    Ok(boms)
}

pub async fn production(settings: &Settings, command: ProductionCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let mut conn = db.conn().await?;
    let order = match command {
        ProductionCommand::List(args) => {
            let (orders, total) =
                sklad_db::production::list(&mut conn, args.account, args.state, (1, 200)).await?;
            println!("{total} production orders");
            for o in orders {
                println!(
                    "{}  {:<9}  made {} of {}  product {}",
                    o.id,
                    o.state.as_ref(),
                    o.made.normalize(),
                    o.quantity.normalize(),
                    o.product_id
                );
            }
            return Ok(());
        }
        ProductionCommand::Plan(args) => {
            let product = *sklad_db::products::ids_by_sku(
                &mut conn,
                args.account,
                std::slice::from_ref(&args.sku),
            )
            .await?
            .get(&args.sku)
            .with_context(|| format!("no product with SKU {}", args.sku))?;
            sklad_app::production::plan(
                &mut conn,
                args.account,
                PlannedProduction {
                    product_id: product,
                    quantity: args.quantity,
                    component_warehouse_id: args.components_from,
                    output_warehouse_id: args.output_to,
                    due_date: args.due,
                    note: None,
                },
            )
            .await?
        }
        ProductionCommand::Release(t) => {
            sklad_app::production::transition(
                &mut conn,
                t.account,
                t.order,
                ProductionState::Released,
            )
            .await?
        }
        ProductionCommand::Cancel(t) => {
            sklad_app::production::transition(
                &mut conn,
                t.account,
                t.order,
                ProductionState::Cancelled,
            )
            .await?
        }
        ProductionCommand::Complete(args) => {
            let (order, recorded) = sklad_app::production::complete(
                &mut conn,
                args.target.account,
                args.target.order,
                args.quantity,
                args.close,
            )
            .await?;
            println!("movement {} recorded", recorded.movement.id);
            order
        }
    };
    println!(
        "production order {}: {}, made {} of {}",
        order.id,
        order.state.as_ref(),
        order.made.normalize(),
        order.quantity.normalize()
    );
    Ok(())
}
