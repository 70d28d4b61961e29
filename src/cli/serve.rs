//! `sacon serve`: checks the data directory is private, logs to its rotating file, raises the open-file limit,
//! and runs the API server (plain on loopback, TLS elsewhere unless told otherwise) until a signal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{CliError, GlobalArgs, parse_timeout};
use crate::server::{self, ServerConfig, listen};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (the first stdout line names it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Load the demo namespaces and users into a database this start creates.
    #[arg(long)]
    pub seed_demo: bool,
    /// Store in this PostgreSQL database (postgres://USER@HOST/DB) instead of SQLite in the data directory; any
    /// number of `sacon serve` replicas may share it, each given the same --shared-secret-file.
    #[arg(
        long,
        value_name = "URL",
        env = "SACON_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// PEM certificate chain to serve HTTPS with (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert (not readable by others).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plaintext HTTP on an address other than loopback (only behind a TLS-terminating proxy).
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_plaintext: bool,
    /// Most connections held open at once [default: the open-file limit less a reserve].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Time a client has from a request's first byte to its last header.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_timeout)]
    pub idle_timeout: Duration,
}

pub async fn run(global: &GlobalArgs, args: ServeArgs) -> Result<(), CliError> {
    let data_dir = global
        .data_dir
        .clone()
        .unwrap_or_else(crate::config::default_data_dir);
    ensure_private_dir(&data_dir)?;
    crate::config::check_private(&data_dir).map_err(|e| CliError::Io(e.to_string()))?;
    crate::logging::init_file(&crate::config::log_path(&data_dir));
    let nofile = match listen::raise_open_file_limit() {
        Ok((before, after)) => {
            tracing::info!(
                before,
                after,
                "open-file limit (soft) raised to the hard limit"
            );
            after
        }
        Err(e) => {
            let now = listen::open_file_limit();
            tracing::warn!(error = %e, limit = now, "cannot raise the open-file limit");
            now
        }
    };
    let mut limits = listen::Limits::for_open_files(nofile);
    if let Some(n) = args.max_connections {
        limits.max_connections = n.max(1);
    }
    limits.header_timeout = args.header_timeout;
    limits.idle_timeout = args.idle_timeout;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(listen::tls_acceptor(cert, key).map_err(|e| CliError::Io(format!("{e:#}")))?)
        }
        _ => None,
    };
    let database_url = args.database_url.filter(|u| !u.trim().is_empty());
    if let Some(url) = &database_url
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        return Err(CliError::Usage(format!(
            "--database-url must be a postgres:// URL, not {}",
            server::redact_url(url)
        )));
    }
    let config = ServerConfig {
        seed_demo: args.seed_demo,
        database_url,
        // The server's secret, when given: replicas on one database must sign and check with the same one.
        secret_file: global.shared_secret_file.clone(),
        limits,
        tls,
        ..ServerConfig::new(data_dir)
    };
    server::serve_forever(&args.listen, config, args.insecure_plaintext)
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
