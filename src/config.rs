//! Settings and paths: the default data directory and the files inside it.

use std::path::{Path, PathBuf};

/// `$XDG_DATA_HOME/sacon`, falling back to `~/.local/share/sacon`.
pub fn default_data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("sacon")
}

pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join("shared_secret")
}

pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("sacon.db")
}

pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("sacon.log")
}
