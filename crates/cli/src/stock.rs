//! `sklad stock resync|reconcile`: repair keyCRM's stock, with progress bars;
//! `sklad stock preview`: what would be sent, sending nothing; `sklad stock take-over` and
//! `sklad stock count import` live in [`crate::moving_in`].

use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sklad_db::{Db, SecretBox};
use sklad_keycrm::Clients;
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum StockCommand {
    /// Push every mapped SKU to keyCRM again; waits until the stock-publisher has pushed them.
    Resync(Target),
    /// Read keyCRM's stocks back, report what differs from sklad and push it again.
    Reconcile(Target),
    /// What the next push would send each keyCRM warehouse; sends nothing.
    Preview(PreviewArgs),
    /// Moving in: make sklad's balances keyCRM's quantities (one opening count per
    /// warehouse); sends keyCRM nothing.
    TakeOver(crate::moving_in::TakeOverArgs),
    /// Counted stock from a spreadsheet.
    #[command(subcommand)]
    Count(CountCommand),
}

#[derive(Subcommand)]
pub enum CountCommand {
    /// Record a CSV file of counts (`sku,warehouse,quantity`; the warehouse by name): one
    /// inventory movement per warehouse. All or nothing.
    Import(crate::moving_in::ImportArgs),
}

#[derive(Args)]
pub struct PreviewArgs {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// Also read keyCRM's current quantities (at bulk priority in the key's budget).
    #[arg(long)]
    read_back: bool,
    /// Also show what a resync would send.
    #[arg(long)]
    resync: bool,
}

#[derive(Args)]
pub struct Target {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// Return once marked, without waiting for the pushes.
    #[arg(long)]
    no_wait: bool,
}

pub(crate) fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

pub async fn run(settings: &Settings, command: StockCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    let (target, marked) = match command {
        StockCommand::Preview(args) => return preview(settings, &db, args).await,
        StockCommand::TakeOver(args) => return crate::moving_in::take_over(settings, args).await,
        StockCommand::Count(CountCommand::Import(args)) => {
            return crate::moving_in::count_import(settings, args).await;
        }
        StockCommand::Resync(target) => {
            ensure_push_on(&db, target.account).await?;
            let marked = sklad_app::maintenance::resync(&db, target.account).await?;
            println!("{marked} (keyCRM warehouse, SKU) pairs marked to be pushed");
            (target, marked)
        }
        StockCommand::Reconcile(target) => {
            ensure_push_on(&db, target.account).await?;
            let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
            let keycrm = Clients::new(&settings.keycrm, db.clone(), secrets)
                .for_account(target.account)
                .await?;
            let pages = bar(0, "reading keyCRM stocks [{bar:40}] page {pos}/{len}");
            let report = sklad_app::maintenance::reconcile(
                &db,
                &keycrm.client,
                target.account,
                |done, total| {
                    if let Some(total) = total {
                        pages.set_length(u64::from(total));
                    }
                    pages.set_position(u64::from(done));
                },
            )
            .await?;
            pages.finish();
            println!(
                "{} pairs checked, {} differ",
                report.checked,
                report.drift.len()
            );
            for drift in &report.drift {
                println!(
                    "  keyCRM warehouse {:>6}  {:<24} keyCRM {:>10}  sklad {:>10}",
                    drift.keycrm_warehouse_id,
                    drift.sku,
                    drift.keycrm_quantity,
                    drift.sklad_quantity
                );
            }
            (target, report.drift.len())
        }
    };
    if target.no_wait || marked == 0 {
        return Ok(());
    }
    let pushing = bar(
        u64::try_from(marked).unwrap_or(0),
        "pushing to keyCRM [{bar:40}] {pos}/{len} ({elapsed})",
    );
    loop {
        let (left, _) = {
            let mut conn = db.conn().await?;
            sklad_db::push_waiting::dirty_stats(&mut conn, Some(target.account)).await?
        };
        let left = u64::try_from(left).unwrap_or(0);
        pushing.set_position(pushing.length().unwrap_or(0).saturating_sub(left));
        if left == 0 {
            pushing.finish();
            println!("keyCRM has sklad's quantities");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn preview(settings: &Settings, db: &Db, args: PreviewArgs) -> anyhow::Result<()> {
    let keycrm = if args.read_back {
        let secrets = SecretBox::from_master_key(settings.security.master_key.as_ref())?;
        Some(
            Clients::new(&settings.keycrm, db.clone(), secrets)
                .for_account(args.account)
                .await?,
        )
    } else {
        None
    };
    let (targets, pages) = sklad_app::maintenance::preview(
        db,
        keycrm.as_ref().map(|k| &k.client),
        args.account,
        args.resync,
    )
    .await?;
    if args.read_back {
        println!("{pages} keyCRM pages read back");
    }
    let show = |what: &str, lines: &[sklad_app::maintenance::PreviewLine]| {
        println!("  {what}: {} SKUs", lines.len());
        for l in lines {
            let opt =
                |d: Option<rust_decimal::Decimal>| d.map_or("-".to_owned(), |d| d.to_string());
            println!(
                "    {:<24} send {:>10}  last accepted {:>10}  in keyCRM {:>10}",
                l.sku,
                l.quantity.normalize(),
                opt(l.last_accepted),
                opt(l.in_keycrm)
            );
        }
    };
    for target in &targets {
        println!("keyCRM warehouse {}", target.keycrm_warehouse_id);
        show("next push", &target.next_push);
        if !target.unchanged.is_empty() {
            println!(
                "  skipped (keyCRM has them): {}",
                target.unchanged.join(", ")
            );
        }
        if args.resync {
            show("a resync", &target.resync);
        }
    }
    if targets.is_empty() {
        println!("no warehouse is mapped to a keyCRM warehouse");
    }
    Ok(())
}

async fn ensure_push_on(db: &Db, account: Uuid) -> anyhow::Result<()> {
    let mut conn = db.conn().await?;
    let integration = sklad_db::integrations::get(&mut conn, account).await?;
    anyhow::ensure!(
        integration.settings.stock_push_enabled,
        "\"Send stock balances to keyCRM\" is off for this account; switch it on first"
    );
    Ok(())
}
