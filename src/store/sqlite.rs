//! SQLite implementation of `Store`: one database file in WAL mode, a single writer connection whose
//! transactions take the write lock up front (`BEGIN IMMEDIATE`) and carry many queued writes each (group
//! commit, `writer`), answered only once a thread of their own has synced the WAL (`durable`), checkpoints on
//! another (`checkpoint`), a small pool of query-only readers, embedded migrations, every write committed
//! together with its audit row, and SQLite's memory held to one process-wide budget however many rows and
//! connections there are.

mod accounts;
mod activity;
mod audit;
mod checkpoint;
mod dialect;
mod dump;
mod durable;
mod groups;
mod inline_read;
mod namespaces;
mod permissions;
mod policies;
mod routes;
mod user_search;
mod users;
mod verify_cache;
mod writer;

pub use writer::{MAX_BATCH, WriterStats};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{
    AccountPatch, AccountQuery, AccountRecord, ActivityQuery, AuditEntry, AuditNeighbours, Change,
    ImportCounts, Page, PermissionGrant, Reissue, Store, StoreError, StoreResult,
};
use crate::access::Permission;
use crate::model::{DirectoryUser, Namespace, ServiceAccount};
use crate::policy::model::{AccessSnapshot, Policy, Route};

/// How long a connection waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Page cache per connection in KiB (SQLite takes a negative `cache_size` as KiB). Small on purpose: the OS
/// page cache already holds the file. Each connection's cache fills up to this as queries walk a large table
/// (a count, a deep offset), so on its own it would make memory grow with the row count times the connections
/// (the writer, the readers and the inline readers); [`HEAP_BUDGET`] bounds the sum.
const CACHE_KIB: i64 = 2048;
/// SQLite's heap for the whole process in bytes (`PRAGMA soft_heap_limit`, shared by every connection, sqlx's
/// and the inline readers'): near it, a connection's page cache reuses its own least recently used pages
/// instead of growing, and sorts spill to temporary files sooner. Nothing fails at the limit; reads past the
/// cache come from the OS page cache. Measured in the tui bench: with 4 MiB caches and no limit the embedded
/// console held 31 MB of page cache at 100,000 accounts (RSS 59 MB); with this, RSS is the same at 10,000 and
/// 100,000 accounts.
pub const HEAP_BUDGET: i64 = (8 << 20) + WRITER_CACHE_KIB * 1024;
/// The writer connection's page cache in KiB: it walks a dozen indexes per account created, and keeping their
/// inner pages here spares it a read of each from the OS page cache (measured under creates on 1,000,000
/// accounts: reads were 9% of the server's CPU, on the one thread every write waits for). It grows only as far
/// as writes touch pages.
const WRITER_CACHE_KIB: i64 = 32 << 10;
/// Readers in the pool; writes are serialised on one connection anyway.
const READERS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Cheap to clone (one reference count: the server clones its state for every request).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Exactly one connection: writers queue here instead of spinning on SQLite's busy handler.
    write: SqlitePool,
    /// Group commit on `write`: every write but the directory import goes through it.
    writer: Arc<writer::Writer>,
    /// Copies the WAL into the database file behind the writer's back.
    checkpointer: Arc<checkpoint::Checkpointer>,
    read: SqlitePool,
    /// `/verify`'s point reads, on the caller's thread; `read` is their fallback.
    inline: inline_read::InlineReaders,
    /// The account records those reads keep, checked against the account change counter on every read.
    verify_cache: verify_cache::VerifyCache,
    /// The database file, for the import's own writer connection.
    path: Arc<Path>,
}

/// Per-connection settings as SQLite reports them, to check that the pragmas took effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    pub journal_mode: String,
    /// 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
    pub cache_size: i64,
    pub query_only: bool,
    /// The process-wide SQLite heap limit in bytes (0: none).
    pub soft_heap_limit: i64,
}

impl SqliteStore {
    /// `/verify`'s one read (account, namespaces when asked, access version): without SQLite when nothing has
    /// committed since the account was last read (`verify_cache`), else on the caller's thread when an inline
    /// reader is free (the kept record while no account changed), else through the pool.
    async fn verify_read(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<accounts::VerifyRead> {
        if !with_namespaces && let Some((record, version)) = self.inner.verify_cache.unchanged(id) {
            return Ok((Some(AccountRecord::clone(&record)), Vec::new(), version));
        }
        let inline = &self.inner.inline;
        let read = if with_namespaces {
            inline.try_read(|conn| accounts::get_for_verify_inline(conn, id, true))
        } else {
            inline.try_read(|conn| self.inner.verify_cache.read(conn, id))
        };
        if let Some(read) = read {
            return read;
        }
        // Boxed: the pooled path is rare, and its state would otherwise make every check's future large to move.
        Box::pin(self.verify_read_pooled(id, with_namespaces)).await
    }

    async fn verify_read_pooled(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<accounts::VerifyRead> {
        let mut conn = self.inner.read.acquire().await?;
        accounts::get_for_verify(&mut conn, id, with_namespaces).await
    }

    /// Opens (creating if needed) the database at `path`, runs the embedded migrations and creates the root
    /// namespace when there is none.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("cache_size", (-CACHE_KIB).to_string());
        // The writer leaves checkpoints to their own thread (`checkpoint`), so a commit waits for its own fsync only.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // No ping before each batch: a round trip to the connection's thread, and a dead connection fails
            // the batch's BEGIN anyway.
            .test_before_acquire(false)
            // COMMIT writes the WAL without an fsync; the writer answers a write only after `durable` synced it.
            .connect_with(
                base.clone()
                    .pragma("cache_size", (-WRITER_CACHE_KIB).to_string())
                    // Each write of a batch runs in a savepoint, whose undo copies of pages go to a temporary
                    // file unless kept in memory (at most a batch's pages, freed at COMMIT).
                    .pragma("temp_store", "MEMORY")
                    .pragma("wal_autocheckpoint", "0")
                    .synchronous(SqliteSynchronous::Normal),
            )
            .await?;
        // Process-wide, so once is enough; set before anything reads pages.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "PRAGMA soft_heap_limit = {HEAP_BUDGET}"
        )))
        .execute(&write)
        .await?;
        MIGRATOR
            .run(&write)
            .await
            .map_err(|e| StoreError::Internal(format!("migrating the database: {e}")))?;
        // No ping before handing out a reader: it is a round trip to the connection's worker thread that would
        // double the cost of a one-row read (`/verify`), and a dead connection fails its query anyway.
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(base.pragma("query_only", "ON"))
            .await?;
        namespaces::ensure_root(&write, Utc::now()).await?;
        let inline = inline_read::InlineReaders::open(path, CACHE_KIB).map_err(|e| {
            StoreError::Internal(format!("opening the database for inline reads: {e}"))
        })?;
        let syncer = durable::Syncer::for_wal(path).map_err(|e| {
            StoreError::Internal(format!("opening the database's WAL to sync it: {e}"))
        })?;
        let checkpointer = Arc::new(checkpoint::Checkpointer::start(path).map_err(|e| {
            StoreError::Internal(format!("opening the database for checkpoints: {e}"))
        })?);
        let store = SqliteStore {
            inner: Arc::new(Inner {
                writer: Arc::new(writer::Writer::new(
                    write.clone(),
                    Some(checkpointer.clone()),
                    Some(syncer),
                )),
                checkpointer,
                write,
                read,
                inline,
                verify_cache: verify_cache::VerifyCache::open(path),
                path: Arc::from(path),
            }),
        };
        Ok(store)
    }

    /// Closes the inline readers and both pools, waiting for connections to finish (so the WAL is checkpointed on
    /// close).
    pub async fn close(&self) {
        self.inner.verify_cache.close();
        self.inner.inline.close();
        self.inner.checkpointer.close();
        self.inner.read.close().await;
        self.inner.write.close().await;
        self.inner.writer.close();
    }

    /// The settings of the writer and of one reader connection.
    pub async fn connection_settings(&self) -> StoreResult<[ConnectionSettings; 2]> {
        Ok([
            settings(&self.inner.write).await?,
            settings(&self.inner.read).await?,
        ])
    }

    /// `EXPLAIN QUERY PLAN` of the page query `list_accounts` runs for `q` (one line per plan step).
    pub async fn explain_list_accounts(&self, q: &AccountQuery) -> StoreResult<Vec<String>> {
        explain(&self.inner.read, |qb| accounts::page_sql(qb, q)).await
    }

    /// `EXPLAIN QUERY PLAN` of the count query `list_accounts` runs for `q`.
    pub async fn explain_count_accounts(&self, q: &AccountQuery) -> StoreResult<Vec<String>> {
        explain(&self.inner.read, |qb| accounts::count_sql(qb, q)).await
    }

    /// `EXPLAIN QUERY PLAN` of every statement `query_users` runs for the first 50 matches of `query` with the
    /// data at hand, each line labelled with the statement's purpose (`total: SCAN users_fts VIRTUAL TABLE …`).
    pub async fn explain_query_users(&self, query: &str) -> StoreResult<Vec<String>> {
        let mut plan = Vec::new();
        let mut tx = self.inner.read.begin().await?;
        user_search::query(&mut tx, query, 0, 50, Some(&mut plan)).await?;
        tx.commit().await?;
        Ok(plan)
    }

    /// Creates many accounts in one transaction (each checked and audited as `create_account` does); for bulk
    /// loads such as benchmarks, where a commit per account would dominate. Nothing is written if one fails.
    pub async fn create_accounts(
        &self,
        accounts: &[ServiceAccount],
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<()> {
        let (accounts, change) = (accounts.to_vec(), change.clone());
        self.inner
            .writer
            .run_sync(move |c| {
                for a in &accounts {
                    accounts::create(c, a, issued_at, &change)?;
                }
                Ok(())
            })
            .await
    }

    /// Everything the store holds, from one snapshot.
    pub async fn dump(&self) -> StoreResult<super::dump::Dump> {
        let mut tx = self.inner.read.begin().await?;
        let dump = dump::read(&mut tx).await?;
        tx.commit().await?;
        Ok(dump)
    }

    /// How many transactions the group-commit writer has committed and how many writes they carried.
    pub fn writer_stats(&self) -> WriterStats {
        self.inner.writer.stats()
    }

    /// Runs `write` in the writer's next transaction (see `writer`), answering once that has committed.
    async fn write_with<T, F>(&self, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        self.inner.writer.run(write).await
    }
}

async fn settings(pool: &SqlitePool) -> StoreResult<ConnectionSettings> {
    let mut conn = pool.acquire().await?;
    let text = |name: &'static str| sqlx::query_scalar::<_, String>(name);
    let int = |name: &'static str| sqlx::query_scalar::<_, i64>(name);
    Ok(ConnectionSettings {
        journal_mode: text("PRAGMA journal_mode").fetch_one(&mut *conn).await?,
        synchronous: int("PRAGMA synchronous").fetch_one(&mut *conn).await?,
        foreign_keys: int("PRAGMA foreign_keys").fetch_one(&mut *conn).await? == 1,
        busy_timeout_ms: int("PRAGMA busy_timeout").fetch_one(&mut *conn).await?,
        cache_size: int("PRAGMA cache_size").fetch_one(&mut *conn).await?,
        query_only: int("PRAGMA query_only").fetch_one(&mut *conn).await? == 1,
        soft_heap_limit: int("PRAGMA soft_heap_limit").fetch_one(&mut *conn).await?,
    })
}

async fn explain(
    pool: &SqlitePool,
    build: impl FnOnce(&mut QueryBuilder<Sqlite>),
) -> StoreResult<Vec<String>> {
    let mut qb = QueryBuilder::new(dialect::EXPLAIN);
    build(&mut qb);
    let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|r| r.3).collect())
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

/// A borrowed argument as the owned value a queued write keeps.
fn owned(s: &str) -> String {
    s.to_string()
}

/// A count or offset from the API as SQLite's signed integer.
fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store for SqliteStore {
    async fn list_namespaces(&self) -> StoreResult<Vec<Namespace>> {
        namespaces::list(&self.inner.read).await
    }

    async fn get_namespace(&self, id: &str) -> StoreResult<Option<Namespace>> {
        let mut conn = self.inner.read.acquire().await?;
        namespaces::get(&mut conn, id).await
    }

    async fn create_namespace(
        &self,
        parent_id: &str,
        name: &str,
        originator_id: &str,
        change: &Change,
    ) -> StoreResult<Namespace> {
        let (parent_id, name, originator_id) =
            (owned(parent_id), owned(name), owned(originator_id));
        let change = change.clone();
        self.write_with(move |c| {
            Box::pin(async move {
                namespaces::create(c, &parent_id, &name, &originator_id, &change).await
            })
        })
        .await
    }

    async fn update_namespace(
        &self,
        id: &str,
        name: &str,
        parent_id: &str,
        change: &Change,
    ) -> StoreResult<Namespace> {
        let (id, name, parent_id, change) =
            (owned(id), owned(name), owned(parent_id), change.clone());
        self.write_with(move |c| {
            Box::pin(async move { namespaces::update(c, &id, &name, &parent_id, &change).await })
        })
        .await
    }

    async fn delete_namespace(&self, id: &str, change: &Change) -> StoreResult<()> {
        let (id, change) = (owned(id), change.clone());
        self.write_with(move |c| Box::pin(async move { namespaces::delete(c, &id, &change).await }))
            .await
    }

    async fn list_permissions(&self) -> StoreResult<Vec<Permission>> {
        permissions::list(&self.inner.read).await
    }

    async fn get_permission(&self, id: &str) -> StoreResult<Option<Permission>> {
        let mut conn = self.inner.read.acquire().await?;
        permissions::get(&mut conn, id).await
    }

    async fn set_permission(
        &self,
        grant: &PermissionGrant,
        change: &Change,
    ) -> StoreResult<Permission> {
        let (grant, change) = (grant.clone(), change.clone());
        self.write_with(move |c| {
            Box::pin(async move { permissions::set(c, &grant, &change).await })
        })
        .await
    }

    async fn delete_permission(
        &self,
        id: &str,
        change: &Change,
    ) -> StoreResult<Option<Permission>> {
        let (id, change) = (owned(id), change.clone());
        self.write_with(move |c| {
            Box::pin(async move { permissions::delete(c, &id, &change).await })
        })
        .await
    }

    async fn query_users(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<DirectoryUser>> {
        // One read transaction: the total and the page come from the same snapshot.
        let mut tx = self.inner.read.begin().await?;
        let page = user_search::query(&mut tx, query, offset, limit, None).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<DirectoryUser>> {
        // A point read on the caller's thread when a reader is free, as /verify's account read.
        if let Some(row) = self
            .inner
            .inline
            .try_read(|conn| users::get_inline(conn, id))
        {
            return row.map(users::Row::into_user).transpose();
        }
        users::get(&self.inner.read, id).await
    }

    async fn query_groups(
        &self,
        query: &str,
        offset: u64,
        limit: u64,
    ) -> StoreResult<Page<String>> {
        groups::query(&self.inner.read, query, offset, limit).await
    }

    async fn group_exists(&self, name: &str) -> StoreResult<bool> {
        groups::exists(&self.inner.read, name).await
    }

    async fn upsert_users(
        &self,
        users: &[DirectoryUser],
        change: &Change,
    ) -> StoreResult<ImportCounts> {
        users::validate(users)?;
        // Holding the pool's one writer connection queues this process's other writes behind the import, as its
        // own transaction would; the guard moves into the task, so it is released only when the import is over
        // (also when the caller stops waiting).
        let writer = self.inner.write.acquire().await?;
        let path = self.inner.path.clone();
        let users = users.to_vec();
        let change = change.clone();
        tokio::task::spawn_blocking(move || {
            let _writer = writer;
            let mut conn = users::open_writer(&path, BUSY_TIMEOUT, CACHE_KIB)?;
            users::upsert(&mut conn, &users, &change)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("the import task failed: {e}")))?
    }

    async fn create_account(
        &self,
        account: &ServiceAccount,
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> StoreResult<AccountRecord> {
        let (account, change) = (account.clone(), change.clone());
        self.inner
            .writer
            .run_sync(move |c| accounts::create(c, &account, issued_at, &change))
            .await
    }

    async fn get_account(&self, id: &str) -> StoreResult<Option<AccountRecord>> {
        let mut conn = self.inner.read.acquire().await?;
        accounts::get(&mut conn, id).await
    }

    async fn get_accounts(&self, ids: &[String]) -> StoreResult<Vec<AccountRecord>> {
        let mut conn = self.inner.read.acquire().await?;
        accounts::get_many(&mut conn, ids).await
    }

    async fn get_users(&self, ids: &[String]) -> StoreResult<Vec<DirectoryUser>> {
        users::get_many(&self.inner.read, ids).await
    }

    async fn get_account_for_verify(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<(Option<AccountRecord>, Vec<Namespace>)> {
        let (record, namespaces, _) = self.verify_read(id, with_namespaces).await?;
        Ok((record, namespaces))
    }

    async fn get_account_for_verify_versioned(
        &self,
        id: &str,
        with_namespaces: bool,
    ) -> StoreResult<(Option<AccountRecord>, Vec<Namespace>, i64)> {
        self.verify_read(id, with_namespaces).await
    }

    async fn get_account_for_verify_shared(
        &self,
        id: &str,
    ) -> StoreResult<(Option<Arc<AccountRecord>>, i64)> {
        // The kept record itself when nothing has committed since it was checked: no copy.
        if let Some((record, version)) = self.inner.verify_cache.unchanged(id) {
            return Ok((Some(record), version));
        }
        let (record, _, version) = self.verify_read(id, false).await?;
        Ok((record.map(Arc::new), version))
    }

    async fn list_accounts(&self, query: &AccountQuery) -> StoreResult<Page<ServiceAccount>> {
        accounts::list(&self.inner.read, query).await
    }

    async fn update_account(
        &self,
        id: &str,
        patch: &AccountPatch,
        reissue: Option<Reissue>,
        change: &Change,
    ) -> StoreResult<AccountRecord> {
        let (id, patch, change) = (owned(id), patch.clone(), change.clone());
        self.write_with(move |c| {
            Box::pin(async move { accounts::update(c, &id, &patch, reissue, &change).await })
        })
        .await
    }

    async fn delete_account(&self, id: &str, change: &Change) -> StoreResult<bool> {
        let (id, change) = (owned(id), change.clone());
        self.write_with(move |c| Box::pin(async move { accounts::delete(c, &id, &change).await }))
            .await
    }

    async fn touch_accessed(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        let id = owned(id);
        self.write_with(move |c| Box::pin(async move { accounts::touch(c, &id, at).await }))
            .await
    }

    async fn list_policies(&self) -> StoreResult<Vec<Policy>> {
        policies::list_pool(&self.inner.read).await
    }

    async fn get_policy(&self, id: &str) -> StoreResult<Option<Policy>> {
        let mut conn = self.inner.read.acquire().await?;
        policies::get(&mut conn, id).await
    }

    async fn routes_of_policy(&self, policy_id: &str) -> StoreResult<Vec<(String, String)>> {
        let mut conn = self.inner.read.acquire().await?;
        policies::routes_of(&mut conn, policy_id).await
    }

    async fn put_policy(&self, policy: &Policy, change: &Change) -> StoreResult<Policy> {
        let (policy, change) = (policy.clone(), change.clone());
        self.write_with(move |c| Box::pin(async move { policies::put(c, &policy, &change).await }))
            .await
    }

    async fn delete_policy(
        &self,
        id: &str,
        detach: bool,
        change: &Change,
    ) -> StoreResult<Option<Policy>> {
        let (id, change) = (owned(id), change.clone());
        self.write_with(move |c| {
            Box::pin(async move { policies::delete(c, &id, detach, &change).await })
        })
        .await
    }

    async fn list_routes(&self) -> StoreResult<Vec<Route>> {
        routes::list_pool(&self.inner.read).await
    }

    async fn get_route(&self, id: &str) -> StoreResult<Option<Route>> {
        let mut tx = self.inner.read.begin().await?;
        let r = routes::get(&mut tx, id).await?;
        tx.commit().await?;
        Ok(r)
    }

    async fn put_route(&self, route: &Route, change: &Change) -> StoreResult<Route> {
        let (route, change) = (route.clone(), change.clone());
        self.write_with(move |c| Box::pin(async move { routes::put(c, &route, &change).await }))
            .await
    }

    async fn delete_route(&self, id: &str, change: &Change) -> StoreResult<Option<Route>> {
        let (id, change) = (owned(id), change.clone());
        self.write_with(move |c| Box::pin(async move { routes::delete(c, &id, &change).await }))
            .await
    }

    async fn access_version(&self) -> StoreResult<i64> {
        // A point read on the caller's thread, as /verify's account read.
        if let Some(v) = self.inner.inline.try_read(|conn| {
            conn.prepare_cached("SELECT version FROM access_version WHERE id = 1")?
                .query_row([], |r| r.get::<_, i64>(0))
        }) {
            return Ok(v);
        }
        let mut conn = self.inner.read.acquire().await?;
        routes::version(&mut conn).await
    }

    async fn access_snapshot(&self) -> StoreResult<AccessSnapshot> {
        routes::snapshot(&self.inner.read).await
    }

    async fn list_audit(&self, limit: u64) -> StoreResult<Vec<AuditEntry>> {
        audit::list(&self.inner.read, limit, None).await
    }

    async fn list_audit_for(
        &self,
        target_kind: &str,
        target_id: &str,
        limit: u64,
    ) -> StoreResult<Vec<AuditEntry>> {
        audit::list(&self.inner.read, limit, Some((target_kind, target_id))).await
    }

    async fn list_activity(&self, query: &ActivityQuery) -> StoreResult<Page<AuditEntry>> {
        activity::list(&self.inner.read, query).await
    }

    async fn get_activity(&self, seq: i64) -> StoreResult<Option<AuditNeighbours>> {
        activity::get(&self.inner.read, seq).await
    }

    async fn list_activity_kinds(&self) -> StoreResult<Vec<String>> {
        activity::kinds(&self.inner.read).await
    }
}
