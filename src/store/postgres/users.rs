//! The directory: validated, all-or-nothing upserts in one transaction that keep what `user_search` reads
//! (`user_terms` for prefix matches, `search_doc` under its trigram index for substrings, `user_gram_counts` for
//! short queries' totals) in step, written a few thousand users per statement (UNNEST arrays), never a round trip
//! per user.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::audit::{self, Target};
use super::failure::{Failure, PgResult};
use super::user_grams::Delta;
use crate::model::DirectoryUser;
use crate::store::rules::{import_detail, last_of_each, name_words, user_sort_key, user_terms};
use crate::store::{Change, ImportCounts, StoreError, StoreResult};

pub(super) use crate::store::rules::validate_users as validate;

/// Users per statement: large enough that a 200,000-user import is a hundred statements, small enough that
/// one statement's arrays stay a few megabytes.
const BATCH: usize = 2_000;

/// What `users.search_doc` holds: every field a query may match, lowercased, each on a line of its own after a
/// newline: the id, the name, the e-mail, each group (so a substring match is one of SQLite's `users_fts`
/// document), then each word of the name. Every line is a term a query may be a prefix of, so a prefix match is
/// the query after a newline (`PREFIX_TEST`), tested in the row without reading `user_terms`.
pub(super) fn search_doc(u: &DirectoryUser) -> String {
    let name = u.name.to_lowercase();
    let mut doc = format!(
        "\n{}\n{name}\n{}",
        u.id.to_lowercase(),
        u.email.to_lowercase()
    );
    for g in &u.groups {
        doc.push('\n');
        doc.push_str(&g.to_lowercase());
    }
    for w in name_words(&name) {
        doc.push('\n');
        doc.push_str(w);
    }
    doc
}

/// One batch's columns, as arrays to UNNEST.
#[derive(Default)]
pub(super) struct Columns {
    pub(super) id: Vec<String>,
    pub(super) name: Vec<String>,
    pub(super) email: Vec<String>,
    pub(super) groups: Vec<String>,
    pub(super) sort_key: Vec<String>,
    pub(super) doc: Vec<String>,
}

impl Columns {
    pub(super) fn of(users: &[&DirectoryUser]) -> Columns {
        let mut c = Columns::default();
        for u in users {
            c.id.push(u.id.clone());
            c.name.push(u.name.clone());
            c.email.push(u.email.clone());
            // Encoding a Vec<String> cannot fail.
            c.groups
                .push(serde_json::to_string(&u.groups).unwrap_or_else(|_| "[]".into()));
            c.sort_key.push(user_sort_key(u));
            c.doc.push(search_doc(u));
        }
        c
    }
}

pub(super) const ROWS: &str = "UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) \
                    AS t(id, name, email, groups, sort_key, doc)";

/// Upserts every user and the import's audit row in the caller's transaction: all or nothing.
pub(super) async fn upsert(
    conn: &mut PgConnection,
    users: &[DirectoryUser],
    change: &Change,
) -> PgResult<ImportCounts> {
    // A batch that names an id twice counts it once, as the insert (or update) it is overall; in id order, so
    // concurrent imports lock rows in the same order.
    let mut batch = last_of_each(users);
    batch.sort_by(|a, b| a.id.cmp(&b.id));
    let mut counts = ImportCounts::default();
    let mut grams = Delta::default();
    for chunk in batch.chunks(BATCH) {
        let c = Columns::of(chunk);
        // The documents being replaced, held until commit so a concurrent import of the same users waits.
        let replaced: Vec<(i64, String)> = sqlx::query_as(
            "SELECT num, search_doc FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&c.id)
        .fetch_all(&mut *conn)
        .await?;
        for (_, doc) in &replaced {
            grams.add(doc, -1);
        }
        let held: Vec<i64> = replaced.iter().map(|(num, _)| *num).collect();
        for doc in &c.doc {
            grams.add(doc, 1);
        }
        // Existing users first (exactly those whose documents were read), so only new ones draw numbers from the
        // sequence.
        let updated: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "UPDATE users u SET name = t.name, email = t.email, groups = t.groups::jsonb, \
                 sort_key = t.sort_key, search_doc = t.doc \
             FROM {ROWS} WHERE u.id = t.id AND u.num = ANY($7) RETURNING u.num, u.id"
        )))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.groups)
        .bind(&c.sort_key)
        .bind(&c.doc)
        .bind(&held)
        .fetch_all(&mut *conn)
        .await?;
        counts.updated += updated.len() as u64;
        let mut nums: HashMap<String, i64> = updated.into_iter().map(|(n, id)| (id, n)).collect();
        let fresh: Vec<&DirectoryUser> = chunk
            .iter()
            .copied()
            .filter(|u| !nums.contains_key(&u.id))
            .collect();
        if !fresh.is_empty() {
            let f = Columns::of(&fresh);
            let inserted: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "INSERT INTO users (id, name, email, groups, sort_key, search_doc) \
                 SELECT t.id, t.name, t.email, t.groups::jsonb, t.sort_key, t.doc FROM {ROWS} \
                 ON CONFLICT (id) DO NOTHING RETURNING num, id"
            )))
            .bind(&f.id)
            .bind(&f.name)
            .bind(&f.email)
            .bind(&f.groups)
            .bind(&f.sort_key)
            .bind(&f.doc)
            .fetch_all(&mut *conn)
            .await?;
            if inserted.len() < fresh.len() {
                // A concurrent import inserted some of these users since they were looked for: run again, and
                // they are updates (whose documents the counts must give back).
                return Err(Failure::Retry);
            }
            counts.inserted += inserted.len() as u64;
            nums.extend(inserted.into_iter().map(|(n, id)| (id, n)));
        }
        write_terms(conn, chunk, &nums).await?;
    }
    grams.apply(conn).await?;
    let target = Target {
        action: "import",
        kind: "directory",
        id: "",
        // The directory belongs to no namespace.
        namespace_id: "",
        name: "",
    };
    audit::record(conn, change, target, &import_detail(counts)).await?;
    Ok(counts)
}

/// Replaces the prefix terms of `users` (numbered by `nums`).
pub(super) async fn write_terms(
    conn: &mut PgConnection,
    users: &[&DirectoryUser],
    nums: &HashMap<String, i64>,
) -> PgResult<()> {
    let all: Vec<i64> = users
        .iter()
        .filter_map(|u| nums.get(&u.id).copied())
        .collect();
    sqlx::query("DELETE FROM user_terms WHERE user_num = ANY($1)")
        .bind(&all)
        .execute(&mut *conn)
        .await?;
    let (mut term, mut num, mut key, mut id) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for u in users {
        let Some(&n) = nums.get(&u.id) else {
            return Err(StoreError::Internal(format!("user {:?} was not written", u.id)).into());
        };
        let sort_key = user_sort_key(u);
        for t in user_terms(u) {
            term.push(t);
            num.push(n);
            key.push(sort_key.clone());
            id.push(u.id.clone());
        }
    }
    sqlx::query(
        "INSERT INTO user_terms (term, user_num, sort_key, user_id) \
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[])",
    )
    .bind(&term)
    .bind(&num)
    .bind(&key)
    .bind(&id)
    .execute(&mut *conn)
    .await?;
    Ok(())
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

/// The columns [`Row`] reads, from `users` as `u`.
pub(super) const COLUMNS: &str = "u.id, u.name, u.email, u.groups::text AS groups";

/// The users of `ids` that exist, in one statement.
pub(super) async fn get_many(
    conn: &mut PgConnection,
    ids: &[String],
) -> PgResult<Vec<DirectoryUser>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_user)
        .collect::<StoreResult<_>>()?)
}

pub(super) async fn get(conn: &mut PgConnection, id: &str) -> PgResult<Option<DirectoryUser>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_user).transpose()?)
}
