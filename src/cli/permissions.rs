//! `sacon permissions list|grant|revoke`: who holds which role on which namespace — every binding the
//! credential may read, or those that apply in one namespace (own and inherited) — and granting or revoking one.

use clap::{Args, Subcommand};

use super::output::{ListFormat, Stdout, Table};
use super::{CliError, resolve_namespace, slash_path};
use crate::api::{Client, ConnectError};
use crate::model::{NamespaceTree, sanitize};

#[derive(Debug, Subcommand)]
pub enum PermissionsCommand {
    /// List role bindings: all you may read, or those that apply in one namespace.
    List {
        /// Only the bindings that apply in this namespace (id or path), its own and inherited ones.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Grant a role on a namespace (and everything below it) to a user or a group; re-granting changes the role.
    Grant {
        /// The namespace (id or path, e.g. Global/Engineering).
        namespace: String,
        #[command(flatten)]
        subject: Subject,
        /// viewer (read), manager (also service accounts) or admin (also child namespaces and permissions).
        #[arg(long, value_parser = ["viewer", "manager", "admin"])]
        role: String,
    },
    /// Revoke a binding: by its id, or by namespace and subject.
    Revoke {
        /// A binding id (from `permissions list`), or a namespace with --user or --group.
        target: String,
        #[command(flatten)]
        subject: OptionalSubject,
    },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Subject {
    /// A directory user's id, or the user id of a service account.
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// A directory group: every member holds the role.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = false, multiple = false)]
pub struct OptionalSubject {
    /// With a namespace as the target: the user whose binding to revoke.
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// With a namespace as the target: the group whose binding to revoke.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
}

fn subject_of(user: Option<String>, group: Option<String>) -> Option<(&'static str, String)> {
    match (user, group) {
        (Some(u), _) => Some(("user", u)),
        (None, Some(g)) => Some(("group", g)),
        (None, None) => None,
    }
}

const HEADER: [&str; 6] = ["NAMESPACE", "TYPE", "SUBJECT", "ROLE", "FROM", "ID"];

pub async fn run(client: &Client, command: PermissionsCommand) -> Result<(), CliError> {
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    match command {
        PermissionsCommand::List { namespace, output } => {
            list(client, &tree, namespace, output).await
        }
        PermissionsCommand::Grant {
            namespace,
            subject,
            role,
        } => {
            let ns = resolve_namespace(&tree, &namespace)?;
            let (kind, id) = subject_of(subject.user, subject.group)
                .ok_or_else(|| CliError::Usage("give --user ID or --group GROUP".into()))?;
            if id.trim().is_empty() {
                return Err(CliError::Usage(format!("--{kind} must not be empty")));
            }
            let p = client.grant(&ns.id, kind, &id, &role).await?;
            Stdout::detect().write(&format!(
                "granted {} to {} {} on {} (permission {})\n",
                sanitize(&p.role),
                p.subject_type,
                sanitize(&p.subject_id),
                sanitize(&slash_path(&tree, &p.namespace_id)),
                sanitize(&p.id)
            ))
        }
        PermissionsCommand::Revoke { target, subject } => {
            let id = match subject_of(subject.user, subject.group) {
                None => target,
                Some((kind, who)) => {
                    let ns = resolve_namespace(&tree, &target)?;
                    client
                        .list_permissions()
                        .await?
                        .into_iter()
                        .find(|p| {
                            p.namespace_id == ns.id && p.subject_type == kind && p.subject_id == who
                        })
                        .map(|p| p.id)
                        .ok_or_else(|| {
                            CliError::Api(ConnectError::not_found(format!(
                                "{kind} {who:?} holds no role of its own on {}",
                                slash_path(&tree, &ns.id)
                            )))
                        })?
                }
            };
            client.revoke(&id).await?;
            Stdout::detect().write(&format!("revoked permission {}\n", sanitize(&id)))
        }
    }
}

async fn list(
    client: &Client,
    tree: &NamespaceTree,
    namespace: Option<String>,
    output: ListFormat,
) -> Result<(), CliError> {
    let path = |id: &str| {
        if tree.get(id).is_some() {
            slash_path(tree, id)
        } else {
            id.to_string()
        }
    };
    // One row per binding: where it was granted, who, the role, and (for one namespace) whether it is its own.
    let mut rows: Vec<Vec<String>> = Vec::new();
    match namespace {
        None => {
            for p in client.list_permissions().await? {
                rows.push(vec![
                    path(&p.namespace_id),
                    p.subject_type,
                    p.subject_id,
                    p.role,
                    "own".into(),
                    p.id,
                ]);
            }
            rows.sort();
        }
        Some(ns) => {
            let ns = resolve_namespace(tree, &ns)?;
            let (users, groups) = client.namespace_permissions(&ns.id).await?;
            let from = |granted_on: &str| {
                if granted_on == ns.id {
                    "own".to_string()
                } else {
                    format!("inherited from {}", path(granted_on))
                }
            };
            for u in users {
                let who = if u.user_name.is_empty() {
                    u.user_id.clone()
                } else {
                    format!("{} ({})", u.user_id, u.user_name)
                };
                rows.push(vec![
                    path(&u.namespace_id),
                    "user".into(),
                    who,
                    u.role,
                    from(&u.namespace_id),
                    u.id,
                ]);
            }
            for g in groups {
                rows.push(vec![
                    path(&g.namespace_id),
                    "group".into(),
                    g.group_id,
                    g.role,
                    from(&g.namespace_id),
                    g.id,
                ]);
            }
        }
    }
    let out = Stdout::detect();
    match output {
        ListFormat::Json => out.json(
            &rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "namespace": r[0], "subjectType": r[1], "subject": r[2], "role": r[3],
                        "from": r[4], "id": r[5],
                    })
                })
                .collect::<Vec<_>>(),
        ),
        ListFormat::Csv => out.csv(&HEADER, &rows),
        ListFormat::Table => {
            if rows.is_empty() {
                return out.write("no permissions; only the shared secret (root) can act\n");
            }
            let mut table = Table::new(&HEADER);
            for r in rows {
                table.push(r);
            }
            out.write(&table.render())
        }
    }
}
