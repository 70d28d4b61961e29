//! `/verify`'s access decision for a request with a target: the target comes from `X-Original-URL` (nginx
//! `auth_request`) or `X-Forwarded-Host` with `X-Forwarded-Proto` and `X-Forwarded-Uri` (Traefik, Caddy, nginx),
//! and an incomplete, repeated or contradictory target is refused, never ignored. The most specific route
//! decides, through its own policies and the enforced policies of its namespace and every ancestor, for the
//! token's user (an impersonated account with the directory user's e-mail and groups); a route outside the
//! account's namespace subtree, or none, is a refusal — except on a server with no routes at all, which ignores
//! the target. Compiled routes and policies, with the namespace tree they are judged in, are cached and rebuilt
//! whenever the store's access version moves (a write to routes, policies or namespaces), which every check reads
//! first, so a change made by any process is in force at the next request.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use axum::http::HeaderMap;
use axum::http::header::HeaderName;
use chrono::{DateTime, Utc};

use super::AppState;
use crate::model::{DirectoryUser, NamespaceTree, ServiceAccount};
use crate::policy::routing::{RouteEntry, RouteTable, Target};
use crate::policy::{CompiledPolicy, Decision, Subject, decide};
use crate::store::{AccountRecord, Store, StoreResult};

/// The longest target header value accepted.
const MAX_TARGET: usize = 8192;

/// What a cache entry holds: every route, compiled policy and the namespace tree as of one access version, and
/// for each route what judging it takes — so a check reads neither the tree nor the policies.
#[derive(Debug)]
pub struct CompiledAccess {
    pub version: i64,
    table: RouteTable,
    policies: HashMap<String, CompiledPolicy>,
    tree: Arc<NamespaceTree>,
    /// Per route id.
    plans: HashMap<String, RoutePlan>,
}

/// How one route is judged.
#[derive(Debug)]
struct RoutePlan {
    /// The route's namespace and its ancestors: an account of one of them may use the route.
    above: HashSet<String>,
    /// Its own policies in its order, then the enforced ones of its namespace and every ancestor from the root
    /// down, each once.
    policies: Vec<String>,
    /// Whether one of them looks at an e-mail or groups.
    reads_directory: bool,
}

impl CompiledAccess {
    fn build(snapshot: crate::policy::model::AccessSnapshot) -> CompiledAccess {
        let mut policies = HashMap::with_capacity(snapshot.policies.len());
        let mut enforced: HashMap<String, Vec<String>> = HashMap::new();
        for p in snapshot.policies {
            let compiled = CompiledPolicy::compile(
                &p.id,
                &p.name,
                &p.allowed_users,
                &p.allowed_domains,
                &p.ppl,
            )
            .unwrap_or_else(|e| {
                // Written by another version, or by hand: fail closed.
                tracing::error!(policy = %p.id, error = %e, "stored policy does not compile; it denies everyone");
                CompiledPolicy::deny_all(&p.id, &p.name)
            });
            if p.enforced {
                enforced
                    .entry(p.namespace_id.clone())
                    .or_default()
                    .push(p.id.clone());
            }
            policies.insert(p.id, compiled);
        }
        let tree = NamespaceTree::new(snapshot.namespaces);
        let mut plans = HashMap::with_capacity(snapshot.routes.len());
        let routes = snapshot
            .routes
            .into_iter()
            .map(|r| {
                let above = tree.ancestors_and_self(&r.namespace_id);
                let mut ids: Vec<String> = Vec::new();
                for id in &r.policy_ids {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                }
                for ns in above.iter().rev() {
                    for id in enforced.get(ns).into_iter().flatten() {
                        if !ids.contains(id) {
                            ids.push(id.clone());
                        }
                    }
                }
                let reads_directory = ids
                    .iter()
                    .filter_map(|id| policies.get(id))
                    .any(CompiledPolicy::reads_directory);
                plans.insert(
                    r.id.clone(),
                    RoutePlan {
                        above: above.into_iter().collect(),
                        policies: ids,
                        reads_directory,
                    },
                );
                RouteEntry {
                    id: r.id,
                    name: r.name,
                    namespace_id: r.namespace_id,
                    from: r.from,
                    prefix: r.prefix.unwrap_or_default(),
                    policy_ids: r.policy_ids,
                }
            })
            .collect();
        CompiledAccess {
            version: snapshot.version,
            table: RouteTable::new(routes),
            policies,
            tree: Arc::new(tree),
            plans,
        }
    }
}

/// The compiled routes and policies, shared by every check.
#[derive(Debug, Default)]
pub struct AccessCache(RwLock<Option<Arc<CompiledAccess>>>);

impl AccessCache {
    /// The compiled access at the store's current version, rebuilt when the version moved.
    pub async fn current<S: Store>(&self, store: &S) -> StoreResult<Arc<CompiledAccess>> {
        let version = store.access_version().await?;
        self.at(version, store).await
    }

    /// The compiled access at `version` (read by the caller, e.g. with the account), rebuilt when it moved.
    pub async fn at<S: Store>(&self, version: i64, store: &S) -> StoreResult<Arc<CompiledAccess>> {
        if let Some(c) = self.0.read().unwrap_or_else(|p| p.into_inner()).as_ref()
            && c.version == version
        {
            return Ok(c.clone());
        }
        // Boxed: a rebuild is rare, and its state would otherwise be moved with every check's future.
        Box::pin(self.rebuild(store)).await
    }

    async fn rebuild<S: Store>(&self, store: &S) -> StoreResult<Arc<CompiledAccess>> {
        let compiled = Arc::new(CompiledAccess::build(store.access_snapshot().await?));
        let mut slot = self.0.write().unwrap_or_else(|p| p.into_inner());
        // Never replace a newer build with an older one (two checks rebuilding at once).
        if slot.as_ref().is_none_or(|c| c.version <= compiled.version) {
            *slot = Some(compiled.clone());
        }
        Ok(compiled)
    }
}

const X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");

/// One header's value: absent, or exactly one visible-ASCII value. Looked up by a name made once, not parsed
/// from a string on every request.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, String> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(format!("{name} is given more than once"));
    }
    let v = first
        .to_str()
        .map_err(|_| format!("{name} is not visible ASCII"))?
        .trim();
    if v.is_empty() {
        return Err(format!("{name} is present but empty"));
    }
    if v.len() > MAX_TARGET {
        return Err(format!("{name} is longer than {MAX_TARGET} bytes"));
    }
    Ok(Some(v))
}

/// The request's target, if it names one.
pub fn target(headers: &HeaderMap) -> Result<Option<Target>, String> {
    let original = single(headers, &X_ORIGINAL_URL)?;
    let host = single(headers, &X_FORWARDED_HOST)?;
    let proto = single(headers, &X_FORWARDED_PROTO)?;
    let uri = single(headers, &X_FORWARDED_URI)?;
    let forwarded = match (host, proto, uri) {
        (Some(host), Some(proto), uri) => Some(
            Target::from_parts(proto, host, uri.unwrap_or("/"))
                .map_err(|e| format!("X-Forwarded-*: {e}"))?,
        ),
        (Some(_), None, _) => {
            return Err("X-Forwarded-Host needs X-Forwarded-Proto".into());
        }
        (None, _, Some(_)) => return Err("X-Forwarded-Uri needs X-Forwarded-Host".into()),
        // A scheme alone names no target.
        (None, _, None) => None,
    };
    let original = original
        .map(|u| Target::from_url(u).map_err(|e| format!("X-Original-URL: {e}")))
        .transpose()?;
    match (original, forwarded) {
        (Some(a), Some(b)) if a != b => Err(format!(
            "X-Original-URL ({}) and X-Forwarded-* ({}) name different targets",
            a.url(),
            b.url()
        )),
        (a, b) => Ok(a.or(b)),
    }
}

/// What the access decision concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub allowed: bool,
    /// The route that matched: its id and name.
    pub route: Option<(String, String)>,
    /// The policy that decided, when one did: its id and name.
    pub policy: Option<(String, String)>,
    /// Why, kept in parts: the words are made only when logged or asked for (`reason`), not on every check.
    why: Why,
}

/// What a judgement's reason says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    /// Already in words (the rare refusals).
    Said(String),
    /// The deciding policy allowed or denied.
    Decided { allowed: bool },
    /// None of the route's `policies` policies allows `user`.
    NoMatch { policies: usize, user: String },
}

impl Judgement {
    /// In words, for the log and `access check`; never for `/verify` callers.
    pub fn reason(&self) -> String {
        let route = self.route.as_ref().map_or("", |(_, n)| n.as_str());
        match &self.why {
            Why::Said(text) => text.clone(),
            Why::Decided { allowed } => {
                let (id, name) = self
                    .policy
                    .as_ref()
                    .map_or(("", ""), |(i, n)| (i.as_str(), n.as_str()));
                let verb = if *allowed { "allowed" } else { "denied" };
                format!("route {route:?}: {verb} by policy {name:?} ({id})")
            }
            Why::NoMatch { policies, user } => {
                format!("route {route:?}: none of its {policies} policies allows user {user:?}")
            }
        }
    }

    pub fn policy_id(&self) -> Option<&str> {
        self.policy.as_ref().map(|(id, _)| id.as_str())
    }
}

fn refused(route: Option<&RouteEntry>, reason: String) -> Judgement {
    Judgement {
        allowed: false,
        route: route.map(|r| (r.id.clone(), r.name.clone())),
        policy: None,
        why: Why::Said(reason),
    }
}

/// A target to judge, with the compiled access it is judged by.
#[derive(Debug, Clone)]
pub struct Judging {
    pub target: Target,
    pub access: Arc<CompiledAccess>,
}

/// Whether a server ignores a request's target: one with no routes at all answers as without one — even for a
/// malformed target — so a proxy that always sends `X-Forwarded-*` (Caddy, Traefik) keeps working until the
/// first route is made; once any route exists, the target is judged and a bad one is refused.
pub async fn ignored<S: Store>(state: &AppState<S>) -> StoreResult<bool> {
    Ok(state.access_cache.current(&state.store).await?.is_empty())
}

/// Judges a valid token's account for the target.
pub async fn judge<S: Store>(
    state: &AppState<S>,
    judging: &Judging,
    record: &AccountRecord,
    now: DateTime<Utc>,
) -> StoreResult<Judgement> {
    let access = &judging.access;
    let account = &record.account;
    let Some(route) = access.table.best(&judging.target) else {
        return Ok(refused(
            None,
            format!(
                "no route for {} ({})",
                judging.target.host,
                judging.target.url()
            ),
        ));
    };
    // The directory user is read only when the route could let the account through and one of its policies
    // looks at an e-mail or groups.
    let reads = access
        .plans
        .get(&route.id)
        .is_some_and(|p| p.reads_directory && p.above.contains(&account.namespace_id));
    let user = if reads {
        state.store.get_user(&account.user_id).await?
    } else {
        None
    };
    Ok(access.judge_route(route, account, user.as_ref(), now))
}

impl CompiledAccess {
    /// Whether judging `route` may need the directory user (one of its policies looks at an e-mail or groups).
    pub fn reads_directory(&self, route: &RouteEntry) -> bool {
        self.plans.get(&route.id).is_some_and(|p| p.reads_directory)
    }

    /// No routes: targets are not judged.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Every route, by id.
    pub fn routes(&self) -> &[RouteEntry] {
        self.table.routes()
    }

    pub fn policy_name(&self, id: &str) -> String {
        self.policies
            .get(id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    /// The namespace tree as of this version.
    pub fn tree(&self) -> &NamespaceTree {
        &self.tree
    }

    /// The same tree, shared: what a call's `Scope` holds instead of reading and building its own.
    pub fn shared_tree(&self) -> Arc<NamespaceTree> {
        self.tree.clone()
    }

    /// How `route` judges `account` (`user`: the directory user it acts as, if any) — the one rule `/verify`,
    /// `CheckAccess` and `ListAccountReach` share: a route outside the account's namespace subtree refuses; else
    /// the route's own policies in its order, then the enforced ones from the root down, decide.
    pub fn judge_route(
        &self,
        route: &RouteEntry,
        account: &ServiceAccount,
        user: Option<&DirectoryUser>,
        now: DateTime<Utc>,
    ) -> Judgement {
        let Some(plan) = self.plans.get(&route.id) else {
            return refused(
                Some(route),
                format!("route {:?} is not compiled", route.name),
            );
        };
        if !plan.above.contains(&account.namespace_id) {
            let tree = &self.tree;
            return refused(
                Some(route),
                format!(
                    "route {:?} belongs to {}, outside account {}'s namespace {}",
                    route.name,
                    tree.display_path(&route.namespace_id),
                    account.id,
                    tree.display_path(&account.namespace_id)
                ),
            );
        }
        let no_groups = Vec::new();
        let subject = Subject {
            user_id: &account.user_id,
            email: user.map(|u| u.email.as_str()).filter(|e| !e.is_empty()),
            groups: user.map_or(&no_groups, |u| &u.groups),
        };
        let policies = plan.policies.iter().filter_map(|id| self.policies.get(id));
        let decision = decide(policies, &subject, now);
        let why = match &decision {
            Decision::Allow { .. } => Why::Decided { allowed: true },
            Decision::Deny { .. } => Why::Decided { allowed: false },
            Decision::NoMatch => Why::NoMatch {
                policies: plan.policies.len(),
                user: account.user_id.clone(),
            },
        };
        Judgement {
            allowed: decision.allowed(),
            route: Some((route.id.clone(), route.name.clone())),
            policy: decision
                .policy()
                .map(|id| (id.to_string(), self.policy_name(id))),
            why,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_target_comes_from_either_header_form() {
        let url = |pairs: &[(&str, &str)]| target(&headers(pairs)).map(|t| t.map(|t| t.url()));
        assert_eq!(url(&[]), Ok(None));
        assert_eq!(url(&[("x-forwarded-proto", "https")]), Ok(None));
        assert_eq!(
            url(&[("x-original-url", "https://App.example.com/a?b")]),
            Ok(Some("https://app.example.com/a".into()))
        );
        assert_eq!(
            url(&[
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "app.example.com"),
                ("x-forwarded-uri", "/x/../y")
            ]),
            Ok(Some("https://app.example.com/y".into()))
        );
        assert_eq!(
            url(&[
                ("x-forwarded-proto", "http"),
                ("x-forwarded-host", "app.example.com")
            ]),
            Ok(Some("http://app.example.com/".into()))
        );
        for bad in [
            vec![("x-forwarded-host", "app.example.com")],
            vec![("x-forwarded-uri", "/x")],
            vec![("x-original-url", "")],
            vec![("x-original-url", "/relative")],
            vec![
                ("x-original-url", "https://a/"),
                ("x-original-url", "https://b/"),
            ],
            vec![
                ("x-original-url", "https://a.example.com/"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-host", "b.example.com"),
            ],
        ] {
            assert!(url(&bad).is_err(), "{bad:?} should be refused");
        }
    }
}
