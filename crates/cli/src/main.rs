//! `sklad`: see `sklad --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sklad_cli::run_binary().await
}
