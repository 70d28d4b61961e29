//! How a PostgreSQL statement's failure becomes a store error: a unique violation (SQLSTATE 23505) is
//! `AlreadyExists`, a serialization failure or deadlock is retried and then `Unavailable`, as are a pool with no
//! free connection and a server going away; a foreign-key violation is a precondition that no longer holds. A
//! store module's own refusals pass through as they are.

use std::time::Duration;

use crate::store::StoreError;

/// What a step of a store operation can fail with.
#[derive(Debug)]
pub(super) enum Failure {
    /// The store's own answer (not found, invalid, …).
    Store(StoreError),
    Db(sqlx::Error),
    /// A concurrent writer changed what the transaction read; running it again from the start will see it.
    Retry,
}

pub(super) type PgResult<T> = Result<T, Failure>;

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// SQLSTATEs worth running the transaction again for: serialization_failure and deadlock_detected.
const RETRYABLE: [&str; 2] = ["40001", "40P01"];
pub(super) const UNIQUE_VIOLATION: &str = "23505";
pub(super) const FOREIGN_KEY_VIOLATION: &str = "23503";

impl Failure {
    /// The SQLSTATE of a database error.
    pub(super) fn code(&self) -> Option<String> {
        match self {
            Failure::Db(sqlx::Error::Database(d)) => d.code().map(|c| c.into_owned()),
            _ => None,
        }
    }

    pub(super) fn retryable(&self) -> bool {
        matches!(self, Failure::Retry) || self.code().is_some_and(|c| RETRYABLE.contains(&&*c))
    }

    pub(super) fn into_store(self) -> StoreError {
        match self {
            Failure::Store(e) => e,
            Failure::Retry => {
                StoreError::Unavailable("the change conflicted with concurrent ones; retry".into())
            }
            Failure::Db(e) => db_error(e),
        }
    }
}

fn db_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("the database has no free connection; retry".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the store is closed".into()),
        sqlx::Error::Io(_) => StoreError::Unavailable(format!("the database is unreachable: {e}")),
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                UNIQUE_VIOLATION => StoreError::AlreadyExists(d.message().to_string()),
                FOREIGN_KEY_VIOLATION => StoreError::FailedPrecondition(d.message().to_string()),
                c if RETRYABLE.contains(&c) => StoreError::Unavailable(
                    "the change conflicted with concurrent ones; retry".into(),
                ),
                // Our triggers' RAISE: a write the schema refuses (the store checks first, so only other
                // writers meet these).
                "P0001" => StoreError::FailedPrecondition(d.message().to_string()),
                // Query canceled, server shutting down or in recovery, too many connections, connection
                // failures: the same request succeeds once the server is back.
                c if c.starts_with("08") || c.starts_with("57") || c == "53300" || c == "25006" => {
                    StoreError::Unavailable(format!("the database is unavailable: {e}"))
                }
                _ => StoreError::Internal(e.to_string()),
            }
        }
        _ => StoreError::Internal(e.to_string()),
    }
}

/// A short, growing pause before running a transaction again, so the writers that collided do not collide
/// again in step.
pub(super) async fn backoff(attempt: u32) {
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8);
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 5 + jitter)).await;
}
