//! The directory: validated, all-or-nothing upserts that keep the two search structures `user_search` reads
//! (`user_terms` for prefix matches, the trigram `users_fts` for substrings) in the same transaction. Imports are
//! written through rusqlite on a blocking thread; reads go through the sqlx pool.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use sqlx::SqlitePool;

use super::audit::{self, Target};
use crate::model::DirectoryUser;
use crate::store::rules::{
    import_detail, user_document as document, user_sort_key as sort_key, user_terms as terms,
};
use crate::store::{Change, ImportCounts, StoreError, StoreResult};

pub(super) use crate::store::rules::validate_users as validate;

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
    let detail = import_detail(counts);
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

/// The users of `ids` that exist, in one statement (the ids passed as one JSON array).
pub(super) async fn get_many(pool: &SqlitePool, ids: &[String]) -> StoreResult<Vec<DirectoryUser>> {
    let ids = serde_json::to_string(ids).map_err(|e| StoreError::Internal(e.to_string()))?;
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, name, email, groups FROM users WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Row::into_user).collect()
}

pub(super) async fn get(pool: &SqlitePool, id: &str) -> StoreResult<Option<DirectoryUser>> {
    let row: Option<Row> = sqlx::query_as(GET).bind(id).fetch_optional(pool).await?;
    row.map(Row::into_user).transpose()
}
