//! The `sklad` CLI, built inside the test package so end-to-end tests can start it as a
//! real process (same code as the shipped binary: `sklad_cli::run_binary`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sklad_cli::run_binary().await
}
