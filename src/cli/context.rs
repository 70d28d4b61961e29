//! `sacon context list|current`: the contexts of the config file (and the implicit `embedded` one) with the
//! one in force marked, as a table or JSON; and the name of the one in force, alone on stdout.

use clap::Subcommand;
use serde::Serialize;

use super::output::{Format, Stdout, Table};
use super::{CliError, GlobalArgs, context_error};
use crate::context::{Context, Contexts, Credential};
use crate::embedded::display_path;
use crate::model::sanitize;

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List the contexts; the one in force (--context, $SACON_CONTEXT, current-context, else embedded) is
    /// marked `*`.
    List {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Print the name of the context in force.
    Current,
}

#[derive(Serialize)]
struct Listing<'a> {
    config_file: Option<String>,
    config_found: bool,
    current: &'a str,
    contexts: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    name: &'a str,
    current: bool,
    embedded: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_url: Option<&'a str>,
    auth: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_secret_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<String>,
    read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
}

fn entry<'a>(c: &'a Context, current: &str) -> Entry<'a> {
    let shown = |p: &std::path::PathBuf| p.display().to_string();
    let (token_file, shared_secret_file) = match &c.credential {
        Credential::None => (None, None),
        Credential::TokenFile(p) => (Some(shown(p)), None),
        Credential::SharedSecretFile(p) => (None, Some(shown(p))),
    };
    Entry {
        name: &c.name,
        current: c.name == current,
        embedded: c.is_embedded(),
        api_url: c.api_url.as_deref(),
        auth: c.auth_kind(),
        token_file,
        shared_secret_file,
        ca_file: c.ca_file.as_ref().map(shown),
        // An embedded context always says which data directory it opens.
        data_dir: match (&c.data_dir, c.is_embedded()) {
            (Some(d), _) => Some(shown(d)),
            (None, true) => Some(shown(&crate::config::default_data_dir())),
            (None, false) => None,
        },
        read_only: c.read_only(),
        namespace: c.namespace(),
    }
}

/// The SERVER cell: the API URL, or `embedded (<data dir>)`.
fn server(c: &Context) -> String {
    match &c.api_url {
        Some(url) => url.clone(),
        None => {
            let dir = c
                .data_dir
                .clone()
                .unwrap_or_else(crate::config::default_data_dir);
            format!("embedded ({})", display_path(&dir))
        }
    }
}

pub fn run(global: &GlobalArgs, command: ContextCommand) -> Result<(), CliError> {
    let contexts = Contexts::load().map_err(context_error)?;
    let current = contexts
        .select(global.context_name())
        .map_err(context_error)?
        .name
        .clone();
    let out = Stdout::detect();
    match command {
        ContextCommand::Current => out.write(&format!("{}\n", sanitize(&current))),
        ContextCommand::List { output } => {
            if !contexts.found()
                && let Some(path) = contexts.path()
            {
                eprintln!(
                    "no config file at {}; only the embedded context",
                    display_path(path)
                );
            }
            match output {
                Format::Json => out.json(&Listing {
                    config_file: contexts.path().map(|p| p.display().to_string()),
                    config_found: contexts.found(),
                    current: &current,
                    contexts: contexts.iter().map(|c| entry(c, &current)).collect(),
                }),
                Format::Table => {
                    let mut table = Table::new(&[
                        "CURRENT",
                        "NAME",
                        "SERVER",
                        "AUTH",
                        "READ-ONLY",
                        "NAMESPACE",
                    ]);
                    for c in contexts.iter() {
                        table.push(vec![
                            if c.name == current { "*" } else { "" }.into(),
                            c.name.clone(),
                            server(c),
                            c.auth_kind().into(),
                            if c.read_only() { "yes" } else { "no" }.into(),
                            c.namespace().unwrap_or("").into(),
                        ]);
                    }
                    out.write(&table.render())
                }
            }
        }
    }
}
