//! Process-level plumbing shared by every sklad binary.

pub mod health;
pub mod heartbeat;
pub mod http;
pub mod metrics;
pub mod settings;
pub mod shutdown;
pub mod tasks;
pub mod telemetry;

pub use settings::Settings;

/// The allocator every sklad binary declares (`#[global_allocator]`): under load glibc's
/// took about a tenth of ingress's CPU (memory a worker allocates is freed on lapin's I/O
/// thread), mimalloc about a third of that (`sklad-bench ingress --load wrk --profile`).
pub use mimalloc::MiMalloc as Allocator;

/// Start of every service binary: TLS provider, settings (file from `SKLAD_CONFIG`, then
/// `SKLAD__…` env) and logging.
pub fn init_process() -> anyhow::Result<Settings> {
    install_crypto_provider();
    let file = std::env::var_os("SKLAD_CONFIG").map(std::path::PathBuf::from);
    let settings = Settings::load(file.as_deref())?;
    telemetry::init(&settings.log);
    Ok(settings)
}

/// Serves an actix server until `cancel` fires, then stops it gracefully: no new
/// connections, in-flight requests finish (bounded by the server's shutdown timeout).
pub async fn serve_until_cancelled(
    server: actix_web::dev::Server,
    cancel: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let handle = server.handle();
    let stopper = tokio::spawn(async move {
        cancel.cancelled().await;
        handle.stop(true).await;
    });
    let outcome = server.await;
    stopper.abort();
    outcome
}

/// Selects the TLS crypto provider for reqwest and lapin once per process.
///
/// Both are built without a default provider so the build needs no C toolchain beyond `cc`;
/// calling this more than once is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
