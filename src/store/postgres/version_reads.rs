//! Concurrent reads of the access version share a round trip, and none is answered from before it asked: a
//! caller waits for the next read to start (one at a time per store, each in a task of its own), so the snapshot
//! that answers it was taken after it arrived, and sees every change committed before that, on any replica, as a
//! read of its own would. Under load, one read answers every caller that arrived while the previous one ran.

use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::oneshot;

use super::failure::Failure;
use super::routes;
use crate::store::{StoreError, StoreResult};

type Waiter = oneshot::Sender<StoreResult<i64>>;

#[derive(Default)]
struct State {
    /// Whether a reader task runs (it takes `waiting` before each read).
    reading: bool,
    /// Callers that arrived after the read in flight started.
    waiting: Vec<Waiter>,
}

#[derive(Clone, Default)]
pub(super) struct VersionReads(Arc<Mutex<State>>);

impl std::fmt::Debug for VersionReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionReads").finish_non_exhaustive()
    }
}

impl VersionReads {
    /// The access version, read after this call began.
    pub(super) async fn read(&self, pool: &PgPool) -> StoreResult<i64> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut state = self.lock();
            state.waiting.push(tx);
            !std::mem::replace(&mut state.reading, true)
        };
        if start {
            let (reads, pool) = (self.clone(), pool.clone());
            tokio::spawn(async move { reads.read_while_waited_for(&pool).await });
        }
        rx.await
            .unwrap_or_else(|_| Err(StoreError::Unavailable("the store is shutting down".into())))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads for everyone waiting when the read starts, until nobody is.
    async fn read_while_waited_for(&self, pool: &PgPool) {
        let mut stopped = Stopped(Some(self.clone()));
        loop {
            let waiting = {
                let mut state = self.lock();
                if state.waiting.is_empty() {
                    state.reading = false;
                    stopped.0 = None;
                    return;
                }
                std::mem::take(&mut state.waiting)
            };
            let version = read(pool).await;
            for w in waiting {
                let _ = w.send(version.clone());
            }
        }
    }
}

/// Lets the next caller start a reader when this one is dropped before it is done (its runtime shut down).
struct Stopped(Option<VersionReads>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(reads) = self.0.take() {
            reads.lock().reading = false;
        }
    }
}

async fn read(pool: &PgPool) -> StoreResult<i64> {
    let result: Result<i64, Failure> = async {
        let mut conn = pool.acquire().await?;
        routes::version(&mut conn).await
    }
    .await;
    result.map_err(Failure::into_store)
}
