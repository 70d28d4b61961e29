//! pomerium.dashboard.NamespaceService: list the tree, get one namespace and what lives in it, create or rename
//! a namespace, delete an empty one.

use super::validate;
use crate::api::ConnectError;
use crate::api::wire;
use crate::server::{AppState, Caller};
use crate::store::{Change, Store};

fn change(caller: &Caller) -> Change {
    Change {
        actor: caller.actor.to_string(),
        at: caller.now,
    }
}

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

pub async fn list<S: Store>(
    state: &AppState<S>,
    _caller: &Caller,
    _req: wire::ListNamespacesRequest,
) -> Result<wire::ListNamespacesResponse, ConnectError> {
    let all = state.store.list_namespaces().await?;
    Ok(wire::ListNamespacesResponse {
        namespaces: all.iter().map(Into::into).collect(),
    })
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
        state
            .store
            .create_namespace(&parent, &name, originator(&ns, caller), &change(caller))
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
        state
            .store
            .update_namespace(&ns.id, &name, &parent, &change(caller))
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
    state
        .store
        .delete_namespace(&req.id, &change(caller))
        .await?;
    Ok(wire::DeleteNamespaceResponse {})
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    _caller: &Caller,
    req: wire::GetNamespaceRequest,
) -> Result<wire::GetNamespaceResponse, ConnectError> {
    let ns = existing(state, &req.id).await?;
    Ok(wire::GetNamespaceResponse {
        namespace: Some((&ns).into()),
    })
}

/// The most namespaces one resources call may name.
pub const MAX_RESOURCE_IDS: usize = 100;

/// What lives directly in the named namespaces: their service accounts (named by user id) and child namespaces.
pub async fn resources<S: Store>(
    state: &AppState<S>,
    _caller: &Caller,
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
    for id in &req.ids {
        if !all.iter().any(|n| &n.id == id) {
            return Err(ConnectError::not_found(format!(
                "no namespace with id {id:?}"
            )));
        }
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
