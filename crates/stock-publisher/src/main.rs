//! `sklad-stock-publisher`: the stock-publisher as its own process.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let worker = sklad_stock_publisher::Worker::build(&settings)?;
    tracing::info!(port = worker.port(), "stock-publisher running");
    worker
        .run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
