//! `sacon directory import|search`: an import checks every row locally and then upserts all of them in one
//! atomic call (a bad row means nothing is sent), waiting as long as the server takes and, for a large file,
//! saying so on stderr; search runs the same look-up as the console's user field.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Subcommand;

use super::CliError;
use super::import::{self, ImportError};
use super::output::{Format, Stdout, Table};
use crate::api::Client;
use crate::model::{DirectoryUser, sanitize};

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
            let (inserted, updated) = import_with_progress(client, &file, &users).await?;
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

/// Files with more rows than this say on stderr what they are doing, since their one call takes seconds.
const PROGRESS_ROWS: usize = 5_000;
/// How often a long import says it is still waiting.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Sends the import; for a large file, says on stderr (stdout holds the result) how many rows were read, that
/// it is still waiting every few seconds, and how long the server took.
async fn import_with_progress(
    client: &Client,
    file: &Path,
    users: &[DirectoryUser],
) -> Result<(u64, u64), CliError> {
    if users.len() <= PROGRESS_ROWS {
        return Ok(client.import_users(users).await?);
    }
    let n = thousands(users.len());
    eprintln!(
        "read {n} users from {}",
        sanitize(&file.display().to_string())
    );
    let start = Instant::now();
    let call = client.import_users(users);
    tokio::pin!(call);
    let mut ticks =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    let result = loop {
        tokio::select! {
            result = &mut call => break result,
            _ = ticks.tick() => eprintln!(
                "importing {n} users: waiting for the server, {}s so far",
                start.elapsed().as_secs()
            ),
        }
    };
    let counts = result?;
    eprintln!(
        "the server imported {n} users in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(counts)
}

/// `50000` as `50,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
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

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(7), "7");
        assert_eq!(super::thousands(5_000), "5,000");
        assert_eq!(super::thousands(50_000), "50,000");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
