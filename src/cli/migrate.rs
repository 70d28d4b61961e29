//! `sacon migrate --from DIR --to postgres://…`: copies a SQLite data directory's whole store (namespaces,
//! directory, accounts with their token issue state, tombstones, roles, routes, policies and the audit log) into an
//! empty PostgreSQL database in one transaction, checks the counts before it commits, and refuses a database that
//! already holds anything. Tokens keep verifying when the replicas use the directory's shared secret.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, GlobalArgs};
use crate::server::redact_url;
use crate::store::SqliteStore;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Data directory to copy from (its sacon.db); stop the `sacon serve` using it first, or later writes stay
    /// behind.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Empty PostgreSQL database to copy into (postgres://USER@HOST/DB).
    #[arg(
        long,
        value_name = "URL",
        env = "SACON_DATABASE_URL",
        hide_env_values = true
    )]
    pub to: String,
}

pub async fn run(_global: &GlobalArgs, args: MigrateArgs) -> Result<(), CliError> {
    if !(args.to.starts_with("postgres://") || args.to.starts_with("postgresql://")) {
        return Err(CliError::Usage(format!(
            "--to must be a postgres:// URL, not {}",
            redact_url(&args.to)
        )));
    }
    crate::config::check_private(&args.from).map_err(|e| CliError::Io(format!("{e:#}")))?;
    let db = crate::config::database_path(&args.from);
    if !db.is_file() {
        return Err(CliError::Io(format!(
            "{} holds no database ({} is missing)",
            args.from.display(),
            db.display()
        )));
    }
    let secret = crate::config::secret_path(&args.from);
    let fingerprint = crate::token::SharedSecret::load(&secret)
        .map_err(|e| CliError::Io(e.to_string()))?
        .fingerprint();
    let source = SqliteStore::open(&db)
        .await
        .map_err(|e| CliError::Io(format!("cannot open {}: {e}", db.display())))?;
    let dump = source.dump().await;
    source.close().await;
    let dump = dump.map_err(|e| CliError::Io(format!("cannot read {}: {e}", db.display())))?;
    let target = redact_url(&args.to);
    let counts = crate::store::postgres::copy::load_dump(&args.to, &dump, &fingerprint)
        .await
        .map_err(|e| CliError::Io(format!("nothing was copied to {target}: {e}")))?;
    eprintln!(
        "copied {counts} from {} to {target}\nserve it with: sacon serve --database-url URL --shared-secret-file {}",
        args.from.display(),
        secret.display()
    );
    Ok(())
}
