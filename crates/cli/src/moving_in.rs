//! Moving in from the command line: `sklad catalogue import`, `sklad stock take-over`,
//! `sklad products import|export` and `sklad stock count import`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use sklad_db::{Db, SecretBox};
use sklad_domain::orders::{JobKind, SyncJobState};
use sklad_domain::spreadsheet::Dialect;
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum CatalogueCommand {
    /// Import keyCRM's catalogue: every offer becomes (or updates) a product; a worker runs
    /// the import, this follows it with a progress bar.
    Import(AccountArgs),
}

#[derive(Args)]
pub struct AccountArgs {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// Queue the import and return without waiting.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Subcommand)]
pub enum ProductsCommand {
    /// Create or change products from a CSV file (`sku,name,unit,price,unit_cost,barcode,
    /// tracks_stock`; `;` and decimal commas are read too). All or nothing.
    Import(ImportArgs),
    /// Write every product as CSV (to standard output, or `--output`).
    Export(ExportArgs),
}

#[derive(Args)]
pub struct ImportArgs {
    /// The CSV file.
    file: PathBuf,
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// Check the file and show what would change; record nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// Write for Ukrainian Excel (`;` between cells, decimal commas).
    #[arg(long)]
    excel: bool,
    /// Write here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args)]
pub struct TakeOverArgs {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// For a keyCRM warehouse fed by several sklad warehouses, the one that takes the
    /// difference: `KEYCRM_WAREHOUSE_ID=WAREHOUSE_ID` (repeat for each).
    #[arg(long = "into", value_parser = parse_into)]
    into: Vec<(i64, Uuid)>,
    /// Show what would change; record nothing.
    #[arg(long)]
    dry_run: bool,
}

fn parse_into(text: &str) -> Result<(i64, Uuid), String> {
    let (keycrm, warehouse) = text
        .split_once('=')
        .ok_or("write KEYCRM_WAREHOUSE_ID=WAREHOUSE_ID")?;
    let keycrm = keycrm
        .trim()
        .parse()
        .map_err(|_| format!("`{keycrm}` is not a keyCRM warehouse id"))?;
    let warehouse = warehouse
        .trim()
        .parse()
        .map_err(|_| format!("`{warehouse}` is not a warehouse id"))?;
    Ok((keycrm, warehouse))
}

pub async fn catalogue(settings: &Settings, command: CatalogueCommand) -> anyhow::Result<()> {
    let CatalogueCommand::Import(args) = command;
    let db = Db::new(&settings.database)?;
    let job = {
        let mut conn = db.conn().await?;
        sklad_db::sync_jobs::start_catalogue(&mut conn, args.account).await?
    };
    println!("catalogue import {} queued", job.id);
    if args.no_wait {
        return Ok(());
    }
    let done = crate::sync::follow(&db, args.account, JobKind::Catalogue, job.id, "offers").await?;
    println!(
        "catalogue import {}: {} created, {} updated, {} unchanged in {} keyCRM requests{}",
        done.state,
        done.created,
        done.updated,
        done.unchanged,
        done.requests,
        done.last_error
            .as_ref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    );
    anyhow::ensure!(
        done.state == SyncJobState::Done,
        "the import ended {}",
        done.state
    );
    Ok(())
}

pub async fn take_over(settings: &Settings, args: TakeOverArgs) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
    let keycrm = Clients::new(&settings.keycrm, db.clone(), secrets)
        .for_account(args.account)
        .await?;
    let into: BTreeMap<i64, Uuid> = args.into.into_iter().collect();
    let pages = crate::stock::bar(0, "reading keyCRM stocks [{bar:40}] page {pos}/{len}");
    let done = sklad_app::takeover::take_over(
        &db,
        &keycrm.client,
        args.account,
        &into,
        args.dry_run,
        |done, total| {
            if let Some(total) = total {
                pages.set_length(u64::from(total));
            }
            pages.set_position(u64::from(done));
        },
    )
    .await?;
    pages.finish();
    for target in &done.targets {
        let changed: Vec<_> = target
            .lines
            .iter()
            .filter(|l| !l.change.is_zero())
            .collect();
        println!(
            "keyCRM warehouse {} → warehouse {}: {} SKUs, {} change{}",
            target.keycrm_warehouse_id,
            target.warehouse_id,
            target.lines.len(),
            changed.len(),
            target
                .movement_id
                .map(|m| format!(", opening count {m}"))
                .unwrap_or_default()
        );
        for line in changed {
            println!(
                "  {:<24} sklad {:>10}  keyCRM {:>10}  change {:>10}",
                line.sku, line.sklad, line.keycrm, line.change
            );
        }
        for skipped in &target.skipped {
            println!(
                "  skipped {:<24} keyCRM {:>10}  {}",
                skipped.sku, skipped.keycrm_quantity, skipped.reason
            );
        }
    }
    if done.dry_run {
        println!("dry run: nothing recorded");
    }
    Ok(())
}

pub async fn products(settings: &Settings, command: ProductsCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    match command {
        ProductsCommand::Import(args) => {
            let text = std::fs::read_to_string(&args.file)?;
            let done =
                sklad_app::spreadsheets::import_products(&db, args.account, &text, args.dry_run)
                    .await?;
            println!(
                "{} rows: {} created, {} updated, {} unchanged{}",
                done.rows,
                done.imported.created,
                done.imported.updated,
                done.imported.unchanged,
                if done.dry_run {
                    " (dry run: nothing saved)"
                } else {
                    ""
                }
            );
        }
        ProductsCommand::Export(args) => {
            let dialect = if args.excel {
                Dialect::EXCEL_UK
            } else {
                Dialect::PLAIN
            };
            let csv = sklad_app::spreadsheets::export_products(&db, args.account, dialect).await?;
            match args.output {
                Some(path) => std::fs::write(path, csv)?,
                None => print!("{csv}"),
            }
        }
    }
    Ok(())
}

pub async fn count_import(settings: &Settings, args: ImportArgs) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let text = std::fs::read_to_string(&args.file)?;
    let counted =
        sklad_app::spreadsheets::import_counts(&db, args.account, &text, args.dry_run).await?;
    for warehouse in &counted {
        let changed: Vec<_> = warehouse
            .lines
            .iter()
            .filter(|l| !l.change.is_zero())
            .collect();
        println!(
            "{}: {} lines, {} change{}",
            warehouse.warehouse,
            warehouse.lines.len(),
            changed.len(),
            warehouse
                .movement_id
                .map(|m| format!(", count {m}"))
                .unwrap_or_default()
        );
        for line in changed {
            println!(
                "  {:<24} sklad {:>10}  counted {:>10}  change {:>10}",
                line.sku, line.sklad, line.counted, line.change
            );
        }
    }
    if args.dry_run {
        println!("dry run: nothing recorded");
    }
    Ok(())
}
