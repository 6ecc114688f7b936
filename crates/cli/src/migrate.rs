//! `sklad migrate`: the database's migrations, then the broker's policies.

use anyhow::Context;
use clap::Args;
use secrecy::ExposeSecret;
use sklad_bus::policies::{self, Management};
use sklad_bus::{Broker, Topology};
use sklad_runtime::Settings;

#[derive(Args)]
pub struct MigrateArgs {
    /// Only the database: leave RabbitMQ's policies as they are (for a host that cannot reach
    /// the management API; run it once from one that can).
    #[arg(long)]
    database_only: bool,
}

pub async fn run(settings: &Settings, args: MigrateArgs) -> anyhow::Result<()> {
    let applied = sklad_db::migrate::run(settings.database.url.expose_secret()).await?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    if args.database_only {
        return Ok(());
    }
    let management = Management::new(&settings.broker)?;
    let broker = Broker::new(&settings.broker, "sklad-migrate");
    let connection = broker
        .open("migrate")
        .await
        .context("connecting to RabbitMQ")?;
    let topology = Topology::new(&settings.broker);
    let outcome = policies::apply(&topology, &connection, &management).await;
    let _ = connection.close(200, "migrated".into()).await;
    let done = outcome?;
    println!(
        "broker policy {} sets delivery-limit {} on {}",
        done.policy.name, done.policy.delivery_limit, done.policy.pattern
    );
    for (queue, moved) in done.recreated {
        println!("recreated queue {queue} without declared limits ({moved} messages kept)");
    }
    for queue in done.removed {
        println!("removed the empty classic retry queue {queue}");
    }
    for (queue, messages) in done.draining {
        println!(
            "the classic retry queue {queue} still holds {messages} messages; they return to \
             their work queue by themselves, run `sklad migrate` again later to remove it"
        );
    }
    Ok(())
}
