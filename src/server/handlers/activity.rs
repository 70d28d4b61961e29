//! pomerium.dashboard.ActivityLogService over the audit log: list entries by namespace (optionally its subtree),
//! actor, entity, activity type and date, newest first with the total; get one with its neighbours; list the
//! entity types. An entry's `id` is its audit seq; `entityData` is the row's non-secret detail, never a token.

use std::collections::HashMap;

use crate::access::Role;
use crate::api::ConnectError;
use crate::api::convert::{timestamp_to_chrono, ts};
use crate::api::wire;
use crate::server::authz::Scope;
use crate::server::{AppState, Caller};
use crate::store::{ActivityQuery, AuditEntry, DateOp, Store};

/// Namespace names by id, to name the namespace of entries written before names were recorded on the row.
async fn namespace_names<S: Store>(
    state: &AppState<S>,
) -> Result<HashMap<String, String>, ConnectError> {
    Ok(state
        .store
        .list_namespaces()
        .await?
        .into_iter()
        .map(|n| (n.id, n.name))
        .collect())
}

fn to_wire(e: AuditEntry, names: &HashMap<String, String>) -> wire::ActivityLogEntry {
    let namespace_name = match names.get(&e.namespace_id) {
        Some(name) => name.clone(),
        // A deleted namespace keeps the name its own entries recorded.
        None if e.target_kind == "namespace" => e.entity_name.clone(),
        None => String::new(),
    };
    let diff_summary = diff_summary(&e.detail);
    wire::ActivityLogEntry {
        diff_summary,
        id: e.seq.to_string(),
        name: e.entity_name,
        activity_type: e.action,
        created_at: ts(e.at),
        namespace_id: e.namespace_id,
        namespace_name,
        user_id: e.actor,
        service_account_id: e.actor_account_id,
        entity_type: e.target_kind,
        entity_id: e.target_id,
        entity_data: e.detail,
        ..Default::default()
    }
}

/// For an update whose detail records `before` and `after`: how many fields it set (added) and cleared or
/// replaced (removed) — a replaced value counts once each way.
fn diff_summary(detail: &str) -> Option<wire::activity_log_entry::DiffSummary> {
    let v: serde_json::Value = serde_json::from_str(detail).ok()?;
    let (before, after) = (v.get("before")?.as_object()?, v.get("after")?.as_object()?);
    let present = |x: Option<&serde_json::Value>| {
        x.is_some_and(|x| !(x.is_null() || x == "" || x == "never"))
    };
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let (mut added, mut removed) = (0, 0);
    for k in keys {
        if present(after.get(k)) {
            added += 1;
        }
        if present(before.get(k)) {
            removed += 1;
        }
    }
    Some(wire::activity_log_entry::DiffSummary { added, removed })
}

fn non_negative(field: &str, v: Option<i64>) -> Result<Option<u64>, ConnectError> {
    v.map(|n| {
        u64::try_from(n).map_err(|_| ConnectError::invalid(format!("{field} must not be negative")))
    })
    .transpose()
}

fn date_filter(
    f: &Option<wire::list_activity_log_entries_request::DateFilter>,
) -> Result<Option<(DateOp, chrono::DateTime<chrono::Utc>)>, ConnectError> {
    let Some(f) = f else { return Ok(None) };
    // The message is not optional upstream, so clients send it empty to mean "no date filter".
    if f.operator.is_empty() && f.date.is_none() {
        return Ok(None);
    }
    let op = match f.operator.as_str() {
        "=" => DateOp::Eq,
        "!=" => DateOp::Ne,
        "<" => DateOp::Before,
        "<=" => DateOp::OnOrBefore,
        ">" => DateOp::After,
        ">=" => DateOp::OnOrAfter,
        other => {
            return Err(ConnectError::invalid(format!(
                "dateFilter.operator {other:?} is not one of =, !=, <, <=, >, >="
            )));
        }
    };
    let date = f
        .date
        .as_ref()
        .ok_or_else(|| ConnectError::invalid("dateFilter.date is required with an operator"))?;
    let date = timestamp_to_chrono(date)
        .ok_or_else(|| ConnectError::invalid("dateFilter.date is not a valid timestamp"))?;
    Ok(Some((op, date)))
}

/// Refuses the request fields sacon does not implement instead of silently listing everything.
fn refuse_unsupported(req: &wire::ListActivityLogEntriesRequest) -> Result<(), ConnectError> {
    if req.query.as_deref().is_some_and(|q| !q.is_empty()) {
        return Err(ConnectError::invalid("query is not supported"));
    }
    if !req.db_versions.is_empty() {
        return Err(ConnectError::invalid("dbVersions is not supported"));
    }
    if let Some(sort) = &req.sort {
        let newest = (sort.column.is_empty() || sort.column == "created_at")
            && (sort.direction.is_empty() || sort.direction.eq_ignore_ascii_case("DESC"));
        if !newest {
            return Err(ConnectError::invalid(format!(
                "sort {} {} is not supported; entries come newest first",
                sort.column, sort.direction
            )));
        }
    }
    if req
        .string_filter
        .as_ref()
        .is_some_and(|f| !f.field_name.is_empty() || !f.value.is_empty())
    {
        return Err(ConnectError::invalid("stringFilter is not supported"));
    }
    Ok(())
}

/// Only root reads entries outside every namespace (directory imports); anyone else needs viewer where the
/// entry happened.
fn require_readable(scope: &Scope, entry: &AuditEntry) -> Result<(), ConnectError> {
    if entry.namespace_id.is_empty() {
        scope.require_root("reading directory activity")
    } else {
        scope.require(&entry.namespace_id, Role::Viewer)
    }
}

pub async fn list<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::ListActivityLogEntriesRequest,
) -> Result<wire::ListActivityLogEntriesResponse, ConnectError> {
    refuse_unsupported(&req)?;
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let scope = Scope::load(state, caller).await?;
    // A namespace asked for needs viewer there (its subtree inherits it); without one, a caller that is not
    // root sees the namespaces it holds a role in.
    let within = match non_empty(&req.namespace_id) {
        Some(ns) => {
            scope.require(&ns, Role::Viewer)?;
            None
        }
        None => scope.visible(),
    };
    let query = ActivityQuery {
        within,
        namespace_id: non_empty(&req.namespace_id),
        recursive: req.recurse_namespace.unwrap_or(false),
        actor: non_empty(&req.user_id),
        action: non_empty(&req.activity_type),
        target_kind: non_empty(&req.entity_type),
        target_id: non_empty(&req.entity_id),
        entities: req
            .entities
            .iter()
            .map(|e| (e.r#type.clone(), e.id.clone()))
            .collect(),
        date: date_filter(&req.date_filter)?,
        offset: non_negative("offset", req.offset)?.unwrap_or(0),
        limit: non_negative("limit", req.limit)?,
    };
    let page = state.store.list_activity(&query).await?;
    let names = namespace_names(state).await?;
    Ok(wire::ListActivityLogEntriesResponse {
        entries: page.items.into_iter().map(|e| to_wire(e, &names)).collect(),
        total_count: i64::try_from(page.total).unwrap_or(i64::MAX),
    })
}

pub async fn get<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    req: wire::GetActivityLogEntryRequest,
) -> Result<wire::GetActivityLogEntryResponse, ConnectError> {
    if req.id.is_empty() {
        return Err(ConnectError::invalid("id is required"));
    }
    let unknown = || ConnectError::not_found(format!("no activity log entry with id {:?}", req.id));
    // Ids are seqs; anything else names no entry.
    let seq: i64 = req.id.parse().map_err(|_| unknown())?;
    let found = state.store.get_activity(seq).await?.ok_or_else(unknown)?;
    require_readable(&Scope::load(state, caller).await?, &found.entry)?;
    let names = namespace_names(state).await?;
    Ok(wire::GetActivityLogEntryResponse {
        entry: Some(to_wire(found.entry, &names)),
        previous_entry_id: found.previous.map(|s| s.to_string()),
        next_entry_id: found.next.map(|s| s.to_string()),
    })
}

pub async fn entity_types<S: Store>(
    state: &AppState<S>,
    caller: &Caller,
    _req: wire::ListEntityTypesRequest,
) -> Result<wire::ListEntityTypesResponse, ConnectError> {
    Scope::load(state, caller)
        .await?
        .require_any(Role::Viewer, "listing entity types")?;
    Ok(wire::ListEntityTypesResponse {
        entity_types: state.store.list_activity_kinds().await?,
    })
}
