//! Directory groups, as the users' `groups` arrays name them: a case-insensitive substring search with prefix
//! matches first (folding as SQLite's store does: the query as Unicode, the names as ASCII), and a look-up by
//! name through the `users_groups` index. A group's id is its name.

use sqlx::PgConnection;

use super::failure::PgResult;
use super::{clamp_i64, count};
use crate::store::Page;
use crate::store::sql::escape_like;

/// Every distinct group name, as `v`.
const NAMES: &str = "(SELECT DISTINCT g.value COLLATE \"C\" AS v \
                     FROM users u, jsonb_array_elements_text(u.groups) AS g(value)) names";

pub(super) async fn query(
    conn: &mut PgConnection,
    query: &str,
    offset: u64,
    limit: u64,
) -> PgResult<Page<String>> {
    let needle = escape_like(&query.to_lowercase());
    let contains = format!("%{needle}%");
    let prefix = format!("{needle}%");
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {NAMES} WHERE lower(v) LIKE $1 ESCAPE '\\'"
    )))
    .bind(&contains)
    .fetch_one(&mut *conn)
    .await?;
    let items: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT v FROM {NAMES} WHERE lower(v) LIKE $1 ESCAPE '\\' \
         ORDER BY lower(v) NOT LIKE $2 ESCAPE '\\', lower(v), v LIMIT $3 OFFSET $4"
    )))
    .bind(&contains)
    .bind(&prefix)
    .bind(clamp_i64(limit))
    .bind(clamp_i64(offset))
    .fetch_all(&mut *conn)
    .await?;
    Ok(Page {
        items,
        total: count(total),
    })
}

pub(super) async fn exists(conn: &mut PgConnection, name: &str) -> PgResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE groups @> jsonb_build_array($1::text))",
    )
    .bind(name)
    .fetch_one(conn)
    .await?)
}
