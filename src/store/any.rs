//! The store a server runs on, chosen at start: SQLite in the data directory (the default) or PostgreSQL
//! (`--database-url`). Every `Store` method passes straight through to the one inside; handlers see one type.

use chrono::{DateTime, Utc};

use super::{
    AccountPatch, AccountQuery, AccountRecord, ActivityQuery, AuditEntry, AuditNeighbours, Change,
    ImportCounts, Page, PermissionGrant, PgStore, Reissue, SqliteStore, Store, StoreResult,
};
use crate::access::Permission;
use crate::model::{DirectoryUser, Namespace, ServiceAccount};
use crate::policy::model::{AccessSnapshot, Policy, Route};

#[derive(Clone, Debug)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens PostgreSQL at `url` when given, else the SQLite database file at `path`.
    pub async fn open(url: Option<&str>, path: &std::path::Path) -> StoreResult<AnyStore> {
        Ok(match url {
            Some(url) => AnyStore::Postgres(PgStore::open(url).await?),
            None => AnyStore::Sqlite(SqliteStore::open(path).await?),
        })
    }

    /// Which database this is, for logs and messages: `sqlite` or `postgres`.
    pub fn kind(&self) -> &'static str {
        match self {
            AnyStore::Sqlite(_) => "sqlite",
            AnyStore::Postgres(_) => "postgres",
        }
    }

    /// The SQLite store, when that is what this is.
    pub fn into_sqlite(self) -> Option<SqliteStore> {
        match self {
            AnyStore::Sqlite(s) => Some(s),
            AnyStore::Postgres(_) => None,
        }
    }

    /// Releases the connections (SQLite checkpoints its log on close).
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> AnyStore {
        AnyStore::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> AnyStore {
        AnyStore::Postgres(s)
    }
}

/// `impl Store for AnyStore`: each listed method calls the same method of the store inside.
macro_rules! pass_through {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store for AnyStore {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> StoreResult<$ret> {
                    match self {
                        AnyStore::Sqlite(s) => s.$name($($arg),*).await,
                        AnyStore::Postgres(s) => s.$name($($arg),*).await,
                    }
                }
            )*
        }
    };
}

pass_through! {
    fn list_namespaces(&self) -> Vec<Namespace>;
    fn get_namespace(&self, id: &str) -> Option<Namespace>;
    fn create_namespace(&self, parent_id: &str, name: &str, originator_id: &str, change: &Change) -> Namespace;
    fn update_namespace(&self, id: &str, name: &str, parent_id: &str, change: &Change) -> Namespace;
    fn delete_namespace(&self, id: &str, change: &Change) -> ();
    fn list_permissions(&self) -> Vec<Permission>;
    fn get_permission(&self, id: &str) -> Option<Permission>;
    fn set_permission(&self, grant: &PermissionGrant, change: &Change) -> Permission;
    fn delete_permission(&self, id: &str, change: &Change) -> Option<Permission>;
    fn query_users(&self, query: &str, offset: u64, limit: u64) -> Page<DirectoryUser>;
    fn get_user(&self, id: &str) -> Option<DirectoryUser>;
    fn get_users(&self, ids: &[String]) -> Vec<DirectoryUser>;
    fn query_groups(&self, query: &str, offset: u64, limit: u64) -> Page<String>;
    fn group_exists(&self, name: &str) -> bool;
    fn upsert_users(&self, users: &[DirectoryUser], change: &Change) -> ImportCounts;
    fn create_account(&self, account: &ServiceAccount, issued_at: DateTime<Utc>, change: &Change) -> AccountRecord;
    fn get_account(&self, id: &str) -> Option<AccountRecord>;
    fn get_accounts(&self, ids: &[String]) -> Vec<AccountRecord>;
    fn get_account_for_verify(&self, id: &str, with_namespaces: bool) -> (Option<AccountRecord>, Vec<Namespace>);
    fn get_account_for_verify_versioned(&self, id: &str, with_namespaces: bool) -> (Option<AccountRecord>, Vec<Namespace>, i64);
    fn get_account_for_verify_shared(&self, id: &str) -> (Option<std::sync::Arc<AccountRecord>>, i64);
    fn list_accounts(&self, query: &AccountQuery) -> Page<ServiceAccount>;
    fn update_account(&self, id: &str, patch: &AccountPatch, reissue: Option<Reissue>, change: &Change) -> AccountRecord;
    fn delete_account(&self, id: &str, change: &Change) -> bool;
    fn touch_accessed(&self, id: &str, at: DateTime<Utc>) -> ();
    fn list_policies(&self) -> Vec<Policy>;
    fn get_policy(&self, id: &str) -> Option<Policy>;
    fn routes_of_policy(&self, policy_id: &str) -> Vec<(String, String)>;
    fn put_policy(&self, policy: &Policy, change: &Change) -> Policy;
    fn delete_policy(&self, id: &str, detach: bool, change: &Change) -> Option<Policy>;
    fn list_routes(&self) -> Vec<Route>;
    fn get_route(&self, id: &str) -> Option<Route>;
    fn put_route(&self, route: &Route, change: &Change) -> Route;
    fn delete_route(&self, id: &str, change: &Change) -> Option<Route>;
    fn access_version(&self) -> i64;
    fn access_snapshot(&self) -> AccessSnapshot;
    fn list_audit(&self, limit: u64) -> Vec<AuditEntry>;
    fn list_audit_for(&self, target_kind: &str, target_id: &str, limit: u64) -> Vec<AuditEntry>;
    fn list_activity(&self, query: &ActivityQuery) -> Page<AuditEntry>;
    fn get_activity(&self, seq: i64) -> Option<AuditNeighbours>;
    fn list_activity_kinds(&self) -> Vec<String>;
}
