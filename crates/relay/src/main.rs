//! `sklad-relay`: the outbox relay as its own process.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let relay = sklad_relay::Relay::build(&settings)?;
    tracing::info!(port = relay.port(), "relay running");
    relay
        .run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
