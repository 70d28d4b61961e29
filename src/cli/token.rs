//! `sacon token bootstrap`: a short-lived bootstrap admin JWT signed with the data directory's shared secret
//! (or `--shared-secret-file`), for other Connect clients, printed alone on stdout. `sacon token inspect`: reads
//! a service-account JWT from standard input without echoing it, shows its claims, and asks the server whether
//! it would verify now and why not.

use chrono::Utc;
use clap::Subcommand;

use zeroize::Zeroizing;

use super::output::Stdout;
use super::{CliError, GlobalArgs};
use crate::api::Client;
use crate::model::{ServiceAccount, sanitize};
use crate::token::{SecretError, SharedSecret, bootstrap_token, decode_unverified};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a bootstrap admin JWT (valid 5 minutes), to send as `Authorization: Pomerium <token>`.
    Bootstrap,
    /// Read a service-account JWT from standard input (never echoed), show its claims and whether it would
    /// verify now, and why not. Exits 0 when it would verify, 3 when it would not.
    Inspect {
        /// Judge it as `/verify` would for this namespace (id or path).
        #[arg(long, value_name = "ID-or-PATH")]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = super::output::Format::Table)]
        output: super::output::Format,
    },
}

/// The commands that talk to a server (`bootstrap` needs none and is run by `bootstrap`).
pub async fn run(client: &Client, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Bootstrap => Ok(()),
        TokenCommand::Inspect { namespace, output } => {
            let jwt = read_token()?;
            inspect(client, &jwt, namespace.as_deref(), output).await
        }
    }
}

/// Reads one token from standard input; on a terminal, with echo off so it never lands on screen.
pub(super) fn read_token() -> Result<Zeroizing<String>, CliError> {
    use std::io::{IsTerminal, Read};
    let mut text = Zeroizing::new(String::new());
    if std::io::stdin().is_terminal() {
        eprint!("paste the token (it will not be shown), then press Enter: ");
        crossterm::terminal::enable_raw_mode()
            .map_err(|e| CliError::Io(format!("cannot turn terminal echo off: {e}")))?;
        let mut byte = [0u8; 1];
        let mut bytes = Zeroizing::new(Vec::new());
        let result = loop {
            match std::io::stdin().read(&mut byte) {
                Ok(0) => break Ok(()),
                Ok(_) if byte[0] == b'\r' || byte[0] == b'\n' => break Ok(()),
                // Ctrl-C and Ctrl-D in raw mode arrive as bytes.
                Ok(_) if byte[0] == 3 => break Err(CliError::Io("cancelled".into())),
                Ok(_) if byte[0] == 4 => break Ok(()),
                Ok(_) => bytes.push(byte[0]),
                Err(e) => break Err(CliError::Io(format!("cannot read standard input: {e}"))),
            }
        };
        let _ = crossterm::terminal::disable_raw_mode();
        eprintln!();
        result?;
        text.push_str(&String::from_utf8_lossy(&bytes));
    } else {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Io(format!("cannot read standard input: {e}")))?;
    }
    let token = text.trim();
    // Accept the header forms too, as pasted from a request.
    let token = token
        .strip_prefix("Bearer Pomerium-")
        .or_else(|| token.strip_prefix("Pomerium "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err(CliError::Usage("no token on standard input".into()));
    }
    Ok(Zeroizing::new(token.to_string()))
}

async fn inspect(
    client: &Client,
    jwt: &str,
    namespace: Option<&str>,
    output: super::output::Format,
) -> Result<(), CliError> {
    let local = decode_unverified(jwt);
    let answer = client.inspect_token(jwt, namespace).await?;
    let account = answer.service_account.clone().map(ServiceAccount::from);
    let out = Stdout::detect();
    match output {
        super::output::Format::Json => {
            let claims = local
                .as_ref()
                .map(|(_, c)| c.clone())
                .unwrap_or(serde_json::Value::Null);
            let header = local
                .as_ref()
                .map(|(h, _)| h.clone())
                .unwrap_or(serde_json::Value::Null);
            out.json(&serde_json::json!({
                "header": header,
                "claims": claims,
                "verdict": answer.verdict,
                "reason": answer.reason,
                "account": account.as_ref().map(|a| serde_json::json!({
                    "id": a.id,
                    "userId": a.user_id,
                    "namespaceId": a.namespace_id,
                    "description": a.description,
                    "expiresAt": a.expires_at.map(crate::api::convert::format_time),
                    "accessedAt": a.accessed_at.map(crate::api::convert::format_time),
                    "disabled": a.disabled,
                })),
            }))?;
        }
        super::output::Format::Table => {
            let mut lines = Vec::new();
            match &local {
                Ok((header, claims)) => {
                    let alg = header.get("alg").and_then(|a| a.as_str()).unwrap_or("?");
                    lines.push(format!("algorithm   {}", sanitize(alg)));
                    for (name, label) in [("jti", "account"), ("sub", "user id")] {
                        let v = claims
                            .get(name)
                            .map(claim_text)
                            .unwrap_or_else(|| "(absent)".into());
                        lines.push(format!("{label:<11} {}", sanitize(&v)));
                    }
                    for (name, label) in
                        [("iat", "issued"), ("nbf", "not before"), ("exp", "expires")]
                    {
                        let v = match claims.get(name) {
                            None if name == "exp" => "never".to_string(),
                            None => "(absent)".to_string(),
                            Some(v) => match v
                                .as_i64()
                                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                            {
                                Some(t) => crate::api::convert::format_time(t),
                                None => sanitize(&claim_text(v)),
                            },
                        };
                        lines.push(format!("{label:<11} {v}"));
                    }
                }
                Err(e) => lines.push(format!("claims      cannot be decoded: {e}")),
            }
            if let Some(a) = &account {
                lines.push(format!("namespace   {}", sanitize(&a.namespace_id)));
                if !a.description.is_empty() {
                    lines.push(format!("description {}", sanitize(&a.description)));
                }
                let used = a
                    .accessed_at
                    .map(crate::api::convert::format_time)
                    .unwrap_or_else(|| "never".into());
                lines.push(format!("last used   {used}"));
            }
            lines.push(format!("verdict     {}", sanitize(&answer.verdict)));
            lines.push(format!("reason      {}", sanitize(&answer.reason)));
            out.write(&(lines.join("\n") + "\n"))?;
        }
    }
    if answer.verdict == "valid" {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "the token would not verify: {}",
            answer.verdict
        )))
    }
}

fn claim_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn bootstrap(global: &GlobalArgs) -> Result<(), CliError> {
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
