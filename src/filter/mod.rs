//! The ListServiceAccounts filter grammar and orderBy syntax as typed values shared by clients and server: `Expr`
//! and `OrderKey`, parsed from JSON with bounded size, written back to JSON in the same grammar (`Expr::to_json`),
//! and built in code with typed constructors (`Expr::field(Field::UserId).contains("ci-")`).

mod parse;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use parse::{parse_filter, parse_order_by, parse_time};

/// Deepest nesting of `$and`/`$or`/`$not` a filter may use.
pub const MAX_DEPTH: usize = 32;
/// Most expressions (objects and field conditions) one filter may hold.
pub const MAX_NODES: usize = 1_000;
/// Most values one `$isAnyOf` may list.
pub const MAX_ANY_OF: usize = 1_000;
/// Most values a whole filter may bind; keeps far below the databases' parameter limits.
pub const MAX_VALUES: usize = 10_000;

/// A field a filter or an order may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Id,
    NamespaceId,
    UserId,
    Description,
    OriginatorId,
    ExpiresAt,
    IssuedAt,
    AccessedAt,
    CreatedAt,
    ModifiedAt,
    /// A sacon extension: whether the account is disabled.
    Disabled,
}

/// What kind of value a field holds, which decides the operators it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Time,
    /// Never empty: only equality and any-of apply.
    Bool,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Id,
        Field::NamespaceId,
        Field::UserId,
        Field::Description,
        Field::OriginatorId,
        Field::ExpiresAt,
        Field::IssuedAt,
        Field::AccessedAt,
        Field::CreatedAt,
        Field::ModifiedAt,
        Field::Disabled,
    ];

    /// The snake_case name, which is also the column name in every store.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::NamespaceId => "namespace_id",
            Field::UserId => "user_id",
            Field::Description => "description",
            Field::OriginatorId => "originator_id",
            Field::ExpiresAt => "expires_at",
            Field::IssuedAt => "issued_at",
            Field::AccessedAt => "accessed_at",
            Field::CreatedAt => "created_at",
            Field::ModifiedAt => "modified_at",
            Field::Disabled => "disabled",
        }
    }

    /// The lowerCamelCase name of the JSON mapping.
    pub fn camel_name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::NamespaceId => "namespaceId",
            Field::UserId => "userId",
            Field::Description => "description",
            Field::OriginatorId => "originatorId",
            Field::ExpiresAt => "expiresAt",
            Field::IssuedAt => "issuedAt",
            Field::AccessedAt => "accessedAt",
            Field::CreatedAt => "createdAt",
            Field::ModifiedAt => "modifiedAt",
            Field::Disabled => "disabled",
        }
    }

    /// Accepts the snake_case and the lowerCamelCase spelling.
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL
            .into_iter()
            .find(|f| f.name() == name || f.camel_name() == name)
    }

    pub fn kind(self) -> FieldKind {
        match self {
            Field::ExpiresAt
            | Field::IssuedAt
            | Field::AccessedAt
            | Field::CreatedAt
            | Field::ModifiedAt => FieldKind::Time,
            Field::Disabled => FieldKind::Bool,
            _ => FieldKind::Text,
        }
    }

    /// Whether the column may hold NULL (an unset time). Text fields store "empty" as `''`.
    pub fn nullable(self) -> bool {
        matches!(self, Field::ExpiresAt | Field::AccessedAt)
    }
}

/// A value compared against a field; its kind always matches the field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Time(DateTime<Utc>),
    Bool(bool),
}

/// One condition on one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(Scalar),
    IsAnyOf(Vec<Scalar>),
    /// Case-insensitive substring (text fields).
    Contains(String),
    /// Case-insensitive prefix (text fields).
    StartsWith(String),
    Before(DateTime<Utc>),
    After(DateTime<Utc>),
    OnOrBefore(DateTime<Utc>),
    OnOrAfter(DateTime<Utc>),
    /// `''` for text fields, NULL for time fields; a boolean field is never empty.
    IsEmpty,
    IsNotEmpty,
}

/// A filter expression. Comparisons never match an empty (NULL) time, so `Not` is an exact complement.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All must hold; empty means "match everything".
    And(Vec<Expr>),
    /// One must hold; empty means "match nothing".
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp {
        field: Field,
        op: Op,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderKey {
    pub field: Field,
    pub descending: bool,
}

/// The order used when the request names none.
pub const DEFAULT_ORDER: [OrderKey; 1] = [OrderKey {
    field: Field::CreatedAt,
    descending: false,
}];

impl From<&str> for Scalar {
    fn from(s: &str) -> Scalar {
        Scalar::Text(s.to_string())
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Scalar {
        Scalar::Text(s)
    }
}

impl From<&String> for Scalar {
    fn from(s: &String) -> Scalar {
        Scalar::Text(s.clone())
    }
}

impl From<bool> for Scalar {
    fn from(b: bool) -> Scalar {
        Scalar::Bool(b)
    }
}

impl From<DateTime<Utc>> for Scalar {
    fn from(t: DateTime<Utc>) -> Scalar {
        Scalar::Time(t)
    }
}

/// The first half of a condition built in code: `Expr::field(Field::NamespaceId).is_any_of(ids)`. A value of the
/// wrong kind for the field (a time for a text field) is not caught here; the server refuses it as it would the
/// same JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef(pub Field);

impl FieldRef {
    fn op(self, op: Op) -> Expr {
        Expr::Cmp { field: self.0, op }
    }

    pub fn eq(self, value: impl Into<Scalar>) -> Expr {
        self.op(Op::Eq(value.into()))
    }

    pub fn is_any_of<V: Into<Scalar>>(self, values: impl IntoIterator<Item = V>) -> Expr {
        self.op(Op::IsAnyOf(values.into_iter().map(Into::into).collect()))
    }

    /// Case-insensitive substring.
    pub fn contains(self, text: impl Into<String>) -> Expr {
        self.op(Op::Contains(text.into()))
    }

    /// Case-insensitive prefix.
    pub fn starts_with(self, text: impl Into<String>) -> Expr {
        self.op(Op::StartsWith(text.into()))
    }

    pub fn before(self, t: DateTime<Utc>) -> Expr {
        self.op(Op::Before(t))
    }

    pub fn after(self, t: DateTime<Utc>) -> Expr {
        self.op(Op::After(t))
    }

    pub fn on_or_before(self, t: DateTime<Utc>) -> Expr {
        self.op(Op::OnOrBefore(t))
    }

    pub fn on_or_after(self, t: DateTime<Utc>) -> Expr {
        self.op(Op::OnOrAfter(t))
    }

    pub fn is_empty(self) -> Expr {
        self.op(Op::IsEmpty)
    }

    pub fn is_not_empty(self) -> Expr {
        self.op(Op::IsNotEmpty)
    }
}

impl Expr {
    /// Starts a condition on `field`.
    pub fn field(field: Field) -> FieldRef {
        FieldRef(field)
    }

    /// All of `parts`; none at all matches everything.
    pub fn and(parts: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::And(parts.into_iter().collect())
    }

    /// Any of `parts`; none at all matches nothing.
    pub fn or(parts: impl IntoIterator<Item = Expr>) -> Expr {
        Expr::Or(parts.into_iter().collect())
    }

    pub fn negate(inner: Expr) -> Expr {
        Expr::Not(Box::new(inner))
    }

    /// The filter object in the grammar `parse_filter` reads, so `parse_filter(&e.to_json()) == Ok(e)`. Each
    /// combinator and each condition is its own object (`{"$and": [...]}`, `{"user_id": {"$contains": "x"}}`);
    /// an equality is the bare scalar (`{"namespace_id": "ns"}`).
    pub fn to_json(&self) -> Value {
        let list = |parts: &[Expr]| Value::Array(parts.iter().map(Expr::to_json).collect());
        let (key, value) = match self {
            Expr::And(parts) => ("$and".to_string(), list(parts)),
            Expr::Or(parts) => ("$or".to_string(), list(parts)),
            Expr::Not(inner) => ("$not".to_string(), inner.to_json()),
            Expr::Cmp { field, op } => (field.name().to_string(), op_json(op)),
        };
        Value::Object(serde_json::Map::from_iter([(key, value)]))
    }
}

/// Times keep every digit they have, so a round trip is exact.
fn time_json(t: &DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn scalar_json(v: &Scalar) -> Value {
    match v {
        Scalar::Text(s) => Value::String(s.clone()),
        Scalar::Time(t) => time_json(t),
        Scalar::Bool(b) => Value::Bool(*b),
    }
}

/// The value under a field key: a bare scalar for equality, otherwise a one-operator object.
fn op_json(op: &Op) -> Value {
    let (name, arg) = match op {
        Op::Eq(v) => return scalar_json(v),
        Op::IsAnyOf(values) => (
            "$isAnyOf",
            Value::Array(values.iter().map(scalar_json).collect()),
        ),
        Op::Contains(s) => ("$contains", Value::String(s.clone())),
        Op::StartsWith(s) => ("$startsWith", Value::String(s.clone())),
        Op::Before(t) => ("$before", time_json(t)),
        Op::After(t) => ("$after", time_json(t)),
        Op::OnOrBefore(t) => ("$onOrBefore", time_json(t)),
        Op::OnOrAfter(t) => ("$onOrAfter", time_json(t)),
        Op::IsEmpty => ("$isEmpty", Value::Bool(true)),
        Op::IsNotEmpty => ("$isNotEmpty", Value::Bool(true)),
    };
    Value::Object(serde_json::Map::from_iter([(name.to_string(), arg)]))
}

#[cfg(test)]
mod tests {
    use super::parse::cmp;
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn parse(v: Value) -> Expr {
        parse_filter(&v).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    fn err(v: Value) -> String {
        match parse_filter(&v) {
            Ok(e) => panic!("{v} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn text(s: &str) -> Scalar {
        Scalar::Text(s.into())
    }

    #[test]
    fn empty_object_matches_all() {
        assert_eq!(parse(json!({})), Expr::And(vec![]));
    }

    #[test]
    fn scalar_array_null_and_camel_case() {
        assert_eq!(
            parse(json!({"namespaceId": "a"})),
            cmp(Field::NamespaceId, Op::Eq(text("a")))
        );
        assert_eq!(
            parse(json!({"namespace_id": ["a", "b"]})),
            cmp(Field::NamespaceId, Op::IsAnyOf(vec![text("a"), text("b")]))
        );
        assert_eq!(
            parse(json!({"expiresAt": null})),
            cmp(Field::ExpiresAt, Op::IsEmpty)
        );
        assert_eq!(
            parse(json!({"user_id": ["a", null]})),
            Expr::Or(vec![
                cmp(Field::UserId, Op::IsAnyOf(vec![text("a")])),
                cmp(Field::UserId, Op::IsEmpty)
            ])
        );
    }

    #[test]
    fn is_empty_false_inverts() {
        assert_eq!(
            parse(json!({"accessed_at": {"$isEmpty": false}})),
            cmp(Field::AccessedAt, Op::IsNotEmpty)
        );
        assert!(err(json!({"accessed_at": {"$isEmpty": "yes"}})).contains("takes true"));
    }

    #[test]
    fn rejections_name_the_culprit() {
        assert_eq!(
            err(json!({"user_id": {"$foo": 1}})),
            "filter: unknown operator \"$foo\" on field \"user_id\""
        );
        assert_eq!(err(json!({"nope": 1})), "filter: unknown field \"nope\"");
        assert!(err(json!({"$xor": []})).contains("\"$xor\""));
        assert!(
            err(json!({"user_id": {"$before": "2027-01-01"}})).contains("text field \"user_id\"")
        );
        assert!(
            err(json!({"expires_at": {"$contains": "x"}})).contains("time field \"expires_at\"")
        );
        assert!(err(json!({"expires_at": "tomorrow"})).contains("\"tomorrow\""));
        assert!(
            err(json!({"expires_at": {"$before": 5}}))
                .contains("\"$before\" on field \"expires_at\"")
        );
        assert!(err(json!({"user_id": 5})).contains("takes strings"));
        assert!(err(json!({"user_id": {}})).contains("empty operator object"));
        assert!(err(json!({"$and": {}})).contains("\"$and\" takes an array"));
        assert!(err(json!({"$not": []})).contains("\"$not\" takes a filter object"));
        assert!(err(json!({"$or": [1]})).contains("expected an object"));
        assert!(err(json!([])).contains("expected an object"));
        assert!(err(json!({"user_id": {"$isAnyOf": "a"}})).contains("takes an array"));
    }

    #[test]
    fn disabled_is_a_boolean_field() {
        assert_eq!(
            parse(json!({"disabled": true})),
            cmp(Field::Disabled, Op::Eq(Scalar::Bool(true)))
        );
        assert_eq!(
            parse(json!({"disabled": {"$eq": false}})),
            cmp(Field::Disabled, Op::Eq(Scalar::Bool(false)))
        );
        assert_eq!(
            parse(json!({"disabled": [false]})),
            cmp(Field::Disabled, Op::IsAnyOf(vec![Scalar::Bool(false)]))
        );
        assert!(err(json!({"disabled": "true"})).contains("takes true or false"));
        assert!(err(json!({"disabled": null})).contains("takes true or false"));
        assert!(err(json!({"disabled": [true, null]})).contains("takes true or false"));
        assert!(err(json!({"disabled": {"$isEmpty": true}})).contains("is never empty"));
        assert!(
            err(json!({"disabled": {"$contains": "t"}}))
                .contains("not to boolean field \"disabled\"")
        );
        assert!(
            err(json!({"disabled": {"$before": "2027-01-01"}}))
                .contains("not to boolean field \"disabled\"")
        );
        assert!(err(json!({"user_id": true})).contains("takes strings"));
        assert_eq!(
            Expr::field(Field::Disabled).eq(true).to_json(),
            json!({"disabled": true})
        );
        assert_eq!(
            parse_order_by("-disabled").unwrap(),
            vec![OrderKey {
                field: Field::Disabled,
                descending: true
            }]
        );
    }

    #[test]
    fn abuse_limits() {
        let mut deep = json!({"id": "x"});
        for _ in 0..MAX_DEPTH {
            deep = json!({"$not": deep});
        }
        assert!(err(deep).contains("deeper"));
        let mut ok = json!({"id": "x"});
        for _ in 0..MAX_DEPTH - 1 {
            ok = json!({"$not": ok});
        }
        parse(ok);

        let many: Vec<Value> = (0..MAX_NODES)
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        assert!(err(json!({"$or": many})).contains("expressions"));

        let values: Vec<Value> = (0..=MAX_ANY_OF).map(|i| json!(i.to_string())).collect();
        assert!(err(json!({"id": values})).contains("at most"));
        let values: Vec<Value> = (0..MAX_ANY_OF).map(|i| json!(i.to_string())).collect();
        parse(json!({"id": values}));

        let spread: Vec<Value> = (0..20).map(|_| json!({"id": values.clone()})).collect();
        assert!(err(json!({"$or": spread})).contains("values in total"));
    }

    #[test]
    fn times_and_dates() {
        assert_eq!(parse_time("2027-01-31"), Some(t(2027, 1, 31)));
        assert_eq!(
            parse_time("2027-01-31T02:00:00+02:00"),
            Some(t(2027, 1, 31))
        );
        assert_eq!(parse_time("2027-1-31"), None);
        assert_eq!(parse_time("2027-02-30"), None);
    }

    #[test]
    fn order_by_grammar() {
        assert_eq!(parse_order_by("").unwrap(), vec![]);
        assert_eq!(
            parse_order_by("-expiresAt, user_id").unwrap(),
            vec![
                OrderKey {
                    field: Field::ExpiresAt,
                    descending: true
                },
                OrderKey {
                    field: Field::UserId,
                    descending: false
                },
            ]
        );
        assert_eq!(
            parse_order_by("bogus").unwrap_err(),
            "orderBy: unknown field \"bogus\""
        );
        assert!(parse_order_by("id desc").unwrap_err().contains("\"-id\""));
        assert!(parse_order_by("id,-id").unwrap_err().contains("twice"));
        assert!(
            parse_order_by("id,,user_id")
                .unwrap_err()
                .contains("empty field")
        );
        assert!(parse_order_by("+id").is_err());
    }

    #[test]
    fn every_operator_round_trips_through_json() {
        let precise = Utc.timestamp_opt(1_800_000_000, 123_456_789).unwrap();
        let text_ops = [
            Op::Eq(text("u")),
            Op::IsAnyOf(vec![text("a"), text("b")]),
            Op::IsAnyOf(vec![]),
            Op::Contains("5%_".into()),
            Op::StartsWith("ci-".into()),
            Op::IsEmpty,
            Op::IsNotEmpty,
        ];
        let time_ops = [
            Op::Eq(Scalar::Time(precise)),
            Op::IsAnyOf(vec![Scalar::Time(t(2027, 1, 1)), Scalar::Time(precise)]),
            Op::Before(t(2027, 1, 1)),
            Op::After(precise),
            Op::OnOrBefore(t(2026, 6, 30)),
            Op::OnOrAfter(t(2026, 1, 1)),
            Op::IsEmpty,
            Op::IsNotEmpty,
        ];
        let bool_ops = [
            Op::Eq(Scalar::Bool(true)),
            Op::Eq(Scalar::Bool(false)),
            Op::IsAnyOf(vec![Scalar::Bool(false), Scalar::Bool(true)]),
            Op::IsAnyOf(vec![]),
        ];
        let mut all = Vec::new();
        for field in Field::ALL {
            let ops = match field.kind() {
                FieldKind::Text => &text_ops[..],
                FieldKind::Time => &time_ops[..],
                FieldKind::Bool => &bool_ops[..],
            };
            all.extend(ops.iter().map(|op| cmp(field, op.clone())));
        }
        let nested = Expr::and([
            Expr::or(all.clone()),
            Expr::negate(Expr::and(all.clone())),
            Expr::and([]),
            Expr::or([]),
            Expr::negate(Expr::negate(Expr::field(Field::Id).eq("x"))),
        ]);
        for e in all.iter().chain([&nested]) {
            let v = e.to_json();
            assert_eq!(parse_filter(&v).as_ref(), Ok(e), "{v}");
        }
    }

    #[test]
    fn constructors_write_the_documented_grammar() {
        let ids = vec!["ns-a".to_string(), "ns-b".to_string()];
        let e = Expr::and([
            Expr::field(Field::NamespaceId).is_any_of(&ids),
            Expr::field(Field::ExpiresAt).before(t(2027, 1, 1)),
            Expr::or([
                Expr::field(Field::UserId).starts_with("ci-"),
                Expr::field(Field::AccessedAt).is_empty(),
            ]),
        ]);
        assert_eq!(
            e.to_json(),
            json!({"$and": [
                {"namespace_id": {"$isAnyOf": ["ns-a", "ns-b"]}},
                {"expires_at": {"$before": "2027-01-01T00:00:00Z"}},
                {"$or": [{"user_id": {"$startsWith": "ci-"}}, {"accessed_at": {"$isEmpty": true}}]},
            ]})
        );
        assert_eq!(
            Expr::field(Field::NamespaceId).eq("ns").to_json(),
            json!({"namespace_id": "ns"})
        );
    }
}
