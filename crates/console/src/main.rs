//! `sklad-api`: the admin API and its web console as one process.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let app = sklad_api::Application::build(&settings, Some(sklad_console::configure))?;
    tracing::info!(port = app.port(), "api listening");
    app.run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
