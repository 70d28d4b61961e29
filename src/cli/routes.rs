//! `sacon routes list|create|delete`: the routes `/verify` judges a target by — listed as a table, JSON or CSV,
//! created from a `from` URL, an optional prefix and policies named by id or name, and deleted by id, unique id
//! prefix or exact name.

use clap::Subcommand;

use super::output::{ListFormat, Stdout, Table};
use super::policies::resolve_policy;
use super::{CliError, resolve_namespace, slash_path};
use crate::api::wire;
use crate::api::{Client, ConnectError};
use crate::model::{NamespaceTree, sanitize};

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// List routes: every one you may read, or those of one namespace.
    List {
        /// Only the routes of this namespace (id or path).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Create a route; prints its id on stdout.
    Create {
        /// Its namespace (id or path).
        #[arg(long, value_name = "NS")]
        namespace: String,
        #[arg(long)]
        name: String,
        /// The scheme and host it serves: https://app.example.com, or https://*.example.com.
        #[arg(long, value_name = "URL")]
        from: String,
        /// Only paths starting with this (/api).
        #[arg(long, value_name = "PATH")]
        prefix: Option<String>,
        /// A policy guarding it, of its namespace or an ancestor (id or name; repeat for more).
        #[arg(long = "policy", value_name = "ID-or-NAME")]
        policies: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a route.
    Delete {
        #[arg(value_name = "ID-or-NAME")]
        route: String,
    },
}

const HEADER: [&str; 6] = ["NAMESPACE", "NAME", "FROM", "PREFIX", "POLICIES", "ID"];

fn resolve_route<'r>(routes: &'r [wire::Route], text: &str) -> Result<&'r wire::Route, CliError> {
    let text = text.trim();
    if let Some(r) = routes.iter().find(|r| r.id == text) {
        return Ok(r);
    }
    let named: Vec<&wire::Route> = routes.iter().filter(|r| r.name == text).collect();
    let prefixed: Vec<&wire::Route> = routes
        .iter()
        .filter(|r| !text.is_empty() && r.id.starts_with(text))
        .collect();
    match (named.as_slice(), prefixed.as_slice()) {
        ([one], _) | ([], [one]) => Ok(one),
        ([], []) => Err(CliError::Api(ConnectError::not_found(format!(
            "no route has the id, id prefix or name {text:?} (see `sacon routes list`)"
        )))),
        _ => Err(CliError::Usage(format!(
            "{text:?} names more than one route; give its id"
        ))),
    }
}

pub async fn run(client: &Client, command: RoutesCommand) -> Result<(), CliError> {
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    let out = Stdout::detect();
    match command {
        RoutesCommand::List { namespace, output } => {
            let ns = match &namespace {
                Some(n) => resolve_namespace(&tree, n)?.id.clone(),
                None => String::new(),
            };
            let routes = client.list_routes(&ns).await?;
            list(&out, &tree, &routes, output)
        }
        RoutesCommand::Create {
            namespace,
            name,
            from,
            prefix,
            policies,
            description,
        } => {
            let ns = resolve_namespace(&tree, &namespace)?.id.clone();
            let mut policy_ids = Vec::with_capacity(policies.len());
            if !policies.is_empty() {
                let all = client.list_policies("").await?;
                for p in &policies {
                    policy_ids.push(resolve_policy(&all, p)?.id.clone());
                }
            }
            let saved = client
                .set_route(wire::Route {
                    namespace_id: ns,
                    name,
                    from,
                    prefix,
                    policy_ids,
                    description,
                    ..Default::default()
                })
                .await?;
            out.write(&format!("{}\n", saved.id))?;
            eprintln!(
                "created route {} ({}{}) in {}",
                sanitize(&saved.name),
                sanitize(&saved.from),
                sanitize(saved.prefix.as_deref().unwrap_or("")),
                sanitize(&slash_path(&tree, &saved.namespace_id))
            );
            Ok(())
        }
        RoutesCommand::Delete { route } => {
            let all = client.list_routes("").await?;
            let r = resolve_route(&all, &route)?;
            client.delete_route(&r.id).await?;
            eprintln!("deleted route {} ({})", sanitize(&r.name), sanitize(&r.id));
            Ok(())
        }
    }
}

fn list(
    out: &Stdout,
    tree: &NamespaceTree,
    routes: &[wire::Route],
    format: ListFormat,
) -> Result<(), CliError> {
    let path = |id: &str| {
        if tree.get(id).is_some() {
            slash_path(tree, id)
        } else {
            id.to_string()
        }
    };
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|r| {
            let mut policies = r.policy_names.clone();
            policies.extend(
                r.enforced_policy_names
                    .iter()
                    .map(|n| format!("{n} (enforced)")),
            );
            vec![
                path(&r.namespace_id),
                r.name.clone(),
                r.from.clone(),
                r.prefix.clone().unwrap_or_default(),
                policies.join(","),
                r.id.clone(),
            ]
        })
        .collect();
    match format {
        ListFormat::Json => out.json(&routes),
        ListFormat::Csv => out.csv(&HEADER, &rows),
        ListFormat::Table => {
            if rows.is_empty() {
                return out.write("no routes\n");
            }
            let mut table = Table::new(&HEADER).max_width(4, 50);
            for r in rows {
                table.push(r);
            }
            out.write(&table.render())
        }
    }
}
