//! The directory lookahead: a ranked page (prefix matches first, then substring matches, each by name and id)
//! and an exact total, read only through indexes. Matches come from the trigram index `users_fts` (queries of
//! three or more characters) and `user_terms` (prefix matches; the only source for shorter queries). Each part
//! of the page is read by walking a bounded window of the name-order index when matches are dense enough to
//! fill the page early, and otherwise (or when the window falls short, as with matches clustered late in name
//! order) by fetching the matches through their indexes and sorting them.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::clamp_i64;
use super::dialect::{END_EXISTS, EXPLAIN};
use super::users::Row;
use crate::model::DirectoryUser;
use crate::store::{Page, StoreResult};

type Sql = QueryBuilder<Sqlite>;

/// Shortest query the trigram index can answer; shorter ones use prefix matches only.
const TRIGRAM: usize = 3;
/// Walks expected to take more index steps than this sort instead.
const MAX_EXPECTED_WALK: u64 = 10_000;
/// A walk reads this many times the steps it is expected to need before giving up and sorting.
const WALK_SLACK: u64 = 4;
const MIN_WINDOW: u64 = 1_000;
/// A walk tests prefix matches against the list of substring matches first when that list is at most this many
/// times the window: listing a match costs a fraction of probing the term index for one walked user.
const PREFILTER_RATIO: u64 = 10;

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
        sql.push(column).push(" >= ").push_bind(self.q.clone());
        sql.push(" AND ")
            .push(column)
            .push(" < ")
            .push_bind(self.q_end.clone());
    }

    /// The user numbered `num` is a substring match.
    fn substring(&self, sql: &mut Sql, num: &str, phrase: &str) {
        sql.push(num)
            .push(" IN (SELECT rowid FROM users_fts WHERE users_fts MATCH ");
        sql.push_bind(phrase.to_string()).push(")");
    }

    /// The user numbered `num` has a term that starts with the query, probed through `user_terms_by_user`.
    fn prefix_probe(&self, sql: &mut Sql, num: &str, negate: bool) {
        sql.push(if negate { "NOT EXISTS" } else { "EXISTS" });
        sql.push(" (SELECT 1 FROM user_terms t WHERE t.user_num = ")
            .push(num)
            .push(" AND ");
        self.term_range(sql, "t.term");
        // A user with several matching terms must count once toward OFFSET.
        sql.push(END_EXISTS);
    }

    /// The walk's condition on the user numbered `num` for one part of the page: prefix matches (`prefix`), or
    /// substring matches that are not prefix matches. Prefixes are probed per user, as a walk sees few.
    /// (Without a substring search there are only prefix matches.) Prefix matches are substring matches too, so
    /// `prefilter` may test that first against the list of substring matches (built once, in memory) to spare
    /// most walked users the probe of the term index.
    fn walk_condition(&self, sql: &mut Sql, num: &str, prefix: bool, prefilter: bool) {
        if let Some(phrase) = &self.phrase
            && (prefilter || !prefix)
        {
            self.substring(sql, num, phrase);
            sql.push(" AND ");
        }
        self.prefix_probe(sql, num, !prefix);
    }

    /// The keys `(num, sort_key, id)` of rows `[offset, offset + limit)` of one part, in name order, read from
    /// indexes without touching user rows. Prefix matches are merged from two ordered sources: users whose name (sort key) starts with the query,
    /// a contiguous range of the name-order index however late it lies; and the other prefix matches (on the
    /// id, e-mail, a later word, a group), picked from the term range by the sort key each term carries.
    fn page_keys(&self, sql: &mut Sql, prefix: bool, offset: u64, limit: u64) {
        let want = offset.saturating_add(limit);
        if prefix {
            sql.push(
                "SELECT * FROM (SELECT num, sort_key, id FROM users INDEXED BY users_by_sort_key WHERE ",
            );
            self.term_range(sql, "sort_key");
            sql.push(" ORDER BY sort_key, id");
            limit_offset(sql, 0, want);
            sql.push(
                ") UNION ALL SELECT * FROM (SELECT DISTINCT user_num, sort_key, user_id \
                 FROM user_terms WHERE ",
            );
            self.term_range(sql, "term");
            sql.push(" AND NOT (");
            self.term_range(sql, "sort_key");
            sql.push(") ORDER BY sort_key, user_id");
            limit_offset(sql, 0, want);
            sql.push(") ORDER BY 2, 3");
        } else {
            sql.push("SELECT u.num, u.sort_key, u.id FROM users u WHERE ");
            if let Some(phrase) = &self.phrase {
                self.substring(sql, "u.num", phrase);
                sql.push(" AND ");
            }
            self.prefix_probe(sql, "u.num", true);
            sql.push(" ORDER BY u.sort_key, u.id");
        }
        limit_offset(sql, offset, limit);
    }
}

fn limit_offset(sql: &mut Sql, offset: u64, limit: u64) {
    sql.push(" LIMIT ").push_bind(clamp_i64(limit));
    sql.push(" OFFSET ").push_bind(clamp_i64(offset));
}

/// How many name-order steps a walk may take to collect `want` rows from `matches` users spread over
/// `population`, or `None` when sorting the matches is the better plan.
fn walk_window(want: u64, population: u64, matches: u64) -> Option<u64> {
    let expected = want.saturating_mul(population) / matches.max(1);
    (expected <= MAX_EXPECTED_WALK).then(|| expected.saturating_mul(WALK_SLACK).max(MIN_WINDOW))
}

/// Runs statements on one connection; with `plan` set it also records each one's query plan, labelled. A
/// statement is given as the code that builds it, so the plan is taken of exactly the statement that runs.
struct Runner<'c> {
    conn: &'c mut SqliteConnection,
    plan: Option<&'c mut Vec<String>>,
}

impl Runner<'_> {
    async fn explain(
        &mut self,
        label: &str,
        build: &(impl Fn(&mut Sql) + Sync),
    ) -> StoreResult<()> {
        if let Some(plan) = self.plan.as_deref_mut() {
            let mut sql = Sql::new(EXPLAIN);
            build(&mut sql);
            let rows: Vec<(i64, i64, i64, String)> =
                sql.build_query_as().fetch_all(&mut *self.conn).await?;
            plan.extend(rows.into_iter().map(|r| format!("{label}: {}", r.3)));
        }
        Ok(())
    }

    async fn count(&mut self, label: &str, build: impl Fn(&mut Sql) + Sync) -> StoreResult<u64> {
        self.explain(label, &build).await?;
        let mut sql = Sql::default();
        build(&mut sql);
        let n: i64 = sql.build_query_scalar().fetch_one(&mut *self.conn).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn rows(
        &mut self,
        label: &str,
        build: impl Fn(&mut Sql) + Sync,
    ) -> StoreResult<Vec<DirectoryUser>> {
        self.explain(label, &build).await?;
        let mut sql = Sql::default();
        build(&mut sql);
        let rows: Vec<Row> = sql.build_query_as().fetch_all(&mut *self.conn).await?;
        rows.into_iter().map(Row::into_user).collect()
    }

    /// Rows `[offset, offset + limit)` of one part of the ranking (`prefix` or substring-only matches), in name
    /// order; `matches` estimates how many users the part holds.
    async fn part(
        &mut self,
        search: &Search,
        prefix: bool,
        (offset, limit): (u64, u64),
        population: u64,
        matches: u64,
    ) -> StoreResult<Vec<DirectoryUser>> {
        let label = if prefix {
            "prefix matches"
        } else {
            "substring matches"
        };
        if let Some(window) = walk_window(offset.saturating_add(limit), population, matches) {
            // Building the list of substring matches pays when the window is long next to it.
            let prefilter = matches <= window.saturating_mul(PREFILTER_RATIO);
            // The first `window` users in name order, read from the covering index, filtered in that order.
            let walk = |walk: &mut Sql| {
                walk.push("SELECT ").push(COLUMNS).push(
                    " FROM (SELECT num, sort_key, id FROM users INDEXED BY users_by_sort_key \
                     ORDER BY sort_key, id LIMIT ",
                );
                walk.push_bind(clamp_i64(window));
                // CROSS JOIN and `+w.num` keep the name order driving: left free, the planner starts from the
                // matches and sorts them, which is what the walk is there to avoid.
                walk.push(") w CROSS JOIN users u ON u.num = w.num WHERE ");
                search.walk_condition(walk, "+w.num", prefix, prefilter);
                walk.push(" ORDER BY w.sort_key, w.id");
                limit_offset(walk, offset, limit);
            };
            let rows = self.rows(&format!("{label} (walk)"), walk).await?;
            // A full page from the window is the page: every match before the window's end is in it. So is a
            // short one when the window held everyone.
            if rows.len() as u64 == limit || window >= population {
                return Ok(rows);
            }
        }
        // Order only the candidates' keys, then read the page's users.
        let sorted = |sorted: &mut Sql| {
            sorted.push("SELECT ").push(COLUMNS).push(" FROM (");
            search.page_keys(sorted, prefix, offset, limit);
            sorted.push(") p CROSS JOIN users u ON u.num = p.num ORDER BY p.sort_key, p.id");
        };
        self.rows(&format!("{label} (sort)"), sorted).await
    }
}

/// How many users have a term that starts with the query.
fn prefix_count(search: &Search, sql: &mut Sql) {
    sql.push("SELECT count(DISTINCT user_num) FROM user_terms WHERE ");
    search.term_range(sql, "term");
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
        let total = run
            .count("total", |count| {
                count.push("SELECT count(*) FROM users");
            })
            .await?;
        let page = |page: &mut Sql| {
            page.push("SELECT ")
                .push(COLUMNS)
                .push(" FROM users u ORDER BY u.sort_key, u.id");
            limit_offset(page, offset, limit);
        };
        let items = run.rows("everyone", page).await?;
        return Ok(Page { items, total });
    }
    let search = Search::new(q);

    // The number of users, for judging how dense the matches are (rowids are never reused, so the largest is
    // close).
    let population = run
        .count("population", |population| {
            population.push("SELECT coalesce(max(num), 0) FROM users");
        })
        .await?;

    // With a substring search, the results are exactly its matches: prefix matches are among them, as every term
    // is a lowercased piece of a field the trigram index holds, and the index folds case the same way. Without
    // one, the results are the prefix matches.
    let total = match &search.phrase {
        Some(phrase) => {
            let count = |count: &mut Sql| {
                count.push("SELECT count(*) FROM users_fts WHERE users_fts MATCH ");
                count.push_bind(phrase.clone());
            };
            run.count("total", count).await?
        }
        None => {
            run.count("total", |count| prefix_count(&search, count))
                .await?
        }
    };
    if total == 0 || offset >= total || limit == 0 {
        return Ok(Page {
            items: Vec::new(),
            total,
        });
    }

    // Prefix matches first, unless there are none at all (one probe of the term index tells). How many there
    // are is unknown until read; all matches is the guess that favours a walk, and a walk that finds too few
    // falls back to the merge.
    let any = |any: &mut Sql| {
        any.push("SELECT EXISTS (SELECT 1 FROM user_terms WHERE ");
        search.term_range(any, "term");
        any.push(")");
    };
    let mut items = Vec::new();
    let mut prefixed = None;
    if run.count("any prefix match", any).await? == 0 {
        prefixed = Some(0);
    } else {
        items = run
            .part(&search, true, (offset, limit), population, total)
            .await?;
    }
    let got = items.len() as u64;
    if search.phrase.is_none() || got == limit {
        return Ok(Page { items, total });
    }

    // Then substring matches, after however many prefix matches there are.
    let prefixed = match prefixed {
        Some(n) => n,
        None if got > 0 => offset + got,
        None => {
            run.count("prefix matches", |count| prefix_count(&search, count))
                .await?
        }
    };
    let rest = total.saturating_sub(prefixed);
    if rest > 0 {
        let window = (offset.saturating_sub(prefixed), limit - got);
        items.extend(run.part(&search, false, window, population, rest).await?);
    }
    Ok(Page { items, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_only_for_dense_matches() {
        // 20 rows out of 8,000 matches among 200,000 users: a short walk, with slack.
        assert_eq!(walk_window(20, 200_000, 8_000), Some(2_000));
        assert_eq!(walk_window(2, 200_000, 8_000), Some(MIN_WINDOW));
        // 5 matches: walking would read the whole index.
        assert_eq!(walk_window(20, 200_000, 5), None);
        // Deep pages make walking dear again.
        assert_eq!(walk_window(100_000, 200_000, 8_000), None);
    }

    #[test]
    fn quotes_are_escaped_in_the_phrase() {
        let s = Search::new("a\"b".into());
        assert_eq!(s.phrase.as_deref(), Some("\"a\"\"b\""));
        assert_eq!(Search::new("ab".into()).phrase, None);
    }
}
