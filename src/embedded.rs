//! Connecting a front end (CLI or TUI): to a remote server by URL, or to the embedded console, which opens the
//! data directory, starts the server in-process on a loopback port and hands back the same `api::Client`.

use std::path::PathBuf;
use std::time::Duration;

use crate::api::Client;

/// Connection flags shared by the CLI and the TUI.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub api_url: Option<String>,
    pub token_file: Option<PathBuf>,
    /// A token given directly (from `SACON_TOKEN`).
    pub token: Option<String>,
    pub shared_secret_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    /// Do not seed the demo directory into a new data directory.
    pub no_demo: bool,
    pub timeout: Option<Duration>,
}

/// A live connection. Keep it alive while the client is used: for the embedded console it owns the server.
pub struct Connection {
    pub client: Client,
    /// Where the console points, for headers: `~/.local/share/sacon` or `https://api.example`.
    pub target: String,
    /// The data directory, when embedded (the TUI remembers its last namespace there).
    pub data_dir: Option<PathBuf>,
    /// True when this start created the data directory (and seeded the demo, unless `no_demo`).
    pub created: bool,
    pub server: Option<crate::server::ServerHandle>,
}

/// Connects as `options` say.
pub async fn connect(options: &ConnectOptions) -> anyhow::Result<Connection> {
    let _ = options;
    anyhow::bail!("not wired yet")
}
