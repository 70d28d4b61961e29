//! Concurrent reads that must see every change committed before they were asked share round trips: `/verify`'s
//! account reads and the access version. A caller waits for the next read to start (one at a time per store, in a
//! task of its own), so the snapshot that answers it was taken after it arrived and holds every change committed
//! before then, on any replica (a delete or a rotation too), as a read of its own would. Under load, one
//! statement answers every caller that arrived while the previous one ran.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use tokio::sync::oneshot;

use super::failure::Failure;
use super::{accounts, routes};
use crate::store::{AccountRecord, StoreError, StoreResult};

/// Accounts one statement reads at most; callers past that wait for the next one.
const MAX_ACCOUNTS: usize = 512;

/// `/verify`'s read: the account, and the access version of the same snapshot (0 when there is no account).
pub(super) type VerifyRead = (Option<Arc<AccountRecord>>, i64);

enum Waiter {
    Version(oneshot::Sender<StoreResult<i64>>),
    Account(String, oneshot::Sender<StoreResult<VerifyRead>>),
}

#[derive(Default)]
struct State {
    /// Whether a reader task runs (it takes `waiting` before each read).
    reading: bool,
    /// Callers that arrived after the read in flight started.
    waiting: Vec<Waiter>,
}

#[derive(Clone, Default)]
pub(super) struct SharedReads(Arc<Mutex<State>>);

impl std::fmt::Debug for SharedReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedReads").finish_non_exhaustive()
    }
}

fn shutting_down() -> StoreError {
    StoreError::Unavailable("the store is shutting down".into())
}

impl SharedReads {
    /// The access version, read after this call began.
    pub(super) async fn version(&self, pool: &PgPool) -> StoreResult<i64> {
        let (tx, rx) = oneshot::channel();
        self.wait(pool, Waiter::Version(tx));
        rx.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    /// The account `id` and the access version, read after this call began.
    pub(super) async fn account(&self, pool: &PgPool, id: &str) -> StoreResult<VerifyRead> {
        let (tx, rx) = oneshot::channel();
        self.wait(pool, Waiter::Account(id.to_string(), tx));
        rx.await.unwrap_or_else(|_| Err(shutting_down()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `waiter` for the next read, starting the reader when none runs.
    fn wait(&self, pool: &PgPool, waiter: Waiter) {
        let start = {
            let mut state = self.lock();
            state.waiting.push(waiter);
            !std::mem::replace(&mut state.reading, true)
        };
        if start {
            let (reads, pool) = (self.clone(), pool.clone());
            tokio::spawn(async move { reads.read_while_waited_for(&pool).await });
        }
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
                take(&mut state.waiting)
            };
            answer(pool, waiting).await;
        }
    }
}

/// The waiters one read answers: every version reader, and accounts up to [`MAX_ACCOUNTS`] distinct ids.
fn take(waiting: &mut Vec<Waiter>) -> Vec<Waiter> {
    let mut ids = std::collections::HashSet::new();
    let (taken, left): (Vec<Waiter>, Vec<Waiter>) =
        std::mem::take(waiting).into_iter().partition(|w| match w {
            Waiter::Version(_) => true,
            Waiter::Account(id, _) => {
                ids.contains(id.as_str()) || ids.len() < MAX_ACCOUNTS && ids.insert(id.clone())
            }
        });
    *waiting = left;
    taken
}

/// Lets the next caller start a reader when this one is dropped before it is done (its runtime shut down).
struct Stopped(Option<SharedReads>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(reads) = self.0.take() {
            reads.lock().reading = false;
        }
    }
}

/// One read for `waiting`: the accounts asked for in one statement (which carries the version too), and the
/// version alone when nobody asked for an account or none was found.
async fn answer(pool: &PgPool, waiting: Vec<Waiter>) {
    let mut versions = Vec::new();
    let mut accounts: Vec<(String, oneshot::Sender<StoreResult<VerifyRead>>)> = Vec::new();
    for w in waiting {
        match w {
            Waiter::Version(tx) => versions.push(tx),
            Waiter::Account(id, tx) => accounts.push((id, tx)),
        }
    }
    let mut version = None;
    if !accounts.is_empty() {
        let mut ids: Vec<&str> = accounts.iter().map(|(id, _)| id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        match read_accounts(pool, &ids).await {
            Ok(found) => {
                version = found.values().next().map(|(_, v)| *v);
                for (id, tx) in accounts {
                    let read = match found.get(&id) {
                        Some((record, v)) => (Some(record.clone()), *v),
                        None => (None, 0),
                    };
                    let _ = tx.send(Ok(read));
                }
            }
            Err(e) => {
                for (_, tx) in accounts {
                    let _ = tx.send(Err(e.clone()));
                }
            }
        }
    }
    if versions.is_empty() {
        return;
    }
    let version = match version {
        Some(v) => Ok(v),
        None => read_version(pool).await,
    };
    for tx in versions {
        let _ = tx.send(version.clone());
    }
}

type Found = HashMap<String, (Arc<AccountRecord>, i64)>;

async fn read_accounts(pool: &PgPool, ids: &[&str]) -> StoreResult<Found> {
    let result: Result<_, Failure> = async {
        let mut conn = pool.acquire().await?;
        accounts::get_many_for_verify(&mut conn, ids).await
    }
    .await;
    Ok(result
        .map_err(Failure::into_store)?
        .into_iter()
        .map(|(record, v)| (record.account.id.clone(), (Arc::new(record), v)))
        .collect())
}

async fn read_version(pool: &PgPool) -> StoreResult<i64> {
    let result: Result<i64, Failure> = async {
        let mut conn = pool.acquire().await?;
        routes::version(&mut conn).await
    }
    .await;
    result.map_err(Failure::into_store)
}
