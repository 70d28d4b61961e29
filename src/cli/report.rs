//! `sacon report`: the credential report an auditor asks for — one row per account (namespace, user id, kind,
//! the person it acts as, created and by whom, expiry, last use, state and marks) — and, with `--check`, the
//! exit code a cron job needs: 3 when any account needs attention (expired, expiring within the window, or
//! unused for the window) or any policy names a user that answers to nothing (`report_access`), as `token
//! inspect` exits 3 for a token that would not verify. A disabled account is marked and in state `disabled`, an
//! account no policy grants a route is marked `no-grant` (once the server has a route); neither is itself a
//! reason for attention — an account may be an API credential only.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use futures_util::StreamExt;

use super::output::{ListFormat, Stdout, Table, ago_label, expires_label, rfc3339};
use super::report_access::{self, dangling_json, dangling_table};
use super::{CliError, namespace_tree, parse_duration, resolve_namespace, slash_path};
use crate::api::Client;
use crate::filter::{Expr, Field};
use crate::model::{DirectoryUser, ServiceAccount};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only the accounts of this namespace and every namespace below it (id or path).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Exit 3 when any account needs attention (a summary goes to stderr).
    #[arg(long)]
    check: bool,
    /// An account expiring within this long needs attention.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    expiring_within: Duration,
    /// An account older than this that has not been used for this long (or ever) needs attention.
    #[arg(long, value_name = "DURATION", default_value = "90d", value_parser = parse_duration)]
    unused_for: Duration,
    /// Only the accounts that need attention.
    #[arg(long)]
    attention_only: bool,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListFormat::Table)]
    output: ListFormat,
}

/// What an audit notes about one account. The first three need attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Expired,
    Expiring,
    Unused,
    NeverUsed,
    NeverExpires,
    Disabled,
    /// No policy lets it through any route of its namespace and below.
    NoGrant,
}

impl Mark {
    fn as_str(self) -> &'static str {
        match self {
            Mark::Expired => "expired",
            Mark::Expiring => "expiring",
            Mark::Unused => "unused",
            Mark::NeverUsed => "never-used",
            Mark::NeverExpires => "never-expires",
            Mark::Disabled => "disabled",
            Mark::NoGrant => "no-grant",
        }
    }

    fn needs_attention(self) -> bool {
        matches!(self, Mark::Expired | Mark::Expiring | Mark::Unused)
    }
}

/// The marks of `a` at `now` for the two windows.
fn marks(
    a: &ServiceAccount,
    now: DateTime<Utc>,
    expiring: chrono::Duration,
    unused: chrono::Duration,
) -> Vec<Mark> {
    let mut out = Vec::new();
    if a.disabled {
        out.push(Mark::Disabled);
    }
    match a.expires_at {
        Some(e) if e <= now => out.push(Mark::Expired),
        Some(e) if e <= now + expiring => out.push(Mark::Expiring),
        Some(_) => {}
        None => out.push(Mark::NeverExpires),
    }
    let expired = out.contains(&Mark::Expired);
    // An expired account is already flagged; a new one has not had the chance to be used.
    let old_enough = a.created_at <= now - unused;
    match a.accessed_at {
        None if !expired && old_enough => out.extend([Mark::Unused, Mark::NeverUsed]),
        None => out.push(Mark::NeverUsed),
        Some(t) if !expired && old_enough && t <= now - unused => out.push(Mark::Unused),
        Some(_) => {}
    }
    out
}

const HEADER: [&str; 12] = [
    "NAMESPACE",
    "USER ID",
    "KIND",
    "PERSON",
    "CREATED",
    "CREATED BY",
    "EXPIRES",
    "LAST USED",
    "STATE",
    "MARKS",
    "DESCRIPTION",
    "ID",
];

fn window(flag: &str, d: Duration) -> Result<chrono::Duration, CliError> {
    chrono::Duration::from_std(d).map_err(|_| CliError::Usage(format!("--{flag} is too long")))
}

pub async fn run(client: &Client, args: ReportArgs) -> Result<(), CliError> {
    let now = Utc::now();
    let expiring = window("expiring-within", args.expiring_within)?;
    let unused = window("unused-for", args.unused_for)?;
    let tree = namespace_tree(client).await?;
    let mut namespace_id = String::new();
    let filter = match (&tree, &args.namespace) {
        (_, None) => None,
        (Some(t), Some(ns)) => {
            let root = resolve_namespace(t, ns)?;
            namespace_id = root.id.clone();
            Some(
                Expr::field(Field::NamespaceId)
                    .is_any_of(t.subtree(&root.id))
                    .to_json(),
            )
        }
        (None, Some(ns)) => Some(Expr::field(Field::NamespaceId).eq(ns.clone()).to_json()),
    };
    let accounts = client
        .list_all_accounts(filter, "namespace_id,user_id")
        .await?;
    // The people impersonated accounts act as, looked up once per user id.
    let mut ids: Vec<&str> = accounts.iter().map(|a| a.user_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let people: HashMap<String, DirectoryUser> = futures_util::stream::iter(ids)
        .map(|id| async move { (id.to_string(), client.get_user(id).await) })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .filter_map(|(id, r)| match r {
            Ok(Some(u)) => Some(Ok((id, u))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_, _>>()?;

    let account_ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
    let access = report_access::audit(client, &account_ids, &namespace_id).await?;

    let mut rows = Vec::new();
    let mut attention = 0usize;
    let mut counts: Vec<(Mark, usize)> = Vec::new();
    for a in &accounts {
        let mut m = marks(a, now, expiring, unused);
        if access.no_grant.contains(&a.id) {
            m.push(Mark::NoGrant);
        }
        let needs = m.iter().any(|m| m.needs_attention());
        if needs {
            attention += 1;
        }
        for mark in m.iter().filter(|m| m.needs_attention()) {
            match counts.iter_mut().find(|(k, _)| k == mark) {
                Some((_, n)) => *n += 1,
                None => counts.push((*mark, 1)),
            }
        }
        if args.attention_only && !needs {
            continue;
        }
        let person = people.get(&a.user_id);
        let namespace = match &tree {
            Some(t) if t.get(&a.namespace_id).is_some() => slash_path(t, &a.namespace_id),
            _ => a.namespace_id.clone(),
        };
        let state = crate::display::state(a, now);
        rows.push((
            a,
            vec![
                namespace,
                a.user_id.clone(),
                if person.is_some() {
                    "impersonated"
                } else {
                    "unique"
                }
                .to_string(),
                person
                    .map(|p| format!("{} <{}>", p.name, p.email))
                    .unwrap_or_default(),
                rfc3339(a.created_at),
                a.originator_id.clone(),
                expires_label(a.expires_at, now),
                ago_label(a.accessed_at, now),
                state.to_string(),
                m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" "),
                a.description.clone(),
                a.id.clone(),
            ],
            m,
        ));
    }
    let out = Stdout::detect();
    match args.output {
        ListFormat::Json => out.json(&serde_json::json!({
            "generatedAt": rfc3339(now),
            "accounts": accounts.len(),
            "needingAttention": attention,
            "dangling": dangling_json(tree.as_ref(), &access.dangling),
            "rows": rows.iter().map(|(a, r, m)| serde_json::json!({
                "id": a.id,
                "namespace": r[0],
                "userId": a.user_id,
                "kind": r[2],
                "person": people.get(&a.user_id).map(|p| serde_json::json!({"name": p.name, "email": p.email})),
                "createdAt": rfc3339(a.created_at),
                "createdBy": a.originator_id,
                "expiresAt": a.expires_at.map(rfc3339),
                "lastUsedAt": a.accessed_at.map(rfc3339),
                "state": r[8],
                "marks": m.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                "description": a.description,
            })).collect::<Vec<_>>(),
        }))?,
        ListFormat::Csv => {
            let cells: Vec<Vec<String>> = rows.into_iter().map(|(_, r, _)| r).collect();
            out.csv(&HEADER, &cells)?;
            // One table per CSV file: the dangling entries are in the table and JSON outputs.
            if !access.dangling.is_empty() {
                eprintln!(
                    "{} dangling policy entries (see --output table or json)",
                    access.dangling.len()
                );
            }
        }
        ListFormat::Table => {
            let mut table = Table::new(&HEADER).max_width(10, 40);
            for (_, r, _) in rows {
                table.push(r);
            }
            out.write(&table.render())?;
            if !access.dangling.is_empty() {
                out.write(&dangling_table(tree.as_ref(), &access.dangling))?;
            }
        }
    }
    if args.check {
        let dangling = access.dangling.len();
        if attention > 0 || dangling > 0 {
            let detail: Vec<String> = counts
                .iter()
                .map(|(m, n)| format!("{n} {}", m.as_str()))
                .collect();
            let mut parts = Vec::new();
            if attention > 0 {
                parts.push(format!(
                    "{attention} of {} accounts need attention: {}",
                    accounts.len(),
                    detail.join(", ")
                ));
            }
            if dangling > 0 {
                parts.push(format!(
                    "{dangling} policy entries name no live account or directory user"
                ));
            }
            return Err(CliError::Refused(parts.join("; ")));
        }
        eprintln!("all {} accounts are in order", accounts.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn account(
        created_days_ago: i64,
        expires_in: Option<i64>,
        used_days_ago: Option<i64>,
    ) -> ServiceAccount {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let d = chrono::Duration::days;
        ServiceAccount {
            id: "a".into(),
            namespace_id: "ns".into(),
            originator_id: "root".into(),
            description: String::new(),
            user_id: "u".into(),
            expires_at: expires_in.map(|n| now + d(n)),
            created_at: now - d(created_days_ago),
            modified_at: now - d(created_days_ago),
            accessed_at: used_days_ago.map(|n| now - d(n)),
            disabled: false,
        }
    }

    #[test]
    fn marks_follow_the_windows() {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let (e, u) = (chrono::Duration::days(30), chrono::Duration::days(90));
        let m = |a: &ServiceAccount| marks(a, now, e, u);
        assert_eq!(m(&account(200, Some(-1), Some(1))), vec![Mark::Expired]);
        assert_eq!(m(&account(200, Some(10), Some(1))), vec![Mark::Expiring]);
        assert_eq!(m(&account(200, Some(100), Some(91))), vec![Mark::Unused]);
        assert_eq!(
            m(&account(200, None, None)),
            vec![Mark::NeverExpires, Mark::Unused, Mark::NeverUsed]
        );
        // Disabled: marked, not itself a reason for attention; the other marks still apply.
        let off = |a: ServiceAccount| ServiceAccount {
            disabled: true,
            ..a
        };
        assert_eq!(
            m(&off(account(200, Some(100), Some(1)))),
            vec![Mark::Disabled]
        );
        assert!(!Mark::Disabled.needs_attention());
        assert_eq!(
            m(&off(account(200, Some(-1), Some(1)))),
            vec![Mark::Disabled, Mark::Expired]
        );
        // Too new to call unused.
        assert_eq!(m(&account(5, Some(100), None)), vec![Mark::NeverUsed]);
        assert!(
            !m(&account(5, Some(100), None))
                .iter()
                .any(|m| m.needs_attention())
        );
    }
}
