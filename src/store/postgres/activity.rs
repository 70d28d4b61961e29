//! The activity log's reads over `audit_log`: filtered pages newest first with their total (from one snapshot),
//! one entry with its neighbours in write order, and the kinds of entity the log mentions. A total filtered only
//! by namespace and actor is summed from the counters' few rows per key (`audit_log_namespace_counts`,
//! `audit_log_actor_counts`); a subtree (resolved once per listing) is paged by one newest-first index walk per
//! namespace, each stopping at the page's end, merged (a Merge Append), unless the counters say a plain
//! newest-first walk visits fewer rows.

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
/// What one arm of a merge costs to plan and open, and each row it passes on, in rows of a plain newest-first
/// walk.
const MERGE_SEEK_ROWS: f64 = 50.0;
const MERGE_ROW_ROWS: f64 = 2.0;

/// The namespaces a listing is about: one, or a subtree resolved to its ids.
enum Scope {
    All,
    One(String),
    Subtree(Vec<String>),
}

impl Scope {
    /// Appends `AND namespace_id …` for the scope.
    fn push(&self, qb: &mut Sql) {
        match self {
            Scope::All => {}
            Scope::One(id) => {
                qb.push(" AND namespace_id = ").push_bind(id.clone());
            }
            Scope::Subtree(ids) => {
                qb.push(" AND namespace_id = ANY(")
                    .push_bind(ids.clone())
                    .push(")");
            }
        }
    }
}

/// `q`'s namespace scope: a recursive one is the subtree as it is now, walked from the requested id itself, so a
/// deleted namespace's own entries are still found by its id.
async fn scope(conn: &mut PgConnection, q: &ActivityQuery) -> PgResult<Scope> {
    Ok(match (&q.namespace_id, q.recursive) {
        (None, _) => Scope::All,
        (Some(id), false) => Scope::One(id.clone()),
        (Some(id), true) => Scope::Subtree(
            sqlx::query_scalar(
                "WITH RECURSIVE sub(id) AS (SELECT $1::text COLLATE \"C\" \
                     UNION SELECT n.id FROM namespaces n JOIN sub ON n.parent_id = sub.id) \
                 SELECT id FROM sub",
            )
            .bind(id)
            .fetch_all(conn)
            .await?,
        ),
    })
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

/// The counters' sum for `actor` (or every actor) within `scope`.
async fn counted_total(
    conn: &mut PgConnection,
    actor: Option<&str>,
    scope: &Scope,
) -> PgResult<u64> {
    let mut qb = match actor {
        Some(actor) => {
            let mut qb = Sql::new(
                "SELECT coalesce(sum(n), 0)::bigint FROM audit_log_actor_counts WHERE actor = ",
            );
            qb.push_bind(actor.to_string());
            qb
        }
        None => Sql::new(
            "SELECT coalesce(sum(n), 0)::bigint FROM audit_log_namespace_counts WHERE true",
        ),
    };
    scope.push(&mut qb);
    scalar(conn, qb).await
}

/// The entries `q` matches (before paging).
async fn total(conn: &mut PgConnection, q: &ActivityQuery, scope: &Scope) -> PgResult<u64> {
    if counted(q) {
        return counted_total(conn, q.actor.as_deref(), scope).await;
    }
    let mut qb = Sql::new("SELECT count(*) FROM audit_log WHERE true");
    scope.push(&mut qb);
    push_filters(&mut qb, q);
    scalar(conn, qb).await
}

/// Whether the page of `q` (which matches `total` entries) is best read by merging one walk per namespace of
/// the subtree `ids`, rather than as one statement as the planner sees fit.
async fn merges(
    conn: &mut PgConnection,
    q: &ActivityQuery,
    ids: &[String],
    total: u64,
) -> PgResult<bool> {
    let binds = ids.len() * (2 + filter_binds(q)) + 1;
    if ids.len() > MERGE_MAX_NAMESPACES || binds > MERGE_MAX_BINDS {
        return Ok(false);
    }
    if !counted(q) {
        return Ok(true);
    }
    // The rows each way visits to reach the page's end: a walk meets matches in proportion to their share.
    let wanted = q
        .offset
        .saturating_add(q.limit.unwrap_or(total))
        .min(total)
        .max(1) as f64;
    let walked = counted_total(conn, q.actor.as_deref(), &Scope::All).await?;
    let walk = wanted * walked as f64 / total.max(1) as f64;
    let merge = ids.len() as f64 * MERGE_SEEK_ROWS + wanted * MERGE_ROW_ROWS;
    Ok(merge < walk)
}

/// Appends ` LIMIT n` for the first `want` rows (none when unbounded).
fn push_limit(qb: &mut Sql, want: Option<u64>) {
    if let Some(n) = want {
        qb.push(" LIMIT ").push_bind(clamp_i64(n));
    }
}

/// The page and its total; run in one snapshot.
pub(super) async fn list(conn: &mut PgConnection, q: &ActivityQuery) -> PgResult<Page<AuditEntry>> {
    let scope = scope(conn, q).await?;
    let total = total(conn, q, &scope).await?;
    let mut items = Vec::new();
    if q.offset < total && q.limit != Some(0) {
        let want = q.limit.map(|l| q.offset.saturating_add(l));
        let mut page = Sql::new("");
        match &scope {
            // Each arm walks one namespace's index newest first and stops at the page's end; PostgreSQL merges
            // them (a Merge Append), however many entries the subtree holds.
            Scope::Subtree(ids) if merges(conn, q, ids, total).await? => {
                page.push("SELECT * FROM (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        page.push(" UNION ALL ");
                    }
                    page.push(format!(
                        "(SELECT {COLUMNS} FROM audit_log WHERE namespace_id = "
                    ))
                    .push_bind(id.clone());
                    push_filters(&mut page, q);
                    page.push(" ORDER BY seq DESC");
                    push_limit(&mut page, want);
                    page.push(")");
                }
                page.push(") arms");
            }
            _ => {
                page.push(format!("SELECT {COLUMNS} FROM audit_log WHERE true"));
                scope.push(&mut page);
                push_filters(&mut page, q);
            }
        }
        page.push(" ORDER BY seq DESC");
        push_limit(&mut page, q.limit);
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
