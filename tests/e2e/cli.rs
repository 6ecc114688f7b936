//! Starting the real CLI (built in this package) as a process.

use tokio::process::Command;

/// `sklad-under-test <args>` with `env`; the process is killed if the handle is dropped.
pub fn sklad(env: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sklad-under-test"));
    command
        .args(args)
        .envs(env.iter().cloned())
        .kill_on_drop(true);
    command
}
