//! `sacon migrate`'s write: a whole [`Dump`] into an empty database in one transaction — the tables locked against
//! any other writer, refused when anything is there already, a few thousand rows per statement, the audit log with
//! its own sequence numbers (the identity moved past them), the counts read back and compared before the commit.
//! Rows go in as the stores keep them (times in microseconds, the expiry's nanoseconds beside), so every token
//! the source accepted is accepted here and every one it refused stays refused.

use sqlx::PgConnection;
use sqlx::postgres::PgPoolOptions;

use super::failure::{Failure, PgResult};
use super::users::{self, Columns};
use super::{MIGRATOR, micros};
use crate::store::dump::{Counts, Dump};
use crate::store::rules::{namespace_name_key, sub_micro_nanos};
use crate::store::{StoreError, StoreResult};

/// Rows per statement.
const BATCH: usize = 5_000;

/// Copies `dump` into the database at `url` (migrating its schema first) and returns what it holds then; records
/// `secret_fingerprint` (the source's shared secret's), so only replicas with that secret start on it.
pub async fn load_dump(url: &str, dump: &Dump, secret_fingerprint: &str) -> StoreResult<Counts> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(|e| Failure::Db(e).into_store())?;
    MIGRATOR
        .run(&pool)
        .await
        .map_err(|e| StoreError::Internal(format!("migrating the database: {e}")))?;
    let result: PgResult<Counts> = async {
        let mut tx = pool.begin().await?;
        load(&mut tx, dump).await?;
        super::settings::agree(&mut tx, secret_fingerprint).await?;
        let counts = counts(&mut tx).await?;
        let want = dump.counts();
        if counts != want {
            return Err(StoreError::Internal(format!(
                "the copy holds {counts}, not the {want} it was given; nothing was committed"
            ))
            .into());
        }
        tx.commit().await?;
        // Statistics for the planner now, not when autovacuum first gets to the new rows.
        sqlx::raw_sql("ANALYZE").execute(&pool).await?;
        Ok(counts)
    }
    .await;
    pool.close().await;
    result.map_err(Failure::into_store)
}

const TABLES: &str = "namespaces, users, user_terms, service_accounts, account_tombstones, \
                      namespace_permissions, policies, routes, route_policies, audit_log";

async fn load(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    // No replica may write while the copy runs (nor start: its root namespace would be a second one).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {TABLES} IN EXCLUSIVE MODE"
    )))
    .execute(&mut *conn)
    .await?;
    let held = counts(conn).await?;
    if held != Counts::default() {
        return Err(StoreError::FailedPrecondition(format!(
            "the database is not empty (it holds {held}): copy into a new database"
        ))
        .into());
    }
    namespaces(conn, dump).await?;
    directory(conn, dump).await?;
    accounts(conn, dump).await?;
    roles(conn, dump).await?;
    access(conn, dump).await?;
    audit(conn, dump).await?;
    Ok(())
}

async fn counts(conn: &mut PgConnection) -> PgResult<Counts> {
    let n: (i64, i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM namespaces), (SELECT count(*) FROM users), \
                (SELECT count(*) FROM service_accounts), (SELECT count(*) FROM account_tombstones), \
                (SELECT count(*) FROM namespace_permissions), (SELECT count(*) FROM policies), \
                (SELECT count(*) FROM routes), (SELECT count(*) FROM audit_log)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let u = |v: i64| v.max(0) as u64;
    Ok(Counts {
        namespaces: u(n.0),
        users: u(n.1),
        accounts: u(n.2),
        tombstones: u(n.3),
        permissions: u(n.4),
        policies: u(n.5),
        routes: u(n.6),
        audit: u(n.7),
    })
}

/// Parents first (the dump's order), so each row's parent is already there.
async fn namespaces(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    for chunk in dump.namespaces.chunks(BATCH) {
        let parent: Vec<Option<&str>> = chunk
            .iter()
            .map(|n| (!n.parent_id.is_empty()).then_some(n.parent_id.as_str()))
            .collect();
        sqlx::query(
            "INSERT INTO namespaces (id, parent_id, name, name_key, originator_id, created_at, modified_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
                                  $7::bigint[])",
        )
        .bind(chunk.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())
        .bind(parent)
        .bind(chunk.iter().map(|n| n.name.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|n| namespace_name_key(&n.name)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|n| n.originator_id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|n| micros(n.created_at)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|n| micros(n.modified_at)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The users with both search structures, as an import writes them, but without an import's audit row: the
/// log is the source's.
async fn directory(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    let all: Vec<&_> = dump.users.iter().collect();
    for chunk in all.chunks(BATCH) {
        let c = Columns::of(chunk);
        let nums: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (id, name, email, groups, sort_key, search_doc) \
             SELECT t.id, t.name, t.email, t.groups::jsonb, t.sort_key, t.doc FROM {} RETURNING num, id",
            users::ROWS
        )))
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.email)
        .bind(&c.groups)
        .bind(&c.sort_key)
        .bind(&c.doc)
        .fetch_all(&mut *conn)
        .await?;
        let nums = nums.into_iter().map(|(n, id)| (id, n)).collect();
        users::write_terms(conn, chunk, &nums).await?;
    }
    Ok(())
}

async fn accounts(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    for chunk in dump.accounts.chunks(BATCH) {
        let a = |f: fn(&crate::store::AccountRecord) -> Option<i64>| -> Vec<Option<i64>> {
            chunk.iter().map(f).collect()
        };
        let s = |f: fn(&crate::store::AccountRecord) -> &str| -> Vec<&str> {
            chunk.iter().map(f).collect()
        };
        sqlx::query(
            "INSERT INTO service_accounts (id, namespace_id, originator_id, description, user_id, expires_at, \
                 expires_at_ns, created_at, modified_at, accessed_at, issued_at, grace_from, grace_until, disabled) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
                 $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], \
                 $13::bigint[], $14::boolean[])",
        )
        .bind(s(|r| &r.account.id))
        .bind(s(|r| &r.account.namespace_id))
        .bind(s(|r| &r.account.originator_id))
        .bind(s(|r| &r.account.description))
        .bind(s(|r| &r.account.user_id))
        .bind(a(|r| r.account.expires_at.map(micros)))
        .bind(a(|r| Some(r.account.expires_at.map_or(0, sub_micro_nanos))))
        .bind(a(|r| Some(micros(r.account.created_at))))
        .bind(a(|r| Some(micros(r.account.modified_at))))
        .bind(a(|r| r.account.accessed_at.map(micros)))
        .bind(a(|r| Some(micros(r.issued_at))))
        .bind(a(|r| r.grace_from.map(micros)))
        .bind(a(|r| r.grace_until.map(micros)))
        .bind(chunk.iter().map(|r| r.account.disabled).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    for chunk in dump.tombstones.chunks(BATCH) {
        sqlx::query(
            "INSERT INTO account_tombstones (id, issued_at) SELECT * FROM UNNEST($1::text[], $2::bigint[])",
        )
        .bind(chunk.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|(_, at)| micros(*at)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn roles(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    for chunk in dump.permissions.chunks(BATCH) {
        sqlx::query(
            "INSERT INTO namespace_permissions (id, namespace_id, subject_type, subject_id, role, originator_id, \
                 created_at, modified_at) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::bigint[], $8::bigint[])",
        )
        .bind(chunk.iter().map(|p| p.id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.namespace_id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.subject_type.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.subject_id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.role.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| p.originator_id.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| micros(p.created_at)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|p| micros(p.modified_at)).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Policies, then routes and the policies they name, in their order.
async fn access(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    for p in &dump.policies {
        sqlx::query(
            "INSERT INTO policies (id, namespace_id, name, description, allowed_users, allowed_domains, ppl, \
                 enforced, originator_id, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.id)
        .bind(&p.namespace_id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(json(&p.allowed_users))
        .bind(json(&p.allowed_domains))
        .bind(&p.ppl)
        .bind(p.enforced)
        .bind(&p.originator_id)
        .bind(micros(p.created_at))
        .bind(micros(p.modified_at))
        .execute(&mut *conn)
        .await?;
    }
    for r in &dump.routes {
        sqlx::query(
            "INSERT INTO routes (id, namespace_id, name, description, from_url, prefix, originator_id, \
                 created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.id)
        .bind(&r.namespace_id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.from)
        .bind(&r.prefix)
        .bind(&r.originator_id)
        .bind(micros(r.created_at))
        .bind(micros(r.modified_at))
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO route_policies (route_id, policy_id, position) \
             SELECT $1, p, n - 1 FROM UNNEST($2::text[]) WITH ORDINALITY AS t(p, n)",
        )
        .bind(&r.id)
        .bind(&r.policy_ids)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The activity counters of the copied log, one folded row per key, written once: the counting trigger would add
/// a delta row per copied entry, and folding a million of them leaves as many dead rows in front of the folded
/// ones, which every total then scans past (18 ms a total at a million entries) until a `VACUUM FULL`.
const COUNT_COPIED: [&str; 2] = [
    "INSERT INTO audit_log_namespace_counts (namespace_id, n, compacted) \
     SELECT namespace_id, count(*), true FROM audit_log GROUP BY namespace_id",
    "INSERT INTO audit_log_actor_counts (actor, namespace_id, n, compacted) \
     SELECT actor, namespace_id, count(*), true FROM audit_log GROUP BY actor, namespace_id",
];

/// The log as it was, each entry with its own sequence number; new entries continue after the last. The
/// counting trigger is off meanwhile (in this transaction only: the table is locked, and a failed copy rolls
/// the switch back with the rows) and the counters are written from the copied rows.
async fn audit(conn: &mut PgConnection, dump: &Dump) -> PgResult<()> {
    sqlx::raw_sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_counted")
        .execute(&mut *conn)
        .await?;
    for chunk in dump.audit.chunks(BATCH) {
        let s = |f: fn(&crate::store::AuditEntry) -> &str| -> Vec<&str> {
            chunk.iter().map(f).collect()
        };
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, target_kind, target_id, detail, namespace_id, \
                 entity_name, actor_account_id) OVERRIDING SYSTEM VALUE \
             SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], \
                 $7::text[], $8::text[], $9::text[], $10::text[])",
        )
        .bind(chunk.iter().map(|e| e.seq).collect::<Vec<_>>())
        .bind(chunk.iter().map(|e| micros(e.at)).collect::<Vec<_>>())
        .bind(s(|e| &e.actor))
        .bind(s(|e| &e.action))
        .bind(s(|e| &e.target_kind))
        .bind(s(|e| &e.target_id))
        .bind(s(|e| &e.detail))
        .bind(s(|e| &e.namespace_id))
        .bind(s(|e| &e.entity_name))
        .bind(s(|e| &e.actor_account_id))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), \
                       greatest((SELECT max(seq) FROM audit_log), 1), \
                       (SELECT max(seq) FROM audit_log) IS NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    for sql in COUNT_COPIED {
        sqlx::raw_sql(sql).execute(&mut *conn).await?;
    }
    sqlx::raw_sql("ALTER TABLE audit_log ENABLE TRIGGER audit_log_counted")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
