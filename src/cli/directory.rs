//! `sacon directory import|search`: an import checks every row locally and then upserts all of them in one
//! atomic call (a bad row means nothing is sent); search runs the same look-up as the console's user field.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::CliError;
use super::import::{self, ImportError};
use super::output::{Format, Stdout, Table};
use crate::api::Client;

#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Insert or update directory users from a JSON array or a CSV file (`-` reads stdin), all or nothing.
    ///
    /// JSON: [{"id": "u1", "name": "Ann", "email": "ann@example.com", "groups": ["eng"]}, …]
    /// CSV: a header id,name,email,groups, then one user per line, groups separated by `;`.
    /// The format follows the extension (.json, .csv), else the first character (`[` means JSON).
    #[command(verbatim_doc_comment)]
    Import {
        /// The file to import, or `-` for stdin.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Find directory users by id, name, e-mail or group.
    Search {
        /// Text to look for; empty lists everyone.
        query: String,
        /// Most users to show.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
}

pub async fn run(client: &Client, command: DirectoryCommand) -> Result<(), CliError> {
    let out = Stdout::detect();
    match command {
        DirectoryCommand::Import { file } => {
            let text = read_input(&file)?;
            let format = import::detect(&file, &text);
            let users = import::parse(&text, format).map_err(|e| rejected(&file, e))?;
            let (inserted, updated) = client.import_users(&users).await?;
            out.write(&format!(
                "imported {} users ({inserted} new, {updated} updated)\n",
                users.len()
            ))
        }
        DirectoryCommand::Search {
            query,
            limit,
            output,
        } => {
            let (users, total) = client.query_users(&query, 0, limit).await?;
            match output {
                Format::Json => {
                    let items: Vec<UserJson> = users
                        .iter()
                        .map(|u| UserJson {
                            id: u.id.clone(),
                            name: u.name.clone(),
                            email: u.email.clone(),
                            groups: u.groups.clone(),
                        })
                        .collect();
                    out.json(&items)?;
                }
                Format::Table => {
                    let mut table = Table::new(&["ID", "NAME", "EMAIL", "GROUPS"]).max_width(3, 60);
                    for u in &users {
                        table.push(vec![
                            u.id.clone(),
                            u.name.clone(),
                            u.email.clone(),
                            u.groups.join(", "),
                        ]);
                    }
                    if table.is_empty() {
                        eprintln!("no directory users match");
                    } else {
                        out.write(&table.render())?;
                    }
                }
            }
            if total > users.len() as u64 {
                eprintln!(
                    "showing {} of {total} matches; --limit to see more",
                    users.len()
                );
            }
            Ok(())
        }
    }
}

/// A directory user in `--output json`.
#[derive(Debug, serde::Serialize)]
struct UserJson {
    id: String,
    name: String,
    email: String,
    groups: Vec<String>,
}

fn rejected(file: &Path, e: ImportError) -> CliError {
    CliError::Io(format!("{}: {e}; nothing was imported", file.display()))
}

fn read_input(file: &Path) -> Result<String, CliError> {
    let mut text = String::new();
    let result = if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(file).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    result.map_err(|e| CliError::Io(format!("cannot read {}: {e}", file.display())))?;
    Ok(text)
}
