//! The API server: opens the data directory (0700 dir, 0600 shared secret, database with the root namespace),
//! serves the Connect API with axum over any `Store`, and shuts down gracefully.

pub mod clock;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use clock::{Clock, ManualClock, SystemClock};

/// How `sacon serve` (or the embedded console) starts a server.
#[derive(Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    /// Load the demo directory into a database this start creates.
    pub seed_demo: bool,
    pub clock: Arc<dyn Clock>,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig { data_dir: data_dir.into(), seed_demo: false, clock: Arc::new(SystemClock) }
    }
}

/// A running server. `shutdown` stops it gracefully; dropping the handle does the same without waiting.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub created: bool,
    pub seeded: bool,
}

impl ServerHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub async fn shutdown(self) {}
}

/// Opens the data directory and serves on `listener` in a background task.
pub async fn start(config: ServerConfig, listener: tokio::net::TcpListener) -> anyhow::Result<ServerHandle> {
    let _ = (config, listener);
    anyhow::bail!("not wired yet")
}

/// `sacon serve`: opens `config.data_dir`, binds `listen`, prints `listening on http://HOST:PORT` as the first
/// line on stdout, and serves until SIGINT/SIGTERM.
pub async fn serve_forever(listen: &str, config: ServerConfig) -> anyhow::Result<()> {
    let _ = (listen, config);
    anyhow::bail!("not wired yet")
}
