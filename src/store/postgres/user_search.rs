//! The directory lookahead: a ranked page (prefix matches first, then substring matches, each by the lowercased
//! name and then id) and an exact total, read through indexes. Substring matches (queries of three or more
//! characters) come from the `pg_trgm` GIN index on `users.search_doc`; prefix matches (the only kind for
//! shorter queries) from a "C"-collated range of `user_terms`, whose covering key carries each user's listing
//! order so a page of them is ordered without reading user rows.

use sqlx::PgConnection;

use super::failure::PgResult;
use super::users::{COLUMNS, Row};
use super::{clamp_i64, count};
use crate::model::DirectoryUser;
use crate::store::Page;
use crate::store::sql::escape_like;

/// Shortest query the trigram index can answer; shorter ones use prefix matches only.
const TRIGRAM: usize = 3;

/// The prefix terms of the query: `term >= $1 AND term < $2`.
const TERM_RANGE: &str = "term >= $1 AND term < $2";

async fn rows(
    conn: &mut PgConnection,
    sql: String,
    binds: (&str, &str, Option<&str>),
    offset: u64,
    limit: u64,
) -> PgResult<Vec<DirectoryUser>> {
    let (q, q_end, pattern) = binds;
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
        .bind(q)
        .bind(q_end);
    if let Some(p) = pattern {
        query = query.bind(p);
    }
    let rows = query
        .bind(clamp_i64(limit))
        .bind(clamp_i64(offset))
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_user)
        .collect::<crate::store::StoreResult<_>>()?)
}

/// How many users have a term that starts with the query.
async fn prefix_count(conn: &mut PgConnection, q: &str, q_end: &str) -> PgResult<u64> {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(DISTINCT user_num) FROM user_terms WHERE {TERM_RANGE}"
    )))
    .bind(q)
    .bind(q_end)
    .fetch_one(conn)
    .await?;
    Ok(count(n))
}

/// The page `[offset, offset + limit)` of users matching `query`, and how many match in all. Run inside one
/// read transaction so the counts and the rows agree.
pub(super) async fn query(
    conn: &mut PgConnection,
    query: &str,
    offset: u64,
    limit: u64,
) -> PgResult<Page<DirectoryUser>> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *conn)
            .await?;
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM users u ORDER BY u.sort_key, u.id LIMIT $1 OFFSET $2"
        )))
        .bind(clamp_i64(limit))
        .bind(clamp_i64(offset))
        .fetch_all(&mut *conn)
        .await?;
        let items = rows
            .into_iter()
            .map(Row::into_user)
            .collect::<crate::store::StoreResult<_>>()?;
        return Ok(Page {
            items,
            total: count(total),
        });
    }
    // Every string that starts with `q` sorts below `q` followed by the greatest code point (in "C" order).
    let q_end = format!("{q}\u{10FFFF}");
    let pattern = (q.chars().count() >= TRIGRAM).then(|| format!("%{}%", escape_like(&q)));

    // With a substring search, the results are exactly its matches: prefix matches are among them, as every term
    // is a lowercased piece of the lowercased document. Without one, the results are the prefix matches.
    let total = match &pattern {
        Some(p) => {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM users WHERE search_doc LIKE $1 ESCAPE '\\'",
            )
            .bind(p)
            .fetch_one(&mut *conn)
            .await?;
            count(n)
        }
        None => prefix_count(conn, &q, &q_end).await?,
    };
    if total == 0 || offset >= total || limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }

    // Prefix matches first: the page's keys ordered from the covering term index, then their users.
    let prefix_page = format!(
        "SELECT {COLUMNS} FROM (SELECT DISTINCT user_num, sort_key, user_id FROM user_terms \
             WHERE {TERM_RANGE} ORDER BY sort_key, user_id LIMIT $3 OFFSET $4) p \
         JOIN users u ON u.num = p.user_num ORDER BY p.sort_key, p.user_id"
    );
    let mut items = rows(conn, prefix_page, (&q, &q_end, None), offset, limit).await?;
    let got = items.len() as u64;
    let Some(pattern) = pattern.as_deref().filter(|_| got < limit) else {
        return Ok(Page { items, total });
    };

    // Then substring matches, after however many prefix matches there are.
    let prefixed = if got > 0 {
        offset + got
    } else {
        prefix_count(conn, &q, &q_end).await?
    };
    if total > prefixed {
        let substring_page = format!(
            "SELECT {COLUMNS} FROM users u WHERE u.search_doc LIKE $3 ESCAPE '\\' \
                 AND u.num NOT IN (SELECT user_num FROM user_terms WHERE {TERM_RANGE}) \
             ORDER BY u.sort_key, u.id LIMIT $4 OFFSET $5"
        );
        let window = (offset.saturating_sub(prefixed), limit - got);
        items.extend(
            rows(
                conn,
                substring_page,
                (&q, &q_end, Some(pattern)),
                window.0,
                window.1,
            )
            .await?,
        );
    }
    Ok(Page { items, total })
}
