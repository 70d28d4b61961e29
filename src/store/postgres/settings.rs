//! What replicas of one database must agree on: the shared secret's fingerprint, recorded by the first replica
//! (or by `sacon migrate`) and checked by every later one, so a replica given another secret — whose tokens the
//! others would refuse, and which would refuse theirs — never starts.

use sqlx::PgConnection;

use super::PgStore;
use super::failure::{Failure, PgResult};
use crate::store::{StoreError, StoreResult};

const SECRET: &str = "secret_fingerprint";

impl PgStore {
    /// Records `fingerprint` when the database has none; refuses one that differs from the recorded.
    pub async fn check_secret(&self, fingerprint: &str) -> StoreResult<()> {
        let result: PgResult<()> = async {
            let mut conn = self.pool.acquire().await?;
            agree(&mut conn, fingerprint).await
        }
        .await;
        result.map_err(Failure::into_store)
    }
}

/// [`PgStore::check_secret`] on a connection (inside `sacon migrate`'s transaction too).
pub(super) async fn agree(conn: &mut PgConnection, fingerprint: &str) -> PgResult<()> {
    let recorded: String = sqlx::query_scalar(
        "WITH new AS (INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING \
                      RETURNING value) \
         SELECT value FROM new UNION ALL SELECT value FROM settings WHERE name = $1 LIMIT 1",
    )
    .bind(SECRET)
    .bind(fingerprint)
    .fetch_one(&mut *conn)
    .await?;
    if recorded != fingerprint {
        return Err(StoreError::FailedPrecondition(format!(
            "this database's tokens are signed with another shared secret (fingerprint {recorded}; this one's is \
             {fingerprint}): give every replica the same --shared-secret-file"
        ))
        .into());
    }
    Ok(())
}
