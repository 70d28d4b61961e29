//! The directory: validated, all-or-nothing upserts that keep the two search structures `user_search` reads
//! (`user_terms` for prefix matches, the trigram `users_fts` for substrings) in the same transaction. Imports are
//! written through rusqlite on a blocking thread; reads go through the sqlx pool.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::json;
use sqlx::SqlitePool;

use super::audit::{self, Target};
use crate::model::{DirectoryUser, is_unsafe_char};
use crate::store::{Change, ImportCounts, StoreError, StoreResult};

pub const MAX_ID_CHARS: usize = 256;
pub const MAX_TEXT_CHARS: usize = 1024;
pub const MAX_GROUPS: usize = 1000;

/// Checks every user before anything is written, so one bad row changes nothing; the error names the row.
pub(super) fn validate(users: &[DirectoryUser]) -> StoreResult<()> {
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
fn sort_key(u: &DirectoryUser) -> String {
    if u.name.trim().is_empty() {
        u.id.to_lowercase()
    } else {
        u.name.to_lowercase()
    }
}

/// What a query may be a prefix of: id, e-mail, whole name, each word of the name, each group; lowercased, so
/// each is a substring of a field the trigram index holds (a prefix match is always a substring match). A term
/// that begins another (the first name begins the whole name) adds no match and is left out.
fn terms(u: &DirectoryUser) -> Vec<String> {
    let mut all = BTreeSet::new();
    let name = u.name.to_lowercase();
    for t in [u.id.to_lowercase(), u.email.to_lowercase(), name.clone()] {
        all.insert(t);
    }
    for word in name.split(|c: char| !c.is_alphanumeric()) {
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

/// The document the trigram index holds for a user: every searchable field, one per line.
fn document(u: &DirectoryUser) -> String {
    let mut doc = format!("{}\n{}\n{}", u.id, u.name, u.email);
    for g in &u.groups {
        doc.push('\n');
        doc.push_str(g);
    }
    doc
}

fn internal(e: rusqlite::Error) -> StoreError {
    StoreError::Internal(e.to_string())
}

/// Opens a writer connection of its own with the pool's settings: the import runs on a blocking thread, where
/// each statement is a plain function call instead of a round trip to a sqlx connection's worker thread (which
/// cost more than the statements themselves, eight or more per user).
pub(super) fn open_writer(
    path: &Path,
    busy_timeout: Duration,
    cache_kib: i64,
) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(internal)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .and_then(|_| conn.pragma_update(None, "foreign_keys", true))
        .and_then(|_| conn.pragma_update(None, "cache_size", -cache_kib))
        .and_then(|_| conn.busy_timeout(busy_timeout))
        .map_err(internal)?;
    Ok(conn)
}

/// Upserts every user and the import's audit row in one `BEGIN IMMEDIATE` transaction on `conn`: all or
/// nothing (a failure drops the transaction, which rolls it back). Blocking; run it off the async runtime.
pub(super) fn upsert(
    conn: &mut Connection,
    users: &[DirectoryUser],
    change: &Change,
) -> StoreResult<ImportCounts> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(internal)?;
    let counts = upsert_in(&tx, users).map_err(internal)?;
    let target = Target {
        action: "import",
        kind: "directory",
        id: "",
        // The directory belongs to no namespace.
        namespace_id: "",
        name: "",
    };
    let detail = json!({"inserted": counts.inserted, "updated": counts.updated});
    audit::record_blocking(&tx, change, target, &detail).map_err(internal)?;
    tx.commit().map_err(internal)?;
    Ok(counts)
}

fn upsert_in(tx: &Connection, users: &[DirectoryUser]) -> rusqlite::Result<ImportCounts> {
    let mut find = tx.prepare("SELECT num FROM users WHERE id = ?1")?;
    let mut update = tx.prepare(
        "UPDATE users SET name = ?1, email = ?2, groups = ?3, sort_key = ?4 WHERE num = ?5",
    )?;
    // Not `RETURNING num`: SQLite's RETURNING made each insert some forty times slower than reading the rowid.
    let mut insert = tx.prepare(
        "INSERT INTO users (id, name, email, groups, sort_key) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut drop_terms = tx.prepare("DELETE FROM user_terms WHERE user_num = ?1")?;
    let mut drop_doc = tx.prepare("DELETE FROM users_fts WHERE rowid = ?1")?;
    let mut add_term = tx.prepare(
        "INSERT INTO user_terms (term, user_num, sort_key, user_id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut add_doc = tx.prepare("INSERT INTO users_fts (rowid, doc) VALUES (?1, ?2)")?;

    let mut counts = ImportCounts::default();
    // A batch that names an id twice counts it once, as the insert (or update) it is overall.
    let mut seen: HashSet<&str> = HashSet::with_capacity(users.len());
    for u in users {
        // Encoding a Vec<String> cannot fail.
        let groups = serde_json::to_string(&u.groups).unwrap_or_else(|_| "[]".into());
        let key = sort_key(u);
        let existing: Option<i64> = find.query_row([&u.id], |r| r.get(0)).optional()?;
        let num = match existing {
            Some(num) => {
                update.execute(params![u.name, u.email, groups, key, num])?;
                drop_terms.execute([num])?;
                drop_doc.execute([num])?;
                if seen.insert(&u.id) {
                    counts.updated += 1;
                }
                num
            }
            None => {
                seen.insert(&u.id);
                counts.inserted += 1;
                insert.execute(params![u.id, u.name, u.email, groups, key])?;
                tx.last_insert_rowid()
            }
        };
        for term in terms(u) {
            add_term.execute(params![term, num, key, u.id])?;
        }
        add_doc.execute(params![num, document(u)])?;
    }
    Ok(counts)
}

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    id: String,
    name: String,
    email: String,
    groups: String,
}

impl Row {
    pub(super) fn into_user(self) -> StoreResult<DirectoryUser> {
        let groups = serde_json::from_str(&self.groups).map_err(|e| {
            StoreError::Internal(format!("stored groups of user {:?}: {e}", self.id))
        })?;
        Ok(DirectoryUser {
            id: self.id,
            name: self.name,
            email: self.email,
            groups,
        })
    }
}

const GET: &str = "SELECT id, name, email, groups FROM users WHERE id = ?";

/// [`get`] as a point read on the caller's thread (`/verify` judging an impersonated account).
pub(super) fn get_inline(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Option<Row>> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(GET)?
        .query_row([id], |r| {
            Ok(Row {
                id: r.get(0)?,
                name: r.get(1)?,
                email: r.get(2)?,
                groups: r.get(3)?,
            })
        })
        .optional()
}

pub(super) async fn get(pool: &SqlitePool, id: &str) -> StoreResult<Option<DirectoryUser>> {
    let row: Option<Row> = sqlx::query_as(GET).bind(id).fetch_optional(pool).await?;
    row.map(Row::into_user).transpose()
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
        let t: Vec<String> = terms(&u).into_iter().collect();
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
        let err = validate(&[good.clone(), bad]).unwrap_err().to_string();
        assert!(err.starts_with("users[1] (id \"b\\u{1b}[2J\")"), "{err}");
        let mut long = good.clone();
        long.id = "x".repeat(MAX_ID_CHARS + 1);
        assert!(validate(&[long]).is_err());
        let mut empty = good;
        empty.id = " ".into();
        assert!(
            validate(&[empty])
                .unwrap_err()
                .to_string()
                .contains("users[0]")
        );
    }
}
