//! `sacon namespaces list|create|rename|delete`: the namespace tree as an indented table or JSON, and changes
//! to it by id or by path (`Global/Engineering/Platform`).

use clap::Subcommand;

use super::output::{Format, Stdout, Table, rfc3339};
use super::{CliError, namespace_tree, resolve_namespace, root_namespace, slash_path};
use crate::api::{Client, ConnectError};
use crate::model::{NamespaceTree, sanitize};

#[derive(Debug, Subcommand)]
pub enum NamespacesCommand {
    /// Show the namespace tree.
    List {
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = Format::Table)]
        output: Format,
    },
    /// Create a namespace; prints its id on stdout.
    Create {
        /// Name of the new namespace, unique among its siblings.
        name: String,
        /// Id or path of the parent [default: the root namespace].
        #[arg(long, value_name = "ID-or-PATH")]
        parent: Option<String>,
    },
    /// Rename a namespace.
    Rename {
        #[arg(value_name = "ID-or-PATH")]
        namespace: String,
        /// The new name.
        name: String,
    },
    /// Delete a namespace; refused while it has child namespaces or accounts.
    Delete {
        #[arg(value_name = "ID-or-PATH")]
        namespace: String,
    },
}

pub async fn run(client: &Client, command: NamespacesCommand) -> Result<(), CliError> {
    let tree = namespace_tree(client).await?.ok_or_else(|| {
        CliError::Api(ConnectError::new(
            crate::api::Code::Unimplemented,
            format!("{} has no namespace service", client.base_url()),
        ))
    })?;
    let out = Stdout::detect();
    match command {
        NamespacesCommand::List { output } => list(&out, &tree, output),
        NamespacesCommand::Create { name, parent } => {
            let parent = match &parent {
                Some(p) => resolve_namespace(&tree, p)?,
                None => root_namespace(&tree)?,
            };
            let created = client.set_namespace("", &parent.id, &name).await?;
            out.write(&format!("{}\n", created.id))?;
            eprintln!(
                "created namespace {}/{}",
                sanitize(&slash_path(&tree, &parent.id)),
                sanitize(&created.name)
            );
            Ok(())
        }
        NamespacesCommand::Rename { namespace, name } => {
            let ns = resolve_namespace(&tree, &namespace)?;
            let before = slash_path(&tree, &ns.id);
            let renamed = client.set_namespace(&ns.id, &ns.parent_id, &name).await?;
            eprintln!(
                "renamed namespace {} to {}",
                sanitize(&before),
                sanitize(&renamed.name)
            );
            Ok(())
        }
        NamespacesCommand::Delete { namespace } => {
            let ns = resolve_namespace(&tree, &namespace)?;
            client.delete_namespace(&ns.id).await?;
            eprintln!("deleted namespace {}", sanitize(&slash_path(&tree, &ns.id)));
            Ok(())
        }
    }
}

/// Every namespace, depth first from each root, with its depth.
fn walk(tree: &NamespaceTree) -> Vec<(usize, &crate::model::Namespace)> {
    tree.roots()
        .iter()
        .flat_map(|r| tree.subtree(r))
        .filter_map(|id| tree.get(&id).map(|ns| (tree.depth(&id), ns)))
        .collect()
}

fn list(out: &Stdout, tree: &NamespaceTree, format: Format) -> Result<(), CliError> {
    match format {
        Format::Table => out.write(&tree_table(tree).render()),
        Format::Json => {
            let items: Vec<NamespaceJson> = walk(tree)
                .into_iter()
                .map(|(_, ns)| NamespaceJson {
                    id: ns.id.clone(),
                    parent_id: ns.parent_id.clone(),
                    name: ns.name.clone(),
                    path: slash_path(tree, &ns.id),
                    created_at: rfc3339(ns.created_at),
                    modified_at: rfc3339(ns.modified_at),
                    originator_id: ns.originator_id.clone(),
                })
                .collect();
            out.json(&items)
        }
    }
}

/// A namespace in `--output json`, in tree order.
#[derive(Debug, serde::Serialize)]
struct NamespaceJson {
    id: String,
    parent_id: String,
    name: String,
    /// Names from the root joined by `/`, as `--namespace` and `--parent` accept them.
    path: String,
    created_at: String,
    modified_at: String,
    /// Who created it (`root`, `local:<user>`, …); empty for the root and older namespaces.
    originator_id: String,
}

fn tree_table(tree: &NamespaceTree) -> Table {
    let mut table = Table::new(&["NAMESPACE", "ID", "PATH"]);
    for (depth, ns) in walk(tree) {
        let name = format!("{}{}", "  ".repeat(depth), ns.name);
        table.push(vec![name, ns.id.clone(), slash_path(tree, &ns.id)]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn ns(id: &str, parent: &str, name: &str) -> crate::model::Namespace {
        crate::model::Namespace::new(id, parent, name, Utc.timestamp_opt(0, 0).unwrap())
    }

    #[test]
    fn the_tree_is_indented_depth_first() {
        let tree = NamespaceTree::new(vec![
            ns("f", "g", "Finance"),
            ns("p", "e", "Platform"),
            ns("g", "", "Global"),
            ns("e", "g", "Engineering"),
        ]);
        assert_eq!(
            tree_table(&tree).render(),
            "NAMESPACE      ID  PATH\n\
             Global         g   Global\n\
             \x20 Engineering  e   Global/Engineering\n\
             \x20   Platform   p   Global/Engineering/Platform\n\
             \x20 Finance      f   Global/Finance\n"
        );
    }
}
