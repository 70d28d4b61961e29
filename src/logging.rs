//! Logging: tracing to a size-rotated file in the data directory (never the terminal): `sacon.log` grows to
//! `MAX_LOG_BYTES`, then becomes `sacon.log.1` (older ones shift up to `.KEPT_LOGS`, the oldest is removed), so the
//! log never takes more than about `(KEPT_LOGS + 1) × MAX_LOG_BYTES`. Every file is created with mode 0600.

use std::path::Path;

/// The size at which the current log file is rotated.
pub const MAX_LOG_BYTES: usize = 10 * 1024 * 1024;
/// Rotated files kept beside the current one.
pub const KEPT_LOGS: usize = 5;

/// Sends tracing output to `path`, rotated by size. `RUST_LOG` sets the level (default `info`) and
/// `SACON_LOG_MAX_BYTES` the rotation size. Returns false when the file cannot be opened; logging is then off
/// rather than on the terminal.
pub fn init_file(path: &Path) -> bool {
    let max = std::env::var("SACON_LOG_MAX_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_LOG_BYTES);
    init_rotating(path, max, KEPT_LOGS)
}

/// `init_file` with explicit bounds.
pub fn init_rotating(path: &Path, max_bytes: usize, kept: usize) -> bool {
    use file_rotate::compression::Compression;
    use file_rotate::suffix::AppendCount;
    use file_rotate::{ContentLimit, FileRotate};
    use std::os::unix::fs::OpenOptionsExt;
    // FileRotate creates missing parent directories itself (and panics if it cannot): only use an existing one.
    if !path.parent().is_some_and(Path::is_dir) {
        return false;
    }
    // Opening once first turns a file we may not write into a clear "logging off" instead of lost lines.
    if std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .is_err()
    {
        return false;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).create(true).append(true).mode(0o600);
    let writer = FileRotate::new(
        path,
        AppendCount::new(kept.max(1)),
        ContentLimit::BytesSurpassed(max_bytes.max(1)),
        Compression::None,
        Some(options),
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(writer))
        .try_init()
        .is_ok()
}
