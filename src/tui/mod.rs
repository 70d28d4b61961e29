//! The terminal console: connects as the CLI does, runs the app until the admin quits, always restores the terminal.

use crate::embedded::ConnectOptions;

/// Opens the console.
pub async fn run(options: &ConnectOptions) -> anyhow::Result<()> {
    let _ = options;
    anyhow::bail!("the console is not built yet")
}
