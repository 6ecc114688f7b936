//! `sklad sync orders`: start "Synchronize orders" and follow it with a progress bar.

use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sklad_db::Db;
use sklad_db::sync_jobs::SyncJob;
use sklad_domain::orders::{JobKind, SyncJobState};
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum SyncCommand {
    /// Pull every keyCRM order in the given statuses into sklad (a worker runs the job; this
    /// shows its progress until it ends).
    Orders(OrdersArgs),
}

#[derive(Args)]
pub struct OrdersArgs {
    /// Account id.
    #[arg(long)]
    account: Uuid,
    /// keyCRM status id (repeat or comma-separate).
    #[arg(long = "status", value_delimiter = ',', required = true)]
    statuses: Vec<i64>,
    /// Queue the job and return without waiting.
    #[arg(long)]
    no_wait: bool,
}

pub async fn run(settings: &Settings, command: SyncCommand) -> anyhow::Result<()> {
    let SyncCommand::Orders(args) = command;
    let db = Db::new(&settings.database)?;
    let job = {
        let mut conn = db.conn().await?;
        sklad_db::sync_jobs::start(&mut conn, args.account, &args.statuses).await?
    };
    println!(
        "sync job {} queued for statuses {:?}",
        job.id, job.status_ids
    );
    if args.no_wait {
        return Ok(());
    }
    let current = follow(&db, args.account, JobKind::Orders, job.id, "orders").await?;
    println!(
        "sync job {}: {} orders in {} keyCRM requests{}",
        current.state,
        current.orders_done,
        current.requests,
        current
            .last_error
            .as_ref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    );
    anyhow::ensure!(
        current.state == SyncJobState::Done,
        "the sync job ended {}",
        current.state
    );
    Ok(())
}

/// Follows a job with a progress bar until it ends; returns it as it ended.
pub(crate) async fn follow(
    db: &Db,
    account: Uuid,
    kind: JobKind,
    id: Uuid,
    unit: &str,
) -> anyhow::Result<SyncJob> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {{msg}} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{elapsed}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    loop {
        let current = {
            let mut conn = db.conn().await?;
            sklad_db::sync_jobs::get(&mut conn, account, kind, id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("the job disappeared"))?
        };
        let (done, total) = current.progress();
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
        bar.set_message(format!(
            "{} · page {}/{}",
            current.state,
            current.pages_done,
            current
                .pages_total
                .map_or("?".to_owned(), |p| p.to_string())
        ));
        if !current.is_active() {
            bar.finish();
            return Ok(current);
        }
        bar.tick();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
