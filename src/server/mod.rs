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
