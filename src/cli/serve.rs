//! `sacon serve`: makes the data directory private, logs to its file, and runs the API server until a signal.

use std::path::Path;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::server::{self, ServerConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (the first stdout line names it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Load the demo namespaces and users into a database this start creates.
    #[arg(long)]
    pub seed_demo: bool,
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<(), CliError> {
    let data_dir = global
        .data_dir
        .clone()
        .unwrap_or_else(crate::config::default_data_dir);
    ensure_private_dir(&data_dir)?;
    crate::logging::init_file(&crate::config::log_path(&data_dir));
    let config = ServerConfig {
        seed_demo: args.seed_demo,
        ..ServerConfig::new(data_dir)
    };
    server::serve_forever(&args.listen, config)
        .await
        .map_err(CliError::from)
}

/// Creates the data directory with mode 0700 (see `config::ensure_private_dir`).
pub fn ensure_private_dir(dir: &Path) -> Result<(), CliError> {
    crate::config::ensure_private_dir(dir).map_err(|e| {
        CliError::Io(format!(
            "cannot create data directory {}: {e}",
            dir.display()
        ))
    })
}
