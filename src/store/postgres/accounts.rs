//! Service accounts: create/update/delete with their audit rows and the tombstones that keep a deleted account's
//! tokens dead, use tracking (written at most once per account per `ACCESS_WRITE_INTERVAL`, whichever replica
//! sees the use), `/verify`'s one-statement read, and the filtered, ordered page whose filter and order are
//! compiled to SQL (`store::sql`). Concurrent creates go together (`create_batch`); one that runs alone (an id a
//! deleted account had) is three statements (its checks, the row with its audit row, the commit, where the schema
//! holds it to a tombstone committed meanwhile). An update holds the account's row.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::audit::{self, Target};
use super::failure::{FOREIGN_KEY_VIOLATION, Failure, PgResult, UNIQUE_VIOLATION};
use super::{clamp_i64, count, from_micros, micros, opt_from_micros};
use crate::filter::Expr;
use crate::model::{Namespace, ServiceAccount};
use crate::server::verify::ACCESS_WRITE_INTERVAL;
use crate::store::rules::{
    account_exists, check_new_account, create_detail, created_record, first_issue, plan_update,
    sub_micro_nanos, unknown_namespace,
};
use crate::store::sql::{push_filter, push_order};
use crate::store::{
    AccountPatch, AccountQuery, AccountRecord, Change, Page, Reissue, StoreError, StoreResult,
};

const COLUMNS: &str = "id, namespace_id, originator_id, description, user_id, expires_at, \
                       created_at, modified_at, accessed_at, issued_at, grace_from, grace_until, expires_at_ns, disabled";

#[derive(sqlx::FromRow)]
struct Row {
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
    fn into_record(self) -> StoreResult<AccountRecord> {
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

/// The account `id`; `lock` holds its row until the transaction ends.
pub(super) async fn get(
    conn: &mut PgConnection,
    id: &str,
    lock: bool,
) -> PgResult<Option<AccountRecord>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_record).transpose()?)
}

/// The accounts of `ids` that exist, in one statement.
pub(super) async fn get_many(
    conn: &mut PgConnection,
    ids: &[String],
) -> PgResult<Vec<AccountRecord>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM service_accounts WHERE id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_record)
        .collect::<StoreResult<_>>()?)
}

/// What `/verify` reads: the account, the namespaces when asked (empty otherwise), and the access version of
/// the same snapshot (0 when there is no such account).
pub(super) type VerifyRead = (Option<AccountRecord>, Vec<Namespace>, i64);

/// A namespace as `VERIFY_WITH_NAMESPACES_SQL` carries it: `[id, parent_id, name, originator_id, created_at,
/// modified_at]`.
type NamespaceTuple = (String, Option<String>, String, String, i64, i64);

/// The access version rides along in the account's own statement: one statement, one snapshot.
const ACCESS_VERSION: &str = "(SELECT version FROM access_version WHERE id = 1) AS access_version";

static VERIFY_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS}, {ACCESS_VERSION} FROM service_accounts WHERE id = $1")
});

/// The account and every namespace from one statement. The namespaces ride along as one JSON array of
/// [`NamespaceTuple`]s, computed only when the account exists.
static VERIFY_WITH_NAMESPACES_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS}, {ACCESS_VERSION}, \
         (SELECT json_agg(json_build_array(n.id, n.parent_id, n.name, n.originator_id, n.created_at, \
                                           n.modified_at))::text \
          FROM namespaces n) AS namespaces \
         FROM service_accounts WHERE id = $1"
    )
});

/// An account read with the access version of its snapshot.
#[derive(sqlx::FromRow)]
struct Versioned {
    #[sqlx(flatten)]
    row: Row,
    access_version: i64,
}

static VERIFY_MANY_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {COLUMNS}, {ACCESS_VERSION} FROM service_accounts WHERE id = ANY($1)")
});

/// `/verify`'s read of several accounts in one statement, each found one with the access version of that one
/// snapshot; an id with no account is left out.
pub(super) async fn get_many_for_verify(
    conn: &mut PgConnection,
    ids: &[&str],
) -> PgResult<Vec<(AccountRecord, i64)>> {
    let rows: Vec<Versioned> = sqlx::query_as(sqlx::AssertSqlSafe(VERIFY_MANY_SQL.as_str()))
        .bind(ids)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|v| Ok((v.row.into_record()?, v.access_version)))
        .collect::<StoreResult<_>>()?)
}

pub(super) async fn get_for_verify(
    conn: &mut PgConnection,
    id: &str,
    with_namespaces: bool,
) -> PgResult<VerifyRead> {
    #[derive(sqlx::FromRow)]
    struct WithNamespaces {
        #[sqlx(flatten)]
        row: Row,
        access_version: i64,
        namespaces: Option<String>,
    }
    let (row, version, namespaces) = if with_namespaces {
        let Some(w) = sqlx::query_as::<_, WithNamespaces>(sqlx::AssertSqlSafe(
            VERIFY_WITH_NAMESPACES_SQL.as_str(),
        ))
        .bind(id)
        .fetch_optional(conn)
        .await?
        else {
            return Ok((None, Vec::new(), 0));
        };
        (w.row, w.access_version, w.namespaces)
    } else {
        let Some(v) = sqlx::query_as::<_, Versioned>(sqlx::AssertSqlSafe(VERIFY_SQL.as_str()))
            .bind(id)
            .fetch_optional(conn)
            .await?
        else {
            return Ok((None, Vec::new(), 0));
        };
        (v.row, v.access_version, None)
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

/// Maps a failed account write: a vanished namespace (deleted after the check) and a taken id are the store's
/// refusals, not database errors.
fn write_error<'a>(
    account_id: &'a str,
    namespace_id: &'a str,
) -> impl Fn(sqlx::Error) -> Failure + 'a {
    move |e| {
        let f = Failure::Db(e);
        match f.code().as_deref() {
            Some(FOREIGN_KEY_VIOLATION) => unknown_namespace(namespace_id).into(),
            Some(UNIQUE_VIOLATION) => account_exists(account_id).into(),
            _ => f,
        }
    }
}

static CREATE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH a AS (INSERT INTO service_accounts (id, namespace_id, originator_id, description, user_id, \
             expires_at, expires_at_ns, created_at, modified_at, accessed_at, issued_at, grace_until, disabled) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, NULL, $11) ON CONFLICT (id) DO NOTHING \
             RETURNING id) \
         INSERT INTO audit_log {} \
         SELECT $8, $12, 'create', 'service_account', a.id, $13, $2, $5, $14 FROM a",
        audit::INSERT_COLUMNS
    )
});

/// Inserts `account` with `created_at` = `modified_at` = the change's time.
pub(super) async fn create(
    conn: &mut PgConnection,
    account: &ServiceAccount,
    issued_at: DateTime<Utc>,
    change: &Change,
) -> PgResult<AccountRecord> {
    check_new_account(account)?;
    // The namespace, held (FOR KEY SHARE) so a delete of it waits and then sees this account; and the issue time of
    // a deleted account with this id. A delete that commits after this read is caught at commit.
    let (namespace, dead): (bool, Option<i64>) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM namespaces WHERE id = $1 FOR KEY SHARE), \
                (SELECT issued_at FROM account_tombstones WHERE id = $2)",
    )
    .bind(&account.namespace_id)
    .bind(&account.id)
    .fetch_one(&mut *conn)
    .await?;
    if !namespace {
        return Err(unknown_namespace(&account.namespace_id).into());
    }
    let dead = dead.map(from_micros).transpose()?;
    let issued_at = first_issue(&account.id, dead, issued_at)?;
    let at = micros(change.at);
    // The account and its audit row in one statement; the audit row only when the account was inserted.
    let inserted = sqlx::query(sqlx::AssertSqlSafe(CREATE_SQL.as_str()))
        .bind(&account.id)
        .bind(&account.namespace_id)
        .bind(&account.originator_id)
        .bind(&account.description)
        .bind(&account.user_id)
        .bind(account.expires_at.map(micros))
        .bind(account.expires_at.map_or(0, sub_micro_nanos))
        .bind(at)
        .bind(account.accessed_at.map(micros))
        .bind(micros(issued_at))
        .bind(account.disabled)
        .bind(&change.actor)
        .bind(create_detail(account).to_string())
        .bind(&change.account_id)
        .execute(&mut *conn)
        .await
        .map_err(write_error(&account.id, &account.namespace_id))?
        .rows_affected();
    if inserted == 0 {
        return Err(account_exists(&account.id).into());
    }
    Ok(created_record(account, issued_at, change.at)?)
}

pub(super) async fn update(
    conn: &mut PgConnection,
    id: &str,
    patch: &AccountPatch,
    reissue: Option<Reissue>,
    change: &Change,
) -> PgResult<AccountRecord> {
    // Held until commit: a concurrent rotation waits, then reads this one's token state.
    let current = get(conn, id, true)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("service account {id:?} not found")))?;
    if let Some(ns) = &patch.namespace_id
        && *ns != current.account.namespace_id
        && !super::namespaces::exists_held(conn, ns).await?
    {
        return Err(unknown_namespace(ns).into());
    }
    let plan = plan_update(id, &current, patch, reissue, change.at)?;
    let next = &plan.next;
    let a = &next.account;
    sqlx::query(
        "UPDATE service_accounts SET namespace_id = $1, description = $2, user_id = $3, expires_at = $4, \
             expires_at_ns = $5, modified_at = $6, issued_at = $7, grace_from = $8, grace_until = $9, \
             disabled = $10 \
         WHERE id = $11",
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
    .await
    .map_err(write_error(id, &a.namespace_id))?;
    let target = Target {
        action: plan.action(reissue.is_some()),
        kind: "service_account",
        id,
        namespace_id: &a.namespace_id,
        name: &a.user_id,
    };
    let detail = plan.detail(&current.account, reissue);
    audit::record(conn, change, target, &detail).await?;
    Ok(get(conn, id, false)
        .await?
        .ok_or_else(|| StoreError::Internal(format!("account {id:?} vanished while updating")))?)
}

pub(super) async fn delete(conn: &mut PgConnection, id: &str, change: &Change) -> PgResult<bool> {
    let gone: Option<(String, String, i64)> = sqlx::query_as(
        "DELETE FROM service_accounts WHERE id = $1 RETURNING user_id, namespace_id, issued_at",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((user_id, namespace_id, issued_at)) = gone else {
        return Ok(false);
    };
    sqlx::query(
        "INSERT INTO account_tombstones (id, issued_at) VALUES ($1, $2) \
         ON CONFLICT (id) DO UPDATE SET issued_at = greatest(account_tombstones.issued_at, excluded.issued_at)",
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
    let detail = serde_json::json!({"userId": user_id, "namespaceId": namespace_id});
    audit::record(conn, change, target, &detail).await?;
    Ok(true)
}

/// Moves `accessed_at` forward to `at`, as one autocommit statement, only when the stored use is older than
/// `ACCESS_WRITE_INTERVAL` before `at` (or there is none): however many replicas see an account used, its row
/// is written at most once per interval.
pub(super) async fn touch(conn: &mut PgConnection, id: &str, at: DateTime<Utc>) -> PgResult<()> {
    let due = micros(at).saturating_sub(ACCESS_WRITE_INTERVAL.num_microseconds().unwrap_or(0));
    sqlx::query(
        "UPDATE service_accounts SET accessed_at = $1 \
         WHERE id = $2 AND (accessed_at IS NULL OR accessed_at < $3)",
    )
    .bind(micros(at))
    .bind(id)
    .bind(due)
    .execute(conn)
    .await?;
    Ok(())
}

fn push_where(qb: &mut QueryBuilder<Postgres>, filter: &Option<Expr>) {
    if let Some(f) = filter {
        qb.push(" WHERE ");
        push_filter(qb, f);
    }
}

/// The page query: filter, order (with the `id` tie-breaker), LIMIT and OFFSET, all in SQL.
pub(super) fn page_sql(qb: &mut QueryBuilder<Postgres>, q: &AccountQuery) {
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
pub(super) fn count_sql(qb: &mut QueryBuilder<Postgres>, q: &AccountQuery) {
    qb.push("SELECT count(*) FROM service_accounts");
    push_where(qb, &q.filter);
}

/// The page and its total; run in one snapshot.
pub(super) async fn list(
    conn: &mut PgConnection,
    q: &AccountQuery,
) -> PgResult<Page<ServiceAccount>> {
    let mut count_q = QueryBuilder::default();
    count_sql(&mut count_q, q);
    let total: i64 = count_q.build_query_scalar().fetch_one(&mut *conn).await?;
    let total = count(total);
    let mut items = Vec::new();
    if q.offset < total && q.limit > 0 {
        let mut page = QueryBuilder::default();
        page_sql(&mut page, q);
        let rows: Vec<Row> = page.build_query_as().fetch_all(&mut *conn).await?;
        items = rows
            .into_iter()
            .map(|r| r.into_record().map(|rec| rec.account))
            .collect::<StoreResult<Vec<_>>>()?;
    }
    Ok(Page { items, total })
}
