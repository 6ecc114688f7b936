//! `sklad-ingress`: the webhook receiver as its own process.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let app = sklad_ingress::Application::build(&settings)?;
    tracing::info!(port = app.port(), "ingress listening");
    app.run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
