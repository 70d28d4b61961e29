//! PostgreSQL implementation of `Store`, for several `sacon serve` replicas sharing one database: a bounded pool,
//! embedded migrations (`migrations_pg/`), every write committed together with its audit row in one READ
//! COMMITTED transaction that first locks what its checks depend on (and is run again when PostgreSQL reports a
//! serialization failure or deadlock), multi-statement reads from one REPEATABLE READ snapshot, and database
//! errors mapped to the store's kinds. Concurrent creates share one statement and commit (`create_batch`), and
//! concurrent `/verify` reads and reads of the access version one round trip (`shared_reads`). Nothing is cached: a
//! change by another replica is seen at the next read.

mod accounts;
mod activity;
mod audit;
pub mod copy;
mod create_batch;
mod dialect;
mod failure;
mod groups;
mod namespaces;
mod permissions;
mod policies;
mod routes;
mod settings;
mod shared_reads;
mod user_grams;
mod user_search;
mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

use self::failure::{Failure, PgResult};
use super::rules::check_new_account;
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
/// How many times a write transaction runs before a serialization failure or deadlock is reported.
const ATTEMPTS: u32 = 4;
/// Every this many committed writes (per process), the activity counters' deltas are folded, so a total sums
/// a few rows per namespace and actor however long the log grows.
const COMPACT_EVERY: u64 = 256;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations_pg");

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// Writes committed through this store, for pacing the counters' compaction.
    writes: Arc<AtomicU64>,
    creates: create_batch::CreateQueue,
    reads: shared_reads::SharedReads,
}

/// Runs `$body` in a write transaction bound to `$tx` and commits it; runs it again (from the start, in a new
/// transaction) when PostgreSQL reports a serialization failure or a deadlock, or the body asks for it
/// (`Failure::Retry`). Evaluates to a `StoreResult`.
macro_rules! write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt = 1;
        loop {
            let result: PgResult<_> = async {
                let mut $tx = $store.pool.begin().await?;
                let value = $body;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(f) if f.retryable() && attempt < ATTEMPTS => {
                    attempt += 1;
                    failure::backoff(attempt).await;
                }
                Err(f) => break Err(f.into_store()),
                Ok(value) => {
                    $store.committed(1);
                    break Ok(value);
                }
            }
        }
    }};
}

/// Runs `$body` in a read-only transaction bound to `$tx` that sees one snapshot for all its statements.
macro_rules! read_tx {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let result: PgResult<_> = async {
            let mut $tx = $store.pool.begin_with(SNAPSHOT).await?;
            let value = $body;
            $tx.commit().await?;
            Ok(value)
        }
        .await;
        result.map_err(Failure::into_store)
    }};
}

/// Runs `$body` on a pooled connection bound to `$conn` (one statement, or statements that need no common
/// snapshot).
macro_rules! on_conn {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let result: PgResult<_> = async {
            let mut $conn = $store.pool.acquire().await?;
            Ok($body)
        }
        .await;
        result.map_err(Failure::into_store)
    }};
}

const SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

impl PgStore {
    /// Connects to the database at `url` (`postgres://…`), runs the embedded migrations and creates the root
    /// namespace when there is none.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| Failure::Db(e).into_store())?;
        // sqlx takes an advisory lock around the migrations, so replicas starting together migrate once.
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating the database: {e}")))?;
        let store = PgStore {
            pool,
            writes: Arc::new(AtomicU64::new(0)),
            creates: create_batch::CreateQueue::new(),
            reads: shared_reads::SharedReads::default(),
        };
        let now = Utc::now();
        write_tx!(store, |tx| namespaces::ensure_root(&mut tx, now).await?)?;
        Ok(store)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Creates many accounts in one transaction (each checked and audited as `create_account` does); for bulk
    /// loads such as benchmarks, where a commit per account would dominate. Nothing is written if one fails.
    pub async fn create_accounts(
        &self,
        accounts: &[ServiceAccount],
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<()> {
        write_tx!(self, |tx| for a in accounts {
            accounts::create(&mut tx, a, issued_at, change).await?;
        })
    }

    /// Counts `n` committed writes; every [`COMPACT_EVERY`]th folds the activity counters in the background.
    fn committed(&self, n: u64) {
        let before = self.writes.fetch_add(n, Ordering::Relaxed);
        if before / COMPACT_EVERY != (before + n) / COMPACT_EVERY
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let pool = self.pool.clone();
            runtime.spawn(async move {
                if let Err(e) = audit::compact_counts(&pool).await {
                    tracing::debug!(error = ?e, "folding the activity counters failed; the next try will");
                }
            });
        }
    }
}

/// Locks the access version's row for the rest of the transaction: namespace, route and policy writes take it
/// first, so their checks (the tree has no cycle, a namespace is empty, a policy is unused) hold until they
/// commit, as if they ran one at a time. Their triggers update the row anyway.
async fn lock_access(conn: &mut PgConnection) -> PgResult<()> {
    sqlx::query("SELECT version FROM access_version WHERE id = 1 FOR UPDATE")
        .execute(conn)
        .await?;
    Ok(())
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(v)
        .ok_or_else(|| StoreError::Internal(format!("stored time {v} is out of range")))
}

fn opt_from_micros(v: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    v.map(from_micros).transpose()
}

/// A count or offset from the API as PostgreSQL's BIGINT.
fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A count from the database as the API's unsigned one.
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store for PgStore {
    async fn list_namespaces(&self) -> StoreResult<Vec<Namespace>> {
        on_conn!(self, |conn| namespaces::list(&mut conn).await?)
    }

    async fn get_namespace(&self, id: &str) -> StoreResult<Option<Namespace>> {
        on_conn!(self, |conn| namespaces::get(&mut conn, id).await?)
    }

    async fn create_namespace(
        &self,
        parent_id: &str,
        name: &str,
        originator_id: &str,
        change: &Change,
    ) -> StoreResult<Namespace> {
        write_tx!(self, |tx| namespaces::create(
            &mut tx,
            parent_id,
            name,
            originator_id,
            change
        )
        .await?)
    }

    async fn update_namespace(
        &self,
        id: &str,
        name: &str,
        parent_id: &str,
        change: &Change,
    ) -> StoreResult<Namespace> {
        write_tx!(self, |tx| namespaces::update(
            &mut tx, id, name, parent_id, change
        )
        .await?)
    }

    async fn delete_namespace(&self, id: &str, change: &Change) -> StoreResult<()> {
        write_tx!(self, |tx| namespaces::delete(&mut tx, id, change).await?)
    }

    async fn list_permissions(&self) -> StoreResult<Vec<Permission>> {
        on_conn!(self, |conn| permissions::list(&mut conn).await?)
    }

    async fn get_permission(&self, id: &str) -> StoreResult<Option<Permission>> {
        on_conn!(self, |conn| permissions::get(&mut conn, id).await?)
    }

    async fn set_permission(
        &self,
        grant: &PermissionGrant,
        change: &Change,
    ) -> StoreResult<Permission> {
        write_tx!(self, |tx| permissions::set(&mut tx, grant, change).await?)
    }

    async fn delete_permission(
        &self,
        id: &str,
        change: &Change,
    ) -> StoreResult<Option<Permission>> {
        write_tx!(self, |tx| permissions::delete(&mut tx, id, change).await?)
    }

    async fn query_users(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<DirectoryUser>> {
        // The total and the page come from the same snapshot.
        read_tx!(self, |tx| user_search::query(&mut tx, query, offset, limit)
            .await?)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<DirectoryUser>> {
        on_conn!(self, |conn| users::get(&mut conn, id).await?)
    }

    async fn get_users(&self, ids: &[String]) -> StoreResult<Vec<DirectoryUser>> {
        on_conn!(self, |conn| users::get_many(&mut conn, ids).await?)
    }

    async fn query_groups(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<String>> {
        read_tx!(self, |tx| groups::query(&mut tx, query, offset, limit)
            .await?)
    }

    async fn group_exists(&self, name: &str) -> StoreResult<bool> {
        on_conn!(self, |conn| groups::exists(&mut conn, name).await?)
    }

    async fn upsert_users(
        &self,
        users: &[DirectoryUser],
        change: &Change,
    ) -> StoreResult<ImportCounts> {
        users::validate(users)?;
        write_tx!(self, |tx| users::upsert(&mut tx, users, change).await?)
    }

    async fn create_account(
        &self,
        account: &ServiceAccount,
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<AccountRecord> {
        check_new_account(account)?;
        match self.creates.create(self, account, issued_at, change).await {
            create_batch::Answer::Done(result) => return *result,
            // A deleted account had the id, or the batch failed as a whole: its own transaction answers it.
            create_batch::Answer::Alone => {}
        }
        write_tx!(self, |tx| accounts::create(
            &mut tx, account, issued_at, change
        )
        .await?)
    }

    async fn get_account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        on_conn!(self, |conn| accounts::get(&mut conn, id, false).await?)
    }

    async fn get_accounts(&self, ids: &[String]) -> StoreResult<Vec<AccountRecord>> {
        on_conn!(self, |conn| accounts::get_many(&mut conn, ids).await?)
    }

    async fn get_account_for_verify(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<(Option<AccountRecord>, Vec<Namespace>)> {
        let (record, namespaces, _) = self
            .get_account_for_verify_versioned(id, with_namespaces)
            .await?;
        Ok((record, namespaces))
    }

    async fn get_account_for_verify_versioned(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<(Option<AccountRecord>, Vec<Namespace>, i64)> {
        // One statement: one round trip and one snapshot.
        on_conn!(self, |conn| accounts::get_for_verify(
            &mut conn,
            id,
            with_namespaces
        )
        .await?)
    }

    async fn get_account_for_verify_shared(
        &self,
        id: &str,
    ) -> StoreResult<(Option<Arc<AccountRecord>>, i64)> {
        self.reads.account(&self.pool, id).await
    }

    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Page<ServiceAccount>> {
        read_tx!(self, |tx| accounts::list(&mut tx, query).await?)
    }

    async fn update_account(
        &self,
        id: &str,
        patch: &AccountPatch,
        reissue: Option<Reissue>,
        change: &Change,
    ) -> StoreResult<AccountRecord> {
        write_tx!(self, |tx| accounts::update(
            &mut tx, id, patch, reissue, change
        )
        .await?)
    }

    async fn delete_account(&self, id: &str, change: &Change) -> StoreResult<bool> {
        write_tx!(self, |tx| accounts::delete(&mut tx, id, change).await?)
    }

    async fn touch_accessed(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        on_conn!(self, |conn| accounts::touch(&mut conn, id, at).await?)
    }

    async fn list_policies(&self) -> StoreResult<Vec<Policy>> {
        on_conn!(self, |conn| policies::list(&mut conn).await?)
    }

    async fn get_policy(&self, id: &str) -> StoreResult<Option<Policy>> {
        on_conn!(self, |conn| policies::get(&mut conn, id).await?)
    }

    async fn routes_of_policy(&self, policy_id: &str) -> StoreResult<Vec<(String, String)>> {
        on_conn!(self, |conn| policies::routes_of(&mut conn, policy_id)
            .await?)
    }

    async fn put_policy(&self, policy: &Policy, change: &Change) -> StoreResult<Policy> {
        write_tx!(self, |tx| policies::put(&mut tx, policy, change).await?)
    }

    async fn delete_policy(
        &self,
        id: &str,
        detach: bool,
        change: &Change,
    ) -> StoreResult<Option<Policy>> {
        write_tx!(self, |tx| policies::delete(&mut tx, id, detach, change)
            .await?)
    }

    async fn list_routes(&self) -> StoreResult<Vec<Route>> {
        read_tx!(self, |tx| routes::list(&mut tx).await?)
    }

    async fn get_route(&self, id: &str) -> StoreResult<Option<Route>> {
        read_tx!(self, |tx| routes::get(&mut tx, id).await?)
    }

    async fn put_route(&self, route: &Route, change: &Change) -> StoreResult<Route> {
        write_tx!(self, |tx| routes::put(&mut tx, route, change).await?)
    }

    async fn delete_route(&self, id: &str, change: &Change) -> StoreResult<Option<Route>> {
        write_tx!(self, |tx| routes::delete(&mut tx, id, change).await?)
    }

    async fn access_version(&self) -> StoreResult<i64> {
        self.reads.version(&self.pool).await
    }

    async fn access_snapshot(&self) -> StoreResult<AccessSnapshot> {
        read_tx!(self, |tx| routes::snapshot(&mut tx).await?)
    }

    async fn list_audit(&self, limit: u64) -> StoreResult<Vec<AuditEntry>> {
        on_conn!(self, |conn| audit::list(&mut conn, limit, None).await?)
    }

    async fn list_audit_for(
        &self,
        target_kind: &str,
        target_id: &str,
        limit: u64,
    ) -> StoreResult<Vec<AuditEntry>> {
        on_conn!(self, |conn| audit::list(
            &mut conn,
            limit,
            Some((target_kind, target_id))
        )
        .await?)
    }

    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<AuditEntry>> {
        read_tx!(self, |tx| activity::list(&mut tx, query).await?)
    }

    async fn get_activity(&self, seq: i64) -> StoreResult<Option<AuditNeighbours>> {
        read_tx!(self, |tx| activity::get(&mut tx, seq).await?)
    }

    async fn list_activity_kinds(&self) -> StoreResult<Vec<String>> {
        on_conn!(self, |conn| activity::kinds(&mut conn).await?)
    }
}
