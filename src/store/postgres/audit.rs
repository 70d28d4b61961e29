//! The append-only audit log: rows are written inside the transaction of the change they describe (the schema's
//! triggers refuse UPDATE, DELETE and TRUNCATE, and add the row's delta to the activity counters), read newest
//! first; and the counters' compaction, which folds each key's deltas into one row.

use sqlx::{PgConnection, PgPool};

use super::failure::PgResult;
use super::{clamp_i64, micros};
use crate::store::{AuditEntry, Change, StoreResult};

/// What an audit row is about.
pub(super) struct Target<'a> {
    pub action: &'static str,
    pub kind: &'static str,
    pub id: &'a str,
    /// The namespace the change happened in (for a namespace, the namespace itself); empty for none.
    pub namespace_id: &'a str,
    /// What the entity is called when written: an account's user id, a namespace's name.
    pub name: &'a str,
}

/// The columns an audit row is written with, in [`record`]'s order.
pub(super) const INSERT_COLUMNS: &str = "(at, actor, action, target_kind, target_id, detail, namespace_id, \
                                         entity_name, actor_account_id)";

static INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("INSERT INTO audit_log {INSERT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
});

/// Appends one row. `detail` must be non-secret (ids, names, times); never a token.
pub(super) async fn record(
    conn: &mut PgConnection,
    change: &Change,
    target: Target<'_>,
    detail: &serde_json::Value,
) -> PgResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(INSERT.as_str()))
        .bind(micros(change.at))
        .bind(&change.actor)
        .bind(target.action)
        .bind(target.kind)
        .bind(target.id)
        .bind(detail.to_string())
        .bind(target.namespace_id)
        .bind(target.name)
        .bind(&change.account_id)
        .execute(conn)
        .await?;
    Ok(())
}

// The audit row as both stores read it.
pub(super) use crate::store::rules::{AUDIT_COLUMNS as COLUMNS, AuditRow, audit_entry as entry};

pub(super) async fn list(
    conn: &mut PgConnection,
    limit: u64,
    target: Option<(&str, &str)>,
) -> PgResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = match target {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1"
            )))
            .bind(clamp_i64(limit))
            .fetch_all(conn)
            .await?
        }
        Some((kind, id)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log \
                 WHERE target_kind = $1 AND target_id = $2 ORDER BY seq DESC LIMIT $3"
            )))
            .bind(kind)
            .bind(id)
            .bind(clamp_i64(limit))
            .fetch_all(conn)
            .await?
        }
    };
    Ok(rows.into_iter().map(entry).collect::<StoreResult<_>>()?)
}

/// The advisory lock (class, key) held while compacting, so replicas that start a compaction together do not
/// queue behind each other's row locks: the one that does not get it skips.
const COMPACT_LOCK: (i32, i32) = (0x5ac0, 1);

/// Per counter table: the keys with deltas, every row of those keys deleted, and their sum written back as one
/// row, in one statement (one snapshot: rows other transactions add meanwhile stay as they are).
const COMPACT: [&str; 2] = [
    "WITH keys AS (SELECT DISTINCT namespace_id FROM audit_log_namespace_counts WHERE NOT compacted), \
     gone AS (DELETE FROM audit_log_namespace_counts c USING keys k WHERE c.namespace_id = k.namespace_id \
              RETURNING c.namespace_id, c.n) \
     INSERT INTO audit_log_namespace_counts (namespace_id, n, compacted) \
     SELECT namespace_id, sum(n)::bigint, true FROM gone GROUP BY namespace_id",
    "WITH keys AS (SELECT DISTINCT actor, namespace_id FROM audit_log_actor_counts WHERE NOT compacted), \
     gone AS (DELETE FROM audit_log_actor_counts c USING keys k \
              WHERE c.actor = k.actor AND c.namespace_id = k.namespace_id \
              RETURNING c.actor, c.namespace_id, c.n) \
     INSERT INTO audit_log_actor_counts (actor, namespace_id, n, compacted) \
     SELECT actor, namespace_id, sum(n)::bigint, true FROM gone GROUP BY actor, namespace_id",
];

/// Folds the activity counters' deltas into one row per key. Deltas written by transactions that
/// are still open are left for the next time; a total is the same before and after.
pub(super) async fn compact_counts(pool: &PgPool) -> PgResult<()> {
    let mut tx = pool.begin().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1, $2)")
        .bind(COMPACT_LOCK.0)
        .bind(COMPACT_LOCK.1)
        .fetch_one(&mut *tx)
        .await?;
    if locked {
        for sql in COMPACT {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
