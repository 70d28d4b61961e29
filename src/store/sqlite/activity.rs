//! The activity log's reads over `audit_log`: filtered pages newest first with their total (from one snapshot),
//! one entry with its neighbours in write order, and the kinds of entity the log mentions.

use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::audit::{self, AuditRow, COLUMNS};
use super::{clamp_i64, micros};
use crate::store::{ActivityQuery, AuditEntry, AuditNeighbours, DateOp, Page, StoreResult};

/// Appends the WHERE clause of `q` (always present, so every filter can start with AND).
fn push_where(qb: &mut QueryBuilder<Sqlite>, q: &ActivityQuery) {
    qb.push(" WHERE 1 = 1");
    if let Some(within) = &q.within {
        if within.is_empty() {
            qb.push(" AND 0");
        } else {
            qb.push(" AND namespace_id IN (");
            let mut list = qb.separated(", ");
            for ns in within {
                list.push_bind(ns.clone());
            }
            qb.push(")");
        }
    }
    if let Some(ns) = &q.namespace_id {
        if q.recursive {
            // The subtree as it is now, walked from the requested id itself, so a deleted namespace's own
            // entries are still found by its id.
            qb.push(" AND namespace_id IN (WITH RECURSIVE sub(id) AS (SELECT ")
                .push_bind(ns.clone())
                .push(
                    " UNION SELECT n.id FROM namespaces n JOIN sub ON n.parent_id = sub.id) \
                 SELECT id FROM sub)",
                );
        } else {
            qb.push(" AND namespace_id = ").push_bind(ns.clone());
        }
    }
    if let Some(actor) = &q.actor {
        qb.push(" AND actor = ").push_bind(actor.clone());
    }
    if let Some(action) = &q.action {
        qb.push(" AND action = ").push_bind(action.clone());
    }
    if let Some(kind) = &q.target_kind {
        qb.push(" AND target_kind = ").push_bind(kind.clone());
    }
    if let Some(id) = &q.target_id {
        qb.push(" AND target_id = ").push_bind(id.clone());
    }
    if !q.entities.is_empty() {
        qb.push(" AND (");
        for (i, (kind, id)) in q.entities.iter().enumerate() {
            if i > 0 {
                qb.push(" OR ");
            }
            qb.push("(target_kind = ").push_bind(kind.clone());
            if !id.is_empty() {
                qb.push(" AND target_id = ").push_bind(id.clone());
            }
            qb.push(")");
        }
        qb.push(")");
    }
    if let Some((op, at)) = q.date {
        let op = match op {
            DateOp::Eq => " = ",
            DateOp::Ne => " != ",
            DateOp::Before => " < ",
            DateOp::OnOrBefore => " <= ",
            DateOp::After => " > ",
            DateOp::OnOrAfter => " >= ",
        };
        qb.push(" AND at").push(op).push_bind(micros(at));
    }
}

pub(super) async fn list(pool: &SqlitePool, q: &ActivityQuery) -> StoreResult<Page<AuditEntry>> {
    // One read transaction so the total and the page come from the same snapshot.
    let mut tx = pool.begin().await?;
    let mut count = QueryBuilder::new("SELECT count(*) FROM audit_log");
    push_where(&mut count, q);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut items = Vec::new();
    if q.offset < total && q.limit != Some(0) {
        let mut page = QueryBuilder::new(format!("SELECT {COLUMNS} FROM audit_log"));
        push_where(&mut page, q);
        // SQLite takes a negative LIMIT as none.
        let limit = q.limit.map_or(-1, clamp_i64);
        page.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(limit)
            .push(" OFFSET ")
            .push_bind(clamp_i64(q.offset));
        let rows: Vec<AuditRow> = page.build_query_as().fetch_all(&mut *tx).await?;
        items = rows
            .into_iter()
            .map(audit::entry)
            .collect::<StoreResult<_>>()?;
    }
    tx.commit().await?;
    Ok(Page { items, total })
}

pub(super) async fn get(pool: &SqlitePool, seq: i64) -> StoreResult<Option<AuditNeighbours>> {
    let mut tx = pool.begin().await?;
    let row: Option<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq = ?"
    )))
    .bind(seq)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let previous: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM audit_log WHERE seq < ?")
        .bind(seq)
        .fetch_one(&mut *tx)
        .await?;
    let next: Option<i64> = sqlx::query_scalar("SELECT min(seq) FROM audit_log WHERE seq > ?")
        .bind(seq)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Some(AuditNeighbours {
        entry: audit::entry(row)?,
        previous,
        next,
    }))
}

pub(super) async fn kinds(pool: &SqlitePool) -> StoreResult<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT DISTINCT target_kind FROM audit_log ORDER BY target_kind")
            .fetch_all(pool)
            .await?,
    )
}
