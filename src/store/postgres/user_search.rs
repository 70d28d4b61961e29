//! The directory lookahead: a ranked page (prefix matches first, then substring matches, each by the lowercased
//! name and then id) and an exact total, read through indexes. Substring matches (queries of three or more
//! characters) come from the `pg_trgm` GIN index on `users.search_doc`; prefix matches (the only kind for
//! shorter queries) from a "C"-collated range of `user_terms`, whose covering key carries each user's listing
//! order. Each part of the page is read, as SQLite's store does, by walking a bounded window of the name-order
//! index when matches are dense enough to fill the page early (testing each walked row in place: the query
//! after a newline of `search_doc` is a prefix match), and otherwise, or when the window falls short, by
//! fetching the matches through their index and sorting them.

use sqlx::PgConnection;

use super::failure::PgResult;
use super::user_grams::{prefix_gram, substring_gram};
use super::users::{COLUMNS, Row};
use super::{clamp_i64, count};
use crate::model::DirectoryUser;
use crate::store::sql::escape_like;
use crate::store::{Page, StoreResult};

/// Shortest query the trigram index can answer; shorter ones use prefix matches only.
const TRIGRAM: usize = 3;
/// Walks expected to take more index steps than this sort instead. A third of SQLite's: each step here fetches a
/// heap row, and sorting a few thousand candidates costs about what walking as many rows does.
const MAX_EXPECTED_WALK: u64 = 2_500;
/// A walk reads this many times the steps it is expected to need before giving up and sorting.
const WALK_SLACK: u64 = 4;
const MIN_WINDOW: u64 = 1_000;

/// Binds every statement shares: `$1` the query, `$2` the end of its term range, `$3` the query after a newline
/// (a prefix match in `search_doc`), `$4` the LIKE pattern of a substring match (NULL for a short query).
const TERM_RANGE: &str = "term >= $1 AND term < $2";
const PREFIX_TEST: &str = "strpos(search_doc, $3) > 0";
const SUBSTRING_TEST: &str = "search_doc LIKE $4 ESCAPE '\\'";

/// A non-empty, lowercased query and the values its statements bind.
struct Search {
    q: String,
    /// Exclusive upper bound of the terms that start with `q` (in "C" order).
    q_end: String,
    /// `q` after a newline; a query with a newline of its own is no term's prefix, and this finds none either.
    after_newline: String,
    /// The LIKE pattern for substring matches, for queries of at least `TRIGRAM` characters.
    pattern: Option<String>,
}

impl Search {
    fn new(q: String) -> Search {
        // Every string that starts with `q` sorts below `q` followed by the greatest code point.
        let q_end = format!("{q}\u{10FFFF}");
        let after_newline = if q.contains('\n') {
            // Matches no line start: the doc holds no line that contains this.
            "\n\n\n".to_string()
        } else {
            format!("\n{q}")
        };
        let pattern = (q.chars().count() >= TRIGRAM).then(|| format!("%{}%", escape_like(&q)));
        Search {
            q,
            q_end,
            after_newline,
            pattern,
        }
    }

    async fn rows(
        &self,
        conn: &mut PgConnection,
        sql: String,
        extra: &[i64],
    ) -> PgResult<Vec<DirectoryUser>> {
        let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql))
            .bind(&self.q)
            .bind(&self.q_end)
            .bind(&self.after_newline)
            .bind(&self.pattern);
        for v in extra {
            query = query.bind(*v);
        }
        let rows = query.fetch_all(conn).await?;
        Ok(rows
            .into_iter()
            .map(Row::into_user)
            .collect::<StoreResult<_>>()?)
    }

    async fn number(&self, conn: &mut PgConnection, sql: &str) -> PgResult<u64> {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .bind(&self.q)
            .bind(&self.q_end)
            .bind(&self.after_newline)
            .bind(&self.pattern)
            .fetch_one(conn)
            .await?;
        Ok(count(n))
    }

    /// Rows `[offset, offset + limit)` of one part of the ranking (`prefix`, or substring matches that are not
    /// prefix matches), in name order; `matches` estimates how many users the part holds.
    async fn part(
        &self,
        conn: &mut PgConnection,
        prefix: bool,
        (offset, limit): (u64, u64),
        population: u64,
        matches: u64,
    ) -> PgResult<Vec<DirectoryUser>> {
        let condition = if prefix {
            PREFIX_TEST.to_string()
        } else {
            format!("{SUBSTRING_TEST} AND NOT {PREFIX_TEST}")
        };
        if let Some(window) = walk_window(offset.saturating_add(limit), population, matches) {
            // The first `window` users in name order, filtered in that order; the subquery's LIMIT bounds the
            // walk whatever the planner thinks of the filter.
            let walk = format!(
                "SELECT {COLUMNS} FROM (SELECT * FROM users ORDER BY sort_key, id LIMIT $5) u \
                 WHERE {condition} ORDER BY u.sort_key, u.id LIMIT $6 OFFSET $7"
            );
            let extra = [clamp_i64(window), clamp_i64(limit), clamp_i64(offset)];
            let rows = self.rows(conn, walk, &extra).await?;
            // A full page from the window is the page: every match before the window's end is in it. So is a
            // short one when the window held everyone.
            if rows.len() as u64 == limit || window >= population {
                return Ok(rows);
            }
        }
        // Order only the candidates' keys, then read the page's users. Materialized, so the candidates come from
        // their index (terms, or trigrams) rather than from an unbounded walk of the name order.
        let sorted = if prefix {
            format!(
                "SELECT {COLUMNS} FROM (SELECT DISTINCT user_num, sort_key, user_id FROM user_terms \
                     WHERE {TERM_RANGE} ORDER BY sort_key, user_id LIMIT $5 OFFSET $6) p \
                 JOIN users u ON u.num = p.user_num ORDER BY p.sort_key, p.user_id"
            )
        } else {
            format!(
                "WITH m AS MATERIALIZED (SELECT num, sort_key, id FROM users WHERE {condition}) \
                 SELECT {COLUMNS} FROM (SELECT * FROM m ORDER BY sort_key, id LIMIT $5 OFFSET $6) p \
                 JOIN users u ON u.num = p.num ORDER BY p.sort_key, p.id"
            )
        };
        self.rows(conn, sorted, &[clamp_i64(limit), clamp_i64(offset)])
            .await
    }
}

/// How many name-order steps a walk may take to collect `want` rows from `matches` users spread over
/// `population`, or `None` when sorting the matches is the better plan.
fn walk_window(want: u64, population: u64, matches: u64) -> Option<u64> {
    let expected = want.saturating_mul(population) / matches.max(1);
    (expected <= MAX_EXPECTED_WALK).then(|| expected.saturating_mul(WALK_SLACK).max(MIN_WINDOW))
}

/// The count of the gram bound as `$5` (after the shared binds): 0 when no document holds it.
const GRAM_COUNT: &str = "SELECT coalesce((SELECT n FROM user_gram_counts WHERE gram = $5), 0)";
/// The same, with the gram the only bind.
const GRAM_COUNT_ALONE: &str =
    "SELECT coalesce((SELECT n FROM user_gram_counts WHERE gram = $1), 0)";

/// How many users have a term that starts with the query.
const PREFIX_COUNT: &str =
    "SELECT count(DISTINCT user_num) FROM user_terms WHERE term >= $1 AND term < $2";

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
            .collect::<StoreResult<_>>()?;
        return Ok(Page {
            items,
            total: count(total),
        });
    }
    let search = Search::new(q);

    // In one statement: the number of users for judging how dense the matches are (numbers are drawn for new
    // users only, so the largest is close), the total, and whether there is any prefix match. With a substring
    // search, the results are exactly its matches: prefix matches are among them, as every term is a line of the
    // document. Without one, the results are the prefix matches. A short query's total is counted already.
    let gram = match search.pattern {
        Some(_) => substring_gram(&search.q),
        None => prefix_gram(&search.q),
    };
    let total_sql = match (&gram, &search.pattern) {
        (Some(_), _) => GRAM_COUNT.to_string(),
        (None, Some(_)) => format!("SELECT count(*) FROM users WHERE {SUBSTRING_TEST}"),
        (None, None) => PREFIX_COUNT.to_string(),
    };
    let (population, total, any_prefix): (i64, i64, bool) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT coalesce(max(num), 0) FROM users), ({total_sql}), \
                    EXISTS (SELECT 1 FROM user_terms WHERE {TERM_RANGE})"
        )))
        .bind(&search.q)
        .bind(&search.q_end)
        .bind(&search.after_newline)
        .bind(&search.pattern)
        .bind(&gram)
        .fetch_one(&mut *conn)
        .await?;
    let (population, total) = (count(population), count(total));
    if total == 0 || offset >= total || limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }

    // Prefix matches first, unless there are none at all. How many there are is unknown until read; all matches
    // is the guess that favours a walk, and a walk that finds too few falls back to sorting.
    let mut items = Vec::new();
    if any_prefix {
        items = search
            .part(conn, true, (offset, limit), population, total)
            .await?;
    }
    let got = items.len() as u64;
    if search.pattern.is_none() || got == limit {
        return Ok(Page { items, total });
    }

    // Then substring matches, after however many prefix matches there are.
    let prefixed = if !any_prefix {
        0
    } else if got > 0 {
        offset + got
    } else if let Some(gram) = prefix_gram(&search.q) {
        let n: i64 = sqlx::query_scalar(GRAM_COUNT_ALONE)
            .bind(gram)
            .fetch_one(&mut *conn)
            .await?;
        count(n)
    } else {
        search.number(conn, PREFIX_COUNT).await?
    };
    let rest = total.saturating_sub(prefixed);
    if rest > 0 {
        let window = (offset.saturating_sub(prefixed), limit - got);
        items.extend(search.part(conn, false, window, population, rest).await?);
    }
    Ok(Page { items, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_only_for_dense_matches() {
        assert_eq!(walk_window(20, 200_000, 8_000), Some(2_000));
        assert_eq!(walk_window(50, 200_000, 40_000), Some(MIN_WINDOW));
        // 50 rows out of 3,000 matches: a walk of some 3,300 rows, more than sorting them costs.
        assert_eq!(walk_window(50, 200_000, 3_000), None);
        assert_eq!(walk_window(20, 200_000, 5), None);
        assert_eq!(walk_window(100_000, 200_000, 8_000), None);
    }

    #[test]
    fn a_query_with_a_newline_is_no_prefix() {
        assert_eq!(Search::new("ab".into()).after_newline, "\nab");
        assert_eq!(Search::new("ab".into()).pattern, None);
        assert_eq!(
            Search::new("a%c".into()).pattern.as_deref(),
            Some("%a\\%c%")
        );
        assert!(!Search::new("a\nb".into()).after_newline.contains("a\nb"));
    }
}
