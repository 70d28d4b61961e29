//! pomerium.dashboard.NamespaceService: list the tree, get one namespace and what lives in it, create or rename
//! a namespace, delete an empty one.

use super::validate;
use crate::access::Role;
use crate::api::ConnectError;
use crate::api::wire;
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::Store;

/// Who made a namespace: the caller, unless the request names an originator of its own.
fn originator<'a>(ns: &'a wire::Namespace, caller: &'a Caller) -> &'a str {
    if ns.originator_id.is_empty() {
        &caller.actor
    } else {
        &ns.originator_id
    }
}

/// The namespace a request names by id: `invalid_argument` when it names none, `not_found` when it is unknown.
async fn existing<S: Store>(
    state: &AppState<S>,
    id: &str,
) -> Result<crate::model::Namespace, ConnectError> {
    if id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    state
        .store
        .get_namespace(id)
        .await?
        .ok_or_else(|| ConnectError::not_found(format!("no namespace with id {id:?}")))
}

/// The namespaces the caller holds a role in, with their ancestors as path context (the caller's
/// `UserInfo.namespaceRoles` tells which it may act in); root sees the whole tree.
pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    _req: wire::ListNamespacesRequest,
) -> Result<wire::ListNamespacesResponse, ConnectError> {
    let all = state.store.list_namespaces().await?;
    let scope = Scope::new(all.clone(), caller);
    let shown: Option<std::collections::HashSet<String>> = scope.visible().map(|visible| {
        visible
            .iter()
            .flat_map(|id| scope.tree.ancestors_and_self(id))
            .collect()
    });
    Ok(wire::ListNamespacesResponse {
        namespaces: all
            .iter()
            .filter(|n| shown.as_ref().is_none_or(|s| s.contains(&n.id)))
            .map(Into::into)
            .collect(),
    })
}

/// Child namespaces are an admin's to make, rename, move and delete: the role is needed where the namespace
/// hangs (its parent; the root namespace, having none, is its own).
fn require_admin_over(scope: &Scope, ns: &crate::model::Namespace) -> Result<(), ConnectError> {
    let place = if ns.parent_id.is_empty() {
        &ns.id
    } else {
        &ns.parent_id
    };
    scope.require(place, Role::Admin)
}

pub async fn set<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::SetNamespaceRequest,
) -> Result<wire::SetNamespaceResponse, ConnectError> {
    let ns = req
        .namespace
        .ok_or_else(|| ConnectError::invalid("namespace is required"))?;
    let name = validate::namespace_name(&ns.name)?;
    let all = state.store.list_namespaces().await?;
    let scope = Scope::new(all.clone(), caller);
    let root = all
        .iter()
        .find(|n| n.parent_id.is_empty())
        .map(|n| n.id.clone());
    let saved = if ns.id.is_empty() {
        // One tree, one root: a namespace created without a parent goes under the root.
        let parent = if ns.parent_id.is_empty() {
            root.ok_or_else(|| ConnectError::internal("the root namespace is missing"))?
        } else {
            ns.parent_id.clone()
        };
        if !all.iter().any(|n| n.id == parent) {
            return Err(ConnectError::invalid(format!(
                "parentId {parent:?} names no namespace"
            )));
        }
        scope.require(&parent, Role::Admin)?;
        state
            .store
            .create_namespace(&parent, &name, originator(&ns, caller), &caller.change())
            .await?
    } else {
        let existing = all
            .iter()
            .find(|n| n.id == ns.id)
            .ok_or_else(|| ConnectError::not_found(format!("no namespace with id {:?}", ns.id)))?;
        let parent = if ns.parent_id.is_empty() {
            existing.parent_id.clone()
        } else {
            ns.parent_id.clone()
        };
        if existing.parent_id.is_empty() && !parent.is_empty() {
            return Err(ConnectError::invalid(
                "parentId: the root namespace cannot be moved",
            ));
        }
        // Renaming or moving needs admin where it hangs now and, for a move, where it goes: nobody carries a
        // namespace out from under the admins above it, or into a place they do not administer.
        require_admin_over(&scope, existing)?;
        if parent != existing.parent_id {
            scope.require(&parent, Role::Admin)?;
        }
        state
            .store
            .update_namespace(&ns.id, &name, &parent, &caller.change())
            .await?
    };
    Ok(wire::SetNamespaceResponse {
        namespace: Some((&saved).into()),
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeleteNamespaceRequest,
) -> Result<wire::DeleteNamespaceResponse, ConnectError> {
    let ns = existing(state, &req.id).await?;
    if ns.parent_id.is_empty() {
        return Err(ConnectError::new(
            crate::api::Code::FailedPrecondition,
            "the root namespace cannot be deleted",
        ));
    }
    require_admin_over(&Scope::load(state, caller).await?, &ns)?;
    state
        .store
        .delete_namespace(&req.id, &caller.change())
        .await?;
    Ok(wire::DeleteNamespaceResponse {})
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetNamespaceRequest,
) -> Result<wire::GetNamespaceResponse, ConnectError> {
    let ns = existing(state, &req.id).await?;
    Scope::load(state, caller)
        .await?
        .require(&ns.id, Role::Viewer)?;
    Ok(wire::GetNamespaceResponse {
        namespace: Some((&ns).into()),
    })
}

/// The most namespaces one resources call may name.
pub const MAX_RESOURCE_IDS: usize = 100;

/// What lives directly in the named namespaces: their service accounts (named by user id) and child namespaces.
pub async fn resources<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListNamespaceResourcesRequest,
) -> Result<wire::ListNamespaceResourcesResponse, ConnectError> {
    use crate::filter::{Expr, Field};
    use crate::store::AccountQuery;
    use wire::list_namespace_resources_response::Resource;
    if req.ids.len() > MAX_RESOURCE_IDS {
        return Err(ConnectError::invalid(format!(
            "ids names {} namespaces; at most {MAX_RESOURCE_IDS} are allowed",
            req.ids.len()
        )));
    }
    let all = state.store.list_namespaces().await?;
    let scope = Scope::new(all.clone(), caller);
    for id in &req.ids {
        if !all.iter().any(|n| &n.id == id) {
            return Err(ConnectError::not_found(format!(
                "no namespace with id {id:?}"
            )));
        }
        scope.require(id, Role::Viewer)?;
    }
    let mut resources: Vec<Resource> = all
        .iter()
        .filter(|n| req.ids.contains(&n.parent_id))
        .map(|n| Resource {
            r#type: "namespace".into(),
            id: n.id.clone(),
            name: n.name.clone(),
        })
        .collect();
    if !req.ids.is_empty() {
        let filter = Expr::field(Field::NamespaceId).is_any_of(req.ids.iter().cloned());
        let page = state
            .store
            .list_accounts(&AccountQuery {
                filter: Some(filter),
                order: Vec::new(),
                offset: 0,
                limit: u64::MAX,
            })
            .await?;
        resources.extend(page.items.into_iter().map(|a| Resource {
            r#type: "service_account".into(),
            id: a.id,
            name: a.user_id,
        }));
    }
    Ok(wire::ListNamespaceResourcesResponse { resources })
}
