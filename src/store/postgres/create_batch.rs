//! Concurrent creates share one statement and one commit: a create joins a queue, and a committer (at most
//! [`COMMITTERS`] at once, each a task of its own, so a caller that stops waiting cancels nobody's create) takes
//! everything queued, up to [`MAX_BATCH`], and inserts those accounts with their audit rows in one statement
//! outside a transaction, so it commits with its answer. Each create is still all or nothing: an id taken (now
//! or within the batch) is answered `already_exists` alone. An id a deleted account had, and a batch that fails
//! as a whole (a namespace deleted meanwhile, a tombstone committed meanwhile, a lost connection), send their
//! creates back to run alone, in a transaction of their own (`accounts::create`), which gives each its own answer.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::audit;
use super::failure::PgResult;
use super::{PgStore, micros};
use crate::model::ServiceAccount;
use crate::store::rules::{account_exists, create_detail, created_record, sub_micro_nanos};
use crate::store::{AccountRecord, Change, StoreResult};

/// Batches in flight at once: while they commit, the next creates queue up and go together.
const COMMITTERS: usize = 4;
/// Creates in one statement at most.
const MAX_BATCH: usize = 64;

/// What a queued create hears back.
pub(super) enum Answer {
    Done(Box<StoreResult<AccountRecord>>),
    /// Run it alone, in a transaction of its own.
    Alone,
}

struct Pending {
    account: ServiceAccount,
    issued_at: DateTime<Utc>,
    change: Change,
    answer: oneshot::Sender<Answer>,
}

/// The queue of creates waiting for a committer.
#[derive(Clone)]
pub(super) struct CreateQueue {
    pending: Arc<Mutex<Vec<Pending>>>,
    committers: Arc<Semaphore>,
}

impl std::fmt::Debug for CreateQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateQueue").finish_non_exhaustive()
    }
}

impl CreateQueue {
    pub(super) fn new() -> CreateQueue {
        CreateQueue {
            pending: Arc::default(),
            committers: Arc::new(Semaphore::new(COMMITTERS)),
        }
    }

    /// Queues the create and waits for its batch.
    pub(super) async fn create(
        &self,
        store: &PgStore,
        account: &ServiceAccount,
        issued_at: DateTime<Utc>,
        change: &Change,
    ) -> Answer {
        let (answer, heard) = oneshot::channel();
        self.lock().push(Pending {
            account: account.clone(),
            issued_at,
            change: change.clone(),
            answer,
        });
        self.start_committer(store);
        // A committer never drops a create it took without answering it, unless its runtime shuts down.
        heard.await.unwrap_or(Answer::Alone)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a committer when one is free; a busy one takes the queue when it is done.
    fn start_committer(&self, store: &PgStore) {
        let Ok(permit) = self.committers.clone().try_acquire_owned() else {
            return;
        };
        let (queue, store) = (self.clone(), store.clone());
        tokio::spawn(async move { queue.commit_while_queued(&store, permit).await });
    }

    /// Takes batches until the queue is empty. The permit is given back before the last look, so a create
    /// queued meanwhile either sees it free or is taken here.
    async fn commit_while_queued(&self, store: &PgStore, mut permit: OwnedSemaphorePermit) {
        loop {
            let batch = self.take();
            if batch.is_empty() {
                drop(permit);
                if self.lock().is_empty() {
                    return;
                }
                match self.committers.clone().try_acquire_owned() {
                    Ok(again) => permit = again,
                    Err(_) => return,
                }
                continue;
            }
            let n = commit(&store.pool, batch).await;
            store.committed(n);
        }
    }

    /// Up to [`MAX_BATCH`] queued creates, oldest first, no id twice (a second create of an id waits for the
    /// next batch, which answers it `already_exists` or creates it after a failed first).
    fn take(&self) -> Vec<Pending> {
        let mut pending = self.lock();
        let mut ids = HashSet::new();
        let mut batch = Vec::new();
        let mut left = Vec::new();
        for p in pending.drain(..) {
            if batch.len() < MAX_BATCH && ids.insert(p.account.id.clone()) {
                batch.push(p);
            } else {
                left.push(p);
            }
        }
        *pending = left;
        batch
    }
}

/// The accounts of a batch (one row of arrays per column, in the batch's order), the audit row of each one
/// inserted, and per create whether it was inserted and whether a deleted account had its id.
static CREATE_BATCH_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH v AS (SELECT u.id COLLATE \"C\" AS id, u.namespace_id, u.originator_id, u.description, u.user_id, \
                    u.expires_at, u.expires_at_ns, u.at, u.accessed_at, u.issued_at, u.disabled, u.actor, \
                    u.detail, u.actor_account_id, u.ord \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], \
                         $8::int8[], $9::int8[], $10::int8[], $11::bool[], $12::text[], $13::text[], $14::text[]) \
                  WITH ORDINALITY AS u(id, namespace_id, originator_id, description, user_id, expires_at, \
                                       expires_at_ns, at, accessed_at, issued_at, disabled, actor, detail, \
                                       actor_account_id, ord)), \
         t AS (SELECT id FROM account_tombstones WHERE id IN (SELECT id FROM v)), \
         a AS (INSERT INTO service_accounts (id, namespace_id, originator_id, description, user_id, expires_at, \
                   expires_at_ns, created_at, modified_at, accessed_at, issued_at, grace_until, disabled) \
               SELECT id, namespace_id, originator_id, description, user_id, expires_at, expires_at_ns, at, at, \
                      accessed_at, issued_at, NULL, disabled \
               FROM v WHERE id NOT IN (SELECT id FROM t) ORDER BY ord \
               ON CONFLICT (id) DO NOTHING RETURNING id), \
         l AS (INSERT INTO audit_log {} \
               SELECT v.at, v.actor, 'create', 'service_account', v.id, v.detail, v.namespace_id, v.user_id, \
                      v.actor_account_id \
               FROM v JOIN a ON a.id = v.id ORDER BY v.ord) \
         SELECT v.id IN (SELECT id FROM a), v.id IN (SELECT id FROM t) FROM v ORDER BY v.ord",
        audit::INSERT_COLUMNS
    )
});

/// Runs one batch and answers each of its creates; returns how many it committed.
async fn commit(pool: &PgPool, batch: Vec<Pending>) -> u64 {
    match insert(pool, &batch).await {
        Ok(rows) if rows.len() == batch.len() => {
            let mut n = 0;
            for (p, (inserted, dead)) in batch.into_iter().zip(rows) {
                let answer = match (inserted, dead) {
                    (true, _) => {
                        n += 1;
                        Answer::Done(Box::new(created_record(
                            &p.account,
                            p.issued_at,
                            p.change.at,
                        )))
                    }
                    (false, true) => Answer::Alone,
                    (false, false) => Answer::Done(Box::new(Err(account_exists(&p.account.id)))),
                };
                let _ = p.answer.send(answer);
            }
            n
        }
        // Nothing of it was committed (or, with a row per create missing, nothing can be told apart).
        _ => {
            for p in batch {
                let _ = p.answer.send(Answer::Alone);
            }
            0
        }
    }
}

async fn insert(pool: &PgPool, batch: &[Pending]) -> PgResult<Vec<(bool, bool)>> {
    let col = |f: fn(&Pending) -> String| batch.iter().map(f).collect::<Vec<_>>();
    let int = |f: fn(&Pending) -> i64| batch.iter().map(f).collect::<Vec<_>>();
    let opt = |f: fn(&Pending) -> Option<i64>| batch.iter().map(f).collect::<Vec<_>>();
    Ok(
        sqlx::query_as(sqlx::AssertSqlSafe(CREATE_BATCH_SQL.as_str()))
            .bind(col(|p| p.account.id.clone()))
            .bind(col(|p| p.account.namespace_id.clone()))
            .bind(col(|p| p.account.originator_id.clone()))
            .bind(col(|p| p.account.description.clone()))
            .bind(col(|p| p.account.user_id.clone()))
            .bind(opt(|p| p.account.expires_at.map(micros)))
            .bind(int(|p| p.account.expires_at.map_or(0, sub_micro_nanos)))
            .bind(int(|p| micros(p.change.at)))
            .bind(opt(|p| p.account.accessed_at.map(micros)))
            .bind(int(|p| micros(p.issued_at)))
            .bind(batch.iter().map(|p| p.account.disabled).collect::<Vec<_>>())
            .bind(col(|p| p.change.actor.clone()))
            .bind(col(|p| create_detail(&p.account).to_string()))
            .bind(col(|p| p.change.account_id.clone()))
            .fetch_all(pool)
            .await?,
    )
}
