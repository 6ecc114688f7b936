//! `sklad-order-sync`: the order-sync worker as its own process.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let worker = sklad_order_sync::Worker::build(&settings)?;
    tracing::info!(port = worker.port(), "order-sync running");
    worker
        .run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
