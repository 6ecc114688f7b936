//! `sklad run`: several roles in one process.

use clap::{Args, ValueEnum};
use secrecy::ExposeSecret;
use sklad_bus::Broker;
use sklad_db::Db;
use sklad_runtime::Settings;

/// A role `sklad run` can play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Ingress,
    Api,
    OrderSync,
    StockPublisher,
    Relay,
}

#[derive(Args)]
pub struct RunArgs {
    /// Roles to run (default: all).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Role::Ingress, Role::Api, Role::OrderSync, Role::StockPublisher, Role::Relay])]
    roles: Vec<Role>,
    /// Skip applying migrations at start.
    #[arg(long)]
    no_migrate: bool,
}

pub async fn run(settings: Settings, args: RunArgs) -> anyhow::Result<()> {
    sklad_runtime::telemetry::init(&settings.log);
    if !args.no_migrate {
        let applied = sklad_db::migrate::run(settings.database.url.expose_secret()).await?;
        tracing::info!(applied = applied.len(), "migrations checked");
    }
    let cancel = sklad_runtime::shutdown::on_signal();
    let db = Db::new(&settings.database)?;
    let mut roles = tokio::task::JoinSet::new();
    for role in &args.roles {
        match role {
            Role::Ingress => {
                let broker = Broker::new(&settings.broker, "sklad-ingress");
                let app = sklad_ingress::Application::build_with(&settings, db.clone(), broker)?;
                tracing::info!(port = app.port(), "ingress listening");
                roles.spawn(app.run_until_stopped(cancel.clone()));
            }
            Role::Api => {
                let app = sklad_api::Application::build_with(
                    &settings,
                    db.clone(),
                    Some(sklad_console::configure),
                )?;
                tracing::info!(port = app.port(), "api listening");
                roles.spawn(app.run_until_stopped(cancel.clone()));
            }
            Role::OrderSync => {
                let worker = sklad_order_sync::Worker::build_with(&settings, db.clone())?;
                tracing::info!(port = worker.port(), "order-sync running");
                roles.spawn(worker.run_until_stopped(cancel.clone()));
            }
            Role::StockPublisher => {
                let worker = sklad_stock_publisher::Worker::build_with(&settings, db.clone())?;
                tracing::info!(port = worker.port(), "stock-publisher running");
                roles.spawn(worker.run_until_stopped(cancel.clone()));
            }
            Role::Relay => {
                let relay = sklad_relay::Relay::build_with(&settings, db.clone())?;
                tracing::info!(port = relay.port(), "relay running");
                roles.spawn(relay.run_until_stopped(cancel.clone()));
            }
        }
    }
    tracing::info!(roles = ?args.roles, "sklad running");
    let mut failure = None;
    while let Some(done) = roles.join_next().await {
        let outcome = done
            .map_err(anyhow::Error::from)
            .and_then(|r| r.map_err(anyhow::Error::from));
        if let Err(err) = outcome {
            // One role failing stops the others, so the process exits as a whole.
            tracing::error!(error = %err, "a role stopped with an error; stopping the others");
            cancel.cancel();
            failure.get_or_insert(err);
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    tracing::info!("sklad stopped");
    Ok(())
}
