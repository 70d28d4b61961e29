//! Group commit: every write of the store queues here and runs on the one writer connection in a batch of up to
//! [`MAX_BATCH`] writes that share one `BEGIN IMMEDIATE` transaction and so one COMMIT (one fsync). Each write of a
//! batch of several runs in its own SAVEPOINT: one that fails is rolled back alone and gets its own error, the
//! others still commit. A caller is answered only once the shared COMMIT has succeeded; when it (or the batch's
//! transaction) fails, every write of the batch gets that error. Nothing waits for a batch to fill: a batch is
//! what is queued when the writer gets to it, so a lone write runs at once, in a transaction of its own and
//! without a savepoint. The batches run on a task of their own, so a caller that stops waiting neither cancels
//! its write nor anyone else's.
//!
//! A write is either asynchronous (sqlx statements, each a round trip to the connection's worker thread) or
//! synchronous (rusqlite calls on the same connection, [`Writer::run_sync`]). A batch of synchronous writes —
//! the hot ones, such as creating an account — takes the connection from its worker once and runs BEGIN, every
//! write, its savepoints and COMMIT as plain function calls: under load each round trip waits for a busy
//! runtime to schedule the batch again, which cost more than the statements themselves.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use sqlx::{SqliteConnection, SqlitePool};
use tokio::sync::oneshot;

mod sync_batch;

use sync_batch::run_job;

use super::checkpoint::Checkpointer;
use super::durable::Syncer;
use crate::store::{StoreError, StoreResult};

/// The most writes one transaction carries: enough to share an fsync among many clients, few enough that a
/// batch's transaction stays short.
pub const MAX_BATCH: usize = 64;

/// The store's writer: a queue of writes and whether a task is draining it.
pub(super) struct Writer {
    /// Exactly one connection, shared with the directory import, which holds it for its whole transaction.
    pool: SqlitePool,
    queue: Mutex<Queue>,
    /// Transactions the writer committed, and the writes they carried (failed ones included).
    commits: AtomicU64,
    committed_writes: AtomicU64,
    /// Told after every commit (`checkpoint`).
    checkpointer: Option<Arc<Checkpointer>>,
    /// Answers a committed batch once the WAL is synced (`durable`); without it, at once (the connection then
    /// syncs at each COMMIT itself).
    syncer: Option<Syncer>,
}

/// How much the writer has batched so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Transactions committed (each one fsync).
    pub commits: u64,
    /// Writes those transactions carried, each failed write included.
    pub writes: u64,
}

#[derive(Default)]
struct Queue {
    writes: VecDeque<Job>,
    draining: bool,
}

/// One queued write of either kind.
enum Job {
    Async(Box<dyn Write>),
    Sync(Box<dyn SyncWrite>),
}

impl Job {
    fn fail(self, error: StoreError) {
        match self {
            Job::Async(w) => w.fail(error),
            Job::Sync(w) => w.fail(error),
        }
    }
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

/// One queued write, its result type erased.
trait Write: Send {
    /// Runs the write on the batch's connection; what it leaves is delivered when the batch ends.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran>;
    /// Answers the caller with `error` without running the write.
    fn fail(self: Box<Self>, error: StoreError);
}

/// One queued synchronous write, its result type erased.
trait SyncWrite: Send {
    /// Runs the write on the batch's connection; what it leaves is delivered when the batch ends.
    fn run(self: Box<Self>, conn: &rusqlite::Connection) -> Ran;
    /// Answers the caller with `error` without running the write.
    fn fail(self: Box<Self>, error: StoreError);
}

/// A write that has run, waiting for its batch to end.
pub(super) struct Ran {
    /// The write itself failed: it is rolled back and answered with its own error whatever the batch does.
    failed: bool,
    /// Answers the caller: its own result, or `Some(error)` when the batch did not commit (or its commit did
    /// not reach the disk).
    pub(super) deliver: Box<dyn FnOnce(Option<StoreError>) + Send>,
}

struct Pending<T, F> {
    write: F,
    reply: oneshot::Sender<StoreResult<T>>,
}

impl Ran {
    /// What a write that ended with `result` delivers to `reply` once its batch has ended.
    fn of<T: Send + 'static>(
        result: StoreResult<T>,
        reply: oneshot::Sender<StoreResult<T>>,
    ) -> Ran {
        Ran {
            failed: result.is_err(),
            deliver: Box::new(move |batch: Option<StoreError>| {
                let answer = match (result, batch) {
                    (Err(own), _) => Err(own),
                    (Ok(_), Some(batch)) => Err(batch),
                    (Ok(v), None) => Ok(v),
                };
                // The caller may have stopped waiting; the write stands either way.
                let _ = reply.send(answer);
            }),
        }
    }
}

impl<T, F> Write for Pending<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Ran> {
        let Pending { write, reply } = *self;
        Box::pin(async move { Ran::of(write(conn).await, reply) })
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

impl<T, F> SyncWrite for Pending<T, F>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &rusqlite::Connection) -> Ran {
        let Pending { write, reply } = *self;
        Ran::of(write(conn), reply)
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

impl Writer {
    pub(super) fn new(
        pool: SqlitePool,
        checkpointer: Option<Arc<Checkpointer>>,
        syncer: Option<Syncer>,
    ) -> Writer {
        Writer {
            pool,
            queue: Mutex::default(),
            commits: AtomicU64::new(0),
            committed_writes: AtomicU64::new(0),
            checkpointer,
            syncer,
        }
    }

    pub(super) fn stats(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Relaxed),
            writes: self.committed_writes.load(Ordering::Relaxed),
        }
    }

    /// Answers the writes of a batch: with `outcome` when it did not commit, else once the WAL is synced.
    fn finish(&self, done: Vec<Ran>, outcome: Option<StoreError>) {
        if done.is_empty() {
            return;
        }
        match (outcome, &self.syncer) {
            (None, Some(syncer)) => syncer.deliver(done),
            (outcome, _) => {
                for ran in done {
                    (ran.deliver)(outcome.clone());
                }
            }
        }
    }

    /// Stops the sync thread once it has answered what it holds (the store is closing).
    pub(super) fn close(&self) {
        if let Some(syncer) = &self.syncer {
            syncer.close();
        }
    }

    /// Counts a committed transaction of `writes` writes.
    fn committed(&self, writes: usize) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.committed_writes
            .fetch_add(writes as u64, Ordering::Relaxed);
        if let Some(c) = &self.checkpointer {
            c.committed();
        }
    }

    /// Queues `write` and waits until its batch has committed (or failed). `write` runs inside the batch's
    /// transaction and must not commit or roll back itself.
    pub(super) async fn run<T, F>(self: &Arc<Self>, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Async(Box::new(Pending { write, reply })));
        Self::answer(answer).await
    }

    /// [`Writer::run`] for a write made of plain rusqlite calls on the writer connection (inside the batch's
    /// transaction, which it must not end). It runs on a runtime thread that has handed its other work on.
    pub(super) async fn run_sync<T, F>(self: &Arc<Self>, write: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Job::Sync(Box::new(Pending { write, reply })));
        Self::answer(answer).await
    }

    fn enqueue(self: &Arc<Self>, job: Job) {
        let start = {
            let mut q = self.lock();
            q.writes.push_back(job);
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            tokio::spawn(self.clone().drain());
        }
    }

    async fn answer<T>(answer: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Internal(
                "the write was abandoned: the store's writer stopped (is the runtime shutting down?)".into(),
            ))
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs batches until the queue is empty.
    async fn drain(self: Arc<Self>) {
        let mut guard = Draining {
            writer: &self,
            finished: false,
        };
        loop {
            if self.checkpointer.as_ref().is_some_and(|c| c.restart_due()) {
                self.restart_wal().await;
            }
            let batch: Vec<Job> = {
                let mut q = self.lock();
                if q.writes.is_empty() {
                    q.draining = false;
                    guard.finished = true;
                    return;
                }
                let n = q.writes.len().min(MAX_BATCH);
                q.writes.drain(..n).collect()
            };
            if batch.iter().all(|j| matches!(j, Job::Sync(_))) {
                self.commit_sync(batch).await;
            } else {
                self.commit(batch).await;
            }
        }
    }

    /// One transaction for the batch; every write answered once it has ended.
    async fn commit(&self, batch: Vec<Job>) {
        let mut conn = match self.begin().await {
            Ok(conn) => conn,
            Err(e) => return sync_batch::fail_all(batch, e),
        };
        if batch.len() == 1 {
            // Alone: the transaction is the write's own, as if there were no batching.
            let Some(write) = batch.into_iter().next() else {
                return;
            };
            let ran = run_job(write, conn.connection()).await;
            let outcome = if ran.failed {
                // Its own error is its answer.
                conn.rollback().await;
                None
            } else {
                conn.commit(self, 1).await
            };
            self.finish(vec![ran], outcome);
            return;
        }
        let mut done: Vec<Ran> = Vec::with_capacity(batch.len());
        let mut writes = batch.into_iter().peekable();
        let mut broken = None;
        // Between two writes, ending one savepoint and starting the next is one round trip to the connection's
        // thread; after the last, COMMIT releases what is left. A write whose failure made SQLite roll back the
        // whole transaction (a full disk, an I/O error) leaves no savepoint to go back to: that statement fails,
        // and then nothing of the batch stands.
        let mut step = "SAVEPOINT one_write";
        while let Some(write) = writes.next() {
            if let Err(e) = sqlx::raw_sql(step).execute(conn.connection()).await {
                let e = StoreError::from(e);
                write.fail(e.clone());
                broken = Some(e);
                break;
            }
            let ran = run_job(write, conn.connection()).await;
            let last = writes.peek().is_none();
            step = match (ran.failed, last) {
                (false, false) => "RELEASE one_write; SAVEPOINT one_write",
                (true, false) => "ROLLBACK TO one_write; RELEASE one_write; SAVEPOINT one_write",
                (true, true) => "ROLLBACK TO one_write",
                (false, true) => "",
            };
            done.push(ran);
            if last
                && !step.is_empty()
                && let Err(e) = sqlx::raw_sql(step).execute(conn.connection()).await
            {
                broken = Some(StoreError::from(e));
            }
        }
        let outcome = match broken {
            Some(e) => {
                for w in writes {
                    w.fail(e.clone());
                }
                conn.rollback().await;
                Some(e)
            }
            None => conn.commit(self, done.len()).await,
        };
        self.finish(done, outcome);
    }

    /// The writer connection in a new `BEGIN IMMEDIATE` transaction. The transaction is driven by plain
    /// statements rather than sqlx's `Transaction`, whose idea of the nesting depth no longer matches SQLite's
    /// once SQLite has rolled a transaction back by itself, which would leave the connection unable to begin
    /// another.
    async fn begin(&self) -> StoreResult<Open> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(Open { conn, ended: false })
    }
}

/// The writer connection inside a batch's transaction. Dropped before the transaction ended (the drain task
/// cancelled or panicking), it closes the connection, which rolls the transaction back, instead of returning it
/// to the pool mid-transaction.
struct Open {
    conn: sqlx::pool::PoolConnection<sqlx::Sqlite>,
    ended: bool,
}

impl Open {
    fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Commits; `None` when that worked. A failed COMMIT may leave the transaction open (a deferred constraint):
    /// it is rolled back.
    async fn commit(mut self, writer: &Writer, writes: usize) -> Option<StoreError> {
        match sqlx::raw_sql("COMMIT").execute(&mut *self.conn).await {
            Ok(_) => {
                self.ended = true;
                writer.committed(writes);
                None
            }
            Err(e) => {
                self.rollback().await;
                Some(StoreError::from(e))
            }
        }
    }

    /// Rolls back whatever is left of the transaction (nothing, when SQLite already did).
    async fn rollback(mut self) {
        // Fails when SQLite already rolled back; what matters is that no transaction is left, or else the
        // connection is not trusted again.
        let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *self.conn).await;
        self.ended = !in_transaction(&mut self.conn).await;
    }
}

/// Whether the connection is inside a transaction: `BEGIN` fails there.
async fn in_transaction(conn: &mut SqliteConnection) -> bool {
    match conn.lock_handle().await {
        // SAFETY: the handle is locked for the duration of the call; `sqlite3_get_autocommit` only reads it.
        Ok(mut handle) => unsafe {
            rusqlite::ffi::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) == 0
        },
        Err(_) => true,
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if !self.ended {
            self.conn.close_on_drop();
        }
    }
}

/// Hands the queue back when a drain ends, also when it ends early (a panic, or the runtime dropping the task):
/// then the writes still queued are dropped, which answers their callers with an error instead of a hang.
struct Draining<'a> {
    writer: &'a Writer,
    finished: bool,
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let orphans = {
            let mut q = self.writer.lock();
            q.draining = false;
            std::mem::take(&mut q.writes)
        };
        drop(orphans);
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

    use super::*;

    async fn writer() -> (tempfile::TempDir, Arc<Writer>) {
        writer_with(None).await
    }

    async fn writer_with(syncer: Option<Syncer>) -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("w.db"))
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY); INSERT INTO parent VALUES (1); \
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER \
                 REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .execute(&pool)
        .await
        .unwrap();
        (dir, Arc::new(Writer::new(pool, None, syncer)))
    }

    /// Queues an insert of `child (id, parent)`, failing with the statement's error.
    fn insert(w: &Arc<Writer>, id: i64, parent: i64) -> tokio::task::JoinHandle<StoreResult<()>> {
        let w = w.clone();
        tokio::spawn(async move {
            w.run(move |c| {
                Box::pin(async move {
                    sqlx::query("INSERT INTO child (id, parent) VALUES (?, ?)")
                        .bind(id)
                        .bind(parent)
                        .execute(c)
                        .await?;
                    Ok(())
                })
            })
            .await
        })
    }

    /// [`insert`] as a synchronous write (rusqlite on the writer's handle).
    fn insert_sync(
        w: &Arc<Writer>,
        id: i64,
        parent: i64,
    ) -> tokio::task::JoinHandle<StoreResult<()>> {
        let w = w.clone();
        tokio::spawn(async move {
            w.run_sync(move |c| {
                c.execute(
                    "INSERT INTO child (id, parent) VALUES (?, ?)",
                    rusqlite::params![id, parent],
                )?;
                Ok(())
            })
            .await
        })
    }

    /// A committed write is answered only after the WAL sync that follows its COMMIT has returned, and with
    /// that sync's error when it fails (the row is committed, and the answer says it may not be durable).
    #[tokio::test]
    async fn a_write_is_answered_only_after_its_wal_sync() {
        let (entered_tx, entered) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let (entered_tx, released) = (Mutex::new(entered_tx), Mutex::new(released));
        let syncer = Syncer::start(Arc::new(move || {
            entered_tx.lock().unwrap().send(()).unwrap();
            released.lock().unwrap().recv().unwrap()
        }))
        .unwrap();
        let (_dir, w) = writer_with(Some(syncer)).await;
        let entered = Arc::new(Mutex::new(entered));
        let sync_started = || {
            let entered = entered.clone();
            tokio::task::spawn_blocking(move || entered.lock().unwrap().recv().unwrap())
        };

        let first = insert_sync(&w, 1, 1);
        sync_started().await.unwrap();
        assert!(!first.is_finished(), "answered before its sync returned");
        release.send(Ok(())).unwrap();
        assert_eq!(first.await.unwrap(), Ok(()));

        let second = insert(&w, 2, 1);
        sync_started().await.unwrap();
        release
            .send(Err(std::io::Error::other("disk gone")))
            .unwrap();
        let answer = second.await.unwrap();
        assert!(
            matches!(&answer, Err(StoreError::Internal(m))
                if m.contains("syncing the database's WAL failed: disk gone")),
            "{answer:?}"
        );
        assert_eq!(
            children(&w).await,
            [1, 2],
            "committed, though not known durable"
        );
    }

    /// Synchronous writes queued together share one transaction, each in its own savepoint: the one that fails
    /// is rolled back alone with its own error, the others commit.
    #[tokio::test]
    async fn synchronous_writes_share_a_commit_and_fail_alone() {
        let (_dir, w) = writer().await;
        let writes = [
            insert_sync(&w, 1, 1),
            insert_sync(&w, 1, 1),
            insert_sync(&w, 2, 1),
        ];
        let mut results = Vec::new();
        for h in writes {
            results.push(h.await.unwrap());
        }
        assert_eq!(results[0], Ok(()));
        assert!(
            matches!(&results[1], Err(StoreError::Internal(m)) if m.contains("UNIQUE")),
            "{:?}",
            results[1]
        );
        assert_eq!(results[2], Ok(()));
        assert_eq!(children(&w).await, [1, 2]);
        assert_eq!(
            w.stats(),
            WriterStats {
                commits: 1,
                writes: 3
            }
        );
    }

    async fn children(w: &Writer) -> Vec<i64> {
        sqlx::query_scalar("SELECT id FROM child ORDER BY id")
            .fetch_all(&w.pool)
            .await
            .unwrap()
    }

    /// A deferred foreign key is checked at COMMIT: the batch's COMMIT fails, so none of its writes stands and
    /// every one gets the error, the valid one included — in a batch of either kind of write. The connection is
    /// usable again afterwards, by both kinds.
    #[tokio::test]
    async fn a_failed_commit_fails_every_write_of_the_batch() {
        type Insert = fn(&Arc<Writer>, i64, i64) -> tokio::task::JoinHandle<StoreResult<()>>;
        for (kind, insert_one) in [("async", insert as Insert), ("sync", insert_sync as Insert)] {
            let (_dir, w) = writer().await;
            let (ok, bad) = (insert_one(&w, 1, 1), insert_one(&w, 2, 99));
            let (ok, bad) = (ok.await.unwrap(), bad.await.unwrap());
            assert!(
                matches!(&ok, Err(StoreError::Internal(m)) if m.contains("FOREIGN KEY")),
                "{kind}: {ok:?}"
            );
            assert_eq!(ok, bad, "{kind}");
            assert!(children(&w).await.is_empty(), "{kind}");
            assert_eq!(w.stats(), WriterStats::default(), "{kind}");
            let (a, b) = (insert_sync(&w, 3, 1), insert(&w, 4, 1));
            assert_eq!(
                (a.await.unwrap(), b.await.unwrap()),
                (Ok(()), Ok(())),
                "{kind}"
            );
            assert_eq!(children(&w).await, [3, 4], "{kind}");
        }
    }

    /// A write that takes the whole transaction down with it (here by rolling it back itself, as SQLite does on a
    /// full disk) leaves no savepoint: the writes before it are lost and answered with the error, the ones after
    /// it are not run.
    #[tokio::test]
    async fn a_write_that_ends_the_transaction_fails_the_batch() {
        let (_dir, w) = writer().await;
        let before = insert(&w, 1, 1);
        let rogue = {
            let w = w.clone();
            tokio::spawn(async move {
                w.run(|c| {
                    Box::pin(async move {
                        sqlx::raw_sql("ROLLBACK").execute(&mut *c).await?;
                        Err::<(), _>(StoreError::Internal("disk full".into()))
                    })
                })
                .await
            })
        };
        let after = insert(&w, 2, 1);
        assert_eq!(
            rogue.await.unwrap(),
            Err(StoreError::Internal("disk full".into()))
        );
        let (before, after) = (before.await.unwrap(), after.await.unwrap());
        assert!(before.is_err(), "{before:?}");
        assert!(after.is_err(), "{after:?}");
        assert!(children(&w).await.is_empty());
        insert(&w, 3, 1).await.unwrap().unwrap();
        assert_eq!(children(&w).await, [3]);
    }

    /// When the checkpoint thread asks, the writer starts the WAL over before its next batch, so that batch
    /// commits at the WAL's start; every write before and after stands.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_restarts_the_wal_when_the_checkpoint_thread_asks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .pragma("wal_autocheckpoint", "0"),
            )
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE t (x BLOB)")
            .execute(&pool)
            .await
            .unwrap();
        let checkpointer = Arc::new(Checkpointer::start_with(&path, 100).unwrap());
        let w = Arc::new(Writer::new(pool, Some(checkpointer.clone()), None));
        // About 1,000 frames, past the bound of 100.
        w.run_sync(|c| {
            c.execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) \
                 INSERT INTO t SELECT randomblob(4000) FROM n",
            )?;
            Ok(())
        })
        .await
        .unwrap();
        // The round that commit started has run (closing waits for it) and asked for a restart.
        checkpointer.close();
        w.run_sync(|c| {
            c.execute("INSERT INTO t VALUES (x'00')", [])?;
            Ok(())
        })
        .await
        .unwrap();
        let reader = rusqlite::Connection::open(&path).unwrap();
        let (log, rows): (i64, i64) = (
            reader
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
                .unwrap(),
            reader
                .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                .unwrap(),
        );
        assert!(log < 10, "the WAL holds {log} frames after the restart");
        assert_eq!(rows, 1001);
        assert!(!checkpointer.restart_due(), "the writer took the request");
    }

    /// Alone in its batch, a write runs without a savepoint; its failure is its own and changes nothing.
    #[tokio::test]
    async fn a_lone_write_commits_or_fails_by_itself() {
        let (_dir, w) = writer().await;
        insert(&w, 1, 1).await.unwrap().unwrap();
        let dup = insert(&w, 1, 1).await.unwrap();
        assert!(
            matches!(&dup, Err(StoreError::Internal(m)) if m.contains("UNIQUE")),
            "{dup:?}"
        );
        assert_eq!(children(&w).await, [1]);
        assert_eq!(
            w.stats(),
            WriterStats {
                commits: 1,
                writes: 1
            }
        );
    }
}
