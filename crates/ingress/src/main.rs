//! `sklad-ingress`: the webhook receiver as its own process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sklad_runtime::install_crypto_provider();
    let settings = sklad_runtime::Settings::load(
        std::env::var_os("SKLAD_CONFIG")
            .as_deref()
            .map(std::path::Path::new),
    )?;
    sklad_runtime::telemetry::init(&settings.log);
    let app = sklad_ingress::Application::build(&settings)?;
    tracing::info!(port = app.port(), "ingress listening");
    app.run_until_stopped(sklad_runtime::shutdown::on_signal())
        .await?;
    Ok(())
}
