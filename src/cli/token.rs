//! `sacon token bootstrap`: a short-lived bootstrap admin JWT signed with the data directory's shared secret
//! (or `--shared-secret-file`), for other Connect clients. Printed alone on stdout; everything else on stderr.

use chrono::Utc;
use clap::Subcommand;

use super::output::Stdout;
use super::{CliError, GlobalArgs};
use crate::token::{SecretError, SharedSecret, bootstrap_token};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a bootstrap admin JWT (valid 5 minutes), to send as `Authorization: Pomerium <token>`.
    Bootstrap,
}

pub fn run(global: &GlobalArgs, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Bootstrap => bootstrap(global),
    }
}

fn bootstrap(global: &GlobalArgs) -> Result<(), CliError> {
    let path = match &global.shared_secret_file {
        Some(path) => path.clone(),
        None => crate::config::secret_path(
            &global
                .data_dir
                .clone()
                .unwrap_or_else(crate::config::default_data_dir),
        ),
    };
    let secret = SharedSecret::load(&path).map_err(|e| match e {
        SecretError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::Io(format!(
                "no shared secret at {}: run sacon once to create the data directory, or pass \
                 --shared-secret-file",
                path.display()
            ))
        }
        other => CliError::Io(other.to_string()),
    })?;
    let now = Utc::now();
    let jwt = bootstrap_token(&secret, now);
    Stdout::detect().secret_line(&jwt)?;
    let until = now + chrono::Duration::minutes(5);
    eprintln!(
        "bootstrap admin token for the secret in {}; valid for 5 minutes (until {} UTC); send it as \
         `Authorization: Pomerium <token>`",
        path.display(),
        until.format("%H:%M:%S")
    );
    Ok(())
}
