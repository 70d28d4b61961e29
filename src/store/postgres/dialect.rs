//! Every PostgreSQL-specific rule the filter compiler depends on, in one place: times as BIGINT microseconds,
//! flags as BOOLEAN, case-insensitive LIKE as `ILIKE … ESCAPE '\'` (over "C"-collated columns it folds ASCII
//! only, as SQLite's LIKE does), and the NULL placement the `accounts_ns_*` indexes are built on.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder};

use super::micros;
use crate::filter::{Field, OrderKey};
use crate::store::sql::Dialect;

impl Dialect for Postgres {
    fn push_text(qb: &mut QueryBuilder<Postgres>, text: String) {
        qb.push_bind(text);
    }

    fn push_time(qb: &mut QueryBuilder<Postgres>, t: DateTime<Utc>) {
        qb.push_bind(micros(t));
    }

    fn push_bool(qb: &mut QueryBuilder<Postgres>, b: bool) {
        qb.push_bind(b);
    }

    fn push_like(qb: &mut QueryBuilder<Postgres>, column: &str, pattern: String) {
        qb.push(column).push(" ILIKE ");
        qb.push_bind(pattern);
        qb.push(" ESCAPE '\\'");
    }

    /// A never-expiring account sorts as the far future and a never-used one as the far past: the NULL
    /// placement of `migrations_pg/0001_init.sql`'s indexes, which a backward scan turns around for DESC.
    fn order_term(key: OrderKey) -> String {
        let col = key.field.name();
        let nulls = match (key.field, key.descending) {
            (Field::ExpiresAt, false) | (Field::AccessedAt, true) => " NULLS LAST",
            (Field::ExpiresAt, true) | (Field::AccessedAt, false) => " NULLS FIRST",
            _ => "",
        };
        let dir = if key.descending { " DESC" } else { " ASC" };
        format!("{col}{dir}{nulls}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::filter::{parse_filter, parse_order_by};
    use crate::store::sql::{push_filter, push_order};

    use super::*;

    fn sql(v: Value) -> String {
        let mut qb = QueryBuilder::<Postgres>::default();
        push_filter(&mut qb, &parse_filter(&v).unwrap());
        qb.into_string()
    }

    fn order(s: &str) -> String {
        let mut qb = QueryBuilder::<Postgres>::default();
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
             ((expires_at IS NOT NULL AND expires_at > $1) AND (expires_at IS NOT NULL AND expires_at < $2) \
             AND (expires_at IS NOT NULL AND expires_at >= $3) AND (expires_at IS NOT NULL AND expires_at <= $4)) \
             AND (user_id ILIKE $5 ESCAPE '\\' AND user_id = $6 AND user_id IN ($7) AND user_id ILIKE $8 ESCAPE '\\'))"
        );
    }

    #[test]
    fn flags_compare_by_equality() {
        assert_eq!(sql(json!({"disabled": true})), "disabled = $1");
        assert_eq!(
            sql(json!({"disabled": [true, false]})),
            "disabled IN ($1, $2)"
        );
        assert_eq!(
            sql(json!({"$not": {"disabled": false}})),
            "NOT (disabled = $1)"
        );
    }

    #[test]
    fn combinators() {
        assert_eq!(
            sql(json!({"$or": [{"id": "a"}, {"$not": {"user_id": "b"}}], "$and": []})),
            "(1=1 AND (id = $1 OR NOT (user_id = $2)))"
        );
        assert_eq!(sql(json!({"$or": []})), "1=0");
        assert_eq!(sql(json!({"id": []})), "1=0");
    }

    #[test]
    fn order_places_nulls_and_breaks_ties() {
        assert_eq!(order(""), "created_at ASC, id ASC");
        assert_eq!(order("expires_at"), "expires_at ASC NULLS LAST, id ASC");
        assert_eq!(order("-expires_at"), "expires_at DESC NULLS FIRST, id DESC");
        assert_eq!(
            order("accessed_at,id"),
            "accessed_at ASC NULLS FIRST, id ASC"
        );
        assert_eq!(
            order("-accessed_at"),
            "accessed_at DESC NULLS LAST, id DESC"
        );
        assert_eq!(
            order("-expires_at,user_id"),
            "expires_at DESC NULLS FIRST, user_id ASC, id ASC"
        );
    }
}
