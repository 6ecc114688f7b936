//! `sklad run`: every role in one process.

use clap::Args;
use secrecy::ExposeSecret;
use sklad_bus::Broker;
use sklad_db::Db;
use sklad_runtime::Settings;

#[derive(Args)]
pub struct RunArgs {
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
    let broker = Broker::new(&settings.broker, "sklad-ingress");
    let ingress = sklad_ingress::Application::build_with(&settings, db.clone(), broker)?;
    let api = sklad_api::Application::build_with(&settings, db)?;
    tracing::info!(
        ingress_port = ingress.port(),
        api_port = api.port(),
        "sklad running: ingress and api"
    );
    let (ingress_done, api_done) = tokio::join!(
        ingress.run_until_stopped(cancel.clone()),
        api.run_until_stopped(cancel.clone()),
    );
    ingress_done?;
    api_done?;
    tracing::info!("sklad stopped");
    Ok(())
}
