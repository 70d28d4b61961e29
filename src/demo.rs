//! Seeds the demo directory into a store: the namespace tree and users embedded from `assets/demo/`, and a dozen
//! service accounts (descriptions start with "demo:") whose expiry and last use show every audit marker:
//! expired, expiring within 7 days, never expiring, a year's expiry, unused for over 90 days, never used, and one
//! disabled (the step before a delete).
//! Seeding twice changes nothing the first run made.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::model::{DirectoryUser, ServiceAccount};
use crate::store::{AccountPatch, Change, Store, StoreError, StoreResult};

const NAMESPACES_JSON: &str = include_str!("../assets/demo/namespaces.json");
const USERS_JSON: &str = include_str!("../assets/demo/users.json");

/// Who the audit log names for demo writes.
pub const DEMO_ACTOR: &str = "demo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoSummary {
    /// Namespaces created (existing ones with the same name under the same parent are reused).
    pub namespaces: usize,
    /// Directory users written.
    pub users: usize,
    /// Service accounts created (ids already present are left alone).
    pub accounts: usize,
}

#[derive(Deserialize)]
struct NamespaceSpec {
    name: String,
    #[serde(default)]
    children: Vec<NamespaceSpec>,
}

/// One demo account. Times are relative to the seeding instant, in days.
struct AccountSpec {
    id: &'static str,
    /// Path of names below the root; empty for the root itself.
    namespace: &'static [&'static str],
    user_id: &'static str,
    description: &'static str,
    created_days_ago: i64,
    /// Days after `now` (negative: already expired); `None`: never expires.
    expires_in_days: Option<i64>,
    /// Days before `now` of the last use; `None`: never used.
    used_days_ago: Option<i64>,
    /// Days before `now` an admin disabled it; `None`: enabled.
    disabled_days_ago: Option<i64>,
}

const ACCOUNTS: &[AccountSpec] = &[
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e01",
        namespace: &["Engineering", "Platform"],
        user_id: "svc-ci-deployer",
        description: "demo: CI deploys to staging and production",
        created_days_ago: 40,
        expires_in_days: Some(325),
        used_days_ago: Some(0),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e02",
        namespace: &["Engineering", "Platform"],
        user_id: "alice.nguyen",
        description: "demo: Terraform runs as Alice",
        created_days_ago: 400,
        expires_in_days: None,
        used_days_ago: Some(200),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e03",
        namespace: &["Engineering", "Data"],
        user_id: "svc-etl-nightly",
        description: "demo: nightly ETL into the warehouse",
        created_days_ago: 100,
        expires_in_days: Some(-10),
        used_days_ago: Some(11),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e04",
        namespace: &["Engineering", "Data"],
        user_id: "00u8k2ld9x0PQr7sT4z1",
        description: "demo: Metabase queries as Dmitry",
        created_days_ago: 30,
        expires_in_days: Some(365),
        used_days_ago: Some(30),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e05",
        namespace: &["Engineering", "Mobile"],
        user_id: "svc-app-store-upload",
        description: "demo: uploads builds to the app stores",
        created_days_ago: 2,
        expires_in_days: Some(28),
        used_days_ago: None,
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e06",
        namespace: &["Finance"],
        user_id: "u-4f2c9a",
        description: "demo: invoice sync as Carol",
        created_days_ago: 87,
        expires_in_days: Some(3),
        used_days_ago: Some(1),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e07",
        namespace: &["Sales"],
        user_id: "svc-crm-export",
        description: "demo: CRM export, set up and forgotten",
        created_days_ago: 150,
        expires_in_days: None,
        used_days_ago: None,
        disabled_days_ago: Some(14),
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e08",
        namespace: &["Operations", "SRE"],
        user_id: "bob.martin",
        description: "demo: PagerDuty webhook acting as Bob",
        created_days_ago: 60,
        expires_in_days: Some(30),
        used_days_ago: Some(1),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e09",
        namespace: &["Operations"],
        user_id: "svc-inventory-scan",
        description: "demo: inventory scanner, expiring this week",
        created_days_ago: 358,
        expires_in_days: Some(6),
        used_days_ago: Some(3),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e0a",
        namespace: &[],
        user_id: "svc-backup-agent",
        description: "demo: backup agent, not seen for months",
        created_days_ago: 500,
        expires_in_days: None,
        used_days_ago: Some(120),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e0b",
        namespace: &["Security"],
        user_id: "svc-siem-forwarder",
        description: "demo: SIEM log forwarder, expired and stale",
        created_days_ago: 366,
        expires_in_days: Some(-1),
        used_days_ago: Some(95),
        disabled_days_ago: None,
    },
    AccountSpec {
        id: "5b1f3c9e-7a42-4d1b-9c3e-0d6a2f8b1e0c",
        namespace: &["Sales"],
        user_id: "zoe.muller",
        description: "demo: pipeline report as Zoë, one-year token",
        created_days_ago: 0,
        expires_in_days: Some(365),
        used_days_ago: None,
        disabled_days_ago: None,
    },
];

fn parse<T: for<'de> Deserialize<'de>>(what: &str, json: &str) -> StoreResult<T> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Internal(format!("embedded demo {what} are malformed: {e}")))
}

/// Creates the namespace `name` under `parent`, or finds the one of that name already there; returns its id
/// and whether it was created.
async fn namespace<S: Store>(
    store: &S,
    parent: &str,
    name: &str,
    change: &Change,
) -> StoreResult<(String, bool)> {
    match store.create_namespace(parent, name, "", change).await {
        Ok(ns) => Ok((ns.id, true)),
        Err(StoreError::AlreadyExists(_)) => store
            .list_namespaces()
            .await?
            .into_iter()
            .find(|n| n.parent_id == parent && n.name.to_lowercase() == name.to_lowercase())
            .map(|n| (n.id, false))
            .ok_or_else(|| StoreError::Internal(format!("demo namespace {name:?} not found"))),
        Err(e) => Err(e),
    }
}

/// Loads the demo namespaces (under the existing root), users and service accounts, as actor `demo`.
pub async fn seed_demo<S: Store>(store: &S, now: DateTime<Utc>) -> StoreResult<DemoSummary> {
    let specs: Vec<NamespaceSpec> = parse("namespaces", NAMESPACES_JSON)?;
    let users: Vec<DirectoryUser> = parse("users", USERS_JSON)?;
    let change = |at: DateTime<Utc>| Change::by(DEMO_ACTOR, at);
    let root = store
        .list_namespaces()
        .await?
        .into_iter()
        .find(|n| n.parent_id.is_empty())
        .ok_or_else(|| StoreError::FailedPrecondition("the store has no root namespace".into()))?;

    let mut summary = DemoSummary::default();
    // Path of names below the root -> id, for placing the accounts.
    let mut paths: Vec<(Vec<String>, String)> = vec![(Vec::new(), root.id.clone())];
    let seeded = change(now);
    let mut pending: Vec<(String, Vec<String>, &NamespaceSpec)> = specs
        .iter()
        .rev()
        .map(|s| (root.id.clone(), Vec::new(), s))
        .collect();
    while let Some((parent, mut path, spec)) = pending.pop() {
        let (id, created) = namespace(store, &parent, &spec.name, &seeded).await?;
        summary.namespaces += usize::from(created);
        path.push(spec.name.clone());
        for child in spec.children.iter().rev() {
            pending.push((id.clone(), path.clone(), child));
        }
        paths.push((path, id));
    }

    let counts = store.upsert_users(&users, &seeded).await?;
    summary.users = usize::try_from(counts.inserted + counts.updated).unwrap_or(usize::MAX);

    for spec in ACCOUNTS {
        if store.get_account(spec.id).await?.is_some() {
            continue;
        }
        let namespace_id = paths
            .iter()
            .find(|(p, _)| {
                p.iter()
                    .map(String::as_str)
                    .eq(spec.namespace.iter().copied())
            })
            .map(|(_, id)| id.clone())
            .ok_or_else(|| {
                StoreError::Internal(format!("demo namespace {:?} missing", spec.namespace))
            })?;
        let created = now - Duration::days(spec.created_days_ago);
        let account = ServiceAccount {
            id: spec.id.into(),
            namespace_id,
            originator_id: String::new(),
            description: spec.description.into(),
            user_id: spec.user_id.into(),
            expires_at: spec.expires_in_days.map(|d| now + Duration::days(d)),
            created_at: created,
            modified_at: created,
            accessed_at: None,
            disabled: false,
        };
        store
            .create_account(&account, created, &change(created))
            .await?;
        if let Some(days) = spec.disabled_days_ago {
            let patch = AccountPatch {
                disabled: Some(true),
                ..AccountPatch::default()
            };
            store
                .update_account(spec.id, &patch, None, &change(now - Duration::days(days)))
                .await?;
        }
        if let Some(days) = spec.used_days_ago {
            store
                .touch_accessed(spec.id, now - Duration::days(days))
                .await?;
        }
        summary.accounts += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses_and_is_plausible() {
        let specs: Vec<NamespaceSpec> = parse("namespaces", NAMESPACES_JSON).unwrap();
        fn count(s: &[NamespaceSpec]) -> usize {
            s.iter().map(|n| 1 + count(&n.children)).sum()
        }
        assert!((8..=15).contains(&count(&specs)));
        let users: Vec<DirectoryUser> = parse("users", USERS_JSON).unwrap();
        assert!((250..=400).contains(&users.len()));
        assert!(users.iter().any(|u| !u.name.is_ascii()));
        let mut ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), users.len(), "user ids are unique");
        for spec in ACCOUNTS {
            assert!(spec.description.starts_with("demo:"));
        }
        assert_eq!(
            ACCOUNTS
                .iter()
                .filter(|a| a.disabled_days_ago.is_some())
                .count(),
            1,
            "one disabled account shows the mark"
        );
    }
}
