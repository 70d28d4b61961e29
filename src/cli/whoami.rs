//! `sacon whoami`: the identity the server records for this credential and the roles it holds, by namespace
//! path — what an admin checks before handing a context or a token to someone.

use super::CliError;
use super::output::{Format, Stdout, Table};
use crate::api::Client;
use crate::model::{NamespaceTree, sanitize};

pub async fn run(client: &Client, target: &str, format: Format) -> Result<(), CliError> {
    let me = client.whoami().await?;
    let tree = NamespaceTree::new(client.list_namespaces().await?);
    let mut roles: Vec<(String, String)> = me
        .namespace_roles
        .iter()
        .map(|(ns, role)| (tree.display_path(ns), role.clone()))
        .collect();
    roles.sort();
    let out = Stdout::detect();
    match format {
        Format::Json => out.json(&serde_json::json!({
            "id": me.id,
            "name": me.name,
            "server": target,
            "roles": roles
                .iter()
                .map(|(ns, role)| serde_json::json!({"namespace": ns, "role": role}))
                .collect::<Vec<_>>(),
        })),
        Format::Table => {
            let mut table = Table::new(&["NAMESPACE", "ROLE"]);
            for (ns, role) in &roles {
                table.push(vec![ns.clone(), role.clone()]);
            }
            out.write(&format!(
                "{} on {}\n{}",
                sanitize(&me.id),
                sanitize(target),
                table.render()
            ))
        }
    }
}
