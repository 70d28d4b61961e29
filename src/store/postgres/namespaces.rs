//! The namespace tree: one root, names unique among siblings (case-insensitively, by a Unicode-lowercased key),
//! no cycles, and no deleting a namespace that still has children, accounts, routes, policies or permissions.
//! Every write holds the access lock (`lock_access`), so these checks see every committed tree change and no
//! other tree change commits before them.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::audit::{self, Target};
use super::failure::{FOREIGN_KEY_VIOLATION, Failure, PgResult, UNIQUE_VIOLATION};
use super::{from_micros, lock_access, micros};
use crate::model::{Namespace, ROOT_NAMESPACE_NAME};
use crate::store::rules::{
    namespace_name_key as name_key, sibling_name_taken, valid_namespace_name as valid_name,
};
use crate::store::{Change, StoreError, StoreResult};

const COLUMNS: &str = "id, parent_id, name, originator_id, created_at, modified_at, \
     (SELECT count(*) FROM routes r WHERE r.namespace_id = namespaces.id) AS route_count, \
     (SELECT count(*) FROM policies p WHERE p.namespace_id = namespaces.id) AS policy_count";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    parent_id: Option<String>,
    name: String,
    originator_id: String,
    created_at: i64,
    modified_at: i64,
    route_count: i64,
    policy_count: i64,
}

impl Row {
    fn into_namespace(self) -> StoreResult<Namespace> {
        Ok(Namespace {
            id: self.id,
            parent_id: self.parent_id.unwrap_or_default(),
            name: self.name,
            created_at: from_micros(self.created_at)?,
            modified_at: from_micros(self.modified_at)?,
            originator_id: self.originator_id,
            route_count: self.route_count,
            policy_count: self.policy_count,
        })
    }
}

pub(super) async fn list(conn: &mut PgConnection) -> PgResult<Vec<Namespace>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespaces ORDER BY created_at, id"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_namespace)
        .collect::<StoreResult<_>>()?)
}

pub(super) async fn get(conn: &mut PgConnection, id: &str) -> PgResult<Option<Namespace>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespaces WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_namespace).transpose()?)
}

/// Creates the root namespace when the database has none (a new database), once however many replicas open it
/// together.
pub(super) async fn ensure_root(conn: &mut PgConnection, now: DateTime<Utc>) -> PgResult<()> {
    lock_access(conn).await?;
    if !any(conn).await? {
        let change = Change::by("system", now);
        create(conn, "", ROOT_NAMESPACE_NAME, "", &change).await?;
    }
    Ok(())
}

async fn any(conn: &mut PgConnection) -> PgResult<bool> {
    let any: Option<i32> = sqlx::query_scalar("SELECT 1 FROM namespaces LIMIT 1")
        .fetch_optional(conn)
        .await?;
    Ok(any.is_some())
}

pub(super) async fn exists(conn: &mut PgConnection, id: &str) -> PgResult<bool> {
    let hit: Option<i32> = sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(hit.is_some())
}

/// Whether namespace `id` exists, holding it (FOR KEY SHARE) until the transaction ends: a delete of it waits,
/// then sees what this transaction added to it.
pub(super) async fn exists_held(conn: &mut PgConnection, id: &str) -> PgResult<bool> {
    let hit: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = $1 FOR KEY SHARE")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(hit.is_some())
}

/// Refuses a name already taken under `parent` by a namespace other than `except`.
async fn check_sibling_name(
    conn: &mut PgConnection,
    parent: Option<&str>,
    name: &str,
    except: &str,
) -> PgResult<()> {
    let clash: Option<String> = sqlx::query_scalar(
        "SELECT id FROM namespaces WHERE parent_id IS NOT DISTINCT FROM $1 AND name_key = $2 AND id <> $3",
    )
    .bind(parent)
    .bind(name_key(name))
    .bind(except)
    .fetch_optional(conn)
    .await?;
    match clash {
        Some(_) => Err(sibling_name_taken(name).into()),
        None => Ok(()),
    }
}

/// A sibling-name clash the index caught (a writer that bypassed the lock) is the same refusal.
fn clash(name: &str) -> impl Fn(sqlx::Error) -> Failure + '_ {
    move |e| {
        let f = Failure::Db(e);
        if f.code().as_deref() == Some(UNIQUE_VIOLATION) {
            sibling_name_taken(name).into()
        } else {
            f
        }
    }
}

pub(super) async fn create(
    conn: &mut PgConnection,
    parent_id: &str,
    name: &str,
    originator_id: &str,
    change: &Change,
) -> PgResult<Namespace> {
    let name = valid_name(name)?;
    lock_access(conn).await?;
    let parent = if parent_id.is_empty() {
        if any(conn).await? {
            return Err(StoreError::InvalidArgument(
                "parentId: required; only the root namespace has no parent".into(),
            )
            .into());
        }
        None
    } else {
        if !exists(conn, parent_id).await? {
            return Err(StoreError::InvalidArgument(format!(
                "parentId: namespace {parent_id:?} does not exist"
            ))
            .into());
        }
        Some(parent_id)
    };
    check_sibling_name(conn, parent, name, "").await?;
    let id = crate::model::new_id();
    let at = micros(change.at);
    sqlx::query(
        "INSERT INTO namespaces (id, parent_id, name, name_key, originator_id, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(parent)
    .bind(name)
    .bind(name_key(name))
    .bind(originator_id)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(clash(name))?;
    let target = Target {
        action: "create",
        kind: "namespace",
        id: &id,
        // A namespace's own changes belong to it, so a recursive listing of its parent includes them.
        namespace_id: &id,
        name,
    };
    audit::record(
        conn,
        change,
        target,
        &json!({"name": name, "parentId": parent_id}),
    )
    .await?;
    Ok(Namespace {
        id,
        parent_id: parent_id.to_string(),
        name: name.to_string(),
        created_at: from_micros(at)?,
        modified_at: from_micros(at)?,
        originator_id: originator_id.to_string(),
        route_count: 0,
        policy_count: 0,
    })
}

/// Renames `id` and, when `parent_id` is not empty, moves it under that parent.
pub(super) async fn update(
    conn: &mut PgConnection,
    id: &str,
    name: &str,
    parent_id: &str,
    change: &Change,
) -> PgResult<Namespace> {
    let name = valid_name(name)?;
    lock_access(conn).await?;
    let current = get(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("namespace {id:?} not found")))?;
    let parent = if parent_id.is_empty() || parent_id == current.parent_id {
        current.parent_id.clone()
    } else {
        if current.parent_id.is_empty() {
            return Err(StoreError::InvalidArgument(
                "parentId: the root namespace cannot be moved".into(),
            )
            .into());
        }
        if !exists(conn, parent_id).await? {
            return Err(StoreError::InvalidArgument(format!(
                "parentId: namespace {parent_id:?} does not exist"
            ))
            .into());
        }
        // Walk up from the new parent; meeting `id` on the way means the move would close a loop.
        let loops: Option<i32> = sqlx::query_scalar(
            "WITH RECURSIVE up(id, parent_id) AS ( \
                 SELECT id, parent_id FROM namespaces WHERE id = $1 \
                 UNION SELECT n.id, n.parent_id FROM namespaces n JOIN up ON n.id = up.parent_id) \
             SELECT 1 FROM up WHERE id = $2",
        )
        .bind(parent_id)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        if loops.is_some() {
            return Err(StoreError::InvalidArgument(format!(
                "parentId: moving {:?} under {parent_id:?} would make a cycle",
                current.name
            ))
            .into());
        }
        parent_id.to_string()
    };
    let parent_ref = (!parent.is_empty()).then_some(parent.as_str());
    check_sibling_name(conn, parent_ref, name, id).await?;
    sqlx::query(
        "UPDATE namespaces SET name = $1, name_key = $2, parent_id = $3, modified_at = $4 WHERE id = $5",
    )
    .bind(name)
    .bind(name_key(name))
    .bind(parent_ref)
    .bind(micros(change.at))
    .bind(id)
    .execute(&mut *conn)
    .await
    .map_err(clash(name))?;
    let target = Target {
        action: "update",
        kind: "namespace",
        id,
        namespace_id: id,
        name,
    };
    // The fields that changed, before and after, as account updates record them.
    let (mut before, mut after) = (serde_json::Map::new(), serde_json::Map::new());
    if current.name != name {
        before.insert("name".into(), json!(current.name));
        after.insert("name".into(), json!(name));
    }
    if current.parent_id != parent {
        before.insert("parentId".into(), json!(current.parent_id));
        after.insert("parentId".into(), json!(parent));
    }
    audit::record(
        conn,
        change,
        target,
        &json!({"name": name, "parentId": parent, "before": before, "after": after}),
    )
    .await?;
    Ok(get(conn, id)
        .await?
        .ok_or_else(|| StoreError::Internal(format!("namespace {id:?} vanished while updating")))?)
}

pub(super) async fn delete(conn: &mut PgConnection, id: &str, change: &Change) -> PgResult<()> {
    lock_access(conn).await?;
    let ns = get(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("namespace {id:?} not found")))?;
    if ns.parent_id.is_empty() {
        return Err(
            StoreError::FailedPrecondition("the root namespace cannot be deleted".into()).into(),
        );
    }
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM namespaces WHERE parent_id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    if children > 0 {
        return Err(StoreError::FailedPrecondition(format!(
            "namespace {:?} has {children} child namespace(s); delete or move them first",
            ns.name
        ))
        .into());
    }
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM service_accounts WHERE namespace_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if accounts > 0 {
        return Err(StoreError::FailedPrecondition(format!(
            "namespace {:?} has {accounts} service account(s); delete them first",
            ns.name
        ))
        .into());
    }
    let (routes, policies): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM routes WHERE namespace_id = $1), \
                (SELECT count(*) FROM policies WHERE namespace_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if routes + policies > 0 {
        return Err(StoreError::FailedPrecondition(format!(
            "namespace {:?} still holds {routes} route(s) and {policies} policy(ies); delete or move them first",
            ns.name
        ))
        .into());
    }
    let permissions = super::permissions::count_on(conn, id).await?;
    if permissions > 0 {
        return Err(StoreError::FailedPrecondition(format!(
            "namespace {:?} has {permissions} permission(s); revoke them first",
            ns.name
        ))
        .into());
    }
    // An account or permission added by a transaction that committed after the counts were read (accounts and
    // permissions do not take the access lock) fails the foreign key: run again, and the counts refuse.
    sqlx::query("DELETE FROM namespaces WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            let f = Failure::Db(e);
            if f.code().as_deref() == Some(FOREIGN_KEY_VIOLATION) {
                Failure::Retry
            } else {
                f
            }
        })?;
    let target = Target {
        action: "delete",
        kind: "namespace",
        id,
        namespace_id: id,
        name: &ns.name,
    };
    audit::record(
        conn,
        change,
        target,
        &json!({"name": ns.name, "parentId": ns.parent_id}),
    )
    .await
}
