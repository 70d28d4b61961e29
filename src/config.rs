//! Settings and paths: the default data directory, the files inside it, and the rule that they stay private.

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

/// Refuses a data directory that group or others can reach, or a secret or database file they can read or write,
/// as ssh refuses loose key files: the message names the path and the `chmod` that fixes it.
pub fn check_private(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(dir)
        .map_err(|e| anyhow::anyhow!("cannot read the data directory {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        anyhow::bail!("the data directory {} is not a directory", dir.display());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        anyhow::bail!(
            "the data directory {} belongs to uid {}, not to this user (uid {me}); use a directory of your own",
            dir.display(),
            meta.uid()
        );
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "the data directory {} is accessible by group or others (mode {mode:04o}); run: chmod 700 {}",
            dir.display(),
            dir.display()
        );
    }
    let db = database_path(dir);
    let mut files = vec![secret_path(dir), db.clone()];
    for suffix in ["-wal", "-shm"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        files.push(PathBuf::from(name));
    }
    for file in files {
        if file.exists() {
            check_private_file(&file)?;
        }
    }
    Ok(())
}

/// Refuses a secret file that group or others can read or write (as ssh refuses a loose private key).
pub fn check_private_file(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{} is readable or writable by group or others (mode {mode:04o}); run: chmod 600 {}",
            file.display(),
            file.display()
        );
    }
    Ok(())
}
