//! `sacon activity list`: the activity log (who changed what, when) newest first, filtered by namespace (with
//! its subtree on `--recursive`), actor, action and age, as a table, JSON or CSV.

use std::time::Duration;

use clap::Subcommand;

use super::output::{ListFormat, Stdout, Table};
use super::{CliError, parse_duration, resolve_namespace, slash_path};
use crate::api::{Client, wire};
use crate::model::NamespaceTree;

#[derive(Debug, Subcommand)]
pub enum ActivityCommand {
    /// List changes, newest first.
    List {
        /// Only changes in this namespace (id or path, e.g. Global/Engineering).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// With --namespace: also every namespace below it.
        #[arg(long, requires = "namespace")]
        recursive: bool,
        /// Only changes made by this actor (`root`, `local:alice`, a service account's user id).
        #[arg(long, value_name = "ACTOR")]
        actor: Option<String>,
        /// Only this kind of change: create, update, rotate, delete, import.
        #[arg(long, value_name = "ACTION")]
        action: Option<String>,
        /// Only changes made within this long (e.g. 7d, 12h).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        since: Option<Duration>,
        /// Most entries to show.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
}

const HEADER: [&str; 7] = ["WHEN", "ACTOR", "ACTION", "KIND", "NAME", "NAMESPACE", "ID"];

pub async fn run(client: &Client, command: ActivityCommand) -> Result<(), CliError> {
    let ActivityCommand::List {
        namespace,
        recursive,
        actor,
        action,
        since,
        limit,
        output,
    } = command;
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    let namespace_id = match &namespace {
        Some(ns) => Some(resolve_namespace(&tree, ns)?.id.clone()),
        None => None,
    };
    let date_filter = match since {
        Some(d) => {
            let d = chrono::Duration::from_std(d)
                .map_err(|_| CliError::Usage(format!("--since {d:?} is too long")))?;
            Some(wire::list_activity_log_entries_request::DateFilter {
                operator: ">=".into(),
                date: Some(crate::api::convert::chrono_to_timestamp(
                    chrono::Utc::now() - d,
                )),
            })
        }
        None => None,
    };
    let (entries, total) = client
        .list_activity(wire::ListActivityLogEntriesRequest {
            namespace_id,
            recurse_namespace: recursive.then_some(true),
            user_id: actor,
            activity_type: action,
            limit: Some(limit.max(0)),
            date_filter,
            ..Default::default()
        })
        .await?;
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let when = e
                .created_at
                .and_then(|t| t.to_chrono())
                .map(crate::api::convert::format_time)
                .unwrap_or_default();
            let ns = if e.namespace_id.is_empty() {
                String::new()
            } else if tree.get(&e.namespace_id).is_some() {
                slash_path(&tree, &e.namespace_id)
            } else {
                e.namespace_name.clone()
            };
            vec![
                when,
                e.user_id.clone(),
                e.activity_type.clone(),
                e.entity_type.clone(),
                e.name.clone(),
                ns,
                e.entity_id.clone(),
            ]
        })
        .collect();
    let out = Stdout::detect();
    match output {
        ListFormat::Json => out.json(&serde_json::json!({
            "total": total,
            "entries": rows
                .iter()
                .zip(&entries)
                .map(|(r, e)| serde_json::json!({
                    "id": e.id,
                    "at": r[0],
                    "actor": r[1],
                    "serviceAccountId": e.service_account_id,
                    "action": r[2],
                    "entityType": r[3],
                    "name": r[4],
                    "namespace": r[5],
                    "entityId": r[6],
                    "detail": serde_json::from_str::<serde_json::Value>(&e.entity_data)
                        .unwrap_or(serde_json::Value::Null),
                }))
                .collect::<Vec<_>>(),
        })),
        ListFormat::Csv => out.csv(&HEADER, &rows),
        ListFormat::Table => {
            let mut table = Table::new(&HEADER);
            for r in rows {
                table.push(r);
            }
            let shown = entries.len();
            out.write(&format!("{}{shown} of {total} entries\n", table.render()))
        }
    }
}
