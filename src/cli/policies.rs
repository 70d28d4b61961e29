//! `sacon policies list|show|set|delete|grant|revoke`: access policies per namespace — listed as a table, JSON or
//! CSV, shown whole, created or replaced from flags (a PPL document from a file), deleted (optionally off the
//! routes that name them), and one user added to or taken out of a policy's allowed users. A policy is named by
//! its id, a unique id prefix or its exact name.

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{ListFormat, Stdout, Table, render_fields, rfc3339};
use super::{CliError, resolve_namespace, slash_path};
use crate::api::wire;
use crate::api::{Client, ConnectError};
use crate::model::{NamespaceTree, sanitize};

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// List policies: every one you may read, or those of one namespace.
    List {
        /// Only the policies of this namespace (id or path).
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
        output: ListFormat,
    },
    /// Show one policy: its users, domains, PPL and the routes it guards.
    Show {
        #[arg(value_name = "ID-or-NAME")]
        policy: String,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = super::output::Format::Table)]
        output: super::output::Format,
    },
    /// Create a policy (no ID; prints its id on stdout) or change one: each flag given replaces that field, the
    /// others keep their stored values.
    Set(SetArgs),
    /// Delete a policy; refused while routes name it, unless --from-routes takes it off them.
    Delete {
        #[arg(value_name = "ID-or-NAME")]
        policy: String,
        /// Also take the policy off every route that names it.
        #[arg(long)]
        from_routes: bool,
    },
    /// Add a user id (or e-mail) to a policy's allowed users.
    Grant {
        #[arg(value_name = "ID-or-NAME")]
        policy: String,
        /// A service account's user id, a directory user's id or an e-mail.
        user: String,
    },
    /// Take a user id (or e-mail) out of a policy's allowed users.
    Revoke {
        #[arg(value_name = "ID-or-NAME")]
        policy: String,
        user: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// The policy to change (id, unique id prefix or name); without it, a new policy.
    #[arg(value_name = "ID-or-NAME")]
    policy: Option<String>,
    /// Its namespace (id or path); needed for a new policy.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Its name; needed for a new policy.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// A user id or e-mail it allows (repeat for more; replaces the list).
    #[arg(long = "allow-user", value_name = "USER")]
    allow_users: Vec<String>,
    /// An e-mail domain it allows (repeat for more; replaces the list).
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    allow_domains: Vec<String>,
    /// A PPL document (Pomerium's policy language, JSON or YAML) for the rest; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    ppl_file: Option<PathBuf>,
    /// Applies to every route of its namespace and below (`--enforced=false` turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    enforced: Option<bool>,
}

const HEADER: [&str; 7] = [
    "NAMESPACE",
    "NAME",
    "ENFORCED",
    "USERS",
    "DOMAINS",
    "ROUTES",
    "ID",
];

/// Finds a policy by id, exact name or unique id prefix among those the caller may read.
pub(super) fn resolve_policy<'p>(
    policies: &'p [wire::Policy],
    text: &str,
) -> Result<&'p wire::Policy, CliError> {
    let text = text.trim();
    if let Some(p) = policies.iter().find(|p| p.id == text) {
        return Ok(p);
    }
    let named: Vec<&wire::Policy> = policies.iter().filter(|p| p.name == text).collect();
    let prefixed: Vec<&wire::Policy> = policies
        .iter()
        .filter(|p| !text.is_empty() && p.id.starts_with(text))
        .collect();
    match (named.as_slice(), prefixed.as_slice()) {
        ([one], _) | ([], [one]) => Ok(one),
        ([], []) => Err(CliError::Api(ConnectError::not_found(format!(
            "no policy has the id, id prefix or name {text:?} (see `sacon policies list`)"
        )))),
        _ => Err(CliError::Usage(format!(
            "{text:?} names more than one policy; give its id"
        ))),
    }
}

pub async fn run(client: &Client, command: PoliciesCommand) -> Result<(), CliError> {
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    let out = Stdout::detect();
    match command {
        PoliciesCommand::List { namespace, output } => {
            let ns = match &namespace {
                Some(n) => resolve_namespace(&tree, n)?.id.clone(),
                None => String::new(),
            };
            let policies = client.list_policies(&ns).await?;
            list(&out, &tree, &policies, output)
        }
        PoliciesCommand::Show { policy, output } => {
            let all = client.list_policies("").await?;
            let p = resolve_policy(&all, &policy)?;
            let p = client.get_policy(&p.id).await?;
            match output {
                super::output::Format::Json => out.json(&p),
                super::output::Format::Table => out.write(&show(&tree, &p)),
            }
        }
        PoliciesCommand::Set(args) => set(client, &tree, &out, args).await,
        PoliciesCommand::Delete {
            policy,
            from_routes,
        } => {
            let all = client.list_policies("").await?;
            let p = resolve_policy(&all, &policy)?;
            client.delete_policy(&p.id, from_routes).await?;
            eprintln!("deleted policy {} ({})", sanitize(&p.name), sanitize(&p.id));
            Ok(())
        }
        PoliciesCommand::Grant { policy, user } => {
            let user = user.trim();
            if user.is_empty() {
                return Err(CliError::Usage("the user must not be empty".into()));
            }
            let all = client.list_policies("").await?;
            let p = resolve_policy(&all, &policy)?;
            let saved = client.grant_user(&p.id, user).await?;
            eprintln!(
                "policy {} allows {} ({} users)",
                sanitize(&saved.name),
                sanitize(user),
                saved.allowed_users.len()
            );
            Ok(())
        }
        PoliciesCommand::Revoke { policy, user } => {
            let all = client.list_policies("").await?;
            let p = resolve_policy(&all, &policy)?;
            let mut changed = client.get_policy(&p.id).await?;
            let before = changed.allowed_users.len();
            changed.allowed_users.retain(|u| u != user.trim());
            if changed.allowed_users.len() == before {
                return Err(CliError::Api(ConnectError::not_found(format!(
                    "policy {:?} does not name {:?}",
                    p.name, user
                ))));
            }
            let saved = client.set_policy(changed).await?;
            eprintln!(
                "policy {} no longer names {}",
                sanitize(&saved.name),
                sanitize(&user)
            );
            Ok(())
        }
    }
}

async fn set(
    client: &Client,
    tree: &NamespaceTree,
    out: &Stdout,
    args: SetArgs,
) -> Result<(), CliError> {
    let mut policy = match &args.policy {
        Some(text) => {
            let all = client.list_policies("").await?;
            let id = resolve_policy(&all, text)?.id.clone();
            client.get_policy(&id).await?
        }
        None => {
            if args.namespace.is_none() || args.name.is_none() {
                return Err(CliError::Usage(
                    "a new policy needs --namespace and --name".into(),
                ));
            }
            wire::Policy::default()
        }
    };
    if let Some(ns) = &args.namespace {
        policy.namespace_id = resolve_namespace(tree, ns)?.id.clone();
    }
    if let Some(name) = args.name {
        policy.name = name;
    }
    if let Some(d) = args.description {
        policy.description = d;
    }
    if !args.allow_users.is_empty() {
        policy.allowed_users = args.allow_users;
    }
    if !args.allow_domains.is_empty() {
        policy.allowed_domains = args.allow_domains;
    }
    if let Some(file) = &args.ppl_file {
        policy.ppl = read_ppl(file)?;
    }
    if let Some(e) = args.enforced {
        policy.enforced = e;
    }
    let created = policy.id.is_empty();
    let saved = client.set_policy(policy).await?;
    if created {
        out.write(&format!("{}\n", saved.id))?;
    }
    eprintln!(
        "{} policy {} in {}",
        if created { "created" } else { "changed" },
        sanitize(&saved.name),
        sanitize(&slash_path(tree, &saved.namespace_id))
    );
    Ok(())
}

fn read_ppl(file: &std::path::Path) -> Result<String, CliError> {
    use std::io::Read;
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::Io(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(file)
        .map_err(|e| CliError::Io(format!("cannot read {}: {e}", file.display())))
}

fn path_of(tree: &NamespaceTree, id: &str) -> String {
    if tree.get(id).is_some() {
        slash_path(tree, id)
    } else {
        id.to_string()
    }
}

fn route_names(p: &wire::Policy) -> Vec<String> {
    let mut names: Vec<String> = p.routes.values().cloned().collect();
    names.sort();
    names
}

fn list(
    out: &Stdout,
    tree: &NamespaceTree,
    policies: &[wire::Policy],
    format: ListFormat,
) -> Result<(), CliError> {
    let rows: Vec<Vec<String>> = policies
        .iter()
        .map(|p| {
            vec![
                path_of(tree, &p.namespace_id),
                p.name.clone(),
                if p.enforced { "yes" } else { "no" }.into(),
                p.allowed_users.join(","),
                p.allowed_domains.join(","),
                route_names(p).join(","),
                p.id.clone(),
            ]
        })
        .collect();
    match format {
        ListFormat::Json => out.json(&policies),
        ListFormat::Csv => out.csv(&HEADER, &rows),
        ListFormat::Table => {
            if rows.is_empty() {
                return out.write("no policies\n");
            }
            let mut table = Table::new(&HEADER).max_width(3, 40).max_width(5, 40);
            for r in rows {
                table.push(r);
            }
            out.write(&table.render())
        }
    }
}

fn show(tree: &NamespaceTree, p: &wire::Policy) -> String {
    let time = |t: &Option<crate::api::wkt::Timestamp>| {
        t.as_ref()
            .and_then(crate::api::convert::timestamp_to_chrono)
            .map(rfc3339)
            .unwrap_or_default()
    };
    let fields: Vec<(&str, String)> = [
        ("id", p.id.clone()),
        ("name", p.name.clone()),
        ("namespace", path_of(tree, &p.namespace_id)),
        ("description", p.description.clone()),
        ("enforced", if p.enforced { "yes" } else { "no" }.into()),
        ("allowed users", p.allowed_users.join(", ")),
        ("allowed domains", p.allowed_domains.join(", ")),
        ("routes", route_names(p).join(", ")),
        ("created by", p.originator_id.clone()),
        ("created", time(&p.created_at)),
        ("modified", time(&p.modified_at)),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let mut text = render_fields(&fields);
    if !p.ppl.trim().is_empty() {
        text.push_str("ppl:\n");
        for line in p.ppl.lines() {
            text.push_str("  ");
            text.push_str(&sanitize(line));
            text.push('\n');
        }
    }
    text
}
