//! pomerium.dashboard.RouteService: routes per namespace. Reading needs viewer in the route's namespace,
//! creating, changing and deleting need manager there (and, for a move, in the new namespace too). `from` must be
//! a scheme and a host, `prefix` a plain path, and every policy a route names must exist in the route's namespace
//! or one of its ancestors. The computed fields name the route's policies and the enforced ones that apply too.

use super::listing;
use super::policies::namespace_name;
use super::validate::{self, MAX_DESCRIPTION, MAX_NAME, MAX_USER_ID};
use crate::access::Role;
use crate::api::ConnectError;
use crate::api::convert::ts;
use crate::api::wire;
use crate::policy::model::{Policy, Route};
use crate::policy::routing;
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::Store;

/// The most policies one route names.
pub const MAX_POLICIES: usize = 100;

fn to_wire(r: &Route, scope: &Scope, policies: &[Policy]) -> wire::Route {
    let name_of = |id: &str| {
        policies
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let above = scope.tree.ancestors_and_self(&r.namespace_id);
    let enforced: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.enforced && above.contains(&p.namespace_id))
        .collect();
    wire::Route {
        id: r.id.clone(),
        namespace_id: r.namespace_id.clone(),
        created_at: ts(r.created_at),
        modified_at: ts(r.modified_at),
        name: r.name.clone(),
        description: r.description.clone(),
        from: r.from.clone(),
        prefix: r.prefix.clone(),
        originator_id: r.originator_id.clone(),
        policy_ids: r.policy_ids.clone(),
        policy_names: r.policy_ids.iter().map(|id| name_of(id)).collect(),
        namespace_name: namespace_name(scope, &r.namespace_id),
        enforced_policy_ids: enforced.iter().map(|p| p.id.clone()).collect(),
        enforced_policy_names: enforced.iter().map(|p| p.name.clone()).collect(),
    }
}

async fn existing<S: Store>(state: &AppState<S>, id: &str) -> Result<Route, ConnectError> {
    if id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    state
        .store
        .get_route(id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no route with id {id:?}")))
}

pub async fn set<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::SetRouteRequest,
) -> Result<wire::SetRouteResponse, ConnectError> {
    let r = req
        .route
        .ok_or_else(|| ConnectError::invalid("route is required"))?;
    let scope = Scope::load(state, caller).await?;
    let old = if r.id.is_empty() {
        None
    } else {
        Some(existing(state, &r.id).await?)
    };
    let namespace_id = listing::writable_namespace(
        &scope,
        &r.namespace_id,
        old.as_ref().map(|o| o.namespace_id.as_str()),
    )?;
    let name = validate::identifier("name", Some(r.name.trim()), MAX_NAME)?;
    if let Some(d) = &r.description {
        validate::display_text("description", d, MAX_DESCRIPTION)?;
    }
    validate::identifier("from", Some(&r.from), MAX_NAME)?;
    let from = routing::normalize_from(r.from.trim())
        .map_err(|e| ConnectError::invalid(format!("from: {e}")))?;
    let prefix = match r.prefix.as_deref() {
        None => None,
        Some(p) => {
            validate::text("prefix", p, MAX_NAME)?;
            routing::check_prefix(p).map_err(|e| ConnectError::invalid(format!("prefix: {e}")))?;
            Some(p.to_string())
        }
    };
    if r.policy_ids.len() > MAX_POLICIES {
        return Err(ConnectError::invalid(format!(
            "policyIds names {} policies; at most {MAX_POLICIES} are allowed",
            r.policy_ids.len()
        )));
    }
    let policies = state.store.list_policies().await?;
    let above = scope.tree.ancestors_and_self(&namespace_id);
    let mut policy_ids: Vec<String> = Vec::with_capacity(r.policy_ids.len());
    for (i, id) in r.policy_ids.iter().enumerate() {
        let Some(p) = policies.iter().find(|p| p.id == *id) else {
            return Err(ConnectError::invalid(format!(
                "policyIds[{i}] {id:?} names no policy"
            )));
        };
        if !above.contains(&p.namespace_id) {
            return Err(ConnectError::invalid(format!(
                "policyIds[{i}]: policy {:?} belongs to namespace {}, which is not the route's namespace or \
                 one of its ancestors",
                p.name,
                scope.path(&p.namespace_id)
            )));
        }
        if policy_ids.contains(id) {
            return Err(ConnectError::invalid(format!(
                "policyIds[{i}] {id:?} is named twice"
            )));
        }
        policy_ids.push(id.clone());
    }
    let originator_id = match &old {
        Some(o) => o.originator_id.clone(),
        None if r.originator_id.is_empty() => caller.actor.clone(),
        None => {
            validate::display_text("originatorId", &r.originator_id, MAX_USER_ID)?;
            r.originator_id.clone()
        }
    };
    let route = Route {
        id: old
            .as_ref()
            .map_or_else(crate::model::new_id, |o| o.id.clone()),
        namespace_id,
        name,
        description: r.description.clone(),
        from,
        prefix,
        policy_ids,
        originator_id,
        created_at: caller.now,
        modified_at: caller.now,
    };
    let saved = state.store.put_route(&route, &caller.change()).await?;
    tracing::info!(route = %saved.id, actor = %caller.actor, "route set");
    Ok(wire::SetRouteResponse {
        route: Some(to_wire(&saved, &scope, &policies)),
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetRouteRequest,
) -> Result<wire::GetRouteResponse, ConnectError> {
    let r = existing(state, &req.id).await?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&r.namespace_id, Role::Viewer)?;
    let policies = state.store.list_policies().await?;
    Ok(wire::GetRouteResponse {
        route: Some(to_wire(&r, &scope, &policies)),
    })
}

pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListRoutesRequest,
) -> Result<wire::ListRoutesResponse, ConnectError> {
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
        &["name", "from", "newest", "oldest"],
        "name",
    )?;
    let mut found: Vec<Route> = state
        .store
        .list_routes()
        .await?
        .into_iter()
        .filter(|r| {
            if req.namespace.is_empty() {
                scope.can_see(&r.namespace_id)
            } else {
                r.namespace_id == req.namespace
            }
        })
        .filter(|r| listing::matches(req.query.as_deref(), &[&r.name, &r.from]))
        .collect();
    let key = |r: &Route| (r.name.to_lowercase(), r.id.clone());
    match order {
        "newest" => found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id))),
        "oldest" => found.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id))),
        "from" => found.sort_by(|a, b| {
            (&a.from, a.prefix.as_deref().unwrap_or(""))
                .cmp(&(&b.from, b.prefix.as_deref().unwrap_or("")))
                .then_with(|| key(a).cmp(&key(b)))
        }),
        _ => found.sort_by_key(key),
    }
    let (page, total_count) = listing::page(found, req.offset, req.limit)?;
    let policies = if page.is_empty() {
        Vec::new()
    } else {
        state.store.list_policies().await?
    };
    Ok(wire::ListRoutesResponse {
        routes: page.iter().map(|r| to_wire(r, &scope, &policies)).collect(),
        total_count,
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeleteRouteRequest,
) -> Result<wire::DeleteRouteResponse, ConnectError> {
    let r = existing(state, &req.id).await?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&r.namespace_id, Role::Manager)?;
    state.store.delete_route(&r.id, &caller.change()).await?;
    tracing::info!(route = %r.id, actor = %caller.actor, "route deleted");
    Ok(wire::DeleteRouteResponse {})
}
