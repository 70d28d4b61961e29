//! Namespace permissions: one role binding per (namespace, subject), created or re-roled by a grant and removed
//! by a revoke, each written with its audit row (a re-role records the role before and after). Two grants to the
//! same subject at once make one binding: the second to insert runs again and re-roles it.

use serde_json::json;
use sqlx::PgConnection;

use super::audit::{self, Target};
use super::failure::{FOREIGN_KEY_VIOLATION, Failure, PgResult};
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

pub(super) async fn list(conn: &mut PgConnection) -> PgResult<Vec<Permission>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions ORDER BY namespace_id, subject_type, subject_id"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Row::into_permission)
        .collect::<StoreResult<_>>()?)
}

/// The binding `id`; `lock` holds it until the transaction ends, so a concurrent re-role or revoke waits and
/// then sees this one's outcome.
async fn read(conn: &mut PgConnection, id: &str, lock: bool) -> PgResult<Option<Permission>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_permission).transpose()?)
}

pub(super) async fn get(conn: &mut PgConnection, id: &str) -> PgResult<Option<Permission>> {
    read(conn, id, false).await
}

async fn find(
    conn: &mut PgConnection,
    namespace_id: &str,
    subject_type: SubjectType,
    subject_id: &str,
) -> PgResult<Option<Permission>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM namespace_permissions \
         WHERE namespace_id = $1 AND subject_type = $2 AND subject_id = $3 FOR UPDATE"
    )))
    .bind(namespace_id)
    .bind(subject_type.as_str())
    .bind(subject_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Row::into_permission).transpose()?)
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

fn unknown_namespace(id: &str) -> StoreError {
    StoreError::InvalidArgument(format!("namespaceId {id:?} names no namespace"))
}

pub(super) async fn set(
    conn: &mut PgConnection,
    grant: &PermissionGrant,
    change: &Change,
) -> PgResult<Permission> {
    let existing = match &grant.id {
        Some(id) => {
            let p = read(conn, id, true)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("no namespace permission {id:?}")))?;
            if p.namespace_id != grant.namespace_id
                || p.subject_type != grant.subject_type
                || p.subject_id != grant.subject_id
            {
                return Err(StoreError::InvalidArgument(
                    "a permission's namespace and subject cannot change; revoke it and grant anew"
                        .into(),
                )
                .into());
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
        sqlx::query("UPDATE namespace_permissions SET role = $1, modified_at = $2 WHERE id = $3")
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
    if !super::namespaces::exists_held(conn, &grant.namespace_id).await? {
        return Err(unknown_namespace(&grant.namespace_id).into());
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
    let inserted = sqlx::query(
        "INSERT INTO namespace_permissions \
         (id, namespace_id, subject_type, subject_id, role, originator_id, created_at, modified_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (namespace_id, subject_type, subject_id) DO NOTHING",
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
    .await
    .map_err(|e| {
        let f = Failure::Db(e);
        if f.code().as_deref() == Some(FOREIGN_KEY_VIOLATION) {
            unknown_namespace(&grant.namespace_id).into()
        } else {
            f
        }
    })?
    .rows_affected();
    if inserted == 0 {
        // A concurrent grant to the same subject committed first: run again, as a re-role of its binding.
        return Err(Failure::Retry);
    }
    let detail = json!({
        "subjectType": p.subject_type.as_str(),
        "subjectId": p.subject_id,
        "role": p.role.as_str(),
    });
    audit::record(conn, change, target("create", &p), &detail).await?;
    Ok(p)
}

pub(super) async fn delete(
    conn: &mut PgConnection,
    id: &str,
    change: &Change,
) -> PgResult<Option<Permission>> {
    let Some(p) = read(conn, id, true).await? else {
        return Ok(None);
    };
    let deleted = sqlx::query("DELETE FROM namespace_permissions WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Ok(None);
    }
    let detail = json!({
        "subjectType": p.subject_type.as_str(),
        "subjectId": p.subject_id,
        "role": p.role.as_str(),
    });
    audit::record(conn, change, target("delete", &p), &detail).await?;
    Ok(Some(p))
}

/// How many bindings a namespace holds (a namespace with any is not deleted).
pub(super) async fn count_on(conn: &mut PgConnection, namespace_id: &str) -> PgResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM namespace_permissions WHERE namespace_id = $1")
            .bind(namespace_id)
            .fetch_one(conn)
            .await?,
    )
}
