//! `sacon access check --url URL`: reads a service-account JWT from standard input without echoing it (as `token
//! inspect` does) and prints what `/verify` would answer for it at that URL, and why — the token's verdict, the
//! route and the deciding policy — without counting it as a use. Exits 0 when it would be let through, 3 when not.

use clap::Subcommand;

use super::CliError;
use super::output::{Format, Stdout, render_fields};
use crate::api::Client;

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Read a service-account JWT from standard input (never echoed) and say what /verify would answer for it at
    /// --url, and why. Exits 0 when allowed, 3 when refused.
    Check {
        /// The target, as a proxy passes it: https://host/path.
        #[arg(long, value_name = "URL")]
        url: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

pub async fn run(client: &Client, command: AccessCommand) -> Result<(), CliError> {
    match command {
        AccessCommand::Check { url, output } => {
            let jwt = super::token::read_token()?;
            let answer = client.check_access(&jwt, &url).await?;
            let out = Stdout::detect();
            match output {
                Format::Json => out.json(&answer)?,
                Format::Table => {
                    let named = |name: &str, id: &str| match (name.is_empty(), id.is_empty()) {
                        (_, true) => "-".to_string(),
                        (true, false) => id.to_string(),
                        (false, false) => format!("{name} ({id})"),
                    };
                    let answer_word = match answer.status {
                        200 => "200 allowed",
                        401 => "401 unauthorized",
                        403 => "403 forbidden",
                        _ => "refused",
                    };
                    out.write(&render_fields(&[
                        ("answer", answer_word.to_string()),
                        ("verdict", answer.verdict.clone()),
                        ("account", named("", &answer.service_account_id)),
                        ("route", named(&answer.route_name, &answer.route_id)),
                        ("policy", named(&answer.policy_name, &answer.policy_id)),
                        ("reason", answer.reason.clone()),
                    ]))?;
                }
            }
            if answer.status == 200 {
                Ok(())
            } else {
                Err(CliError::Refused(format!(
                    "/verify would answer {} for {url}",
                    answer.status
                )))
            }
        }
    }
}
