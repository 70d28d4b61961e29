//! Service accounts: create/update/delete with their audit rows and the tombstones that keep a deleted account's
//! tokens dead, use tracking, and the filtered, ordered page whose filter and order are compiled to SQL
//! (`store::sql`) so paging never loads more than one page.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::audit::{self, Target};
use super::{clamp_i64, from_micros, micros, opt_from_micros};
use crate::filter::Expr;
use crate::model::{Namespace, ServiceAccount};
use crate::store::rules::{
    account_exists, check_new_account, create_detail, created_record, first_issue, plan_update,
    sub_micro_nanos, unknown_namespace,
};
use crate::store::sql::{push_filter, push_order};
use crate::store::{
    ACCESS_WRITE_INTERVAL, AccountPatch, AccountQuery, AccountRecord, Change, Page, Reissue,
    StoreError, StoreResult,
};

/// `get_for_verify_inline` reads these by position: keep the order in step.
pub(super) const COLUMNS: &str = "id, namespace_id, originator_id, description, user_id, expires_at, \
                       created_at, modified_at, accessed_at, issued_at, grace_from, grace_until, expires_at_ns, disabled";

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    id: String,
    namespace_id: String,
    originator_id: String,
    description: String,
    user_id: String,
    expires_at: Option<i64>,
    created_at: i64,
    modified_at: i64,
    accessed_at: Option<i64>,
    issued_at: i64,
    grace_from: Option<i64>,
    grace_until: Option<i64>,
    expires_at_ns: i64,
    disabled: bool,
}

impl Row {
    pub(super) fn into_record(self) -> StoreResult<AccountRecord> {
        Ok(AccountRecord {
            issued_at: from_micros(self.issued_at)?,
            grace_from: opt_from_micros(self.grace_from)?,
            grace_until: opt_from_micros(self.grace_until)?,
            account: ServiceAccount {
                id: self.id,
                namespace_id: self.namespace_id,
                originator_id: self.originator_id,
                description: self.description,
                user_id: self.user_id,
                expires_at: opt_from_micros(self.expires_at)?
                    .map(|t| t + chrono::Duration::nanoseconds(self.expires_at_ns.clamp(0, 999))),
                created_at: from_micros(self.created_at)?,
                modified_at: from_micros(self.modified_at)?,
                accessed_at: opt_from_micros(self.accessed_at)?,
                disabled: self.disabled,
            },
        })
    }
}

async fn namespace_exists(conn: &mut SqliteConnection, id: &str) -> StoreResult<bool> {
    let hit: Option<i64> = sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(hit.is_some())
}

/// Whether the namespace exists and the issue time of the newest token of a deleted account with this id (if
/// there was one): what a create checks first, in one statement.
fn create_checks(
    conn: &rusqlite::Connection,
    namespace_id: &str,
    id: &str,
) -> StoreResult<(bool, Option<DateTime<Utc>>)> {
    let (exists, dead): (bool, Option<i64>) = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM namespaces WHERE id = ?1), \
                    (SELECT issued_at FROM account_tombstones WHERE id = ?2)",
        )?
        .query_row(rusqlite::params![namespace_id, id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    Ok((exists, dead.map(from_micros).transpose()?))
}

pub(super) async fn get(
    conn: &mut SqliteConnection,
    id: &str,
) -> StoreResult<Option<AccountRecord>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_record).transpose()
}

/// The accounts of `ids` that exist, in one statement (the ids passed as one JSON array).
pub(super) async fn get_many(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> StoreResult<Vec<AccountRecord>> {
    let ids = serde_json::to_string(ids).map_err(|e| StoreError::Internal(e.to_string()))?;
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE id IN (SELECT value FROM json_each(?))"
    )))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_record).collect()
}

/// What `/verify` reads: the account, the namespaces when asked (empty otherwise), and the access version of
/// the same snapshot (0 when there is no such account).
pub(super) type VerifyRead = (Option<AccountRecord>, Vec<Namespace>, i64);

/// A namespace as `VERIFY_WITH_NAMESPACES_SQL` carries it: `[id, parent_id, name, originator_id, created_at,
/// modified_at]`.
type NamespaceTuple = (String, Option<String>, String, String, i64, i64);

/// The access version and the account change counter (`verify_cache`) ride along in the account's own
/// statement: one read transaction, not two.
const VERSIONS: &str = "(SELECT version FROM access_version WHERE id = 1) AS access_version, \
                        (SELECT version FROM accounts_version WHERE id = 1) AS accounts_version";

static VERIFY_SQL: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {COLUMNS}, {VERSIONS} FROM service_accounts WHERE id = ?1"));

/// The account and every namespace from one statement: one round trip and one snapshot. The namespaces ride
/// along as one JSON array of [`NamespaceTuple`]s, computed only when the account exists.
static VERIFY_WITH_NAMESPACES_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS}, {VERSIONS}, \
         (SELECT json_group_array(json_array(n.id, n.parent_id, n.name, n.originator_id, n.created_at, \
                                             n.modified_at)) \
          FROM namespaces n) AS namespaces \
         FROM service_accounts WHERE id = ?1"
    )
});

fn verify_sql(with_namespaces: bool) -> &'static str {
    if with_namespaces {
        &VERIFY_WITH_NAMESPACES_SQL
    } else {
        &VERIFY_SQL
    }
}

fn assemble(row: Option<(Row, i64, Option<String>)>) -> StoreResult<VerifyRead> {
    let Some((row, version, namespaces)) = row else {
        return Ok((None, Vec::new(), 0));
    };
    let namespaces = match namespaces {
        None => Vec::new(),
        Some(json) => {
            let tuples: Vec<NamespaceTuple> = serde_json::from_str(&json)
                .map_err(|e| StoreError::Internal(format!("reading the namespaces: {e}")))?;
            tuples
                .into_iter()
                .map(
                    |(id, parent_id, name, originator_id, created_at, modified_at)| {
                        Ok(Namespace {
                            id,
                            parent_id: parent_id.unwrap_or_default(),
                            name,
                            created_at: from_micros(created_at)?,
                            modified_at: from_micros(modified_at)?,
                            originator_id,
                            route_count: 0,
                            policy_count: 0,
                        })
                    },
                )
                .collect::<StoreResult<Vec<_>>>()?
        }
    };
    Ok((Some(row.into_record()?), namespaces, version))
}

/// `/verify`'s read through the pool (a round trip to the connection's worker thread).
pub(super) async fn get_for_verify(
    conn: &mut SqliteConnection,
    id: &str,
    with_namespaces: bool,
) -> StoreResult<VerifyRead> {
    #[derive(sqlx::FromRow)]
    struct WithNamespaces {
        #[sqlx(flatten)]
        row: Row,
        access_version: i64,
        namespaces: String,
    }
    #[derive(sqlx::FromRow)]
    struct Versioned {
        #[sqlx(flatten)]
        row: Row,
        access_version: i64,
    }
    let sql = sqlx::AssertSqlSafe(verify_sql(with_namespaces));
    let row = if with_namespaces {
        sqlx::query_as::<_, WithNamespaces>(sql)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .map(|w| (w.row, w.access_version, Some(w.namespaces)))
    } else {
        sqlx::query_as::<_, Versioned>(sql)
            .bind(id)
            .fetch_optional(conn)
            .await?
            .map(|v| (v.row, v.access_version, None))
    };
    assemble(row)
}

/// `/verify`'s read on a rusqlite connection, synchronously on the caller's thread. The outer error is SQLite's
/// (the caller falls back to the pool); the inner one is about what was stored.
pub(super) fn get_for_verify_inline(
    conn: &rusqlite::Connection,
    id: &str,
    with_namespaces: bool,
) -> rusqlite::Result<StoreResult<VerifyRead>> {
    let row = verify_row_inline(conn, id, with_namespaces)?;
    Ok(assemble(row.map(|(row, version, _, namespaces)| {
        (row, version, namespaces)
    })))
}

/// `/verify`'s read on the caller's thread with the account change counter it was read at, for the cache.
pub(super) fn get_versioned_inline(
    conn: &rusqlite::Connection,
    id: &str,
) -> rusqlite::Result<StoreResult<(VerifyRead, i64)>> {
    let Some((row, access, accounts, _)) = verify_row_inline(conn, id, false)? else {
        return Ok(Ok(((None, Vec::new(), 0), 0)));
    };
    Ok(row
        .into_record()
        .map(|record| ((Some(record), Vec::new(), access), accounts)))
}

/// The row, the access version, the account change counter and (when asked) the namespaces' JSON.
type VerifyRow = (Row, i64, i64, Option<String>);

fn verify_row_inline(
    conn: &rusqlite::Connection,
    id: &str,
    with_namespaces: bool,
) -> rusqlite::Result<Option<VerifyRow>> {
    let mut stmt = conn.prepare_cached(verify_sql(with_namespaces))?;
    stmt.query_row([id], |r| {
        // By position, in `COLUMNS` order: a lookup by name costs a scan of the column names per field.
        let row = Row {
            id: r.get(0)?,
            namespace_id: r.get(1)?,
            originator_id: r.get(2)?,
            description: r.get(3)?,
            user_id: r.get(4)?,
            expires_at: r.get(5)?,
            created_at: r.get(6)?,
            modified_at: r.get(7)?,
            accessed_at: r.get(8)?,
            issued_at: r.get(9)?,
            grace_from: r.get(10)?,
            grace_until: r.get(11)?,
            expires_at_ns: r.get(12)?,
            disabled: r.get(13)?,
        };
        let namespaces = if with_namespaces {
            Some(r.get(16)?)
        } else {
            None
        };
        Ok((row, r.get(14)?, r.get(15)?, namespaces))
    })
    .optional()
}

/// Inserts `account` with `created_at` = `modified_at` = the change's time: plain calls on the writer's
/// connection (`Writer::run_sync`), as creates are the write that comes in bursts.
pub(super) fn create(
    conn: &rusqlite::Connection,
    account: &ServiceAccount,
    issued_at: DateTime<Utc>,
    change: &Change,
) -> StoreResult<AccountRecord> {
    check_new_account(account)?;
    let (namespace_exists, dead) = create_checks(conn, &account.namespace_id, &account.id)?;
    if !namespace_exists {
        return Err(unknown_namespace(&account.namespace_id));
    }
    let issued_at = first_issue(&account.id, dead, issued_at)?;
    let at = micros(change.at);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO service_accounts (id, namespace_id, originator_id, description, user_id, expires_at, \
                 expires_at_ns, created_at, modified_at, accessed_at, issued_at, grace_until, disabled) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(rusqlite::params![
            account.id,
            account.namespace_id,
            account.originator_id,
            account.description,
            account.user_id,
            account.expires_at.map(micros),
            account.expires_at.map_or(0, sub_micro_nanos),
            at,
            at,
            account.accessed_at.map(micros),
            micros(issued_at),
            account.disabled,
        ])?;
    if inserted == 0 {
        return Err(account_exists(&account.id));
    }
    let target = Target {
        action: "create",
        kind: "service_account",
        id: &account.id,
        namespace_id: &account.namespace_id,
        name: &account.user_id,
    };
    let detail = create_detail(account);
    audit::record_blocking(conn, change, target, &detail)?;
    created_record(account, issued_at, change.at)
}

pub(super) async fn update(
    conn: &mut SqliteConnection,
    id: &str,
    patch: &AccountPatch,
    reissue: Option<Reissue>,
    change: &Change,
) -> StoreResult<AccountRecord> {
    let current = get(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("service account {id:?} not found")))?;
    if let Some(ns) = &patch.namespace_id
        && *ns != current.account.namespace_id
        && !namespace_exists(conn, ns).await?
    {
        return Err(unknown_namespace(ns));
    }
    let plan = plan_update(id, &current, patch, reissue, change.at)?;
    let next = &plan.next;
    let a = &next.account;
    sqlx::query(
        "UPDATE service_accounts SET namespace_id = ?, description = ?, user_id = ?, expires_at = ?, \
             expires_at_ns = ?, modified_at = ?, issued_at = ?, grace_from = ?, grace_until = ?, disabled = ? \
         WHERE id = ?",
    )
    .bind(&a.namespace_id)
    .bind(&a.description)
    .bind(&a.user_id)
    .bind(a.expires_at.map(micros))
    .bind(a.expires_at.map_or(0, sub_micro_nanos))
    .bind(micros(a.modified_at))
    .bind(micros(next.issued_at))
    .bind(next.grace_from.map(micros))
    .bind(next.grace_until.map(micros))
    .bind(a.disabled)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let target = Target {
        action: plan.action(reissue.is_some()),
        kind: "service_account",
        id,
        namespace_id: &a.namespace_id,
        name: &a.user_id,
    };
    let detail = plan.detail(&current.account, reissue);
    audit::record(conn, change, target, &detail).await?;
    get(conn, id)
        .await?
        .ok_or_else(|| StoreError::Internal(format!("account {id:?} vanished while updating")))
}

pub(super) async fn delete(
    conn: &mut SqliteConnection,
    id: &str,
    change: &Change,
) -> StoreResult<bool> {
    let gone: Option<(String, String, i64)> = sqlx::query_as(
        "DELETE FROM service_accounts WHERE id = ? RETURNING user_id, namespace_id, issued_at",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((user_id, namespace_id, issued_at)) = gone else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO account_tombstones (id, issued_at) VALUES (?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET issued_at = max(issued_at, excluded.issued_at)",
    )
    .bind(id)
    .bind(issued_at)
    .execute(&mut *conn)
    .await?;
    let target = Target {
        action: "delete",
        kind: "service_account",
        id,
        namespace_id: &namespace_id,
        name: &user_id,
    };
    let detail = json!({"userId": user_id, "namespaceId": namespace_id});
    audit::record(conn, change, target, &detail).await?;
    Ok(true)
}

/// Moves `accessed_at` forward to `at` only when the stored time is unset or at least [`ACCESS_WRITE_INTERVAL`]
/// before `at`: decided by the row itself, so all the processes sharing the database together write an account's
/// use at most once per interval (and never move it back).
pub(super) async fn touch(
    conn: &mut SqliteConnection,
    id: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE service_accounts SET accessed_at = ?1 \
         WHERE id = ?2 AND (accessed_at IS NULL OR accessed_at <= ?3)",
    )
    .bind(micros(at))
    .bind(id)
    .bind(micros(at - ACCESS_WRITE_INTERVAL))
    .execute(conn)
    .await?;
    Ok(())
}

fn push_where(qb: &mut QueryBuilder<Sqlite>, filter: &Option<Expr>) {
    if let Some(f) = filter {
        qb.push(" WHERE ");
        push_filter(qb, f);
    }
}

/// The page query: filter, order (with the `id` tie-breaker), LIMIT and OFFSET, all in SQL.
pub(super) fn page_sql(qb: &mut QueryBuilder<Sqlite>, q: &AccountQuery) {
    qb.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM service_accounts");
    push_where(qb, &q.filter);
    qb.push(" ORDER BY ");
    push_order(qb, &q.order);
    qb.push(" LIMIT ").push_bind(clamp_i64(q.limit));
    qb.push(" OFFSET ").push_bind(clamp_i64(q.offset));
}

/// How many accounts match before paging.
pub(super) fn count_sql(qb: &mut QueryBuilder<Sqlite>, q: &AccountQuery) {
    qb.push("SELECT count(*) FROM service_accounts");
    push_where(qb, &q.filter);
}

pub(super) async fn list(pool: &SqlitePool, q: &AccountQuery) -> StoreResult<Page<ServiceAccount>> {
    // One read transaction so the total and the page come from the same snapshot.
    let mut tx = pool.begin().await?;
    let mut count = QueryBuilder::default();
    count_sql(&mut count, q);
    let total: i64 = count.build_query_scalar().fetch_one(&mut *tx).await?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut items = Vec::new();
    if q.offset < total && q.limit > 0 {
        let mut page = QueryBuilder::default();
        page_sql(&mut page, q);
        let rows: Vec<Row> = page.build_query_as().fetch_all(&mut *tx).await?;
        items = rows
            .into_iter()
            .map(|r| r.into_record().map(|rec| rec.account))
            .collect::<StoreResult<Vec<_>>>()?;
    }
    tx.commit().await?;
    Ok(Page { items, total })
}
