//! Namespace permissions: one role binding per (namespace, subject), created or re-roled by a grant and removed
//! by a revoke, each written with its audit row (a re-role records the role before and after).

use serde_json::json;
use sqlx::{SqliteConnection, SqlitePool};

use super::audit::{self, Target};
use super::{from_micros, micros};
use crate::access::{Permission, Role, SubjectType};
use crate::store::{Change, PermissionGrant, StoreError, StoreResult};

const COLUMNS: &str =
    "id, namespace_id, subject_type, subject_id, role, originator_id, created_at, modified_at";

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    namespace_id: String,
    subject_type: String,
    subject_id: String,
    role: String,
    originator_id: String,
    created_at: i64,
    modified_at: i64,
}

impl Row {
    fn into_permission(self) -> StoreResult<Permission> {
        let corrupt = |what: &str, v: &str| {
            StoreError::Internal(format!("permission {}: stored {what} {v:?}", self.id))
        };
        Ok(Permission {
            subject_type: SubjectType::parse(&self.subject_type)
                .ok_or_else(|| corrupt("subject type", &self.subject_type))?,
            role: Role::parse(&self.role).ok_or_else(|| corrupt("role", &self.role))?,
            created_at: from_micros(self.created_at)?,
            modified_at: from_micros(self.modified_at)?,
            id: self.id,
            namespace_id: self.namespace_id,
            subject_id: self.subject_id,
            originator_id: self.originator_id,
        })
    }
}

pub(super) async fn list(pool: &SqlitePool) -> StoreResult<Vec<Permission>> {
    let mut conn = pool.acquire().await?;
    list_on(&mut conn).await
}

/// [`list`] on a connection (inside a read transaction).
pub(super) async fn list_on(conn: &mut SqliteConnection) -> StoreResult<Vec<Permission>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions ORDER BY namespace_id, subject_type, subject_id"
    )))
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Row::into_permission).collect()
}

pub(super) async fn get(conn: &mut SqliteConnection, id: &str) -> StoreResult<Option<Permission>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions WHERE id = ?"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_permission).transpose()
}

async fn find(
    conn: &mut SqliteConnection,
    namespace_id: &str,
    subject_type: SubjectType,
    subject_id: &str,
) -> StoreResult<Option<Permission>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions \
         WHERE namespace_id = ? AND subject_type = ? AND subject_id = ?"
    )))
    .bind(namespace_id)
    .bind(subject_type.as_str())
    .bind(subject_id)
    .fetch_optional(conn)
    .await?;
    row.map(Row::into_permission).transpose()
}

fn target<'a>(action: &'static str, p: &'a Permission) -> Target<'a> {
    Target {
        action,
        kind: "namespace_permission",
        id: &p.id,
        namespace_id: &p.namespace_id,
        name: &p.subject_id,
    }
}

pub(super) async fn set(
    conn: &mut SqliteConnection,
    grant: &PermissionGrant,
    change: &Change,
) -> StoreResult<Permission> {
    let existing = match &grant.id {
        Some(id) => {
            let p = get(conn, id)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no namespace permission {id:?}")))?;
            if p.namespace_id != grant.namespace_id
                || p.subject_type != grant.subject_type
                || p.subject_id != grant.subject_id
            {
                return Err(StoreError::InvalidArgument(
                    "a permission's namespace and subject cannot change; revoke it and grant anew"
                        .into(),
                ));
            }
            Some(p)
        }
        None => {
            find(
                conn,
                &grant.namespace_id,
                grant.subject_type,
                &grant.subject_id,
            )
            .await?
        }
    };
    let at = micros(change.at);
    if let Some(mut p) = existing {
        if p.role == grant.role {
            return Ok(p);
        }
        let before = p.role;
        sqlx::query("UPDATE namespace_permissions SET role = ?, modified_at = ? WHERE id = ?")
            .bind(grant.role.as_str())
            .bind(at)
            .bind(&p.id)
            .execute(&mut *conn)
            .await?;
        p.role = grant.role;
        p.modified_at = from_micros(at)?;
        let detail = json!({
            "subjectType": p.subject_type.as_str(),
            "subjectId": p.subject_id,
            "before": {"role": before.as_str()},
            "after": {"role": p.role.as_str()},
        });
        audit::record(conn, change, target("update", &p), &detail).await?;
        return Ok(p);
    }
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM namespaces WHERE id = ?")
        .bind(&grant.namespace_id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::InvalidArgument(format!(
            "namespaceId {:?} names no namespace",
            grant.namespace_id
        )));
    }
    let p = Permission {
        id: crate::model::new_id(),
        namespace_id: grant.namespace_id.clone(),
        subject_type: grant.subject_type,
        subject_id: grant.subject_id.clone(),
        role: grant.role,
        originator_id: grant.originator_id.clone(),
        created_at: from_micros(at)?,
        modified_at: from_micros(at)?,
    };
    sqlx::query(
        "INSERT INTO namespace_permissions \
         (id, namespace_id, subject_type, subject_id, role, originator_id, created_at, modified_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.id)
    .bind(&p.namespace_id)
    .bind(p.subject_type.as_str())
    .bind(&p.subject_id)
    .bind(p.role.as_str())
    .bind(&p.originator_id)
    .bind(at)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    let detail = json!({
        "subjectType": p.subject_type.as_str(),
        "subjectId": p.subject_id,
        "role": p.role.as_str(),
    });
    audit::record(conn, change, target("create", &p), &detail).await?;
    Ok(p)
}

pub(super) async fn delete(
    conn: &mut SqliteConnection,
    id: &str,
    change: &Change,
) -> StoreResult<Option<Permission>> {
    let Some(p) = get(conn, id).await? else {
        return Ok(None);
    };
    sqlx::query("DELETE FROM namespace_permissions WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let detail = json!({
        "subjectType": p.subject_type.as_str(),
        "subjectId": p.subject_id,
        "role": p.role.as_str(),
    });
    audit::record(conn, change, target("delete", &p), &detail).await?;
    Ok(Some(p))
}

/// How many bindings a namespace holds (a namespace with any is not deleted).
pub(super) async fn count_on(conn: &mut SqliteConnection, namespace_id: &str) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM namespace_permissions WHERE namespace_id = ?")
            .bind(namespace_id)
            .fetch_one(conn)
            .await?,
    )
}
