//! Logging: tracing to a file (never the terminal), with request credentials redacted by the server's layer.

use std::path::Path;

/// Sends tracing output to `path` (appending; created 0600). `RUST_LOG` sets the level (default `info`).
/// Returns false when the file cannot be opened; logging is then off rather than on the terminal.
pub fn init_file(path: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
    else {
        return false;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .is_ok()
}
