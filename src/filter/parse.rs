//! Reading the filter grammar and `orderBy` from their JSON and text forms, with bounded size, into the typed
//! values of the parent module; every error names the offending key, operator or field.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::*;

/// Parses a filter object. `{}` matches everything. Errors name the offending key, operator or field.
pub fn parse_filter(v: &Value) -> Result<Expr, String> {
    Parser::default().expr(v, 1)
}

#[derive(Default)]
struct Parser {
    nodes: usize,
    values: usize,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Parser {
    fn node(&mut self) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!(
                "filter: more than {MAX_NODES} expressions; simplify the filter"
            ));
        }
        Ok(())
    }

    fn value(&mut self) -> Result<(), String> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!("filter: more than {MAX_VALUES} values in total"));
        }
        Ok(())
    }

    fn expr(&mut self, v: &Value, depth: usize) -> Result<Expr, String> {
        if depth > MAX_DEPTH {
            return Err(format!("filter: nested deeper than {MAX_DEPTH} levels"));
        }
        let Value::Object(obj) = v else {
            return Err(format!("filter: expected an object, got {}", kind_of(v)));
        };
        self.node()?;
        let mut parts = Vec::with_capacity(obj.len());
        for (key, val) in obj {
            let part = match key.as_str() {
                "$and" => Expr::And(self.list(key, val, depth)?),
                "$or" => Expr::Or(self.list(key, val, depth)?),
                "$not" => {
                    if !val.is_object() {
                        return Err(format!(
                            "filter: \"$not\" takes a filter object, got {}",
                            kind_of(val)
                        ));
                    }
                    Expr::Not(Box::new(self.expr(val, depth + 1)?))
                }
                k if k.starts_with('$') => {
                    return Err(format!(
                        "filter: unknown operator {k:?} (only \"$and\", \"$or\" and \"$not\" combine expressions)"
                    ));
                }
                k => {
                    let field =
                        Field::parse(k).ok_or_else(|| format!("filter: unknown field {k:?}"))?;
                    self.field(k, field, val)?
                }
            };
            parts.push(part);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr::And(Vec::new()))
        } else {
            Expr::And(parts)
        })
    }

    fn list(&mut self, key: &str, v: &Value, depth: usize) -> Result<Vec<Expr>, String> {
        let Value::Array(items) = v else {
            return Err(format!(
                "filter: {key:?} takes an array of filter objects, got {}",
                kind_of(v)
            ));
        };
        items.iter().map(|i| self.expr(i, depth + 1)).collect()
    }

    /// A field key with a scalar (equals), an array (any of), null (is empty) or an object of operators.
    fn field(&mut self, key: &str, field: Field, v: &Value) -> Result<Expr, String> {
        self.node()?;
        match v {
            Value::Null => empty(key, field),
            Value::Array(items) => self.any_of(key, field, items),
            Value::Object(ops) => {
                if ops.is_empty() {
                    return Err(format!(
                        "filter: field {key:?} has an empty operator object"
                    ));
                }
                let mut parts = Vec::with_capacity(ops.len());
                for (op, arg) in ops {
                    parts.push(self.operator(key, field, op, arg)?);
                }
                Ok(if parts.len() == 1 {
                    parts.pop().unwrap_or(Expr::And(Vec::new()))
                } else {
                    Expr::And(parts)
                })
            }
            scalar => Ok(cmp(field, Op::Eq(self.scalar(key, field, scalar)?))),
        }
    }

    fn operator(&mut self, key: &str, field: Field, op: &str, arg: &Value) -> Result<Expr, String> {
        self.node()?;
        let needs = |wanted: FieldKind| -> Result<(), String> {
            if field.kind() == wanted {
                return Ok(());
            }
            Err(format!(
                "filter: operator {op:?} applies to {} fields, not to {} field {key:?}",
                kind_name(wanted),
                kind_name(field.kind())
            ))
        };
        match op {
            "$eq" => match arg {
                Value::Null => empty(key, field),
                _ => Ok(cmp(field, Op::Eq(self.scalar(key, field, arg)?))),
            },
            "$isAnyOf" => match arg {
                Value::Array(items) => self.any_of(key, field, items),
                _ => Err(format!(
                    "filter: \"$isAnyOf\" on field {key:?} takes an array, got {}",
                    kind_of(arg)
                )),
            },
            "$contains" | "$startsWith" => {
                needs(FieldKind::Text)?;
                let Value::String(s) = arg else {
                    return Err(format!(
                        "filter: {op:?} on field {key:?} takes a string, got {}",
                        kind_of(arg)
                    ));
                };
                self.value()?;
                Ok(cmp(
                    field,
                    if op == "$contains" {
                        Op::Contains(s.clone())
                    } else {
                        Op::StartsWith(s.clone())
                    },
                ))
            }
            "$before" | "$after" | "$onOrBefore" | "$onOrAfter" => {
                needs(FieldKind::Time)?;
                let t = self.time(key, op, arg)?;
                Ok(cmp(
                    field,
                    match op {
                        "$before" => Op::Before(t),
                        "$after" => Op::After(t),
                        "$onOrBefore" => Op::OnOrBefore(t),
                        _ => Op::OnOrAfter(t),
                    },
                ))
            }
            "$isEmpty" | "$isNotEmpty" => {
                let Value::Bool(flag) = arg else {
                    return Err(format!(
                        "filter: {op:?} on field {key:?} takes true, got {}",
                        kind_of(arg)
                    ));
                };
                if field.kind() == FieldKind::Bool {
                    return Err(format!(
                        "filter: {op:?} on field {key:?}: a boolean field is never empty"
                    ));
                }
                // `false` asks for the opposite, which is still a clear request.
                let empty = (op == "$isEmpty") == *flag;
                Ok(cmp(field, if empty { Op::IsEmpty } else { Op::IsNotEmpty }))
            }
            _ => Err(format!("filter: unknown operator {op:?} on field {key:?}")),
        }
    }

    fn any_of(&mut self, key: &str, field: Field, items: &[Value]) -> Result<Expr, String> {
        if items.len() > MAX_ANY_OF {
            return Err(format!(
                "filter: \"$isAnyOf\" on field {key:?} lists {} values; at most {MAX_ANY_OF} are allowed",
                items.len()
            ));
        }
        let mut values = Vec::with_capacity(items.len());
        let mut or_empty = false;
        for item in items {
            if item.is_null() {
                or_empty = true;
            } else {
                values.push(self.scalar(key, field, item)?);
            }
        }
        if or_empty {
            empty(key, field)?;
        }
        Ok(match (or_empty, values.is_empty()) {
            (false, _) => cmp(field, Op::IsAnyOf(values)),
            (true, true) => cmp(field, Op::IsEmpty),
            (true, false) => Expr::Or(vec![
                cmp(field, Op::IsAnyOf(values)),
                cmp(field, Op::IsEmpty),
            ]),
        })
    }

    fn scalar(&mut self, key: &str, field: Field, v: &Value) -> Result<Scalar, String> {
        self.value()?;
        match field.kind() {
            FieldKind::Text => match v {
                Value::String(s) => Ok(Scalar::Text(s.clone())),
                _ => Err(format!(
                    "filter: field {key:?} takes strings, got {}",
                    kind_of(v)
                )),
            },
            FieldKind::Time => Ok(Scalar::Time(time_value(&format!("field {key:?}"), v)?)),
            FieldKind::Bool => match v {
                Value::Bool(b) => Ok(Scalar::Bool(*b)),
                _ => Err(bool_wanted(key, v)),
            },
        }
    }

    fn time(&mut self, key: &str, op: &str, v: &Value) -> Result<DateTime<Utc>, String> {
        self.value()?;
        time_value(&format!("{op:?} on field {key:?}"), v)
    }
}

/// `what` names the place in the filter for the error message, e.g. `field "expires_at"`.
fn time_value(what: &str, v: &Value) -> Result<DateTime<Utc>, String> {
    let Value::String(s) = v else {
        return Err(format!(
            "filter: {what} takes an RFC 3339 time or a date YYYY-MM-DD, got {}",
            kind_of(v)
        ));
    };
    parse_time(s).ok_or_else(|| {
        format!("filter: {what} takes an RFC 3339 time or a date YYYY-MM-DD, got {s:?}")
    })
}

fn kind_name(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::Time => "time",
        FieldKind::Bool => "boolean",
    }
}

fn bool_wanted(key: &str, v: &Value) -> String {
    format!(
        "filter: field {key:?} takes true or false, got {}",
        kind_of(v)
    )
}

/// A null value asks for an empty field: NULL times and `''` texts; a boolean field has no empty value.
fn empty(key: &str, field: Field) -> Result<Expr, String> {
    if field.kind() == FieldKind::Bool {
        return Err(bool_wanted(key, &Value::Null));
    }
    Ok(cmp(field, Op::IsEmpty))
}

pub(super) fn cmp(field: Field, op: Op) -> Expr {
    Expr::Cmp { field, op }
}

/// An RFC 3339 instant, or a date `YYYY-MM-DD` meaning 00:00 UTC of that day.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if s.len() != 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// Parses `orderBy`: comma-separated field names (snake or camel case), each with an optional leading `-` for
/// descending. The empty string means the default order. The store adds the `id` tie-breaker.
pub fn parse_order_by(s: &str) -> Result<Vec<OrderKey>, String> {
    let trimmed = s.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut keys: Vec<OrderKey> = Vec::new();
    for part in trimmed.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(format!("orderBy: empty field name in {s:?}"));
        }
        let (descending, name) = match part.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, part),
        };
        let words: Vec<&str> = name.split_whitespace().collect();
        if words.len() > 1 {
            let last = words[words.len() - 1].to_ascii_lowercase();
            return Err(if last == "asc" || last == "desc" {
                format!(
                    "orderBy: {part:?}: \"asc\"/\"desc\" are not accepted; write \"-{}\" for descending",
                    words[0]
                )
            } else {
                format!("orderBy: unknown field {name:?}")
            });
        }
        let field = Field::parse(name).ok_or_else(|| format!("orderBy: unknown field {name:?}"))?;
        if keys.iter().any(|k| k.field == field) {
            return Err(format!("orderBy: field {name:?} is named twice"));
        }
        keys.push(OrderKey { field, descending });
    }
    Ok(keys)
}
