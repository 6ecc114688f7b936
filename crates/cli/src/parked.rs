//! `sklad parked list|replay`: the parking queues.

use clap::{Args, Subcommand, ValueEnum};
use sklad_bus::Broker;
use sklad_bus::topology::{ORDER_SYNC, STOCK_PUBLISHER};
use sklad_runtime::Settings;

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
    /// Show parked messages and why they were parked (they stay parked).
    List(Target),
    /// Move parked messages back to their consumer's queue, to be tried again.
    Replay(Target),
}

#[derive(Args)]
pub struct Target {
    #[arg(long, value_enum)]
    consumer: Consumer,
    /// At most this many messages.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

pub async fn run(settings: &Settings, command: ParkedCommand) -> anyhow::Result<()> {
    let broker = Broker::new(&settings.broker, "sklad-cli");
    match command {
        ParkedCommand::List(target) => {
            let parked =
                sklad_bus::parking::list(&broker, target.consumer.name(), target.limit).await?;
            if parked.is_empty() {
                println!("nothing parked for {}", target.consumer.name());
            }
            for p in parked {
                println!(
                    "{}  {}  account {}  attempts {}  parked {}\n    {}",
                    p.message_id.as_deref().unwrap_or("-"),
                    p.subject.as_deref().unwrap_or("-"),
                    p.account_id.as_deref().unwrap_or("-"),
                    p.attempts.map_or("-".to_owned(), |a| a.to_string()),
                    p.parked_at.as_deref().unwrap_or("-"),
                    p.reason.as_deref().unwrap_or("(no reason recorded)")
                );
            }
        }
        ParkedCommand::Replay(target) => {
            let moved =
                sklad_bus::parking::replay(&broker, target.consumer.name(), target.limit).await?;
            println!(
                "{moved} parked message(s) moved back to {}",
                target.consumer.name()
            );
        }
    }
    Ok(())
}
