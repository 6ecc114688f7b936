//! `sklad`: see `sklad --help`.

#[global_allocator]
static ALLOCATOR: sklad_runtime::Allocator = sklad_runtime::Allocator;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sklad_cli::run_binary().await
}
