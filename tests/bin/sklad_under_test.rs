//! The `sklad` CLI, built inside the test package so end-to-end tests can start it as a
//! real process (same code as the shipped binary: `sklad_cli::main`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sklad_runtime::install_crypto_provider();
    match sklad_cli::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
