//! The rules every store applies the same way, whatever its database: what a directory user or a namespace name
//! may be, the keys and search terms derived from them, when a re-created account may issue its first token, how
//! an account update is audited, and the before/after detail of route and policy writes. Pure functions only;
//! each store's SQL calls them so the two cannot drift apart.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde_json::{Map, Value, json};

use crate::model::{DirectoryUser, NAMESPACE_PATH_SEPARATORS, ServiceAccount, is_unsafe_char};
use crate::policy::model::{Policy, Route};
use crate::store::{AccountPatch, AccountRecord, ImportCounts, MAX_ISSUE_AHEAD, Reissue};
use crate::store::{StoreError, StoreResult};
use crate::token::is_reserved_identity;

// ---- directory users ----

pub const MAX_ID_CHARS: usize = 256;
pub const MAX_TEXT_CHARS: usize = 1024;
pub const MAX_GROUPS: usize = 1000;

/// Checks every user before anything is written, so one bad row changes nothing; the error names the row.
pub fn validate_users(users: &[DirectoryUser]) -> StoreResult<()> {
    for (i, u) in users.iter().enumerate() {
        problem(u)
            .map_err(|p| StoreError::InvalidArgument(format!("users[{i}] (id {:?}): {p}", u.id)))?;
    }
    Ok(())
}

fn problem(u: &DirectoryUser) -> Result<(), String> {
    if u.id.trim().is_empty() {
        return Err("id must not be empty".into());
    }
    if u.id.chars().count() > MAX_ID_CHARS {
        return Err(format!("id is longer than {MAX_ID_CHARS} characters"));
    }
    if u.id.chars().any(is_unsafe_char) {
        return Err("id contains control or invisible formatting characters".into());
    }
    let texts = [("name", &u.name), ("email", &u.email)];
    for (what, text) in texts {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(format!("{what} is longer than {MAX_TEXT_CHARS} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err(format!("{what} contains control characters"));
        }
    }
    if u.groups.len() > MAX_GROUPS {
        return Err(format!("more than {MAX_GROUPS} groups"));
    }
    for g in &u.groups {
        if g.trim().is_empty() {
            return Err("a group name is empty".into());
        }
        if g.chars().count() > MAX_ID_CHARS {
            return Err(format!(
                "group {g:?} is longer than {MAX_ID_CHARS} characters"
            ));
        }
        if g.chars().any(char::is_control) {
            return Err(format!("group {g:?} contains control characters"));
        }
    }
    Ok(())
}

/// The listing order: the lowercased name, or the id for a user without one.
pub fn user_sort_key(u: &DirectoryUser) -> String {
    if u.name.trim().is_empty() {
        u.id.to_lowercase()
    } else {
        u.name.to_lowercase()
    }
}

/// What a query may be a prefix of: id, e-mail, whole name, each word of the name, each group; lowercased, so
/// each is a substring of a field the substring index holds (a prefix match is always a substring match). A term
/// that begins another (the first name begins the whole name) adds no match and is left out.
pub fn user_terms(u: &DirectoryUser) -> Vec<String> {
    let mut all = BTreeSet::new();
    let name = u.name.to_lowercase();
    for t in [u.id.to_lowercase(), u.email.to_lowercase(), name.clone()] {
        all.insert(t);
    }
    for word in name_words(&name) {
        all.insert(word.to_string());
    }
    for g in &u.groups {
        all.insert(g.to_lowercase());
    }
    all.remove("");
    // In sorted order, the terms that begin with `t` come right after it.
    let sorted: Vec<String> = all.into_iter().collect();
    sorted
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            sorted
                .get(i + 1)
                .is_none_or(|next| !next.starts_with(t.as_str()))
        })
        .map(|(_, t)| t.clone())
        .collect()
}

/// The words of a name that a query may be a prefix of: what lies between non-alphanumeric characters.
pub fn name_words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The document a substring index holds for a user: every searchable field, one per line.
pub fn user_document(u: &DirectoryUser) -> String {
    let mut doc = format!("{}\n{}\n{}", u.id, u.name, u.email);
    for g in &u.groups {
        doc.push('\n');
        doc.push_str(g);
    }
    doc
}

/// The import's audit detail.
pub fn import_detail(counts: ImportCounts) -> Value {
    json!({"inserted": counts.inserted, "updated": counts.updated})
}

/// The users of a batch as written: a batch that names an id twice is applied in order, so the last one wins.
/// Each id once, in the order of its last occurrence.
pub fn last_of_each(users: &[DirectoryUser]) -> Vec<&DirectoryUser> {
    let mut seen = HashSet::with_capacity(users.len());
    let mut out: Vec<&DirectoryUser> = users
        .iter()
        .rev()
        .filter(|u| seen.insert(u.id.as_str()))
        .collect();
    out.reverse();
    out
}

// ---- namespaces ----

/// Longest namespace name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// The comparison key for sibling-name uniqueness.
pub fn namespace_name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Trims a namespace name and checks it is usable.
pub fn valid_namespace_name(name: &str) -> StoreResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::InvalidArgument(
            "name: a namespace needs a name".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::InvalidArgument(format!(
            "name: at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(is_unsafe_char) {
        return Err(StoreError::InvalidArgument(
            "name: control or invisible formatting characters are not allowed".into(),
        ));
    }
    if name.contains(NAMESPACE_PATH_SEPARATORS) {
        return Err(StoreError::InvalidArgument(
            "name: '/' and '›' separate the names of a namespace path and are not allowed".into(),
        ));
    }
    Ok(name)
}

pub fn sibling_name_taken(name: &str) -> StoreError {
    StoreError::AlreadyExists(format!(
        "name: a namespace named {name:?} already exists there"
    ))
}

// ---- service accounts ----

/// The nanoseconds of `t` below its microsecond, stored beside the microseconds.
pub fn sub_micro_nanos(t: DateTime<Utc>) -> i64 {
    i64::from(t.timestamp_subsec_nanos() % 1000)
}

/// An expiry as an audit row shows it.
pub fn time_json(t: Option<DateTime<Utc>>) -> Value {
    match t {
        Some(t) => json!(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => json!("never"),
    }
}

pub fn reserved(field: &str) -> StoreError {
    StoreError::InvalidArgument(format!(
        "{field}: the bootstrap admin identity is reserved and cannot name a service account"
    ))
}

pub fn unknown_namespace(id: &str) -> StoreError {
    StoreError::InvalidArgument(format!("namespaceId: namespace {id:?} does not exist"))
}

pub fn account_exists(id: &str) -> StoreError {
    StoreError::AlreadyExists(format!("service account {id:?} already exists"))
}

/// When a new account with `id` may issue its first token, given the issue time of a deleted account's newest
/// token (`dead`): `earliest`, or the whole second after `dead`, since JWT times are whole seconds and an equal
/// `iat` would make the old token byte-identical to the new one.
pub fn first_issue(
    id: &str,
    dead: Option<DateTime<Utc>>,
    earliest: DateTime<Utc>,
) -> StoreResult<DateTime<Utc>> {
    let Some(dead) = dead else {
        return Ok(earliest);
    };
    if dead
        < earliest
            .duration_trunc(Duration::seconds(1))
            .unwrap_or(earliest)
    {
        return Ok(earliest);
    }
    let next = dead.duration_trunc(Duration::seconds(1)).unwrap_or(dead) + Duration::seconds(1);
    if next - earliest > MAX_ISSUE_AHEAD {
        let wait = (next - earliest - MAX_ISSUE_AHEAD).num_seconds().max(1);
        return Err(StoreError::Unavailable(format!(
            "service account id {id:?} was deleted moments ago; retry in {wait} s"
        )));
    }
    Ok(next)
}

/// The record of an account just created at `at`, as the store keeps it, without reading it back: both stores
/// keep times to the microsecond and the expiry to the nanosecond.
pub fn created_record(
    account: &ServiceAccount,
    issued_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> StoreResult<AccountRecord> {
    let stored = |t: DateTime<Utc>| {
        DateTime::from_timestamp_micros(t.timestamp_micros())
            .ok_or_else(|| StoreError::Internal(format!("time {t} is out of range")))
    };
    Ok(AccountRecord {
        account: ServiceAccount {
            expires_at: account.expires_at,
            created_at: stored(at)?,
            modified_at: stored(at)?,
            accessed_at: account.accessed_at.map(stored).transpose()?,
            ..account.clone()
        },
        issued_at: stored(issued_at)?,
        grace_from: None,
        grace_until: None,
    })
}

/// The checks of a create that need no database: ids present and not the bootstrap identity.
pub fn check_new_account(account: &ServiceAccount) -> StoreResult<()> {
    if account.id.is_empty() {
        return Err(StoreError::InvalidArgument("id: must not be empty".into()));
    }
    if account.user_id.is_empty() {
        return Err(StoreError::InvalidArgument("userId: required".into()));
    }
    if is_reserved_identity(&account.id) {
        return Err(reserved("id"));
    }
    if is_reserved_identity(&account.user_id) {
        return Err(reserved("userId"));
    }
    Ok(())
}

/// The create's audit detail.
pub fn create_detail(account: &ServiceAccount) -> Value {
    let mut detail = json!({
        "userId": account.user_id,
        "namespaceId": account.namespace_id,
        "expiresAt": time_json(account.expires_at),
    });
    if account.disabled {
        detail["disabled"] = json!(true);
    }
    detail
}

/// An update worked out against the current record: the record to write and the fields that change.
pub struct AccountUpdate {
    pub next: AccountRecord,
    pub changed: Vec<&'static str>,
}

/// Applies `patch` and `reissue` to `current` as of `at`. The caller has checked that a new namespace exists
/// (that error comes first). `Unavailable` when `reissue` is not later than the current token.
pub fn plan_update(
    id: &str,
    current: &AccountRecord,
    patch: &AccountPatch,
    reissue: Option<Reissue>,
    at: DateTime<Utc>,
) -> StoreResult<AccountUpdate> {
    let mut next = current.clone();
    let mut changed = Vec::new();
    if let Some(ns) = &patch.namespace_id
        && *ns != current.account.namespace_id
    {
        next.account.namespace_id = ns.clone();
        changed.push("namespaceId");
    }
    if let Some(user) = &patch.user_id {
        if user.is_empty() {
            return Err(StoreError::InvalidArgument("userId: required".into()));
        }
        if is_reserved_identity(user) {
            return Err(reserved("userId"));
        }
        if *user != current.account.user_id {
            next.account.user_id = user.clone();
            changed.push("userId");
        }
    }
    if let Some(d) = &patch.description
        && *d != current.account.description
    {
        next.account.description = d.clone();
        changed.push("description");
    }
    if let Some(e) = patch.expires_at
        && e != current.account.expires_at
    {
        next.account.expires_at = e;
        changed.push("expiresAt");
    }
    if let Some(d) = patch.disabled
        && d != current.account.disabled
    {
        next.account.disabled = d;
        changed.push("disabled");
    }
    if let Some(r) = reissue {
        // Read in the update's transaction: two rotations computed from the same old state must not both issue
        // at one `iat`, or their tokens could not be told apart.
        if r.issued_at <= current.issued_at {
            return Err(StoreError::Unavailable(format!(
                "service account {id:?} was rotated meanwhile; retry"
            )));
        }
        next.issued_at = r.issued_at;
        next.grace_from = r.grace_from;
        next.grace_until = r.grace_until;
    }
    next.account.modified_at = at;
    Ok(AccountUpdate { next, changed })
}

impl AccountUpdate {
    /// The audit action: `rotate` for a reissue that changes no field, `disable`/`enable` when that is the
    /// only change, otherwise `update`.
    pub fn action(&self, reissued: bool) -> &'static str {
        match (reissued, self.changed.as_slice()) {
            (true, []) => "rotate",
            // Disabling and enabling are audited by name: they are what an auditor looks for before a delete.
            (false, ["disabled"]) if self.next.account.disabled => "disable",
            (false, ["disabled"]) => "enable",
            _ => "update",
        }
    }

    /// Each changed field before and after (never a token: the record holds none).
    pub fn detail(&self, current: &ServiceAccount, reissue: Option<Reissue>) -> Value {
        let a = &self.next.account;
        let field = |acc: &ServiceAccount, name: &str| match name {
            "namespaceId" => json!(acc.namespace_id),
            "userId" => json!(acc.user_id),
            "description" => json!(acc.description),
            "disabled" => json!(acc.disabled),
            _ => time_json(acc.expires_at),
        };
        let before: Map<String, Value> = self
            .changed
            .iter()
            .map(|c| (c.to_string(), field(current, c)))
            .collect();
        let after: Map<String, Value> = self
            .changed
            .iter()
            .map(|c| (c.to_string(), field(a, c)))
            .collect();
        let mut detail = json!({
            "changed": self.changed,
            "before": before,
            "after": after,
            "userId": a.user_id,
            "namespaceId": a.namespace_id,
            "expiresAt": time_json(a.expires_at),
        });
        if let Some(r) = reissue {
            detail["graceUntil"] = time_json(r.grace_until);
        }
        detail
    }
}

// ---- routes and policies ----

/// `{"before": {...}, "after": {...}}` with the fields that differ.
pub fn diff(before: Map<String, Value>, after: Map<String, Value>) -> Value {
    let (mut b, mut a) = (Map::new(), Map::new());
    for (k, new) in after {
        let old = before.get(&k).cloned().unwrap_or(Value::Null);
        if old != new {
            b.insert(k.clone(), old);
            a.insert(k, new);
        }
    }
    json!({"before": b, "after": a})
}

/// The fields of a policy an audit row shows.
pub fn policy_fields(p: &Policy) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("namespaceId".into(), json!(p.namespace_id));
    m.insert("name".into(), json!(p.name));
    m.insert("description".into(), json!(p.description));
    m.insert("allowedUsers".into(), json!(p.allowed_users));
    m.insert("allowedDomains".into(), json!(p.allowed_domains));
    m.insert("ppl".into(), json!(p.ppl));
    m.insert("enforced".into(), json!(p.enforced));
    m
}

/// The fields of a route an audit row shows.
pub fn route_fields(r: &Route) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("namespaceId".into(), json!(r.namespace_id));
    m.insert("name".into(), json!(r.name));
    m.insert("description".into(), json!(r.description));
    m.insert("from".into(), json!(r.from));
    m.insert("prefix".into(), json!(r.prefix));
    m.insert("policyIds".into(), json!(r.policy_ids));
    m
}

pub fn unknown_route_namespace(id: &str) -> StoreError {
    StoreError::InvalidArgument(format!("namespaceId {id:?} names no namespace"))
}

pub fn unknown_policy(id: &str) -> StoreError {
    StoreError::InvalidArgument(format!("policyIds: {id:?} names no policy"))
}

/// Refuses to delete a policy that routes name, unless it is detached from them.
pub fn policy_in_use(p: &Policy, routes: &[(String, String)]) -> StoreError {
    let names: Vec<String> = routes.iter().map(|(_, n)| format!("{n:?}")).collect();
    StoreError::FailedPrecondition(format!(
        "policy {:?} is assigned to {} route(s) ({}); remove it from them first, or delete with \
         removeFromAnyAssignedRoutes",
        p.name,
        routes.len(),
        names.join(", ")
    ))
}

/// The audit log's columns as both stores select them, in [`AuditRow`]'s order.
pub const AUDIT_COLUMNS: &str = "seq, at, actor, action, target_kind, target_id, detail, namespace_id, entity_name, actor_account_id";

/// One audit row as read: seq, time in microseconds, then the text columns of [`AUDIT_COLUMNS`].
pub type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

/// The entry a stored audit row holds.
pub fn audit_entry(row: AuditRow) -> StoreResult<crate::store::AuditEntry> {
    let (
        seq,
        at,
        actor,
        action,
        target_kind,
        target_id,
        detail,
        namespace_id,
        entity_name,
        actor_account_id,
    ) = row;
    let at = DateTime::from_timestamp_micros(at)
        .ok_or_else(|| StoreError::Internal(format!("stored time {at} is out of range")))?;
    Ok(crate::store::AuditEntry {
        seq,
        at,
        actor,
        action,
        target_kind,
        target_id,
        detail,
        namespace_id,
        entity_name,
        actor_account_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_cover_words_groups_and_fields() {
        let u = DirectoryUser {
            id: "JLP".into(),
            name: "Jean-Luc Picard".into(),
            email: "jl@Example.org".into(),
            groups: vec!["Admins".into()],
        };
        let t: Vec<String> = user_terms(&u).into_iter().collect();
        assert_eq!(
            t,
            vec![
                "admins",
                "jean-luc picard",
                "jl@example.org",
                "jlp",
                "luc",
                "picard"
            ]
        );
    }

    #[test]
    fn validation_names_the_row() {
        let good = DirectoryUser {
            id: "a".into(),
            name: String::new(),
            email: String::new(),
            groups: vec![],
        };
        let mut bad = good.clone();
        bad.id = "b\u{1b}[2J".into();
        let err = validate_users(&[good.clone(), bad])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("users[1] (id \"b\\u{1b}[2J\")"), "{err}");
        let mut long = good.clone();
        long.id = "x".repeat(MAX_ID_CHARS + 1);
        assert!(validate_users(&[long]).is_err());
        let mut empty = good;
        empty.id = " ".into();
        assert!(
            validate_users(&[empty])
                .unwrap_err()
                .to_string()
                .contains("users[0]")
        );
    }

    #[test]
    fn a_batch_keeps_the_last_of_each_id() {
        let u = |id: &str, name: &str| DirectoryUser {
            id: id.into(),
            name: name.into(),
            email: String::new(),
            groups: vec![],
        };
        let batch = [u("a", "1"), u("b", "2"), u("a", "3")];
        let kept: Vec<(&str, &str)> = last_of_each(&batch)
            .into_iter()
            .map(|u| (u.id.as_str(), u.name.as_str()))
            .collect();
        assert_eq!(kept, [("b", "2"), ("a", "3")]);
    }
}
