//! What the route and policy handlers share: paging (`offset` and `limit` are optional — an absent limit is
//! "all", `0` is "none" —, negative ones are refused, and the total counts the matches before paging) and the
//! namespace a write lands in (it exists; manager there, and where it was on a move).

use super::validate::{self, MAX_USER_ID};
use crate::access::Role;
use crate::api::ConnectError;
use crate::server::authz::Scope;

/// The namespace a route or policy is written to, checked: `namespace_id` names a namespace, and the caller
/// holds manager there and, when it replaces one, in `old` (where it was).
pub fn writable_namespace(
    scope: &Scope,
    namespace_id: &str,
    old: Option<&str>,
) -> Result<String, ConnectError> {
    let namespace_id = validate::identifier("namespaceId", Some(namespace_id), MAX_USER_ID)?;
    if scope.tree.get(&namespace_id).is_none() {
        return Err(ConnectError::invalid(format!(
            "namespaceId {namespace_id:?} names no namespace"
        )));
    }
    if let Some(old) = old {
        scope.require(old, Role::Manager)?;
    }
    scope.require(&namespace_id, Role::Manager)?;
    Ok(namespace_id)
}

fn non_negative(field: &str, v: Option<i64>) -> Result<Option<usize>, ConnectError> {
    v.map(|n| {
        usize::try_from(n)
            .map_err(|_| ConnectError::invalid(format!("{field} must not be negative")))
    })
    .transpose()
}

/// One page of `items` and how many there were.
pub fn page<T>(
    items: Vec<T>,
    offset: Option<i64>,
    limit: Option<i64>,
) -> Result<(Vec<T>, i64), ConnectError> {
    let offset = non_negative("offset", offset)?.unwrap_or(0);
    let limit = non_negative("limit", limit)?;
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let page = items
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok((page, total))
}

/// Whether any of `fields` contains `query`, ignoring case; an absent or empty query matches everything.
pub fn matches(query: Option<&str>, fields: &[&str]) -> bool {
    match query.map(str::trim).filter(|q| !q.is_empty()) {
        None => true,
        Some(q) => {
            let q = q.to_lowercase();
            fields.iter().any(|f| f.to_lowercase().contains(&q))
        }
    }
}

/// An `orderBy` value checked against the names a listing knows; absent or empty is `default`.
pub fn order<'a>(
    given: Option<&'a str>,
    known: &[&'static str],
    default: &'static str,
) -> Result<&'a str, ConnectError> {
    match given.map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(default),
        Some(o) if known.contains(&o) => Ok(o),
        Some(o) => Err(ConnectError::invalid(format!(
            "orderBy {o:?} is not one of {}",
            known.join(", ")
        ))),
    }
}
