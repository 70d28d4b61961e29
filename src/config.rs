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

/// Creates `dir` (and missing parents) with mode 0700; an existing directory is left as it is.
pub fn ensure_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
