//! `sklad parked list|replay`: the messages consumers gave up on, as the relay keeps them in
//! PostgreSQL. Listing reads rows (no queue is touched); a replay sends messages back by id.

use clap::{Args, Subcommand, ValueEnum};
use sklad_bus::Broker;
use sklad_bus::topology::{ORDER_SYNC, STOCK_PUBLISHER};
use sklad_db::Db;
use sklad_db::parked::Filter;
use sklad_runtime::Settings;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Consumer {
    OrderSync,
    StockPublisher,
}

impl Consumer {
    fn name(self) -> &'static str {
        match self {
            Consumer::OrderSync => ORDER_SYNC.name,
            Consumer::StockPublisher => STOCK_PUBLISHER.name,
        }
    }
}

#[derive(Subcommand)]
pub enum ParkedCommand {
    /// Show parked messages and why they were parked, oldest first (they stay parked).
    List(Target),
    /// Send parked messages back to their consumer's queue, to be tried again.
    Replay(Target),
}

#[derive(Args)]
pub struct Target {
    /// Only this consumer's.
    #[arg(long, value_enum)]
    consumer: Option<Consumer>,
    /// Only this account's.
    #[arg(long)]
    account: Option<Uuid>,
    /// Only these (the ids `sklad parked list` shows); repeat for several.
    #[arg(long = "id")]
    ids: Vec<i64>,
    /// At most this many messages.
    #[arg(long, default_value_t = 100)]
    limit: i64,
}

impl Target {
    fn filter(&self) -> Filter<'_> {
        Filter {
            account: self.account,
            consumer: self.consumer.map(Consumer::name),
            ids: (!self.ids.is_empty()).then_some(&self.ids[..]),
        }
    }
}

pub async fn run(settings: &Settings, command: ParkedCommand) -> anyhow::Result<()> {
    let db = Db::new(&settings.database)?;
    match command {
        ParkedCommand::List(target) => {
            let mut conn = db.conn().await?;
            let parked = sklad_db::parked::list(&mut conn, &target.filter(), target.limit).await?;
            if parked.is_empty() {
                println!("nothing parked");
            }
            for p in parked {
                println!(
                    "#{}  {}  {}  {}  account {}  attempts {}  parked {}\n    {}",
                    p.id,
                    p.consumer,
                    p.message_id.as_deref().unwrap_or("-"),
                    p.subject.as_deref().unwrap_or("-"),
                    p.account_id.map_or("-".to_owned(), |a| a.to_string()),
                    p.attempts,
                    p.parked_at.to_rfc3339(),
                    p.reason
                );
            }
        }
        ParkedCommand::Replay(target) => {
            let broker = Broker::new(&settings.broker, "sklad-cli");
            let moved =
                sklad_api::parked::replay(&db, broker.clone(), &target.filter(), target.limit)
                    .await?;
            broker.close().await;
            println!("{moved} parked message(s) moved back to their consumers");
        }
    }
    Ok(())
}
