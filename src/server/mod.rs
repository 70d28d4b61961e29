//! The API server: opens the data directory (secret + store), serves the Connect API over axum, shuts down gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `sacon serve` (or the embedded console) starts a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub data_dir: PathBuf,
    pub seed_demo: bool,
}

/// A running server; dropping it does not stop it, `shutdown` does.
pub struct ServerHandle {
    pub addr: SocketAddr,
}

/// `sacon serve`: opens `config.data_dir`, binds `listen`, prints `listening on http://HOST:PORT` as the first
/// line on stdout, and serves until SIGINT/SIGTERM.
pub async fn serve_forever(listen: &str, config: ServerConfig) -> anyhow::Result<()> {
    let _ = (listen, config);
    anyhow::bail!("not wired yet")
}
