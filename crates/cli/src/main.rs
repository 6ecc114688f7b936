//! `sklad`: see `sklad --help`.

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
