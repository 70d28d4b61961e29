//! The writer's synchronous writes: a batch of them run as plain rusqlite calls on the writer connection's
//! handle, taken from sqlx's worker once for the whole transaction (BEGIN, each write in its savepoint, COMMIT),
//! and a lone synchronous write inside an asynchronous batch, taken for that write alone.

use sqlx::SqliteConnection;

use super::{Job, Ran, SyncWrite, Writer};
use crate::store::StoreError;
use crate::store::sqlite::checkpoint;

impl Writer {
    /// A batch of synchronous writes: the connection taken from its worker once, the whole transaction run as
    /// plain calls on it.
    pub(super) async fn commit_sync(&self, batch: Vec<Job>) {
        let mut conn = match self.pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => return fail_all(batch, e.into()),
        };
        let (done, outcome, left_open) = {
            let mut handle = match conn.lock_handle().await {
                Ok(handle) => handle,
                Err(e) => return fail_all(batch, e.into()),
            };
            let raw = handle.as_raw_handle().as_ptr();
            blocking(|| {
                // SAFETY: the handle stays locked, so sqlx does not use it, until after this wrapper (and the
                // statements it prepared) is dropped at the end of this closure; rusqlite never closes a handle
                // it did not open.
                match unsafe { rusqlite::Connection::from_handle(raw) } {
                    Ok(db) => self.transaction(&db, batch),
                    Err(e) => {
                        fail_all(batch, e.into());
                        (Vec::new(), None, false)
                    }
                }
            })
        };
        if left_open {
            // Not trusted again: closing it rolls back what is left.
            conn.close_on_drop();
        }
        self.finish(done, outcome);
    }

    /// Between two batches, when the checkpoint thread asks for it: starts the WAL over on this connection
    /// ([`checkpoint::restart`]). A failure is logged; the thread asks again later.
    pub(super) async fn restart_wal(&self) {
        let restarted = async {
            let mut conn = self.pool.acquire().await?;
            let mut handle = conn.lock_handle().await?;
            let raw = handle.as_raw_handle().as_ptr();
            blocking(|| {
                // SAFETY: as in `commit_sync`: the handle stays locked until this wrapper is dropped.
                let db = unsafe { rusqlite::Connection::from_handle(raw) }?;
                checkpoint::restart(&db)
            })
            .map_err(StoreError::from)
        };
        match restarted.await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("the WAL restart waited too long for readers; retried later")
            }
            Err(e) => tracing::warn!(error = %e, "cannot restart the WAL"),
        }
    }

    /// BEGIN IMMEDIATE, every write (in its own savepoint when there are several), COMMIT. Returns the writes
    /// that ran, the batch's error if it did not commit, and whether a transaction is still open (a bug or a
    /// failing ROLLBACK: the connection is then closed).
    fn transaction(
        &self,
        db: &rusqlite::Connection,
        batch: Vec<Job>,
    ) -> (Vec<Ran>, Option<StoreError>, bool) {
        if let Err(e) = db.execute_batch("BEGIN IMMEDIATE") {
            fail_all(batch, e.into());
            return (Vec::new(), None, !db.is_autocommit());
        }
        let alone = batch.len() == 1;
        let mut done: Vec<Ran> = Vec::with_capacity(batch.len());
        let mut broken = None;
        let mut writes = batch.into_iter();
        for job in writes.by_ref() {
            let Job::Sync(write) = job else {
                job.fail(StoreError::Internal(
                    "an asynchronous write in a synchronous batch".into(),
                ));
                continue;
            };
            if !alone && let Err(e) = db.execute_batch("SAVEPOINT one_write") {
                // A write before took the whole transaction down (a full disk, an I/O error).
                let e = StoreError::from(e);
                write.fail(e.clone());
                broken = Some(e);
                break;
            }
            let ran = write.run(db);
            let failed = ran.failed;
            done.push(ran);
            if alone {
                continue;
            }
            let step = if failed {
                "ROLLBACK TO one_write; RELEASE one_write"
            } else {
                "RELEASE one_write"
            };
            if let Err(e) = db.execute_batch(step) {
                broken = Some(StoreError::from(e));
                break;
            }
        }
        let outcome = match broken {
            Some(e) => {
                for w in writes {
                    w.fail(e.clone());
                }
                let _ = db.execute_batch("ROLLBACK");
                Some(e)
            }
            // Alone and failed: its own error is its answer.
            None if alone && done.first().is_some_and(|r| r.failed) => {
                let _ = db.execute_batch("ROLLBACK");
                None
            }
            None => match db.execute_batch("COMMIT") {
                Ok(()) => {
                    self.committed(done.len());
                    None
                }
                Err(e) => {
                    // A failed COMMIT may leave the transaction open (a deferred constraint).
                    let _ = db.execute_batch("ROLLBACK");
                    Some(StoreError::from(e))
                }
            },
        };
        (done, outcome, !db.is_autocommit())
    }
}

/// Runs a write of either kind inside the async batch's transaction: a synchronous one on the connection's handle,
/// taken from its worker for the write.
pub(super) async fn run_job(job: Job, conn: &mut SqliteConnection) -> Ran {
    let write = match job {
        Job::Async(write) => return write.run(conn).await,
        Job::Sync(write) => write,
    };
    let mut handle = match conn.lock_handle().await {
        Ok(handle) => handle,
        Err(e) => return failed(write, StoreError::from(e)),
    };
    let raw = handle.as_raw_handle().as_ptr();
    blocking(|| {
        // SAFETY: as in `commit_sync`: the handle is locked while the wrapper lives, and never closed by it.
        match unsafe { rusqlite::Connection::from_handle(raw) } {
            Ok(db) => write.run(&db),
            Err(e) => failed(write, StoreError::from(e)),
        }
    })
}

/// Answers every write of `batch` with `error`: none of them ran.
pub(super) fn fail_all(batch: Vec<Job>, error: StoreError) {
    for w in batch {
        w.fail(error.clone());
    }
}

/// A synchronous write that could not run: answered with `error` at once, counted as failed in its batch.
fn failed(write: Box<dyn SyncWrite>, error: StoreError) -> Ran {
    write.fail(error);
    Ran {
        failed: true,
        deliver: Box::new(|_| {}),
    }
}

/// Runs `f`, which blocks, on this thread; on a multi-thread runtime the thread first hands its other tasks on.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
