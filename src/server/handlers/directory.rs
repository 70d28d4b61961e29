//! pomerium.dashboard.UserService (lookahead search of users and groups, one user, one group) and sacon's own
//! atomic directory import.

use super::validate::{self, MAX_USER_ID};
use crate::access::{Grants, Role};
use crate::api::ConnectError;
use crate::api::wire;
use crate::model::DirectoryUser;
use crate::server::authz::{Principal, Scope};
use crate::server::{AppState, Caller};
use crate::store::Store;

pub const DEFAULT_USERS_PAGE: i64 = 20;
pub const MAX_USERS_PAGE: i64 = 1000;
/// Users in one import request.
pub const MAX_IMPORT: usize = 100_000;

/// A search's query checked and its page bounds: `limit` 0 means the default page, and at most `MAX_USERS_PAGE`.
fn search_page(query: &str, offset: i64, limit: i64) -> Result<(u64, u64), ConnectError> {
    if offset < 0 {
        return Err(ConnectError::invalid("offset must not be negative"));
    }
    if limit < 0 {
        return Err(ConnectError::invalid("limit must not be negative"));
    }
    validate::text("query", query, MAX_USER_ID)?;
    let limit = match limit {
        0 => DEFAULT_USERS_PAGE,
        n => n.min(MAX_USERS_PAGE),
    };
    Ok((offset as u64, limit as u64))
}

/// Directory look-ups are for any role: the directory is shared by every namespace.
async fn require_lookup<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
) -> Result<Scope, ConnectError> {
    let scope = Scope::load(state, caller).await?;
    scope.require_any(Role::Viewer, "a directory look-up")?;
    Ok(scope)
}

/// `(namespace id, role)` as `UserInfo.namespaceRoles` carries them: the grants, limited to what the caller may
/// read.
fn roles_map(grants: &Grants, scope: &Scope) -> std::collections::HashMap<String, String> {
    grants
        .direct()
        .into_iter()
        .filter(|(ns, _)| scope.can_see(ns))
        .map(|(ns, role)| (ns.to_string(), role.as_str().to_string()))
        .collect()
}

pub async fn query<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::QueryUsersRequest,
) -> Result<wire::QueryUsersResponse, ConnectError> {
    require_lookup(state, caller).await?;
    let (offset, limit) = search_page(&req.query, req.offset, req.limit)?;
    let page = state
        .store
        .query_users(req.query.trim(), offset, limit)
        .await?;
    Ok(wire::QueryUsersResponse {
        users: page.items.iter().map(Into::into).collect(),
        total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
    })
}

/// One directory user, or — without `userId`, as upstream — the caller itself with the roles it holds.
pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetUserInfoRequest,
) -> Result<wire::GetUserInfoResponse, ConnectError> {
    let Some(user_id) = req.user_id.as_deref() else {
        return Ok(wire::GetUserInfoResponse {
            user_info: Some(caller_info(state, caller).await?),
        });
    };
    if user_id.is_empty() {
        return Err(ConnectError::invalid(
            "userId is empty; leave it out to ask about the caller",
        ));
    }
    let scope = require_lookup(state, caller).await?;
    let user =
        state.store.get_user(user_id).await?.ok_or_else(|| {
            ConnectError::not_found(format!("no directory user with id {user_id:?}"))
        })?;
    let grants = super::accounts::grants_of(state, user_id).await?;
    let mut info: wire::UserInfo = (&user).into();
    info.namespace_roles = roles_map(&grants, &scope);
    Ok(wire::GetUserInfoResponse {
        user_info: Some(info),
    })
}

/// The caller as a user: the shared secret's holder (`root`, or `local:<user>` on an embedded server) is admin of
/// the root namespace, and so of every namespace; a service account holds what its user's grants give.
async fn caller_info<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
) -> Result<wire::UserInfo, ConnectError> {
    if let Principal::Account {
        user_id, grants, ..
    } = &caller.principal
    {
        let scope = Scope::load(state, caller).await?;
        let mut info = match state.store.get_user(user_id).await? {
            Some(user) => {
                let mut info: wire::UserInfo = (&user).into();
                info.is_impersonated = true;
                info
            }
            None => wire::UserInfo {
                id: user_id.clone(),
                name: user_id.clone(),
                issuer: crate::api::convert::DIRECTORY_ISSUER.to_string(),
                ..Default::default()
            },
        };
        info.namespace_roles = roles_map(grants, &scope);
        return Ok(info);
    }
    let root = state
        .store
        .list_namespaces()
        .await?
        .into_iter()
        .find(|n| n.parent_id.is_empty())
        .ok_or_else(|| ConnectError::internal("the root namespace is missing"))?;
    Ok(wire::UserInfo {
        id: caller.actor.clone(),
        name: caller.actor.clone(),
        issuer: crate::api::convert::DIRECTORY_ISSUER.to_string(),
        namespace_roles: [(root.id, "admin".to_string())].into_iter().collect(),
        ..Default::default()
    })
}

pub async fn import<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ImportUsersRequest,
) -> Result<wire::ImportUsersResponse, ConnectError> {
    // The directory is shared by every namespace: only root replaces it.
    Scope::load(state, caller)
        .await?
        .require_root("importing the directory")?;
    if req.users.len() > MAX_IMPORT {
        return Err(ConnectError::invalid(format!(
            "users: at most {MAX_IMPORT} per import"
        )));
    }
    let mut users = Vec::with_capacity(req.users.len());
    for (i, u) in req.users.into_iter().enumerate() {
        let id = validate::identifier(&format!("users[{i}].id"), Some(&u.id), MAX_USER_ID)?;
        users.push(DirectoryUser {
            id,
            name: u.name,
            email: u.email,
            groups: u.groups,
        });
    }
    let counts = state.store.upsert_users(&users, &caller.change()).await?;
    Ok(wire::ImportUsersResponse {
        inserted: i64::try_from(counts.inserted).unwrap_or(i64::MAX),
        updated: i64::try_from(counts.updated).unwrap_or(i64::MAX),
    })
}

pub async fn query_groups<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::QueryGroupsRequest,
) -> Result<wire::QueryGroupsResponse, ConnectError> {
    require_lookup(state, caller).await?;
    let (offset, limit) = search_page(&req.query, req.offset, req.limit)?;
    let page = state
        .store
        .query_groups(req.query.trim(), offset, limit)
        .await?;
    Ok(wire::QueryGroupsResponse {
        groups: page
            .items
            .into_iter()
            .map(|name| wire::GroupInfo {
                id: name.clone(),
                name,
            })
            .collect(),
        total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
    })
}

/// A group's id is its name in sacon's directory.
pub async fn get_group<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetGroupInfoRequest,
) -> Result<wire::GetGroupInfoResponse, ConnectError> {
    require_lookup(state, caller).await?;
    if req.group_id.is_empty() {
        return Err(ConnectError::invalid("groupId is required"));
    }
    if !state.store.group_exists(&req.group_id).await? {
        return Err(ConnectError::not_found(format!(
            "no directory group {:?}",
            req.group_id
        )));
    }
    Ok(wire::GetGroupInfoResponse {
        group_info: Some(wire::GroupInfo {
            id: req.group_id.clone(),
            name: req.group_id,
        }),
    })
}
