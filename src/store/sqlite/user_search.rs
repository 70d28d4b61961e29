//! The directory lookahead: a ranked page (prefix matches first, then substring matches, each by name and id)
//! and an exact total, read only through indexes. Matches come from the trigram index `users_fts` (queries of
//! three or more characters) and `user_terms` (prefix matches; the only source for shorter queries). Each part
//! of the page is read one of two ways, whichever reads fewer rows for the match counts at hand: sort the
//! matches, or walk the name-order index and keep the matches until the page is full (dense matches).

use sqlx::SqliteConnection;

use super::users::Row;
use super::{arguments, clamp_i64};
use crate::model::DirectoryUser;
use crate::store::filter::{Bind, Dialect, Sql};
use crate::store::{Page, StoreResult};

/// Shortest query the trigram index can answer; shorter ones use prefix matches only.
const TRIGRAM: usize = 3;
/// One step of an index walk costs about this fraction of fetching and sorting one match by rowid.
const WALK_STEP_COST: f64 = 0.1;

const COLUMNS: &str = "u.id, u.name, u.email, u.groups";

/// A non-empty, lowercased query and the SQL fragments that test it.
struct Search {
    q: String,
    /// Exclusive upper bound of the terms that start with `q`.
    q_end: String,
    /// The FTS5 phrase for substring matches, for queries of at least `TRIGRAM` characters.
    phrase: Option<String>,
}

impl Search {
    fn new(q: String) -> Search {
        // Every string that starts with `q` sorts below `q` followed by the greatest code point.
        let q_end = format!("{q}\u{10FFFF}");
        let phrase =
            (q.chars().count() >= TRIGRAM).then(|| format!("\"{}\"", q.replace('"', "\"\"")));
        Search { q, q_end, phrase }
    }

    fn term_range(&self, sql: &mut Sql, column: &str) {
        sql.push(column)
            .push(" >= ")
            .bind(Bind::Text(self.q.clone()));
        sql.push(" AND ")
            .push(column)
            .push(" < ")
            .bind(Bind::Text(self.q_end.clone()));
    }

    /// `u` is a substring match. `walk` keeps the planner from using this term to pick rows, so it walks the
    /// name-order index instead.
    fn substring(&self, sql: &mut Sql, walk: bool, phrase: &str) {
        sql.push(if walk { "+u.num" } else { "u.num" });
        sql.push(" IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ");
        sql.bind(Bind::Text(phrase.to_string())).push(")");
    }

    /// `u` has a term that starts with the query, probed through `user_terms_by_user`.
    fn prefix_probe(&self, sql: &mut Sql, negate: bool) {
        sql.push(if negate { "NOT EXISTS" } else { "EXISTS" });
        sql.push(" (SELECT 1 FROM user_terms t WHERE t.user_num = u.num AND ");
        self.term_range(sql, "t.term");
        // `LIMIT 1` keeps SQLite 3.51 from turning the EXISTS into a join, which then counts a user once per
        // matching term toward OFFSET and skips rows on later pages.
        sql.push(" LIMIT 1)");
    }

    /// `u` is a prefix match, taken from the range of `user_terms`' primary key.
    fn prefix_set(&self, sql: &mut Sql) {
        sql.push("u.num IN (SELECT user_num FROM user_terms WHERE ");
        self.term_range(sql, "term");
        sql.push(")");
    }
}

/// Whether walking the name-order index to collect `want` rows out of `matches` (spread over `population`
/// users) reads less than sorting `candidates` rows.
fn walk_is_cheaper(want: u64, population: u64, matches: u64, candidates: u64) -> bool {
    let steps = want as f64 * population as f64 / matches.max(1) as f64;
    steps * WALK_STEP_COST < candidates as f64
}

fn page_tail(sql: &mut Sql, offset: u64, limit: u64) {
    sql.push(" ORDER BY u.sort_key, u.id LIMIT ")
        .bind(Bind::Int(clamp_i64(limit)));
    sql.push(" OFFSET ").bind(Bind::Int(clamp_i64(offset)));
}

/// Runs statements on one connection; with `plan` set it also records each one's query plan, labelled.
struct Runner<'c> {
    conn: &'c mut SqliteConnection,
    plan: Option<&'c mut Vec<String>>,
}

impl Runner<'_> {
    async fn explain(&mut self, label: &str, sql: &Sql) -> StoreResult<()> {
        if let Some(plan) = self.plan.as_deref_mut() {
            let text = format!("EXPLAIN QUERY PLAN {}", sql.text);
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as_with(sqlx::AssertSqlSafe(text), arguments(&sql.binds)?)
                    .fetch_all(&mut *self.conn)
                    .await?;
            plan.extend(rows.into_iter().map(|r| format!("{label}: {}", r.3)));
        }
        Ok(())
    }

    async fn count(&mut self, label: &str, sql: Sql) -> StoreResult<u64> {
        self.explain(label, &sql).await?;
        let n: i64 = sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.text), arguments(&sql.binds)?)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn rows(&mut self, label: &str, sql: Sql) -> StoreResult<Vec<DirectoryUser>> {
        self.explain(label, &sql).await?;
        let rows: Vec<Row> =
            sqlx::query_as_with(sqlx::AssertSqlSafe(sql.text), arguments(&sql.binds)?)
                .fetch_all(&mut *self.conn)
                .await?;
        rows.into_iter().map(Row::into_user).collect()
    }
}

fn sql() -> Sql {
    Sql::new(Dialect::Sqlite)
}

/// The page `[offset, offset + limit)` of users matching `query`, and how many match in all. Run inside one
/// read transaction so the counts and the rows agree.
pub(super) async fn query(
    conn: &mut SqliteConnection,
    query: &str,
    offset: u64,
    limit: u64,
    plan: Option<&mut Vec<String>>,
) -> StoreResult<Page<DirectoryUser>> {
    let mut run = Runner { conn, plan };
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        let mut count = sql();
        count.push("SELECT count(*) FROM users");
        let total = run.count("total", count).await?;
        let mut page = sql();
        page.push("SELECT ").push(COLUMNS).push(" FROM users u");
        page_tail(&mut page, offset, limit);
        let items = run.rows("everyone", page).await?;
        return Ok(Page { items, total });
    }
    let search = Search::new(q);

    // Cheap figures for choosing how to read: the number of users (rowids are never reused, so the largest is
    // close), and the number of (term, user) pairs in the prefix range, an upper bound of the prefix matches.
    let mut population = sql();
    population.push("SELECT coalesce(max(num), 0) FROM users");
    let population = run.count("population", population).await?;
    let mut pairs = sql();
    pairs.push("SELECT count(*) FROM user_terms WHERE ");
    search.term_range(&mut pairs, "term");
    let pairs = run.count("prefix pairs", pairs).await?;

    // With a substring search, the results are exactly its matches (prefix matches are among them); without,
    // they are the prefix matches.
    let total = match &search.phrase {
        Some(phrase) => {
            let mut count = sql();
            count.push("SELECT count(*) FROM users_fts WHERE users_fts MATCH ");
            count.bind(Bind::Text(phrase.clone()));
            run.count("total", count).await?
        }
        None => {
            let mut count = sql();
            count.push("SELECT count(DISTINCT user_num) FROM user_terms WHERE ");
            search.term_range(&mut count, "term");
            run.count("total", count).await?
        }
    };
    if total == 0 || offset >= total || limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }

    // Prefix matches, by name.
    let want = offset.saturating_add(limit);
    let mut page = sql();
    page.push("SELECT ").push(COLUMNS).push(" FROM users u");
    if walk_is_cheaper(want, population, (pairs / 2).max(1), pairs) {
        page.push(" INDEXED BY users_by_sort_key WHERE ");
        if let Some(phrase) = &search.phrase {
            search.substring(&mut page, true, phrase);
            page.push(" AND ");
        }
        search.prefix_probe(&mut page, false);
    } else {
        page.push(" WHERE ");
        search.prefix_set(&mut page);
        if let Some(phrase) = &search.phrase {
            page.push(" AND ");
            search.substring(&mut page, false, phrase);
        }
    }
    page_tail(&mut page, offset, limit);
    let mut items = run.rows("prefix matches", page).await?;
    let got = items.len() as u64;
    let Some(phrase) = &search.phrase else {
        return Ok(Page { items, total });
    };
    if got == limit {
        return Ok(Page { items, total });
    }

    // Then substring matches, by name, after however many prefix matches there are.
    let prefixed = if got > 0 {
        offset + got
    } else {
        let mut count = sql();
        count.push("SELECT count(*) FROM users u WHERE ");
        search.prefix_set(&mut count);
        count.push(" AND ");
        search.substring(&mut count, false, phrase);
        run.count("prefix matches", count).await?
    };
    let rest = total.saturating_sub(prefixed);
    if rest == 0 {
        return Ok(Page { items, total });
    }
    let rest_offset = offset.saturating_sub(prefixed);
    let rest_limit = limit - got;
    let mut page = sql();
    page.push("SELECT ").push(COLUMNS).push(" FROM users u");
    let walk = walk_is_cheaper(rest_offset + rest_limit, population, rest, total);
    page.push(if walk {
        " INDEXED BY users_by_sort_key WHERE "
    } else {
        " WHERE "
    });
    search.substring(&mut page, walk, phrase);
    page.push(" AND ");
    search.prefix_probe(&mut page, true);
    page_tail(&mut page, rest_offset, rest_limit);
    items.extend(run.rows("substring matches", page).await?);
    Ok(Page { items, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_wins_only_for_dense_matches() {
        // 20 rows out of 8,000 matches among 200,000 users: a short walk.
        assert!(walk_is_cheaper(20, 200_000, 8_000, 8_000));
        // 5 matches: walking would read the whole index.
        assert!(!walk_is_cheaper(20, 200_000, 5, 5));
        // Deep pages make walking dear again.
        assert!(!walk_is_cheaper(100_000, 200_000, 8_000, 8_000));
    }

    #[test]
    fn quotes_are_escaped_in_the_phrase() {
        let s = Search::new("a\"b".into());
        assert_eq!(s.phrase.as_deref(), Some("\"a\"\"b\""));
        assert_eq!(Search::new("ab".into()).phrase, None);
    }
}
