//! Every SQLite-specific rule the SQL builders depend on, in one place: times as integer microseconds, LIKE, the
//! NULL ordering the migrations' indexes are built on, and the EXISTS shape that keeps SQLite 3.51 from
//! miscounting OFFSET.

use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::micros;
use crate::filter::{Field, OrderKey};
use crate::store::sql::Dialect;

/// The sort key of a never-expiring account (`expires_at` NULL): the far future. The expression indexes in
/// `migrations/0001_init.sql` use the same literal, so the ORDER BY can be served from them.
pub const NEVER_EXPIRES: i64 = i64::MAX;

/// Closes an `EXISTS (SELECT …` subquery. `LIMIT 1` keeps SQLite 3.51 from turning the EXISTS into a join, which
/// then counts a row once per match toward OFFSET and skips rows on later pages.
pub const END_EXISTS: &str = " LIMIT 1)";

/// Prefixes a statement so running it returns its plan, one row per step with the text in the fourth column.
pub const EXPLAIN: &str = "EXPLAIN QUERY PLAN ";

impl Dialect for Sqlite {
    fn push_text(qb: &mut QueryBuilder<Sqlite>, text: String) {
        qb.push_bind(text);
    }

    fn push_time(qb: &mut QueryBuilder<Sqlite>, t: DateTime<Utc>) {
        qb.push_bind(micros(t));
    }

    /// Flags are INTEGER 0 or 1 (`migrations/0008_account_disabled.sql`).
    fn push_bool(qb: &mut QueryBuilder<Sqlite>, b: bool) {
        qb.push_bind(i64::from(b));
    }

    /// SQLite's LIKE already ignores (ASCII) case.
    fn push_like(qb: &mut QueryBuilder<Sqlite>, column: &str, pattern: String) {
        qb.push(column).push(" LIKE ");
        qb.push_bind(pattern);
        qb.push(" ESCAPE '\\'");
    }

    fn order_term(key: OrderKey) -> String {
        let dir = if key.descending { " DESC" } else { " ASC" };
        let col = key.field.name();
        match key.field {
            Field::ExpiresAt => format!("coalesce({col}, {NEVER_EXPIRES}){dir}"),
            // SQLite sorts NULL before every value, which is the far past already.
            _ => format!("{col}{dir}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::filter::{parse_filter, parse_order_by};
    use crate::store::sql::{push_filter, push_order};

    use super::*;

    fn sql(v: Value) -> String {
        let mut qb = QueryBuilder::<Sqlite>::default();
        push_filter(&mut qb, &parse_filter(&v).unwrap());
        qb.into_string()
    }

    fn order(s: &str) -> String {
        let mut qb = QueryBuilder::<Sqlite>::default();
        push_order(&mut qb, &parse_order_by(s).unwrap());
        qb.into_string()
    }

    #[test]
    fn every_operator() {
        assert_eq!(sql(json!({})), "1=1");
        assert_eq!(
            sql(json!({
                "user_id": {"$eq": "u", "$isAnyOf": ["v"], "$contains": "5%_", "$startsWith": "a"},
                "expires_at": {"$before": "2027-01-01", "$after": "2026-01-01T00:00:00Z",
                               "$onOrBefore": "2027-01-01T00:00:00+00:00", "$onOrAfter": "2026-01-01"},
                "accessed_at": {"$isEmpty": true},
                "description": {"$isNotEmpty": true},
            })),
            "(accessed_at IS NULL AND description <> '' AND \
             ((expires_at IS NOT NULL AND expires_at > ?) AND (expires_at IS NOT NULL AND expires_at < ?) \
             AND (expires_at IS NOT NULL AND expires_at >= ?) AND (expires_at IS NOT NULL AND expires_at <= ?)) \
             AND (user_id LIKE ? ESCAPE '\\' AND user_id = ? AND user_id IN (?) AND user_id LIKE ? ESCAPE '\\'))"
        );
    }

    #[test]
    fn flags_compare_by_equality() {
        assert_eq!(sql(json!({"disabled": true})), "disabled = ?");
        assert_eq!(
            sql(json!({"disabled": [true, false]})),
            "disabled IN (?, ?)"
        );
        assert_eq!(
            sql(json!({"$not": {"disabled": false}})),
            "NOT (disabled = ?)"
        );
    }

    #[test]
    fn combinators() {
        assert_eq!(
            sql(json!({"$or": [{"id": "a"}, {"$not": {"user_id": "b"}}], "$and": []})),
            "(1=1 AND (id = ? OR NOT (user_id = ?)))"
        );
        assert_eq!(sql(json!({"$or": []})), "1=0");
        assert_eq!(sql(json!({"id": []})), "1=0");
    }

    #[test]
    fn like_patterns_match_literally() {
        assert_eq!(crate::store::sql::escape_like("5%_\\x"), "5\\%\\_\\\\x");
    }

    #[test]
    fn order_places_nulls_and_breaks_ties() {
        assert_eq!(order(""), "created_at ASC, id ASC");
        assert_eq!(
            order("-expires_at"),
            format!("coalesce(expires_at, {}) DESC, id DESC", i64::MAX)
        );
        assert_eq!(order("accessed_at,id"), "accessed_at ASC, id ASC");
        assert_eq!(
            order("-expires_at,user_id"),
            format!(
                "coalesce(expires_at, {}) DESC, user_id ASC, id ASC",
                i64::MAX
            )
        );
    }
}
