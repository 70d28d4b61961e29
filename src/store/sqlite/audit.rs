//! The append-only audit log: rows are written inside the transaction of the change they describe (the schema's
//! triggers refuse UPDATE and DELETE), and read newest first.

use sqlx::{SqliteConnection, SqlitePool};

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

const INSERT: &str = "INSERT INTO audit_log \
                      (at, actor, action, target_kind, target_id, detail, namespace_id, entity_name, \
                      actor_account_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// Appends one row. `detail` must be non-secret (ids, names, times); never a token.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    change: &Change,
    target: Target<'_>,
    detail: &serde_json::Value,
) -> StoreResult<()> {
    sqlx::query(INSERT)
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

/// [`record`] on a rusqlite connection (inside the caller's transaction), for writes made off the runtime.
pub(super) fn record_blocking(
    conn: &rusqlite::Connection,
    change: &Change,
    target: Target<'_>,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT)?.execute(rusqlite::params![
        micros(change.at),
        change.actor,
        target.action,
        target.kind,
        target.id,
        detail.to_string(),
        target.namespace_id,
        target.name,
        change.account_id
    ])?;
    Ok(())
}

// The audit row as both stores read it.
pub(super) use crate::store::rules::{AUDIT_COLUMNS as COLUMNS, AuditRow, audit_entry as entry};

pub(super) async fn list(
    pool: &SqlitePool,
    limit: u64,
    target: Option<(&str, &str)>,
) -> StoreResult<Vec<AuditEntry>> {
    let rows: Vec<AuditRow> = match target {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT ?"
            )))
            .bind(clamp_i64(limit))
            .fetch_all(pool)
            .await?
        }
        Some((kind, id)) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log \
                 WHERE target_kind = ? AND target_id = ? ORDER BY seq DESC LIMIT ?"
            )))
            .bind(kind)
            .bind(id)
            .bind(clamp_i64(limit))
            .fetch_all(pool)
            .await?
        }
    };
    rows.into_iter().map(entry).collect()
}
