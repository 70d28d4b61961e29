//! The activity log's reads over `audit_log`: filtered pages newest first with their total (from one snapshot),
//! one entry with its neighbours in write order, and the kinds of entity the log mentions. A total filtered only
//! by namespace and actor is summed from the counters' few rows per key (`audit_log_counts`); a subtree's page is
//! one index walk per namespace merged newest first (a MergeAppend of `audit_log_by_namespace` scans), unless the
//! counters say a plain newest-first walk visits fewer rows.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::audit::{self, AuditRow, COLUMNS};
use super::failure::PgResult;
use super::{clamp_i64, count, micros};
use crate::store::{ActivityQuery, AuditEntry, AuditNeighbours, DateOp, Page, StoreResult};

type Sql = QueryBuilder<Postgres>;

/// A subtree of at most this many namespaces may be paged by merging one index walk per namespace.
const MERGE_MAX_NAMESPACES: usize = 400;
/// Bound parameters a merged page may use (PostgreSQL allows 65,535).
const MERGE_MAX_BINDS: usize = 30_000;
/// What one arm of a merge costs to open, and each row it passes on, in rows of a plain newest-first walk.
const MERGE_SEEK_ROWS: f64 = 16.0;
const MERGE_ROW_ROWS: f64 = 2.0;

/// The subtree of `$n` as it is now, walked from the requested id itself, so a deleted namespace's own entries
/// are still found by its id.
fn push_subtree(qb: &mut Sql, ns: &str) {
    qb.push("(WITH RECURSIVE sub(id) AS (SELECT ")
        .push_bind(ns.to_string())
        .push(
            "::text COLLATE \"C\" UNION SELECT n.id FROM namespaces n JOIN sub ON n.parent_id = sub.id) \
             SELECT id FROM sub)",
        );
}

/// Appends `AND namespace_id …` for `q`'s namespace (the subtree when recursive), if it has one.
fn push_namespace(qb: &mut Sql, q: &ActivityQuery) {
    if let Some(ns) = &q.namespace_id {
        if q.recursive {
            qb.push(" AND namespace_id IN ");
            push_subtree(qb, ns);
        } else {
            qb.push(" AND namespace_id = ").push_bind(ns.clone());
        }
    }
}

/// Appends `AND …` for every filter of `q` but the namespace.
fn push_filters(qb: &mut Sql, q: &ActivityQuery) {
    // What the caller may read bounds every other filter.
    if let Some(within) = &q.within {
        qb.push(" AND namespace_id = ANY(")
            .push_bind(within.clone())
            .push(")");
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
            DateOp::Ne => " <> ",
            DateOp::Before => " < ",
            DateOp::OnOrBefore => " <= ",
            DateOp::After => " > ",
            DateOp::OnOrAfter => " >= ",
        };
        qb.push(" AND at").push(op).push_bind(micros(at));
    }
}

/// The parameters [`push_filters`] binds.
fn filter_binds(q: &ActivityQuery) -> usize {
    let some = |o: &Option<String>| usize::from(o.is_some());
    usize::from(q.within.is_some())
        + some(&q.actor)
        + some(&q.action)
        + some(&q.target_kind)
        + some(&q.target_id)
        + q.entities
            .iter()
            .map(|(_, id)| 1 + usize::from(!id.is_empty()))
            .sum::<usize>()
        + usize::from(q.date.is_some())
}

/// Whether the counters can give the total: the query filters by nothing but namespace and actor.
fn counted(q: &ActivityQuery) -> bool {
    q.within.is_none()
        && q.action.is_none()
        && q.target_kind.is_none()
        && q.target_id.is_none()
        && q.entities.is_empty()
        && q.date.is_none()
}

async fn scalar(conn: &mut PgConnection, mut qb: Sql) -> PgResult<u64> {
    let n: i64 = qb.build_query_scalar().fetch_one(conn).await?;
    Ok(count(n))
}

/// The entries `q` matches (before paging).
async fn total(conn: &mut PgConnection, q: &ActivityQuery) -> PgResult<u64> {
    if !counted(q) {
        let mut qb = Sql::new("SELECT count(*) FROM audit_log WHERE true");
        push_namespace(&mut qb, q);
        push_filters(&mut qb, q);
        return scalar(conn, qb).await;
    }
    let mut qb = Sql::new("SELECT coalesce(sum(n), 0)::bigint FROM audit_log_counts WHERE true");
    if let Some(actor) = &q.actor {
        qb.push(" AND actor = ").push_bind(actor.clone());
    }
    push_namespace(&mut qb, q);
    scalar(conn, qb).await
}

/// The ids of the subtree of `id` (itself first, also when it no longer exists).
async fn subtree(conn: &mut PgConnection, id: &str) -> PgResult<Vec<String>> {
    let mut qb = Sql::new("SELECT id FROM ");
    push_subtree(&mut qb, id);
    qb.push(" s");
    Ok(qb.build_query_scalar().fetch_all(conn).await?)
}

/// The entries a newest-first walk goes through: the whole log, or all of one actor's.
async fn walked(conn: &mut PgConnection, actor: Option<&str>) -> PgResult<u64> {
    let mut qb = Sql::new("SELECT coalesce(sum(n), 0)::bigint FROM audit_log_counts WHERE true");
    if let Some(actor) = actor {
        qb.push(" AND actor = ").push_bind(actor.to_string());
    }
    scalar(conn, qb).await
}

/// The subtree to merge one index walk per namespace of, when that is how the page of `q` (which matches
/// `total` entries) is best read; `None`: one statement as the planner sees fit.
async fn merge_plan(
    conn: &mut PgConnection,
    q: &ActivityQuery,
    total: u64,
) -> PgResult<Option<Vec<String>>> {
    let Some(ns) = q.namespace_id.as_deref().filter(|_| q.recursive) else {
        return Ok(None);
    };
    let ids = subtree(conn, ns).await?;
    let binds = ids.len() * (1 + filter_binds(q)) + 2;
    if ids.len() > MERGE_MAX_NAMESPACES || binds > MERGE_MAX_BINDS {
        return Ok(None);
    }
    if !counted(q) {
        return Ok(Some(ids));
    }
    // The rows each way visits to reach the page's end: a walk meets matches in proportion to their share.
    let wanted = q
        .offset
        .saturating_add(q.limit.unwrap_or(total))
        .min(total)
        .max(1) as f64;
    let walk = wanted * walked(conn, q.actor.as_deref()).await? as f64 / total.max(1) as f64;
    let merge = ids.len() as f64 * MERGE_SEEK_ROWS + wanted * MERGE_ROW_ROWS;
    Ok((merge < walk).then_some(ids))
}

/// The page and its total; run in one snapshot.
pub(super) async fn list(conn: &mut PgConnection, q: &ActivityQuery) -> PgResult<Page<AuditEntry>> {
    let total = total(conn, q).await?;
    let mut items = Vec::new();
    if q.offset < total && q.limit != Some(0) {
        let mut page = Sql::new("");
        match merge_plan(conn, q, total).await? {
            // Each arm walks one namespace's index newest first; PostgreSQL merges them (MergeAppend) and stops
            // at the page's end, however many entries the subtree holds.
            Some(ids) => {
                for (i, id) in ids.into_iter().enumerate() {
                    if i > 0 {
                        page.push(" UNION ALL ");
                    }
                    page.push(format!(
                        "SELECT {COLUMNS} FROM audit_log WHERE namespace_id = "
                    ))
                    .push_bind(id);
                    push_filters(&mut page, q);
                }
            }
            None => {
                page.push(format!("SELECT {COLUMNS} FROM audit_log WHERE true"));
                push_namespace(&mut page, q);
                push_filters(&mut page, q);
            }
        }
        page.push(" ORDER BY seq DESC");
        if let Some(limit) = q.limit {
            page.push(" LIMIT ").push_bind(clamp_i64(limit));
        }
        page.push(" OFFSET ").push_bind(clamp_i64(q.offset));
        let rows: Vec<AuditRow> = page.build_query_as().fetch_all(&mut *conn).await?;
        items = rows
            .into_iter()
            .map(audit::entry)
            .collect::<StoreResult<_>>()?;
    }
    Ok(Page { items, total })
}

/// The entry `seq` and its neighbours; run in one snapshot.
pub(super) async fn get(conn: &mut PgConnection, seq: i64) -> PgResult<Option<AuditNeighbours>> {
    let row: Option<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE seq = $1"
    )))
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (previous, next): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT max(seq) FROM audit_log WHERE seq < $1), \
                (SELECT min(seq) FROM audit_log WHERE seq > $1)",
    )
    .bind(seq)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Some(AuditNeighbours {
        entry: audit::entry(row)?,
        previous,
        next,
    }))
}

/// The distinct kinds, sorted: one index probe per kind (`audit_log_by_target`), however long the log.
pub(super) async fn kinds(conn: &mut PgConnection) -> PgResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "WITH RECURSIVE k(v) AS ( \
             SELECT min(target_kind) FROM audit_log \
             UNION ALL \
             SELECT (SELECT min(target_kind) FROM audit_log WHERE target_kind > k.v) FROM k WHERE k.v IS NOT NULL) \
         SELECT v FROM k WHERE v IS NOT NULL",
    )
    .fetch_all(conn)
    .await?)
}
