//! pomerium.dashboard.PolicyService: policies per namespace. Reading needs viewer in the policy's namespace,
//! creating, changing and deleting need manager there (and, for a move, in the new namespace too). The PPL is
//! compiled on write, so a criterion or operator sacon does not enforce is `invalid_argument` naming it; a policy
//! moved out of reach of a route that names it, or deleted while routes name it, is refused unless asked.

use std::collections::HashMap;

use super::listing;
use super::validate::{self, MAX_DESCRIPTION, MAX_NAME, MAX_USER_ID};
use crate::access::Role;
use crate::api::ConnectError;
use crate::api::convert::ts;
use crate::api::wire;
use crate::policy::CompiledPolicy;
use crate::policy::model::Policy;
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::Store;

/// The longest PPL document, in characters.
pub const MAX_PPL: usize = 32 * 1024;
/// The most entries an allowed-users or allowed-domains list holds.
pub const MAX_ENTRIES: usize = 1000;

pub(super) fn namespace_name(scope: &Scope, id: &str) -> String {
    scope
        .tree
        .get(id)
        .map(|n| n.name.clone())
        .unwrap_or_default()
}

fn to_wire(p: &Policy, scope: &Scope, routes: Vec<(String, String)>) -> wire::Policy {
    wire::Policy {
        id: p.id.clone(),
        namespace_id: p.namespace_id.clone(),
        created_at: ts(p.created_at),
        modified_at: ts(p.modified_at),
        name: p.name.clone(),
        description: p.description.clone(),
        allowed_users: p.allowed_users.clone(),
        allowed_domains: p.allowed_domains.clone(),
        ppl: p.ppl.clone(),
        enforced: p.enforced,
        originator_id: p.originator_id.clone(),
        routes: routes.into_iter().collect(),
        namespace_name: namespace_name(scope, &p.namespace_id),
    }
}

fn entries(field: &str, items: &[String], max_len: usize) -> Result<Vec<String>, ConnectError> {
    if items.len() > MAX_ENTRIES {
        return Err(ConnectError::invalid(format!(
            "{field} has {} entries; at most {MAX_ENTRIES} are allowed",
            items.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let v = validate::identifier(&format!("{field}[{i}]"), Some(item.trim()), max_len)?;
        if v.chars().any(char::is_whitespace) {
            return Err(ConnectError::invalid(format!(
                "{field}[{i}] {v:?} must not contain spaces"
            )));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn domains(items: &[String]) -> Result<Vec<String>, ConnectError> {
    let list = entries("allowedDomains", items, MAX_NAME)?;
    for (i, d) in list.iter().enumerate() {
        if d.contains(['@', '/', ':']) || d.starts_with('.') || d.ends_with('.') {
            return Err(ConnectError::invalid(format!(
                "allowedDomains[{i}] {d:?} is not a domain name (example.com)"
            )));
        }
    }
    Ok(list.into_iter().map(|d| d.to_lowercase()).collect())
}

async fn existing<S: Store>(state: &AppState<S>, id: &str) -> Result<Policy, ConnectError> {
    if id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    state
        .store
        .get_policy(id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no policy with id {id:?}")))
}

pub async fn set<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::SetPolicyRequest,
) -> Result<wire::SetPolicyResponse, ConnectError> {
    let p = req
        .policy
        .ok_or_else(|| ConnectError::invalid("policy is required"))?;
    let scope = Scope::load(state, caller).await?;
    let old = if p.id.is_empty() {
        None
    } else {
        Some(existing(state, &p.id).await?)
    };
    let namespace_id = listing::writable_namespace(
        &scope,
        &p.namespace_id,
        old.as_ref().map(|o| o.namespace_id.as_str()),
    )?;
    let name = validate::identifier("name", Some(p.name.trim()), MAX_NAME)?;
    validate::display_text("description", &p.description, MAX_DESCRIPTION)?;
    validate::display_text("ppl", &p.ppl, MAX_PPL)?;
    let allowed_users = entries("allowedUsers", &p.allowed_users, MAX_USER_ID)?;
    let allowed_domains = domains(&p.allowed_domains)?;
    CompiledPolicy::compile(&p.id, &name, &allowed_users, &allowed_domains, &p.ppl)
        .map_err(|e| ConnectError::invalid(format!("ppl: {e}")))?;
    if let Some(old) = &old
        && old.namespace_id != namespace_id
    {
        // A route may only name policies of its own namespace or above.
        let reach = scope.tree.subtree(&namespace_id);
        for (route_id, route_name) in state.store.routes_of_policy(&old.id).await? {
            let route = state.store.get_route(&route_id).await?;
            if route.is_some_and(|r| !reach.contains(&r.namespace_id)) {
                return Err(ConnectError::new(
                    crate::api::Code::FailedPrecondition,
                    format!(
                        "route {route_name:?} names this policy and is not in namespace {} or below; \
                         remove the policy from it first",
                        scope.path(&namespace_id)
                    ),
                ));
            }
        }
    }
    let originator_id = match &old {
        Some(o) => o.originator_id.clone(),
        None if p.originator_id.is_empty() => caller.actor.clone(),
        None => {
            validate::display_text("originatorId", &p.originator_id, MAX_USER_ID)?;
            p.originator_id.clone()
        }
    };
    let policy = Policy {
        id: old
            .as_ref()
            .map_or_else(crate::model::new_id, |o| o.id.clone()),
        namespace_id,
        name,
        description: p.description.clone(),
        allowed_users,
        allowed_domains,
        ppl: p.ppl.clone(),
        enforced: p.enforced,
        originator_id,
        created_at: caller.now,
        modified_at: caller.now,
    };
    let saved = state.store.put_policy(&policy, &caller.change()).await?;
    let routes = state.store.routes_of_policy(&saved.id).await?;
    tracing::info!(policy = %saved.id, actor = %caller.actor, "policy set");
    Ok(wire::SetPolicyResponse {
        policy: Some(to_wire(&saved, &scope, routes)),
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetPolicyRequest,
) -> Result<wire::GetPolicyResponse, ConnectError> {
    let p = existing(state, &req.id).await?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&p.namespace_id, Role::Viewer)?;
    let routes = state.store.routes_of_policy(&p.id).await?;
    Ok(wire::GetPolicyResponse {
        policy: Some(to_wire(&p, &scope, routes)),
    })
}

pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListPoliciesRequest,
) -> Result<wire::ListPoliciesResponse, ConnectError> {
    let scope = Scope::load(state, caller).await?;
    if !req.namespace.is_empty() {
        if scope.tree.get(&req.namespace).is_none() {
            return Err(ConnectError::not_found(format!(
                "no namespace with id {:?}",
                req.namespace
            )));
        }
        scope.require(&req.namespace, Role::Viewer)?;
    }
    let order = listing::order(
        req.order_by.as_deref(),
        &["name", "newest", "oldest"],
        "name",
    )?;
    let mut found: Vec<Policy> = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .filter(|p| {
            if req.namespace.is_empty() {
                scope.can_see(&p.namespace_id)
            } else {
                p.namespace_id == req.namespace
            }
        })
        .filter(|p| listing::matches(req.query.as_deref(), &[&p.name]))
        .collect();
    match order {
        "newest" => found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))),
        "oldest" => found.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
        _ => found.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        }),
    }
    let (page, total_count) = listing::page(found, req.offset, req.limit)?;
    // One read of the routes for the whole page.
    let mut by_policy: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if !page.is_empty() {
        for r in state.store.list_routes().await? {
            for id in &r.policy_ids {
                by_policy
                    .entry(id.clone())
                    .or_default()
                    .push((r.id.clone(), r.name.clone()));
            }
        }
    }
    Ok(wire::ListPoliciesResponse {
        policies: page
            .iter()
            .map(|p| to_wire(p, &scope, by_policy.remove(&p.id).unwrap_or_default()))
            .collect(),
        total_count,
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeletePolicyRequest,
) -> Result<wire::DeletePolicyResponse, ConnectError> {
    let p = existing(state, &req.id).await?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&p.namespace_id, Role::Manager)?;
    if req.remove_from_any_assigned_routes {
        // Detaching changes those routes: their namespaces' managers' business too.
        for (route_id, _) in state.store.routes_of_policy(&p.id).await? {
            if let Some(r) = state.store.get_route(&route_id).await? {
                scope.require(&r.namespace_id, Role::Manager)?;
            }
        }
    }
    state
        .store
        .delete_policy(&p.id, req.remove_from_any_assigned_routes, &caller.change())
        .await?;
    tracing::info!(policy = %p.id, actor = %caller.actor, "policy deleted");
    Ok(wire::DeletePolicyResponse {})
}
