//! Directory groups, as the users' `groups` arrays name them: a case-insensitive substring search with prefix
//! matches first, and a look-up by name. A group's id is its name.

use sqlx::SqlitePool;

use crate::store::{Page, StoreResult};

/// `LIKE` pattern text for `s`, with `\` escaping the wildcards.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) async fn query(
    pool: &SqlitePool,
    query: &str,
    offset: u64,
    limit: u64,
) -> StoreResult<Page<String>> {
    let needle = like_escape(&query.to_lowercase());
    let contains = format!("%{needle}%");
    let prefix = format!("{needle}%");
    let mut tx = pool.begin().await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT g.value) FROM users, json_each(users.groups) AS g \
         WHERE lower(g.value) LIKE ?1 ESCAPE '\\'",
    )
    .bind(&contains)
    .fetch_one(&mut *tx)
    .await?;
    let items: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT g.value FROM users, json_each(users.groups) AS g \
         WHERE lower(g.value) LIKE ?1 ESCAPE '\\' \
         ORDER BY lower(g.value) NOT LIKE ?2 ESCAPE '\\', lower(g.value), g.value \
         LIMIT ?3 OFFSET ?4",
    )
    .bind(&contains)
    .bind(&prefix)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Page {
        items,
        total: total.max(0) as u64,
    })
}

pub(super) async fn exists(pool: &SqlitePool, name: &str) -> StoreResult<bool> {
    let hit: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM users, json_each(users.groups) AS g WHERE g.value = ?1 LIMIT 1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(hit.is_some())
}
