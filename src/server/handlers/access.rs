//! sacon.access.AccessService: access audits from both ends. `CheckAccess` says what `/verify` would answer for a
//! token and a URL, and why — through `/verify`'s own code (`verify::answer`), never counted as a use; any role
//! may ask, but only about an account (and a route) it may read. `ListAccountReach` judges every route of each
//! account's namespace and below by the same rule `/verify` uses (`CompiledAccess::judge_route`), for the
//! accounts the caller may read. `ListDangling` lists the allowed-users entries that answer to nothing: only
//! deleted accounts had the user id, every account with it is disabled, or no account and no directory user has
//! it.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::access::Role;
use crate::api::ConnectError;
use crate::api::wire;
use crate::filter::{Expr, Field};
use crate::policy::routing::{RouteEntry, Target};
use crate::server::access_decision::CompiledAccess;
use crate::server::authz::Scope;
use crate::server::verify::{self, VerdictKind};
use crate::server::{AppState, Caller};
use crate::store::{AccountQuery, ActivityQuery, Store};

/// The most accounts one `ListAccountReach` asks about.
pub const MAX_REACH_IDS: usize = 1000;
/// The longest URL `CheckAccess` takes, as `/verify` takes a target header.
const MAX_URL: usize = 8192;

pub async fn check<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::CheckAccessRequest,
) -> Result<wire::CheckAccessResponse, ConnectError> {
    let jwt = req.jwt.trim();
    if jwt.is_empty() {
        return Err(ConnectError::invalid("jwt is required"));
    }
    let url = req.url.trim();
    if url.is_empty() {
        return Err(ConnectError::invalid("url is required"));
    }
    if url.len() > MAX_URL {
        return Err(ConnectError::invalid(format!(
            "url is longer than {MAX_URL} bytes"
        )));
    }
    let target = Target::from_url(url).map_err(|e| ConnectError::invalid(format!("url: {e}")))?;
    let scope = Scope::load(state, caller).await?;
    scope.require_any(Role::Viewer, "checking access")?;
    let answer = verify::answer(state, jwt, None, Some(&target), caller.now).await?;
    // Whose token it is, and what it may reach, only to a caller that may read that account.
    if let Some(record) = &answer.verdict.record {
        scope.require(&record.account.namespace_id, Role::Viewer)?;
    }
    let status = i32::from(answer.status().as_u16());
    let mut resp = wire::CheckAccessResponse {
        status,
        verdict: answer.verdict.kind.as_str().to_string(),
        reason: answer.verdict.reason.clone(),
        service_account_id: answer
            .verdict
            .record
            .as_ref()
            .map(|r| r.account.id.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    match (&answer.judgement, &answer.access) {
        (Some(j), Some(access)) => {
            let route = j
                .route
                .as_ref()
                .and_then(|(id, _)| access.routes().iter().find(|r| r.id == *id));
            match route {
                // A route the caller may not read is not named (it lies outside the account's subtree, so it
                // refused the account without a policy).
                Some(r) if !scope.can_see(&r.namespace_id) => {
                    resp.reason = format!(
                        "the route for {} is outside the account's namespace and below",
                        target.url()
                    );
                }
                _ => {
                    resp.reason = j.reason();
                    if let Some((id, name)) = &j.route {
                        resp.route_id = id.clone();
                        resp.route_name = name.clone();
                    }
                    if let Some((id, name)) = &j.policy {
                        resp.policy_id = id.clone();
                        resp.policy_name = name.clone();
                    }
                }
            }
        }
        (None, None) if answer.verdict.kind == VerdictKind::Valid => {
            resp.reason = format!(
                "{}; the server has no routes, so the target is not judged (as /verify until the first route)",
                answer.verdict.reason
            );
        }
        _ => {}
    }
    Ok(resp)
}

/// Exact hosts before wildcards, then by `from`, the longest prefix first.
fn specific_first(a: &RouteEntry, b: &RouteEntry) -> std::cmp::Ordering {
    let wild = |r: &RouteEntry| r.from.contains("://*.");
    wild(a)
        .cmp(&wild(b))
        .then_with(|| a.from.cmp(&b.from))
        .then_with(|| b.prefix.len().cmp(&a.prefix.len()))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.id.cmp(&b.id))
}

pub async fn reach<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListAccountReachRequest,
) -> Result<wire::ListAccountReachResponse, ConnectError> {
    if req.service_account_ids.len() > MAX_REACH_IDS {
        return Err(ConnectError::invalid(format!(
            "serviceAccountIds names {} accounts; at most {MAX_REACH_IDS} are allowed",
            req.service_account_ids.len()
        )));
    }
    let scope = Scope::load(state, caller).await?;
    let access = state.access_cache.current(&state.store).await?;
    let mut routes: Vec<&RouteEntry> = access.routes().iter().collect();
    routes.sort_by(|a, b| specific_first(a, b));
    // Read together (one statement on PostgreSQL), answered in the order asked.
    let records: std::collections::HashMap<String, crate::store::AccountRecord> = state
        .store
        .get_accounts(&req.service_account_ids)
        .await?
        .into_iter()
        .map(|r| (r.account.id.clone(), r))
        .collect();
    // The accounts the caller may see, with the routes each could use, in the order asked.
    let mut visible = Vec::with_capacity(req.service_account_ids.len());
    for id in &req.service_account_ids {
        let Some(record) = records.get(id) else {
            continue;
        };
        let account = &record.account;
        if !scope.can_see(&account.namespace_id) {
            continue;
        }
        let below: HashSet<String> = scope
            .tree
            .subtree(&account.namespace_id)
            .into_iter()
            .collect();
        let usable: Vec<&RouteEntry> = routes
            .iter()
            .copied()
            .filter(|r| below.contains(&r.namespace_id))
            .collect();
        // The directory user matters only when a route it could use looks at e-mails or groups, as for /verify.
        let reads_directory = usable.iter().any(|r| access.reads_directory(r));
        visible.push((account, usable, reads_directory));
    }
    // Those users, read together.
    let wanted: Vec<String> = visible
        .iter()
        .filter(|(_, _, reads)| *reads)
        .map(|(a, _, _)| a.user_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let users: HashMap<String, crate::model::DirectoryUser> = if wanted.is_empty() {
        HashMap::new()
    } else {
        state
            .store
            .get_users(&wanted)
            .await?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect()
    };
    let mut accounts = Vec::with_capacity(visible.len());
    for (account, usable, reads_directory) in visible {
        let user = if reads_directory {
            users.get(&account.user_id)
        } else {
            None
        };
        let reach = usable
            .into_iter()
            .map(|r| {
                let j = access.judge_route(r, account, user, caller.now);
                let (policy_id, policy_name) = j.policy.unwrap_or_default();
                wire::Reach {
                    route_id: r.id.clone(),
                    route_name: r.name.clone(),
                    from: r.from.clone(),
                    prefix: r.prefix.clone(),
                    namespace_id: r.namespace_id.clone(),
                    allowed: j.allowed,
                    policy_id,
                    policy_name,
                }
            })
            .collect();
        accounts.push(wire::AccountReach {
            service_account_id: account.id.clone(),
            routes: reach,
        });
    }
    Ok(wire::ListAccountReachResponse { accounts })
}

/// The routes a policy guards: those that name it and, for an enforced one, every route of its namespace and
/// below.
fn guarded(
    access: &CompiledAccess,
    scope: &Scope,
    policy: &crate::policy::model::Policy,
) -> HashMap<String, String> {
    let below: HashSet<String> = if policy.enforced {
        scope
            .tree
            .subtree(&policy.namespace_id)
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    access
        .routes()
        .iter()
        .filter(|r| r.policy_ids.contains(&policy.id) || below.contains(&r.namespace_id))
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect()
}

/// Whether each user id answers to something: `None` when it does, else the kind of dangling.
async fn classify<S: Store>(
    state: &AppState<S>,
    entries: &[String],
) -> Result<HashMap<String, &'static str>, ConnectError> {
    // Every account with one of the entries as its user id: enabled or not.
    let mut enabled: HashMap<String, bool> = HashMap::new();
    for chunk in entries.chunks(500) {
        let page = state
            .store
            .list_accounts(&AccountQuery {
                filter: Some(Expr::field(Field::UserId).is_any_of(chunk.iter().cloned())),
                limit: u64::MAX,
                ..Default::default()
            })
            .await?;
        for a in page.items {
            *enabled.entry(a.user_id).or_default() |= !a.disabled;
        }
    }
    // The entries that are directory users' ids, read together.
    let users: HashSet<String> = state
        .store
        .get_users(entries)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut deleted: Option<HashSet<String>> = None;
    let mut out = HashMap::new();
    for entry in entries {
        if users.contains(entry) {
            continue;
        }
        if entry.contains('@') {
            let found = state.store.query_users(entry, 0, 50).await?;
            if found
                .items
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(entry))
            {
                continue;
            }
        }
        let kind = match enabled.get(entry) {
            Some(true) => continue,
            Some(false) => "disabled_account",
            None => {
                if deleted.is_none() {
                    let gone = state
                        .store
                        .list_activity(&ActivityQuery {
                            target_kind: Some("service_account".into()),
                            action: Some("delete".into()),
                            ..Default::default()
                        })
                        .await?;
                    deleted = Some(gone.items.into_iter().map(|e| e.entity_name).collect());
                }
                if deleted.as_ref().is_some_and(|d| d.contains(entry)) {
                    "deleted_account"
                } else {
                    "unknown_user"
                }
            }
        };
        out.insert(entry.clone(), kind);
    }
    Ok(out)
}

pub async fn dangling<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListDanglingRequest,
) -> Result<wire::ListDanglingResponse, ConnectError> {
    let scope = Scope::load(state, caller).await?;
    let wanted = req.namespace.trim();
    let within: Option<HashSet<String>> = if wanted.is_empty() {
        None
    } else {
        let ns = scope
            .tree
            .resolve(wanted)
            .ok_or_else(|| ConnectError::not_found(format!("no namespace {wanted:?}")))?
            .id
            .clone();
        scope.require(&ns, Role::Viewer)?;
        Some(scope.tree.subtree(&ns).into_iter().collect())
    };
    let mut policies: Vec<_> = state
        .store
        .list_policies()
        .await?
        .into_iter()
        .filter(|p| match &within {
            Some(set) => set.contains(&p.namespace_id),
            None => scope.can_see(&p.namespace_id),
        })
        .filter(|p| !p.allowed_users.is_empty())
        .collect();
    policies.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });
    let entries: Vec<String> = policies
        .iter()
        .flat_map(|p| p.allowed_users.iter().cloned())
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    let kinds = classify(state, &entries).await?;
    let access = state.access_cache.current(&state.store).await?;
    let mut dangling = Vec::new();
    for p in &policies {
        let routes = guarded(&access, &scope, p);
        for user in &p.allowed_users {
            if let Some(kind) = kinds.get(user) {
                dangling.push(wire::Dangling {
                    policy_id: p.id.clone(),
                    policy_name: p.name.clone(),
                    namespace_id: p.namespace_id.clone(),
                    user: user.clone(),
                    kind: (*kind).to_string(),
                    routes: routes.clone(),
                });
            }
        }
    }
    Ok(wire::ListDanglingResponse { dangling })
}
