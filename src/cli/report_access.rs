//! The access half of `sacon report`, audited from both ends: which accounts no policy grants any route
//! (`no-grant`, only once the server has a route — before that `/verify` judges no target and the mark would
//! mean nothing), and which allowed-users entries of the policies answer to no live account or directory user
//! (dangling: a deleted or disabled account, an unknown user). A server without sacon's access service (a real
//! Pomerium) has neither audit.

use std::collections::HashSet;

use super::CliError;
use super::output::Table;
use crate::api::{Client, Code, ConnectError, wire};
use crate::model::NamespaceTree;

/// How many accounts one `ListAccountReach` asks about.
const REACH_BATCH: usize = 1000;

/// What the access audits found.
#[derive(Debug, Default)]
pub struct AccessAudit {
    /// The ids of the accounts no policy lets through any route of their namespace and below.
    pub no_grant: HashSet<String>,
    /// The policies' allowed-users entries that answer to nothing.
    pub dangling: Vec<wire::Dangling>,
}

fn unserved(e: &ConnectError) -> bool {
    e.code == Code::Unimplemented
}

/// Runs both audits for `accounts` and the policies of `namespace` (an id; empty: every one the caller may read).
pub async fn audit(
    client: &Client,
    accounts: &[String],
    namespace: &str,
) -> Result<AccessAudit, CliError> {
    // Routes anywhere the caller may read: with none, no target is judged and no account is short of a grant.
    let any_route = match client.list_routes("").await {
        Ok(r) => !r.is_empty(),
        Err(e) if unserved(&e) => return Ok(AccessAudit::default()),
        Err(e) => return Err(e.into()),
    };
    let mut out = AccessAudit::default();
    if any_route {
        for batch in accounts.chunks(REACH_BATCH) {
            for reach in client.account_reach(batch).await? {
                if !reach.routes.iter().any(|r| r.allowed) {
                    out.no_grant.insert(reach.service_account_id);
                }
            }
        }
    }
    out.dangling = match client.list_dangling(namespace).await {
        Ok(d) => d,
        Err(e) if unserved(&e) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(out)
}

pub const DANGLING_HEADER: [&str; 6] =
    ["NAMESPACE", "POLICY", "USER", "KIND", "ROUTES", "POLICY ID"];

fn path(tree: Option<&NamespaceTree>, id: &str) -> String {
    match tree {
        Some(t) if t.get(id).is_some() => t.path_names(id).join("/"),
        _ => id.to_string(),
    }
}

fn route_names(d: &wire::Dangling) -> String {
    let mut names: Vec<&str> = d.routes.values().map(String::as_str).collect();
    names.sort_unstable();
    names.join(",")
}

/// The dangling entries as a text table under their own heading.
pub fn dangling_table(tree: Option<&NamespaceTree>, dangling: &[wire::Dangling]) -> String {
    let mut table = Table::new(&DANGLING_HEADER).max_width(4, 40);
    for d in dangling {
        table.push(vec![
            path(tree, &d.namespace_id),
            d.policy_name.clone(),
            d.user.clone(),
            d.kind.clone(),
            route_names(d),
            d.policy_id.clone(),
        ]);
    }
    format!(
        "\nDangling policy entries (allowed users that answer to no live account or directory user):\n{}",
        table.render()
    )
}

/// The dangling entries for `--output json`.
pub fn dangling_json(
    tree: Option<&NamespaceTree>,
    dangling: &[wire::Dangling],
) -> serde_json::Value {
    dangling
        .iter()
        .map(|d| {
            serde_json::json!({
                "policyId": d.policy_id,
                "policy": d.policy_name,
                "namespace": path(tree, &d.namespace_id),
                "user": d.user,
                "kind": d.kind,
                "routes": d.routes,
            })
        })
        .collect()
}
