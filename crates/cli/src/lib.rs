//! The `sklad` ops CLI.

mod account;
mod integration;
mod migrate;
mod moving_in;
mod parked;
mod production;
mod run;
mod status;
mod stock;
mod sync;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use sklad_runtime::Settings;

/// sklad: stock and production service with a two-way keyCRM integration.
#[derive(Parser)]
#[command(name = "sklad", version, about)]
pub struct Cli {
    /// Settings file (TOML); `SKLAD__…` environment variables override it.
    #[arg(long, global = true, env = "SKLAD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations and set RabbitMQ's policies (safe to repeat, and to
    /// run from several processes at once).
    Migrate(migrate::MigrateArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Show or change an account's keyCRM integration settings.
    #[command(subcommand)]
    Integration(integration::IntegrationCommand),
    /// Run every role (ingress, api, order-sync, stock-publisher, relay) in one process, for
    /// small installs and the demo.
    Run(run::RunArgs),
    /// "Synchronize orders" from keyCRM, with a progress bar.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Repair keyCRM's stock (resync, reconcile), take keyCRM's stock over, import counts.
    #[command(subcommand)]
    Stock(stock::StockCommand),
    /// keyCRM's catalogue in sklad.
    #[command(subcommand)]
    Catalogue(moving_in::CatalogueCommand),
    /// Products as CSV, in and out.
    #[command(subcommand)]
    Products(moving_in::ProductsCommand),
    /// Show whether PostgreSQL and RabbitMQ answer, queue depths and parked messages.
    Status(status::StatusArgs),
    /// List or replay messages a consumer parked.
    #[command(subcommand)]
    Parked(parked::ParkedCommand),
    /// Bills of materials as CSV.
    #[command(subcommand)]
    Bom(production::BomCommand),
    /// Production orders.
    #[command(subcommand)]
    Production(production::ProductionCommand),
}

/// The whole `sklad` binary: runs the command, prints an error chain and sets the exit code.
pub async fn run_binary() -> std::process::ExitCode {
    sklad_runtime::install_crypto_provider();
    match main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Parses the command line and runs the command.
pub async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Migrate(args) => migrate::run(&settings, args).await,
        Command::Account(command) => account::run(&settings, command).await,
        Command::Integration(command) => integration::run(&settings, command).await,
        Command::Run(args) => run::run(settings, args).await,
        Command::Sync(command) => sync::run(&settings, command).await,
        Command::Stock(command) => stock::run(&settings, command).await,
        Command::Catalogue(command) => moving_in::catalogue(&settings, command).await,
        Command::Products(command) => moving_in::products(&settings, command).await,
        Command::Status(args) => status::run(&settings, args).await,
        Command::Parked(command) => parked::run(&settings, command).await,
        Command::Bom(command) => production::bom(&settings, command).await,
        Command::Production(command) => production::production(&settings, command).await,
    }
}
