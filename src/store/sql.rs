//! Compiles the filter grammar (`crate::filter::Expr`) and orderBy keys onto a `sqlx::QueryBuilder`, values always
//! as binds, so filtering and ordering happen in the database, never in Rust. What differs between databases is
//! behind [`Dialect`], implemented once per store (SQLite's in `sqlite/dialect.rs`).

use chrono::{DateTime, Utc};
use sqlx::{Database, QueryBuilder};

use crate::filter::{DEFAULT_ORDER, Expr, Field, FieldKind, Op, OrderKey, Scalar};

/// The SQL a store's database needs where standard SQL does not settle it. Column names are the fields'
/// snake_case names in every store.
pub trait Dialect: Database {
    /// Binds a text value.
    fn push_text(qb: &mut QueryBuilder<Self>, text: String);

    /// Binds a time in the store's column representation.
    fn push_time(qb: &mut QueryBuilder<Self>, t: DateTime<Utc>);

    /// Binds a flag in the store's column representation.
    fn push_bool(qb: &mut QueryBuilder<Self>, b: bool);

    /// A case-insensitive `column LIKE pattern` whose pattern escapes `%`, `_` and `\` with `\` (see
    /// [`escape_like`]).
    fn push_like(qb: &mut QueryBuilder<Self>, column: &str, pattern: String);

    /// One ORDER BY term. A never-expiring account (`expires_at` NULL) sorts as the far future and a never-used
    /// one (`accessed_at` NULL) as the far past, and the expression must be the one the store's indexes are
    /// built on, or pages stop being served from them. (PostgreSQL: `expires_at ASC NULLS LAST` / `DESC NULLS
    /// FIRST`, `accessed_at ASC NULLS FIRST` / `DESC NULLS LAST`.)
    fn order_term(key: OrderKey) -> String;
}

/// Appends the boolean SQL expression for `expr`.
pub fn push_filter<D: Dialect>(qb: &mut QueryBuilder<D>, expr: &Expr) {
    match expr {
        Expr::And(parts) => junction(qb, parts, " AND ", "1=1"),
        Expr::Or(parts) => junction(qb, parts, " OR ", "1=0"),
        Expr::Not(inner) => {
            qb.push("NOT (");
            push_filter(qb, inner);
            qb.push(")");
        }
        Expr::Cmp { field, op } => condition(qb, *field, op),
    }
}

fn junction<D: Dialect>(qb: &mut QueryBuilder<D>, parts: &[Expr], joiner: &str, empty: &str) {
    if parts.is_empty() {
        qb.push(empty);
        return;
    }
    qb.push("(");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            qb.push(joiner);
        }
        push_filter(qb, part);
    }
    qb.push(")");
}

fn scalar<D: Dialect>(qb: &mut QueryBuilder<D>, v: &Scalar) {
    match v {
        Scalar::Text(s) => D::push_text(qb, s.clone()),
        Scalar::Time(t) => D::push_time(qb, *t),
        Scalar::Bool(b) => D::push_bool(qb, *b),
    }
}

fn compare<D: Dialect>(qb: &mut QueryBuilder<D>, col: &str, op: &str, t: DateTime<Utc>) {
    qb.push(col).push(op);
    D::push_time(qb, t);
}

fn condition<D: Dialect>(qb: &mut QueryBuilder<D>, field: Field, op: &Op) {
    let col = field.name();
    // A NULL time would make a comparison NULL, and NOT of NULL is NULL too; guarding with IS NOT NULL keeps the
    // logic two-valued so `$not` is an exact complement.
    let guarded = field.nullable()
        && !matches!(
            op,
            Op::IsEmpty | Op::IsNotEmpty | Op::Contains(_) | Op::StartsWith(_)
        );
    if guarded {
        qb.push("(").push(col).push(" IS NOT NULL AND ");
    }
    match op {
        Op::Eq(v) => {
            qb.push(col).push(" = ");
            scalar(qb, v);
        }
        Op::IsAnyOf(values) if values.is_empty() => {
            qb.push("1=0");
        }
        Op::IsAnyOf(values) => {
            qb.push(col).push(" IN (");
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    qb.push(", ");
                }
                scalar(qb, v);
            }
            qb.push(")");
        }
        Op::Contains(s) => D::push_like(qb, col, format!("%{}%", escape_like(s))),
        Op::StartsWith(s) => D::push_like(qb, col, format!("{}%", escape_like(s))),
        Op::Before(t) => compare(qb, col, " < ", *t),
        Op::After(t) => compare(qb, col, " > ", *t),
        Op::OnOrBefore(t) => compare(qb, col, " <= ", *t),
        Op::OnOrAfter(t) => compare(qb, col, " >= ", *t),
        Op::IsEmpty => match field.kind() {
            FieldKind::Text => {
                qb.push(col).push(" = ''");
            }
            FieldKind::Time => {
                qb.push(col).push(" IS NULL");
            }
            // The parser refuses it; built in code, a flag is never empty.
            FieldKind::Bool => {
                qb.push("1=0");
            }
        },
        Op::IsNotEmpty => match field.kind() {
            FieldKind::Text => {
                qb.push(col).push(" <> ''");
            }
            FieldKind::Time => {
                qb.push(col).push(" IS NOT NULL");
            }
            FieldKind::Bool => {
                qb.push("1=1");
            }
        },
    }
    if guarded {
        qb.push(")");
    }
}

/// Appends the ORDER BY terms (without the keyword): `keys`, or the default order when empty, then `id` in the
/// direction of the last key so an index on `(…, key, id)` can serve the whole order in one scan.
pub fn push_order<D: Dialect>(qb: &mut QueryBuilder<D>, keys: &[OrderKey]) {
    let keys = if keys.is_empty() {
        &DEFAULT_ORDER[..]
    } else {
        keys
    };
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push(D::order_term(*key));
    }
    if !keys.iter().any(|k| k.field == Field::Id) {
        let descending = keys.last().is_some_and(|k| k.descending);
        qb.push(", ").push(D::order_term(OrderKey {
            field: Field::Id,
            descending,
        }));
    }
}

/// Escapes LIKE wildcards (and the escape character itself) so user text matches literally.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
