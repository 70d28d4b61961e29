//! pomerium.dashboard.NamespacePermissionService: who holds which role on which namespace. Granting and revoking
//! need admin on the namespace, and nobody grants a role above their own there; reading needs viewer. The
//! per-namespace user and group listings include the bindings inherited from ancestors (`namespaceId` says
//! where each was granted).

use std::collections::HashMap;

use super::validate::{self, MAX_USER_ID};
use crate::access::{Permission, Role, SubjectType};
use crate::api::ConnectError;
use crate::api::convert::ts;
use crate::api::wire;
use crate::filter::{Expr, Field};
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::{AccountQuery, PermissionGrant, Store};

/// A namespace's name as the scope's tree has it (empty when unknown).
fn namespace_name(scope: &Scope, id: &str) -> String {
    scope
        .tree
        .get(id)
        .map(|n| n.name.clone())
        .unwrap_or_default()
}

fn to_wire(p: &Permission, scope: &Scope) -> wire::NamespacePermission {
    wire::NamespacePermission {
        id: p.id.clone(),
        created_at: ts(p.created_at),
        modified_at: ts(p.modified_at),
        namespace_id: p.namespace_id.clone(),
        namespace_name: namespace_name(scope, &p.namespace_id),
        subject_type: p.subject_type.as_str().to_string(),
        subject_id: p.subject_id.clone(),
        role: p.role.as_str().to_string(),
        originator_id: p.originator_id.clone(),
    }
}

fn parse_role(text: &str) -> Result<Role, ConnectError> {
    Role::parse(text).ok_or_else(|| {
        ConnectError::invalid(format!(
            "role {text:?} is not one of viewer, manager, admin"
        ))
    })
}

fn parse_subject_type(text: &str) -> Result<SubjectType, ConnectError> {
    SubjectType::parse(text).ok_or_else(|| {
        ConnectError::invalid(format!("subjectType {text:?} is not one of user, group"))
    })
}

/// A subject must be someone: a directory user or the user id of a service account, or a directory group.
async fn require_subject<S: Store>(
    state: &AppState<S>,
    subject_type: SubjectType,
    subject_id: &str,
) -> Result<(), ConnectError> {
    let known = match subject_type {
        SubjectType::Group => state.store.group_exists(subject_id).await?,
        SubjectType::User => {
            state.store.get_user(subject_id).await?.is_some()
                || state
                    .store
                    .list_accounts(&AccountQuery {
                        filter: Some(Expr::field(Field::UserId).eq(subject_id.to_string())),
                        limit: 0,
                        ..AccountQuery::default()
                    })
                    .await?
                    .total
                    > 0
        }
    };
    if known {
        return Ok(());
    }
    Err(ConnectError::invalid(match subject_type {
        SubjectType::Group => format!("subjectId {subject_id:?} names no directory group"),
        SubjectType::User => format!(
            "subjectId {subject_id:?} is neither a directory user nor the user id of a service account"
        ),
    }))
}

pub async fn set<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::SetNamespacePermissionRequest,
) -> Result<wire::SetNamespacePermissionResponse, ConnectError> {
    let p = req
        .namespace_permission
        .ok_or_else(|| ConnectError::invalid("namespacePermission is required"))?;
    let role = parse_role(&p.role)?;
    let scope = Scope::load(state, caller).await?;
    let existing = if p.id.is_empty() {
        None
    } else {
        Some(state.store.get_permission(&p.id).await?.ok_or_else(|| {
            ConnectError::not_found(format!("no namespace permission with id {:?}", p.id))
        })?)
    };
    // With an id, the binding's namespace and subject are known; the request may repeat them or leave them out.
    let (namespace_id, subject_type, subject_id) = match &existing {
        Some(e) => {
            let differs = |given: &str, have: &str| !given.is_empty() && given != have;
            if differs(&p.namespace_id, &e.namespace_id)
                || differs(&p.subject_type, e.subject_type.as_str())
                || differs(&p.subject_id, &e.subject_id)
            {
                return Err(ConnectError::invalid(
                    "a permission's namespaceId, subjectType and subjectId cannot change; revoke it and \
                     grant anew",
                ));
            }
            (e.namespace_id.clone(), e.subject_type, e.subject_id.clone())
        }
        None => {
            let ns = validate::identifier("namespaceId", Some(&p.namespace_id), MAX_USER_ID)?;
            if scope.tree.get(&ns).is_none() {
                return Err(ConnectError::invalid(format!(
                    "namespaceId {ns:?} names no namespace"
                )));
            }
            let kind = parse_subject_type(&p.subject_type)?;
            let id = validate::identifier("subjectId", Some(&p.subject_id), MAX_USER_ID)?;
            (ns, kind, id)
        }
    };
    scope.require(&namespace_id, Role::Admin)?;
    // Equal is fine, above is not; and a binding above the caller is not the caller's to change either.
    let own = scope.role(&namespace_id);
    if own < Some(role) || existing.as_ref().is_some_and(|e| own < Some(e.role)) {
        return Err(ConnectError::new(
            crate::api::Code::PermissionDenied,
            format!(
                "permission denied: granting {role} in namespace {} is above the caller's own role there",
                scope.path(&namespace_id)
            ),
        ));
    }
    if existing.is_none() {
        require_subject(state, subject_type, &subject_id).await?;
    }
    let originator_id = if p.originator_id.is_empty() {
        caller.actor.clone()
    } else {
        validate::display_text("originatorId", &p.originator_id, MAX_USER_ID)?;
        p.originator_id.clone()
    };
    let saved = state
        .store
        .set_permission(
            &PermissionGrant {
                id: existing.map(|e| e.id),
                namespace_id,
                subject_type,
                subject_id,
                role,
                originator_id,
            },
            &caller.change(),
        )
        .await?;
    tracing::info!(permission = %saved.id, role = %saved.role, actor = %caller.actor, "namespace permission set");
    Ok(wire::SetNamespacePermissionResponse {
        namespace_permission: Some(to_wire(&saved, &scope)),
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetNamespacePermissionRequest,
) -> Result<wire::GetNamespacePermissionResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    let p = state.store.get_permission(&req.id).await?.ok_or_else(|| {
        ConnectError::not_found(format!("no namespace permission with id {:?}", req.id))
    })?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&p.namespace_id, Role::Viewer)?;
    Ok(wire::GetNamespacePermissionResponse {
        namespace_permission: Some(to_wire(&p, &scope)),
    })
}

/// Every binding on a namespace the caller may read.
pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    _req: wire::ListNamespacePermissionsRequest,
) -> Result<wire::ListNamespacePermissionsResponse, ConnectError> {
    let scope = Scope::load(state, caller).await?;
    let all = state.store.list_permissions().await?;
    Ok(wire::ListNamespacePermissionsResponse {
        namespace_permissions: all
            .iter()
            .filter(|p| scope.can_see(&p.namespace_id))
            .map(|p| to_wire(p, &scope))
            .collect(),
    })
}

/// The bindings that apply in `namespace_id`: its own and its ancestors', nearest first.
async fn applying<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    namespace_id: &str,
    kind: SubjectType,
) -> Result<(Scope, Vec<Permission>, Vec<Permission>), ConnectError> {
    if namespace_id.is_empty() {
        return Err(ConnectError::invalid("namespaceId is required"));
    }
    let scope = Scope::load(state, caller).await?;
    if scope.tree.get(namespace_id).is_none() {
        return Err(ConnectError::not_found(format!(
            "no namespace with id {namespace_id:?}"
        )));
    }
    scope.require(namespace_id, Role::Viewer)?;
    let path = scope.tree.ancestors_and_self(namespace_id);
    // One read of the bindings: those that apply here, and (for the user listing) every one.
    let all = state.store.list_permissions().await?;
    let mut found: Vec<Permission> = all
        .iter()
        .filter(|p| p.subject_type == kind && path.contains(&p.namespace_id))
        .cloned()
        .collect();
    let depth = |p: &Permission| path.iter().position(|n| *n == p.namespace_id);
    found.sort_by(|a, b| {
        depth(a)
            .cmp(&depth(b))
            .then_with(|| a.subject_id.cmp(&b.subject_id))
    });
    Ok((scope, found, all))
}

pub async fn list_users<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListNamespacePermissionUsersRequest,
) -> Result<wire::ListNamespacePermissionUsersResponse, ConnectError> {
    let (scope, found, all) = applying(state, caller, &req.namespace_id, SubjectType::User).await?;
    let group_bindings: Vec<String> = all
        .into_iter()
        .filter(|p| p.subject_type == SubjectType::Group)
        .map(|p| p.subject_id)
        .collect();
    // The bound users' directory entries, read together.
    let ids: Vec<String> = found
        .iter()
        .map(|p| p.subject_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let directory: HashMap<String, crate::model::DirectoryUser> = state
        .store
        .get_users(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    let mut users = Vec::with_capacity(found.len());
    for p in &found {
        let user = directory.get(&p.subject_id);
        users.push(wire::NamespacePermissionUser {
            id: p.id.clone(),
            created_at: ts(p.created_at),
            modified_at: ts(p.modified_at),
            namespace_id: p.namespace_id.clone(),
            namespace_name: namespace_name(&scope, &p.namespace_id),
            user_id: p.subject_id.clone(),
            user_name: user.map(|u| u.name.clone()).unwrap_or_default(),
            user_email: user.map(|u| u.email.clone()).unwrap_or_default(),
            // The user's groups that hold a role somewhere: the other ways it may hold one.
            group_ids: user
                .map(|u| {
                    u.groups
                        .iter()
                        .filter(|g| group_bindings.contains(g))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            role: p.role.as_str().to_string(),
            originator_id: p.originator_id.clone(),
        });
    }
    Ok(wire::ListNamespacePermissionUsersResponse { users })
}

pub async fn list_groups<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListNamespacePermissionGroupsRequest,
) -> Result<wire::ListNamespacePermissionGroupsResponse, ConnectError> {
    let (scope, found, _) = applying(state, caller, &req.namespace_id, SubjectType::Group).await?;
    Ok(wire::ListNamespacePermissionGroupsResponse {
        groups: found
            .iter()
            .map(|p| wire::NamespacePermissionGroup {
                id: p.id.clone(),
                created_at: ts(p.created_at),
                modified_at: ts(p.modified_at),
                namespace_id: p.namespace_id.clone(),
                namespace_name: namespace_name(&scope, &p.namespace_id),
                // A group's id is its name in sacon's directory.
                group_id: p.subject_id.clone(),
                group_name: p.subject_id.clone(),
                group_email: String::new(),
                role: p.role.as_str().to_string(),
                originator_id: p.originator_id.clone(),
            })
            .collect(),
    })
}

pub async fn delete<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::DeleteNamespacePermissionRequest,
) -> Result<wire::DeleteNamespacePermissionResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    let p = state.store.get_permission(&req.id).await?.ok_or_else(|| {
        ConnectError::not_found(format!("no namespace permission with id {:?}", req.id))
    })?;
    let scope = Scope::load(state, caller).await?;
    scope.require(&p.namespace_id, Role::Admin)?;
    state
        .store
        .delete_permission(&p.id, &caller.change())
        .await?;
    tracing::info!(permission = %p.id, actor = %caller.actor, "namespace permission deleted");
    Ok(wire::DeleteNamespacePermissionResponse {})
}
