//! `sklad-api`: the admin API as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = sklad_runtime::init_process()?;
    let app = sklad_api::Application::build(&settings)?;
    tracing::info!(port = app.port(), "api listening");
    app.run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
