//! The activity log's reads over `audit_log`: filtered pages newest first with their total (from one snapshot),
//! one entry with its neighbours in write order, and the kinds of entity the log mentions. A total filtered only
//! by namespace and actor is summed from the counters of migration 0007; a subtree's page is one index walk per
//! namespace merged newest first, or, when the subtree holds much of the log (of the actor's entries), one walk of
//! it newest first — whichever the counters say visits fewer rows. Neither grows with the size of the log.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::audit::{self, AuditRow, COLUMNS};
use super::{clamp_i64, micros};
use crate::store::{ActivityQuery, AuditEntry, AuditNeighbours, DateOp, Page, StoreResult};

/// A subtree of at most this many namespaces may be paged by merging one index walk per namespace (SQLite allows
/// 500 arms in a compound SELECT); a larger one is walked newest first or left to the planner.
const MERGE_MAX_NAMESPACES: usize = 400;
/// Bound parameters a merged page may use (SQLite allows 32,766).
const MERGE_MAX_BINDS: usize = 30_000;
/// What one arm of a merge costs to open, and each row it passes on, in rows of a plain newest-first walk.
const MERGE_SEEK_ROWS: f64 = 16.0;
const MERGE_ROW_ROWS: f64 = 2.0;

/// How a page of a subtree is read.
enum Plan {
    /// One arm per namespace of the subtree, merged.
    Merge(Vec<String>),
    /// The log (or, for one actor, `audit_log_by_actor`) newest first, keeping the subtree's entries.
    Walk,
    /// As SQLite's planner sees fit: a subtree too large to merge, or other filters the counters know nothing of.
    Planner,
}

/// Appends `AND namespace_id …` for `q`'s namespace (the subtree when recursive), if it has one.
fn push_namespace(qb: &mut QueryBuilder<Sqlite>, q: &ActivityQuery) {
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
}

/// Appends `AND …` for every filter of `q` but the namespace.
fn push_filters(qb: &mut QueryBuilder<Sqlite>, q: &ActivityQuery) {
    // What the caller may read bounds every other filter.
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

/// The parameters [`push_filters`] binds.
fn filter_binds(q: &ActivityQuery) -> usize {
    let some = |o: &Option<String>| usize::from(o.is_some());
    q.within.as_ref().map_or(0, Vec::len)
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

/// The entries `q` matches (before paging).
async fn total(conn: &mut SqliteConnection, q: &ActivityQuery) -> StoreResult<u64> {
    let mut count = if !counted(q) {
        let mut qb = QueryBuilder::new("SELECT count(*) FROM audit_log WHERE 1 = 1");
        push_namespace(&mut qb, q);
        push_filters(&mut qb, q);
        qb
    } else if let Some(actor) = &q.actor {
        let mut qb = QueryBuilder::new(
            "SELECT coalesce(sum(n), 0) FROM audit_log_actor_counts WHERE actor = ",
        );
        qb.push_bind(actor.clone());
        push_namespace(&mut qb, q);
        qb
    } else {
        let mut qb = QueryBuilder::new(
            "SELECT coalesce(sum(n), 0) FROM audit_log_namespace_counts WHERE 1 = 1",
        );
        push_namespace(&mut qb, q);
        qb
    };
    let total: i64 = count.build_query_scalar().fetch_one(conn).await?;
    Ok(u64::try_from(total).unwrap_or(0))
}

/// The ids of the subtree of `id` (itself first, also when it no longer exists).
async fn subtree(conn: &mut SqliteConnection, id: &str) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT n.id FROM namespaces n JOIN sub ON n.parent_id = sub.id) \
         SELECT id FROM sub",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// The entries a newest-first walk goes through: the whole log, or all of one actor's.
async fn walked(conn: &mut SqliteConnection, actor: Option<&str>) -> StoreResult<u64> {
    let n: i64 = match actor {
        Some(actor) => {
            sqlx::query_scalar(
                "SELECT coalesce(sum(n), 0) FROM audit_log_actor_counts WHERE actor = ?",
            )
            .bind(actor)
            .fetch_one(conn)
            .await?
        }
        None => {
            sqlx::query_scalar("SELECT coalesce(sum(n), 0) FROM audit_log_namespace_counts")
                .fetch_one(conn)
                .await?
        }
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How to read the page of `q`, which matches `total` entries.
async fn plan(conn: &mut SqliteConnection, q: &ActivityQuery, total: u64) -> StoreResult<Plan> {
    let Some(ns) = q.namespace_id.as_deref().filter(|_| q.recursive) else {
        return Ok(Plan::Planner);
    };
    let ids = subtree(conn, ns).await?;
    let binds = ids.len() * (1 + filter_binds(q)) + 2;
    let mergeable = ids.len() <= MERGE_MAX_NAMESPACES && binds <= MERGE_MAX_BINDS;
    if !counted(q) {
        return Ok(if mergeable {
            Plan::Merge(ids)
        } else {
            Plan::Planner
        });
    }
    // The rows each way visits to reach the page's end: a walk meets matches in proportion to their share.
    let wanted = q
        .offset
        .saturating_add(q.limit.unwrap_or(total))
        .min(total)
        .max(1) as f64;
    let walk = wanted * walked(conn, q.actor.as_deref()).await? as f64 / total.max(1) as f64;
    let merge = ids.len() as f64 * MERGE_SEEK_ROWS + wanted * MERGE_ROW_ROWS;
    // Too large to merge, the planner reads (and sorts) about every match: walk only if that visits fewer.
    Ok(if mergeable && merge < walk {
        Plan::Merge(ids)
    } else if mergeable || walk <= 2.0 * total as f64 {
        Plan::Walk
    } else {
        Plan::Planner
    })
}

pub(super) async fn list(pool: &SqlitePool, q: &ActivityQuery) -> StoreResult<Page<AuditEntry>> {
    // One read transaction so the total and the page come from the same snapshot.
    let mut tx = pool.begin().await?;
    let total = total(&mut tx, q).await?;
    let mut items = Vec::new();
    if q.offset < total && q.limit != Some(0) {
        let mut page = QueryBuilder::new("");
        match plan(&mut tx, q, total).await? {
            // Each arm walks one namespace's index newest first; the compound's ORDER BY merges them and stops
            // at the page's end, however many entries the subtree holds.
            Plan::Merge(ids) => {
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
            plan => {
                // A walk is told which way to go: given statistics, SQLite may rather skip-scan
                // audit_log_by_namespace_actor for the actor and sort every one of its entries.
                let from = match (plan, &q.actor) {
                    (Plan::Walk, Some(_)) => "audit_log INDEXED BY audit_log_by_actor",
                    (Plan::Walk, None) => "audit_log NOT INDEXED",
                    _ => "audit_log",
                };
                page.push(format!("SELECT {COLUMNS} FROM {from} WHERE 1 = 1"));
                push_namespace(&mut page, q);
                push_filters(&mut page, q);
            }
        }
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
