//! Performs `Effect`s on tokio and sends each result back as a `Msg` tagged with its request's sequence.
//! A newer search, unique-id check, roll-up or activity page aborts the one it supersedes, so only the newest
//! is ever working; `update` drops whatever stale answer still arrives.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::msg::{
    ActivityPage, Boot, CopyReport, Effect, Msg, Rollup, RollupRequest, SaveError, Token,
    UniqueInfo,
};
use super::screens::activity::Entry;
use super::screens::add_modal::SEARCH_LIMIT;
use super::screens::bulk::BulkAction;
use super::screens::roles::RoleRow;
use crate::api::{Capabilities, Client, Code, ConnectError, ListQuery, wire};
use crate::filter::{Expr, Field};

/// Requests run at once for fan-out work (roll-ups, kind lookups), to be kind to a remote server.
const FAN_OUT: usize = 8;

pub struct Effects {
    client: Client,
    tx: UnboundedSender<Msg>,
    /// Where the last namespace is remembered.
    state_file: Option<PathBuf>,
    search: Option<JoinHandle<()>>,
    check: Option<JoinHandle<()>>,
    rollups: Option<JoinHandle<()>>,
    activity: Option<JoinHandle<()>>,
    history: Option<JoinHandle<()>>,
}

impl Drop for Effects {
    fn drop(&mut self) {
        for h in [
            &self.search,
            &self.check,
            &self.rollups,
            &self.activity,
            &self.history,
        ]
        .into_iter()
        .flatten()
        {
            h.abort();
        }
    }
}

impl Effects {
    pub fn new(client: Client, tx: UnboundedSender<Msg>, state_file: Option<PathBuf>) -> Effects {
        Effects {
            client,
            tx,
            state_file,
            search: None,
            check: None,
            rollups: None,
            activity: None,
            history: None,
        }
    }

    /// Starts `effect`; never waits for it. `Copy` needs the terminal and is split with the driver: it writes
    /// the OSC 52 sequence itself and passes whether that worked as `osc52`.
    pub fn run(&mut self, effect: Effect, osc52: bool) {
        let client = self.client.clone();
        let tx = self.tx.clone();
        match effect {
            // The driver connects: it owns the connection.
            Effect::SwitchContext { .. } => {}
            Effect::Boot { seq } => {
                tokio::spawn(async move {
                    let result = boot(&client).await;
                    let _ = tx.send(Msg::Booted { seq, result });
                });
            }
            Effect::LoadPage {
                generation,
                page,
                query,
            } => {
                tokio::spawn(async move {
                    let result = client.list_accounts(&query).await;
                    let _ = tx.send(Msg::Page {
                        generation,
                        page,
                        result,
                    });
                });
            }
            Effect::LoadRollups { seq, now, items } => {
                abort(&mut self.rollups);
                self.rollups = Some(tokio::spawn(async move {
                    stream::iter(items)
                        .map(|item| {
                            let client = client.clone();
                            async move {
                                let result = rollup(&client, &item, now).await;
                                (item.namespace_id, result)
                            }
                        })
                        .buffer_unordered(FAN_OUT)
                        .for_each(|(namespace_id, result)| {
                            let _ = tx.send(Msg::Rollup {
                                seq,
                                namespace_id,
                                result,
                            });
                            async {}
                        })
                        .await;
                }));
            }
            Effect::LookupKinds { user_ids } => {
                tokio::spawn(async move {
                    let found: Vec<(String, Option<bool>, Option<crate::model::DirectoryUser>)> =
                        stream::iter(user_ids)
                            .map(|id| {
                                let client = client.clone();
                                async move {
                                    match client.get_user(&id).await {
                                        Ok(u) => (id, Some(u.is_some()), u),
                                        Err(e) if absent(&e) => (id, Some(false), None),
                                        Err(_) => (id, None, None),
                                    }
                                }
                            })
                            .buffer_unordered(FAN_OUT)
                            .collect()
                            .await;
                    let mut kinds = Vec::with_capacity(found.len());
                    let mut people = Vec::new();
                    for (id, kind, user) in found {
                        kinds.push((id, kind));
                        people.extend(user);
                    }
                    if !people.is_empty() {
                        let _ = tx.send(Msg::People(people));
                    }
                    let _ = tx.send(Msg::Kinds(kinds));
                });
            }
            Effect::SearchUsers { seq, query } => {
                abort(&mut self.search);
                self.search = Some(tokio::spawn(async move {
                    let result = client.query_users(&query, 0, SEARCH_LIMIT).await;
                    let _ = tx.send(Msg::Search { seq, result });
                }));
            }
            Effect::CheckUnique { seq, user_id } => {
                abort(&mut self.check);
                self.check = Some(tokio::spawn(async move {
                    let result = check_unique(&client, &user_id).await;
                    let _ = tx.send(Msg::UniqueChecked { seq, result });
                }));
            }
            Effect::Create { seq, account } => {
                tokio::spawn(async move {
                    let result = client
                        .create_account(account)
                        .await
                        .map(|(a, jwt)| (a, Token::new(jwt)));
                    let _ = tx.send(Msg::Created { seq, result });
                });
            }
            Effect::Update { seq, account, mask } => {
                tokio::spawn(async move {
                    // An edit never touches the live token; a token comes back only when the new expiry
                    // needs one (an empty token: none to show).
                    let result = client
                        .edit_account(account, mask.as_slice())
                        .await
                        .map(|(a, jwt)| (a, Token::new(jwt.unwrap_or_default())));
                    let _ = tx.send(Msg::Updated { seq, result });
                });
            }
            Effect::Rotate { seq, id, grace } => {
                tokio::spawn(async move {
                    let result = client
                        .rotate_account_with_grace(&id, grace)
                        .await
                        .map(|(a, jwt)| (a, Token::new(jwt)));
                    let _ = tx.send(Msg::Rotated { seq, result });
                });
            }
            Effect::Delete { seq, id } => {
                tokio::spawn(async move {
                    let result = client.delete_account(&id).await;
                    let _ = tx.send(Msg::Deleted { seq, result });
                });
            }
            Effect::Copy { seq, token } => {
                tokio::task::spawn_blocking(move || {
                    let system = super::clipboard::system_copy(token.as_str());
                    let _ = tx.send(Msg::Copied {
                        seq,
                        report: CopyReport { osc52, system },
                    });
                });
            }
            Effect::Save {
                seq,
                path,
                token,
                overwrite,
            } => {
                tokio::task::spawn_blocking(move || {
                    let result = save_token(&path, &token, overwrite);
                    let _ = tx.send(Msg::Saved { seq, result });
                });
            }
            Effect::LoadHistory { seq, request } => {
                abort(&mut self.history);
                self.history = Some(tokio::spawn(async move {
                    let result = activity_page(&client, request).await;
                    let _ = tx.send(Msg::History { seq, result });
                }));
            }
            Effect::LoadActivity { seq, request } => {
                abort(&mut self.activity);
                self.activity = Some(tokio::spawn(async move {
                    let result = activity_page(&client, request).await;
                    let _ = tx.send(Msg::Activity { seq, result });
                }));
            }
            Effect::LoadRoles { seq, namespace_id } => {
                tokio::spawn(async move {
                    let result = client
                        .namespace_permissions(&namespace_id)
                        .await
                        .map(|(users, groups)| RoleRow::from_wire(users, groups));
                    let _ = tx.send(Msg::Roles { seq, result });
                });
            }
            Effect::Grant {
                seq,
                namespace_id,
                grant,
            } => {
                tokio::spawn(async move {
                    let result = client
                        .grant(
                            &namespace_id,
                            grant.subject_type,
                            &grant.subject_id,
                            grant.role.as_str(),
                        )
                        .await
                        .map(|p| {
                            format!(
                                "granted {} to {} {}",
                                p.role,
                                p.subject_type,
                                crate::model::sanitize(&p.subject_id)
                            )
                        });
                    let _ = tx.send(Msg::RoleChanged { seq, result });
                });
            }
            Effect::SetNamespace {
                seq,
                id,
                parent,
                name,
            } => {
                tokio::spawn(async move {
                    let creating = id.is_empty();
                    let result = client.set_namespace(&id, &parent, &name).await.map(|ns| {
                        let name = crate::model::sanitize(&ns.name);
                        if creating {
                            format!("created namespace {name}")
                        } else {
                            format!("renamed the namespace to {name}")
                        }
                    });
                    let _ = tx.send(Msg::NamespaceChanged { seq, result });
                });
            }
            Effect::DeleteNamespace { seq, id } => {
                tokio::spawn(async move {
                    let result = client
                        .delete_namespace(&id)
                        .await
                        .map(|()| "deleted the namespace".to_string());
                    let _ = tx.send(Msg::NamespaceChanged { seq, result });
                });
            }
            Effect::Export { path, query, paths } => {
                tokio::spawn(async move {
                    let result = export(&client, &path, &query, &paths).await;
                    let _ = tx.send(Msg::Exported { result });
                });
            }
            Effect::CheckTotal { generation, query } => {
                tokio::spawn(async move {
                    let total = client.list_accounts(&query).await.ok().map(|(_, t)| t);
                    let _ = tx.send(Msg::TotalChecked { generation, total });
                });
            }
            Effect::LoadMarks { generation, query } => {
                tokio::spawn(async move {
                    let result = client.list_accounts(&query).await;
                    let _ = tx.send(Msg::Marked { generation, result });
                });
            }
            Effect::Bulk { seq, action, ids } => {
                tokio::spawn(async move {
                    let mut results = Vec::with_capacity(ids.len());
                    for id in ids {
                        let result = match action {
                            BulkAction::Delete => client.delete_account(&id).await,
                            BulkAction::Disable => client.set_disabled(&id, true).await.map(drop),
                            BulkAction::Enable => client.set_disabled(&id, false).await.map(drop),
                        };
                        results.push((id, result));
                    }
                    let _ = tx.send(Msg::BulkDone { seq, results });
                });
            }
            Effect::LoadAccess { seq, namespace_id } => {
                tokio::spawn(async move {
                    let result = load_access(&client, &namespace_id).await;
                    let _ = tx.send(Msg::Access { seq, result });
                });
            }
            Effect::SavePolicy {
                seq,
                policy,
                attach_route,
            } => {
                tokio::spawn(async move {
                    let result = save_policy(&client, policy, attach_route).await;
                    let _ = tx.send(Msg::PolicyChanged { seq, result });
                });
            }
            Effect::DeletePolicy { seq, id } => {
                tokio::spawn(async move {
                    let result = client
                        .delete_policy(&id, true)
                        .await
                        .map(|()| "deleted the policy".to_string());
                    let _ = tx.send(Msg::PolicyChanged { seq, result });
                });
            }
            Effect::GrantUser {
                seq,
                policy_id,
                user_id,
            } => {
                tokio::spawn(async move {
                    let result = client.grant_user(&policy_id, &user_id).await.map(|p| {
                        format!(
                            "{} may now use what policy {} guards",
                            crate::model::sanitize(&user_id),
                            crate::model::sanitize(&p.name)
                        )
                    });
                    let _ = tx.send(Msg::PolicyChanged { seq, result });
                });
            }
            Effect::LoadReach { ids } => {
                tokio::spawn(async move {
                    let result = client.account_reach(&ids).await.ok();
                    let _ = tx.send(Msg::Reach { result, ids });
                });
            }
            Effect::LoadDangling { namespace_id } => {
                tokio::spawn(async move {
                    let count = client
                        .list_dangling(&namespace_id)
                        .await
                        .ok()
                        .map(|d| d.len());
                    let _ = tx.send(Msg::Dangling {
                        namespace_id,
                        count,
                    });
                });
            }
            Effect::LoadNaming { seq, user_id } => {
                tokio::spawn(async move {
                    let result = client.list_policies("").await.map(|all| {
                        all.into_iter()
                            .filter(|p| p.allowed_users.contains(&user_id))
                            .map(|p| p.name)
                            .collect()
                    });
                    let _ = tx.send(Msg::Naming { seq, result });
                });
            }
            Effect::Unname { user_id } => {
                tokio::spawn(async move {
                    let result = client.remove_user_from_policies(&user_id).await;
                    let _ = tx.send(Msg::Unnamed { user_id, result });
                });
            }
            Effect::SetDisabled { seq, id, disabled } => {
                tokio::spawn(async move {
                    let result = client.set_disabled(&id, disabled).await;
                    let _ = tx.send(Msg::DisabledSet { seq, result });
                });
            }
            Effect::Revoke { seq, id, what } => {
                tokio::spawn(async move {
                    let result = client.revoke(&id).await.map(|()| what);
                    let _ = tx.send(Msg::RoleChanged { seq, result });
                });
            }
            Effect::Remember { namespace_id } => {
                if let Some(path) = self.state_file.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = remember(&path, &namespace_id) {
                            tracing::warn!(path = %path.display(), "cannot remember the namespace: {e}");
                        }
                    });
                }
            }
        }
    }
}

fn abort(slot: &mut Option<JoinHandle<()>>) {
    if let Some(h) = slot.take() {
        h.abort();
    }
}

/// The server lacks this service (or this caller may not use it): degrade rather than fail.
fn absent(e: &ConnectError) -> bool {
    matches!(e.code, Code::Unimplemented | Code::PermissionDenied)
}

async fn boot(client: &Client) -> Result<Boot, ConnectError> {
    let (namespaces, users, me) = tokio::join!(
        client.list_namespaces(),
        client.query_users("", 0, 1),
        client.whoami()
    );
    let (has_namespaces, namespaces) = match namespaces {
        Ok(list) => (true, list),
        Err(e) if absent(&e) => (false, Vec::new()),
        Err(e) => return Err(e),
    };
    let directory = match users {
        Ok(_) => true,
        Err(e) if absent(&e) => false,
        Err(e) => return Err(e),
    };
    // Which changes to offer where; a server that does not say leaves the judging to each call.
    let grants = match me {
        Ok(me) => Some(crate::access::Grants::from_roles(
            me.namespace_roles
                .iter()
                .map(|(ns, role)| (ns.as_str(), role.as_str())),
        )),
        Err(e) if e.code == Code::Unimplemented => None,
        Err(e) => return Err(e),
    };
    Ok(Boot {
        capabilities: Capabilities {
            namespaces: has_namespaces,
            directory,
        },
        namespaces,
        grants,
    })
}

async fn activity_page(
    client: &Client,
    request: wire::ListActivityLogEntriesRequest,
) -> ActivityPage {
    let (entries, total) = client.list_activity(request).await?;
    Ok((entries.iter().map(Entry::from_wire).collect(), total))
}

/// The three roll-up counts of a namespace, each a `limit: 0` list call reading only `total`.
async fn rollup(
    client: &Client,
    item: &RollupRequest,
    now: DateTime<Utc>,
) -> Result<Rollup, ConnectError> {
    let count = |filter: Expr| {
        let query = ListQuery {
            filter: Some(filter.to_json()),
            order_by: String::new(),
            offset: 0,
            limit: Some(0),
        };
        async move { client.list_accounts(&query).await.map(|(_, total)| total) }
    };
    let subtree = || Expr::field(Field::NamespaceId).is_any_of(&item.subtree);
    let expires = Expr::field(Field::ExpiresAt);
    let leaf = item.subtree.len() <= 1;
    let (own, below, expired, expiring) = tokio::join!(
        count(Expr::field(Field::NamespaceId).eq(&item.namespace_id)),
        // A leaf's subtree is itself: no second count.
        async { if leaf { Ok(0) } else { count(subtree()).await } },
        count(Expr::and([subtree(), expires.on_or_before(now)])),
        count(Expr::and([
            subtree(),
            expires.after(now),
            expires.on_or_before(now + Duration::days(7)),
        ])),
    );
    let own = own?;
    Ok(Rollup {
        own,
        subtree: if leaf { own } else { below? },
        expired: expired?,
        expiring: expiring?,
    })
}

async fn check_unique(client: &Client, user_id: &str) -> Result<UniqueInfo, ConnectError> {
    let query = ListQuery {
        filter: Some(Expr::field(Field::UserId).eq(user_id).to_json()),
        order_by: String::new(),
        offset: 0,
        limit: Some(0),
    };
    let (user, accounts) = tokio::join!(client.get_user(user_id), client.list_accounts(&query));
    let directory_user = match user {
        Ok(u) => u,
        Err(e) if absent(&e) => None,
        Err(e) => return Err(e),
    };
    Ok(UniqueInfo {
        directory_user,
        accounts: accounts?.1,
    })
}

/// `~/x` means the home directory; everything else is as typed (relative to where sacon was started).
fn expand(path: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => dirs::home_dir()
            .map(|h| h.join(rest))
            .unwrap_or_else(|| path.to_path_buf()),
        Err(_) => path.to_path_buf(),
    }
}

/// Every account `query` matches, written to `path` (0600, never over an existing file); its absolute path and
/// the count.
/// The policies of `namespace_id`, every route the caller may read, and the namespace's dangling entries (none
/// from a server without the access calls).
async fn load_access(
    client: &Client,
    namespace_id: &str,
) -> Result<crate::tui::screens::policies::AccessData, ConnectError> {
    let policies = client.list_policies(namespace_id).await?;
    let routes = client.list_routes("").await?;
    let dangling = match client.list_dangling(namespace_id).await {
        Ok(d) => d,
        Err(e) if e.code == Code::Unimplemented => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok(crate::tui::screens::policies::AccessData {
        policies,
        routes,
        dangling,
    })
}

/// Saves a policy and, with `attach_route`, adds it to that route's policies; what was done.
async fn save_policy(
    client: &Client,
    policy: wire::Policy,
    attach_route: Option<String>,
) -> Result<String, ConnectError> {
    let creating = policy.id.is_empty();
    let saved = client.set_policy(policy).await?;
    let name = crate::model::sanitize(&saved.name);
    let Some(route_id) = attach_route else {
        return Ok(if creating {
            format!("created policy {name}")
        } else {
            format!("saved policy {name}")
        });
    };
    let mut route = client.get_route(&route_id).await?;
    if !route.policy_ids.contains(&saved.id) {
        route.policy_ids.push(saved.id.clone());
    }
    let route = client.set_route(route).await?;
    Ok(format!(
        "created policy {name} on route {}",
        crate::model::sanitize(&route.name)
    ))
}

async fn export(
    client: &Client,
    path: &Path,
    query: &ListQuery,
    paths: &std::collections::HashMap<String, String>,
) -> Result<(PathBuf, usize), String> {
    let accounts = client
        .list_all_accounts(query.filter.clone(), &query.order_by)
        .await
        .map_err(|e| e.message)?;
    let body = crate::tui::screens::export::render_file(path, &accounts, paths)?;
    let path = expand(path);
    let path = if path.is_relative() {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    } else {
        path
    };
    let target = path.clone();
    tokio::task::spawn_blocking(move || crate::token::write_private_file(&target, &body))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} exists; choose another name", path.display())
            }
            _ => format!("{}: {e}", path.display()),
        })?;
    Ok((path, accounts.len()))
}

/// Writes the token to `path` with mode 0600. Without `overwrite` an existing file is never touched; with it,
/// the token goes to a private temporary file that is then renamed over the old one.
pub fn save_token(path: &Path, token: &Token, overwrite: bool) -> Result<PathBuf, SaveError> {
    let path = expand(path);
    // Said back absolute, so the admin knows where the token is whatever the working directory was.
    let path = if path.is_relative() {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    } else {
        path
    };
    let failed = |e: std::io::Error| SaveError::Failed(format!("{}: {e}", path.display()));
    if path.is_dir() {
        return Err(SaveError::Failed(format!(
            "{} is a directory",
            path.display()
        )));
    }
    if !overwrite {
        return match crate::token::write_private_file(&path, token.as_str().as_bytes()) {
            Ok(()) => Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(SaveError::Exists(path)),
            Err(e) => Err(failed(e)),
        };
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "token".into());
    let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{stamp}.new", std::process::id()));
    crate::token::write_private_file(&tmp, token.as_str().as_bytes()).map_err(failed)?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        failed(e)
    })?;
    Ok(path)
}

/// The console's small state file: `{"namespace": "<id>"}`, replaced atomically.
pub fn remember(path: &Path, namespace_id: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let body = serde_json::to_vec_pretty(&json!({ "namespace": namespace_id }))
        .map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&tmp, body)?;
    std::fs::rename(&tmp, path)
}

/// The namespace remembered in `path`, if any.
pub fn remembered(path: &Path) -> Option<String> {
    let text = std::fs::read(path).ok()?;
    let v: Value = serde_json::from_slice(&text).ok()?;
    v.get("namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use zeroize::Zeroizing;

    #[test]
    fn save_is_private_and_asks_before_overwriting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("svc.jwt");
        let token = Token::new(Zeroizing::new("a.b.c".into()));
        assert_eq!(save_token(&path, &token, false), Ok(path.clone()));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let other = Token::new(Zeroizing::new("d.e.f".into()));
        assert_eq!(
            save_token(&path, &other, false),
            Err(SaveError::Exists(path.clone()))
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a.b.c");
        assert_eq!(save_token(&path, &other, true), Ok(path.clone()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "d.e.f");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp left"
        );
        assert!(matches!(
            save_token(&dir.path().join("no/such/dir/x.jwt"), &token, false),
            Err(SaveError::Failed(_))
        ));
    }

    #[test]
    fn the_namespace_is_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("console.json");
        assert_eq!(remembered(&path), None);
        remember(&path, "ns-1").unwrap();
        assert_eq!(remembered(&path).as_deref(), Some("ns-1"));
        std::fs::write(&path, "garbage").unwrap();
        assert_eq!(remembered(&path), None);
    }
}
