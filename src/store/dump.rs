//! Everything a store holds, as one consistent copy: what `sacon migrate` reads from SQLite and writes into
//! PostgreSQL. Accounts keep their token issue state and tombstones their dead tokens' times, so every JWT that
//! verified before the copy verifies after it and none that was refused comes back; the audit log keeps its
//! sequence numbers.

use chrono::{DateTime, Utc};

use crate::access::Permission;
use crate::model::{DirectoryUser, Namespace};
use crate::policy::model::{Policy, Route};
use crate::store::{AccountRecord, AuditEntry};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dump {
    /// Parents before their children.
    pub namespaces: Vec<Namespace>,
    pub users: Vec<DirectoryUser>,
    pub accounts: Vec<AccountRecord>,
    /// Deleted accounts' ids with their newest token's issue time.
    pub tombstones: Vec<(String, DateTime<Utc>)>,
    pub permissions: Vec<Permission>,
    pub policies: Vec<Policy>,
    pub routes: Vec<Route>,
    /// Oldest first.
    pub audit: Vec<AuditEntry>,
}

/// How many of each a store holds: what a copy is checked by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub namespaces: u64,
    pub users: u64,
    pub accounts: u64,
    pub tombstones: u64,
    pub permissions: u64,
    pub policies: u64,
    pub routes: u64,
    pub audit: u64,
}

impl Dump {
    pub fn counts(&self) -> Counts {
        let n = |len: usize| len as u64;
        Counts {
            namespaces: n(self.namespaces.len()),
            users: n(self.users.len()),
            accounts: n(self.accounts.len()),
            tombstones: n(self.tombstones.len()),
            permissions: n(self.permissions.len()),
            policies: n(self.policies.len()),
            routes: n(self.routes.len()),
            audit: n(self.audit.len()),
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} namespaces, {} users, {} service accounts, {} tombstones, {} role bindings, {} policies, {} routes, \
             {} audit entries",
            self.namespaces,
            self.users,
            self.accounts,
            self.tombstones,
            self.permissions,
            self.policies,
            self.routes,
            self.audit
        )
    }
}

/// Orders namespaces so that each parent comes before its children (the copy inserts them in this order).
pub fn parents_first(mut all: Vec<Namespace>) -> Vec<Namespace> {
    let mut out = Vec::with_capacity(all.len());
    let mut placed = std::collections::HashSet::new();
    while !all.is_empty() {
        let before = all.len();
        let (ready, rest): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|n| n.parent_id.is_empty() || placed.contains(&n.parent_id));
        for n in ready {
            placed.insert(n.id.clone());
            out.push(n);
        }
        all = rest;
        if all.len() == before {
            // Unreachable parents (the store's foreign keys forbid them): keep them, after the rest.
            out.extend(all);
            break;
        }
    }
    out
}
